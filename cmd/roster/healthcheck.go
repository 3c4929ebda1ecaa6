package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/rosterhq/roster/config"
)

// defaultHealthcheckTimeout is shorter than Docker's default health-check
// timeout (30 s) and longer than the server's own store ping (2 s).
const defaultHealthcheckTimeout = 5 * time.Second

// runHealthcheck is "roster healthcheck": ask a running server's /readyz
// and exit 0 when it answers 200, 1 otherwise. It exists for container
// health checks in images without curl (distroless): the URL comes from
// --url, else from the same configuration as serve (listen), on loopback.
func runHealthcheck(ctx context.Context, c cli, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	flags := config.Register(fs)
	rawURL := fs.String("url", "", "readiness `URL` to ask (default: http://127.0.0.1:PORT/readyz, PORT from --listen)")
	timeout := fs.Duration("timeout", defaultHealthcheckTimeout, "give up after this `duration`")
	if err := parseFlags(c, fs, args, "roster healthcheck [--url URL] [flags]"); err != nil {
		return err
	}
	target := *rawURL
	if target == "" {
		cfg, err := flags.Resolve(c.lookupEnv)
		if err != nil {
			return err
		}
		target, err = readyzURL(cfg.Listen)
		if err != nil {
			return err
		}
	} else if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &usageError{fmt.Sprintf("healthcheck: --url %q is not an http:// or https:// URL", target)}
	}
	if *timeout <= 0 {
		return &usageError{"healthcheck: --timeout must be positive"}
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	req.Header.Set("User-Agent", "roster-healthcheck")
	// No proxy from the environment: the server is local.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		var r struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(body, &r)
		if r.Reason != "" {
			return fmt.Errorf("healthcheck: %s: not ready: %s (%s)", target, resp.Status, r.Reason)
		}
		return fmt.Errorf("healthcheck: %s: not ready: %s", target, resp.Status)
	}
	fmt.Fprintf(c.stdout, "ready: %s\n", target)
	return nil
}

// readyzURL turns a listen address into the loopback URL of /readyz: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") is asked on
// 127.0.0.1.
func readyzURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("healthcheck: listen %q: %w", listen, err)
	}
	if port == "0" {
		return "", errors.New("healthcheck: listen has port 0 (picked at start): give --url")
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
