package idptest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds the wait for an IdP's ready line: node starts in well
// under a second, but CI machines are shared and noisy.
const readyTimeout = 60 * time.Second

// installHint says how to get what the IdPs need.
const installHint = "install Node.js 20+ and run `npm ci --prefix tools/idp` in the repository root"

// repoRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// idpDir returns tools/idp and the node binary, or skips the test (fails it
// when CI=true, so that CI never passes by skipping) when either is missing.
func idpDir(t testing.TB) (dir, node string) {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) + "; " + installHint
		if os.Getenv("CI") == "true" {
			t.Fatal("idptest: " + msg)
		}
		t.Skip("idptest: " + msg)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("idptest: %v", err)
	}
	dir = filepath.Join(root, "tools", "idp")
	node, err = exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	if v, ok := nodeMajor(node); !ok {
		unavailable("%s is Node.js %s, older than %d", node, v, minNodeMajor)
	}
	for _, pkg := range []string{"oidc-provider", "samlify", "@authenio/samlify-xmllint-wasm"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			unavailable("tools/idp/node_modules/%s is missing", pkg)
		}
	}
	return dir, node
}

// minNodeMajor is the oldest Node.js major version the pinned
// oidc-provider runs on.
const minNodeMajor = 20

// nodeMajor reports node's version and whether it is new enough.
func nodeMajor(node string) (string, bool) {
	out, err := exec.Command(node, "--version").Output()
	v := strings.TrimSpace(string(out))
	if err != nil {
		return "(unknown: " + err.Error() + ")", false
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	n, err := strconv.Atoi(major)
	return v, err == nil && n >= minNodeMajor
}

// process is one running IdP script.
type process struct {
	base   string // http://127.0.0.1:PORT
	stderr *syncBuffer
}

// startNode runs `node script configFile` in tools/idp, waits for its JSON
// ready line and decodes it into ready. The process is killed at cleanup;
// its stderr is logged when the test failed.
func startNode(t testing.TB, script string, config any, ready any) *process {
	t.Helper()
	dir, node := idpDir(t)

	cfgJSON, err := json.Marshal(config)
	if err != nil {
		t.Fatalf("idptest: encode %s config: %v", script, err)
	}
	cfgFile := filepath.Join(t.TempDir(), strings.TrimSuffix(script, ".js")+"-config.json")
	if err := os.WriteFile(cfgFile, cfgJSON, 0o600); err != nil {
		t.Fatalf("idptest: write %s config: %v", script, err)
	}

	cmd := exec.Command(node, script, cfgFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test", "IDP_EXIT_ON_STDIN_EOF=1")
	// The IdP exits when its stdin ends: if this test binary dies without
	// running its cleanups, the pipe closes and node does not linger.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("idptest: %s stdin: %v", script, err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("idptest: %s stdout: %v", script, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("idptest: start node %s: %v", script, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("idptest: %s stderr:\n%s", script, stderr.String())
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		// Keep draining so a chatty script never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()

	select {
	case line, ok := <-lines:
		if !ok {
			<-exited
			t.Fatalf("idptest: node %s exited before it was ready:\n%s", script, stderr.String())
		}
		if err := json.Unmarshal([]byte(line), ready); err != nil {
			t.Fatalf("idptest: node %s ready line %q: %v\n%s", script, line, err, stderr.String())
		}
	case <-time.After(readyTimeout):
		t.Fatalf("idptest: node %s not ready after %v:\n%s", script, readyTimeout, stderr.String())
	}
	return &process{stderr: stderr}
}

// Stderr returns what the IdP process wrote to stderr so far.
func (p *process) Stderr() string { return p.stderr.String() }

// admin POSTs body as JSON to an admin endpoint and decodes the answer into
// out (when not nil).
func (p *process) admin(t testing.TB, path string, body, out any) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("idptest: encode %s: %v", path, err)
		}
		rd = bytes.NewReader(b)
	}
	p.post(t, path, "application/json", rd, out)
}

func (p *process) post(t testing.TB, path, contentType string, body io.Reader, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, body)
	if err != nil {
		t.Fatalf("idptest: POST %s: %v", path, err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("idptest: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("idptest: POST %s: %s: %s\n%s", path, resp.Status, b, p.Stderr())
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("idptest: POST %s answer %q: %v", path, b, err)
		}
	}
}

// get fetches path from the IdP.
func (p *process) get(t testing.TB, path string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		t.Fatalf("idptest: GET %s: %v", path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("idptest: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("idptest: GET %s: %s %v: %s", path, resp.Status, err, b)
	}
	return b
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of os/exec and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
