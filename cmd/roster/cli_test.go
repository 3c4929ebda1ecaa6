package main

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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/cluster"
)

// The roster binary the tests run is cluster.Build's, one per test
// process; TestMain removes it.
func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveBuild()
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs the real binary in a temporary working directory.
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Build(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = cluster.CleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	code := 0
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run roster %q: %v", args, err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// wantOneLineFailure checks a failed run printed exactly one line on
// stderr, starting "roster: " and containing every part of want.
func wantOneLineFailure(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "roster: ") {
		t.Errorf("stderr is not one line starting \"roster: \": %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

func TestAccountCreateJSON(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "roster.db")
	r := runBinary(t, nil, "account", "create", "--name", "Acme", "--owner-email", "ada@acme.example",
		"--seats", "3", "--output", "json", "--store", db, "--base-url", "https://roster.example.com/")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stdout %q is not a JSON object of strings: %v", r.stdout, err)
	}
	if len(out) != 4 {
		t.Errorf("fields %v, want accountId, scimToken, apiToken, ownerInvitationUrl", out)
	}
	if out["accountId"] == "" ||
		!strings.HasPrefix(out["scimToken"], "rst_scim_") ||
		!strings.HasPrefix(out["apiToken"], "rst_api_") ||
		!strings.HasPrefix(out["ownerInvitationUrl"], "https://roster.example.com/invite/") {
		t.Errorf("output = %v", out)
	}

	t.Run("duplicate name fails with one line", func(t *testing.T) {
		r := runBinary(t, nil, "account", "create", "--name", "ACME", "--owner-email", "bob@acme.example",
			"--output", "json", "--store", db)
		wantOneLineFailure(t, r, 1, `an account named "ACME" already exists`)
	})
}

func TestAccountCreateText(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "roster.db")
	r := runBinary(t, []string{"ROSTER_STORE=" + db}, "account", "create", "--name", "Text Co", "--owner-email", "owner@text.example")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"accountId", "scimToken           rst_scim_", "apiToken            rst_api_",
		"ownerInvitationUrl  http://localhost:8080/invite/", "shown only once", "expires in 7 days"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestAccountCreateFailures(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "roster.db")
	corrupt := filepath.Join(t.TempDir(), "corrupt.db")
	if err := os.WriteFile(corrupt, bytes.Repeat([]byte("this is not a database\n"), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{
			name: "invalid email",
			args: []string{"--name", "X", "--owner-email", "not-an-email", "--store", db},
			code: 1, want: []string{`"not-an-email" is not a valid email address`},
		},
		{
			name: "unknown store scheme",
			args: []string{"--name", "X", "--owner-email", "a@x.example", "--store", "postgres://db/roster"},
			code: 1, want: []string{`config: store (from --store): unknown scheme "postgres"`},
		},
		{
			name: "unknown store scheme from the environment",
			env:  []string{"ROSTER_STORE=redis://cache"},
			args: []string{"--name", "X", "--owner-email", "a@x.example"},
			code: 1, want: []string{`config: store (from ROSTER_STORE): unknown scheme "redis"`},
		},
		{
			name: "corrupt SQLite file",
			args: []string{"--name", "X", "--owner-email", "a@x.example", "--store", "sqlite:" + corrupt},
			code: 1, want: []string{"open store sqlite:" + corrupt + ": "},
		},
		{
			name: "unreadable config file",
			args: []string{"--name", "X", "--owner-email", "a@x.example", "--config", "/nonexistent/roster.yaml"},
			code: 1, want: []string{"config: file /nonexistent/roster.yaml (from --config): no such file or directory"},
		},
		{
			name: "missing name",
			args: []string{"--owner-email", "a@x.example", "--store", db},
			code: 2, want: []string{"account create: --name is required"},
		},
		{
			name: "unknown flag",
			args: []string{"--colour", "red"},
			code: 2, want: []string{"account create: flag provided but not defined: -colour"},
		},
		{
			name: "bad output format",
			args: []string{"--name", "X", "--owner-email", "a@x.example", "--output", "yaml"},
			code: 2, want: []string{`--output "yaml" is not one of text, json`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.env, append([]string{"account", "create"}, tc.args...)...)
			wantOneLineFailure(t, r, tc.code, tc.want...)
		})
	}
}

func TestServeFailsWithOneLine(t *testing.T) {
	corrupt := filepath.Join(t.TempDir(), "corrupt.db")
	if err := os.WriteFile(corrupt, bytes.Repeat([]byte("garbage!"), 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"corrupt SQLite file", nil, []string{"--store", "sqlite:" + corrupt}, "roster: open store sqlite:" + corrupt + ": "},
		{"unknown store scheme", nil, []string{"--store", "postgres://db"}, `unknown scheme "postgres"`},
		{"bad log level", []string{"ROSTER_LOG_LEVEL=loud"}, nil, `config: log.level (from ROSTER_LOG_LEVEL): "loud" is not one of debug, info, warn, error`},
		{"bad listen address", nil, []string{"--listen", "nowhere"}, `config: listen (from --listen)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.env, append([]string{"serve"}, tc.args...)...)
			wantOneLineFailure(t, r, 1, tc.want)
		})
	}
}

func TestServeAnswersAndStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(cluster.Build(t), "serve", "--listen", "127.0.0.1:0", "--log-format", "json",
		"--store", "sqlite:"+filepath.Join(dir, "roster.db"))
	cmd.Dir = dir
	cmd.Env = cluster.CleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			<-done
		}
	}()

	// Read the log until the server says where it listens; keep the rest.
	lines := make(chan map[string]any, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				m = map[string]any{"not-json": sc.Text()}
			}
			lines <- m
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var addr string
	timeout := time.After(30 * time.Second)
	for addr == "" {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("roster serve exited before listening")
			}
			if m["not-json"] != nil {
				t.Errorf("log line is not JSON: %v", m["not-json"])
			}
			if m["msg"] == "roster listening" {
				addr, _ = m["addr"].(string)
			}
		case <-timeout:
			t.Fatal("roster serve did not listen within 30s")
		}
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("GET /healthz = %d %s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for m := range lines {
		msgs = append(msgs, fmt.Sprint(m["msg"]))
	}
	select {
	case err := <-done:
		waited = true
		if err != nil {
			t.Errorf("roster serve after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("roster serve did not stop within 30s of SIGTERM")
	}
	if strings.Join(msgs, ",") != "shutting down,stopped" {
		t.Errorf("log after SIGTERM = %q", msgs)
	}
}

// In-process tests of the command line itself: no binary needed.

func TestUsage(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderrPart string
	}{
		{[]string{"help"}, 0, "roster serve", ""},
		{[]string{"--help"}, 0, "roster account create", ""},
		{[]string{"help", "serve"}, 0, "-store URI", ""},
		{[]string{"account", "create", "--help"}, 0, "-owner-email email", ""},
		{nil, 2, "", "Usage:"},
		{[]string{"bogus"}, 2, "", `roster: unknown command "bogus": run 'roster help'`},
		{[]string{"account"}, 2, "", `roster: unknown command "account"`},
		{[]string{"serve", "extra"}, 2, "", `roster: serve: unexpected argument "extra" (run 'roster serve --help')`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, noEnv)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.stdout != "" && !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			if tc.stderrPart != "" && !strings.Contains(stderr.String(), tc.stderrPart) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderrPart, stderr.String())
			}
		})
	}
}
