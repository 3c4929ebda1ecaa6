// Package cluster runs several real `roster serve` processes against one
// store, for tests of what must hold across instances behind a load
// balancer: uniqueness, seat limits, outbox delivery, SAML replay, session
// revocation. It builds the roster binary once per test process.
//
//	c := cluster.Start(t, cluster.Options{Store: "sqlite:" + path})
//	acct := c.CreateAccount(t, "Acme", 10)
//	a, b := c.URL(0), c.URL(1)
package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long an instance may take to listen;
// stopTimeout how long it may take to drain after SIGTERM.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// Options configure a cluster.
type Options struct {
	// Store is the one store every instance uses: "sqlite:PATH" or a
	// mongodb:// URI. Required.
	Store string
	// Instances is the number of processes (default 2).
	Instances int
	// Binary is the roster binary to run; empty builds ./cmd/roster once.
	Binary string
	// Env is added to every instance's environment (ROSTER_*=…), after
	// the test process's own ROSTER_* variables are removed.
	Env []string
	// Args are extra `serve` flags for every instance.
	Args []string
}

// Cluster is the running instances.
type Cluster struct {
	Binary    string
	Store     string
	Env       []string
	Instances []*Instance
}

// Instance is one `roster serve` process.
type Instance struct {
	// URL is the instance's base URL: http://127.0.0.1:PORT.
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	once sync.Once
	err  error
}

// StartTwo starts two instances on store and returns their base URLs.
func StartTwo(t testing.TB, store string, env ...string) (string, string) {
	t.Helper()
	c := Start(t, Options{Store: store, Env: env})
	return c.URL(0), c.URL(1)
}

// Start starts the instances and waits until each listens. They are
// stopped (SIGTERM, then killed) when the test ends; a test that failed
// gets their logs.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Store == "" {
		t.Fatal("cluster: Options.Store is required")
	}
	if o.Instances <= 0 {
		o.Instances = 2
	}
	if o.Binary == "" {
		o.Binary = Build(t)
	}
	c := &Cluster{Binary: o.Binary, Store: o.Store, Env: o.Env}
	for i := range o.Instances {
		in, err := c.start(t, i, o)
		if in != nil {
			c.Instances = append(c.Instances, in)
		}
		if err != nil {
			c.stopAll()
			t.Fatalf("cluster: instance %d: %v", i, err)
		}
	}
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			for i, in := range c.Instances {
				t.Logf("cluster: instance %d (%s) log:\n%s", i, in.URL, in.Logs())
			}
		}
	})
	return c
}

func (c *Cluster) start(t testing.TB, i int, o Options) (*Instance, error) {
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug",
		"--store", o.Store}, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = CleanEnv(o.Env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	in := &Instance{cmd: cmd, logs: &syncBuffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			in.logs.Write(append(append([]byte(nil), line...), '\n'))
			if sent {
				continue
			}
			var m struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &m) == nil && m.Msg == "roster listening" && m.Addr != "" {
				addr <- m.Addr
				sent = true
			}
		}
		in.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		in.URL = "http://" + a
		return in, nil
	case err := <-in.done:
		in.done <- err
		return in, fmt.Errorf("exited before listening (%v):\n%s", err, in.Logs())
	case <-time.After(startTimeout):
		return in, fmt.Errorf("did not listen within %s:\n%s", startTimeout, in.Logs())
	}
}

// URL returns instance i's base URL.
func (c *Cluster) URL(i int) string { return c.Instances[i].URL }

// URLs returns every instance's base URL.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.Instances))
	for i, in := range c.Instances {
		out[i] = in.URL
	}
	return out
}

// Logs returns what the instance logged so far (JSON lines).
func (in *Instance) Logs() string { return in.logs.String() }

// Stop sends SIGTERM and waits for the instance to drain and exit (or
// kills it after a timeout). It returns the process's exit error, nil on
// a clean stop. Calling it again returns the same result.
func (in *Instance) Stop() error {
	in.once.Do(func() {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case in.err = <-in.done:
		case <-time.After(stopTimeout):
			_ = in.cmd.Process.Kill()
			in.err = fmt.Errorf("killed: no exit within %s of SIGTERM (%v)", stopTimeout, <-in.done)
		}
	})
	return in.err
}

func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for _, in := range c.Instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = in.Stop()
		}()
	}
	wg.Wait()
}

// Account is what `roster account create` prints.
type Account struct {
	AccountID          string `json:"accountId"`
	SCIMToken          string `json:"scimToken"`
	APIToken           string `json:"apiToken"`
	OwnerInvitationURL string `json:"ownerInvitationUrl"`
}

// CreateAccount runs `roster account create` on the cluster's store.
func (c *Cluster) CreateAccount(t testing.TB, name string, seats int) Account {
	t.Helper()
	out := c.Run(t, "account", "create", "--name", name, "--owner-email", "owner@"+slug(name)+".example",
		"--seats", strconv.Itoa(seats), "--output", "json")
	var a Account
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.SCIMToken == "" {
		t.Fatalf("cluster: account create printed %q (%v)", out, err)
	}
	return a
}

// Run runs a roster command against the cluster's store with the
// cluster's environment and returns its stdout; a failure fails t.
func (c *Cluster) Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Binary, append(args, "--store", c.Store)...)
	cmd.Dir = t.TempDir()
	cmd.Env = CleanEnv(c.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cluster: roster %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "account"
	}
	return b.String()
}

// build is the binary Build makes once per test process, in a temporary
// directory of its own that RemoveBuild deletes.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// RemoveBuild deletes the binary Build made, if any; a test package's
// TestMain calls it after its tests.
func RemoveBuild() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

// Build builds ./cmd/roster once per process and returns the binary.
func Build(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			build.err = errors.New("cannot locate the module root")
			return
		}
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "roster-cluster-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir, build.path = dir, filepath.Join(dir, "roster")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/roster")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/roster: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// CleanEnv is the process environment without ROSTER_* variables, so a
// developer's settings cannot change what a test sees, plus extra.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
