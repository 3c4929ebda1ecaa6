// Command roster-load drives a running Roster server the way an identity
// provider does: an Entra-style initial sync, group creation and member
// batches, steady-state userName lookups, or raw user seeding, over SCIM 2.0
// with a pool of keep-alive workers. Every run is bounded by user counts,
// request counts or a duration, so it stops by itself. At the end it
// replays the same load against a bare gin handler started in-process and
// prints the Roster/bare ratio, so results read the same on any machine.
//
//	roster-load --url http://127.0.0.1:8080/scim/v2 --token $TOKEN --scenario sync --users 10000 --concurrency 4
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// config is the parsed command line.
type config struct {
	URL            string
	Token          string
	Scenario       string
	Concurrency    int
	Users          int
	Start          int
	Prefix         string
	Domain         string
	Duration       time.Duration
	Requests       int
	Groups         int
	GroupMembers   int
	Batch          int
	BigGroup       int
	BigGroupAdds   int
	Baseline       bool
	JSON           bool
	ShowErrors     int
	Timeout        time.Duration
	RequestTimeout time.Duration
	Progress       time.Duration
	AllowRemote    bool
	SeedStore      string
	AccountID      string
	SeedBatch      int
	ServerPID      int
}

var scenarios = map[string]bool{"sync": true, "groups": true, "lookup": true, "seed": true, "all": true}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("roster-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.URL, "url", "", "SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2 (required)")
	fs.StringVar(&c.Token, "token", os.Getenv("ROSTER_SCIM_TOKEN"), "SCIM bearer token (default $ROSTER_SCIM_TOKEN)")
	fs.StringVar(&c.Scenario, "scenario", "sync", "sync | groups | lookup | seed | all (sync → groups → lookup)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "parallel workers, each with a keep-alive connection")
	fs.IntVar(&c.Users, "users", 1000, "population size: users Start … Start+users-1")
	fs.IntVar(&c.Start, "start", 0, "index of the first user (seed a range in several runs)")
	fs.StringVar(&c.Prefix, "prefix", "load", "tag in every userName and group name of this population")
	fs.StringVar(&c.Domain, "domain", "contoso.example", "email domain of the synthetic users")
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "lookup: stop after this long")
	fs.IntVar(&c.Requests, "requests", 0, "lookup: stop after this many requests (0: duration only)")
	fs.IntVar(&c.Groups, "groups", 10, "groups: number of groups to create")
	fs.IntVar(&c.GroupMembers, "group-members", 100, "groups: members added to each group")
	fs.IntVar(&c.Batch, "batch", 50, "groups: members per PATCH Add request")
	fs.IntVar(&c.BigGroup, "big-group", 1000, "groups: size of the big group that then gets single-member adds (0: skip)")
	fs.IntVar(&c.BigGroupAdds, "big-group-adds", 20, "groups: single-member adds measured on the big and on a 2-member group")
	fs.BoolVar(&c.Baseline, "baseline", true, "replay the same load against a bare in-process gin handler and print ratios")
	fs.BoolVar(&c.JSON, "json", false, "print a JSON summary on stdout (the text report goes to stderr)")
	fs.IntVar(&c.ShowErrors, "show-errors", 5, "print the first N error responses of each target")
	fs.DurationVar(&c.Timeout, "timeout", time.Hour, "hard limit for the whole run")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 30*time.Second, "limit per request")
	fs.DurationVar(&c.Progress, "progress", 5*time.Second, "progress line interval on stderr (0: off)")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a --url whose host is not a loopback address")
	fs.StringVar(&c.SeedStore, "seed-store", "", "instead of a load run: create the population directly in this store, sqlite:PATH (needs --account-id)")
	fs.StringVar(&c.AccountID, "account-id", "", "seed-store: the account to create the users in")
	fs.IntVar(&c.SeedBatch, "seed-batch", 1000, "seed-store: users per transaction")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's process id: report its CPU time per request and per user of each phase (Linux /proc)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, c.validate()
}

func (c config) validate() error {
	if c.SeedStore != "" {
		return c.validateSeedStore()
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("--url is required")
	case err != nil:
		return fmt.Errorf("--url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("--url: scheme must be http or https, not %q", u.Scheme)
	case !c.AllowRemote && !isLoopback(u.Hostname()):
		return fmt.Errorf("--url: %q is not a loopback address (pass --allow-remote to load another host on purpose)", u.Hostname())
	case !scenarios[c.Scenario]:
		return fmt.Errorf("--scenario: unknown %q (sync, groups, lookup, seed, all)", c.Scenario)
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return errors.New("--concurrency must be between 1 and 1024")
	case c.Users < 1:
		return errors.New("--users must be at least 1")
	case c.Start < 0:
		return errors.New("--start must not be negative")
	case c.Requests < 0 || c.Groups < 0 || c.GroupMembers < 0 || c.BigGroup < 0 || c.BigGroupAdds < 0 || c.ShowErrors < 0:
		return errors.New("counts must not be negative")
	case c.Batch < 1:
		return errors.New("--batch must be at least 1")
	case (c.Scenario == "lookup" || c.Scenario == "all") && c.Duration <= 0 && c.Requests == 0:
		return errors.New("lookup needs a bound: --duration or --requests")
	case c.Timeout <= 0 || c.RequestTimeout <= 0:
		return errors.New("--timeout and --request-timeout must be positive")
	case c.ServerPID < 0:
		return errors.New("--server-pid must not be negative")
	}
	return nil
}

// validateSeedStore checks the flags of a --seed-store run, which talks
// to no server.
func (c config) validateSeedStore() error {
	_, err := seedStorePath(c.SeedStore)
	switch {
	case err != nil:
		return err
	case c.AccountID == "":
		return errors.New("--seed-store needs --account-id (the id \"roster account create --output json\" prints)")
	case c.Users < 1:
		return errors.New("--users must be at least 1")
	case c.Start < 0:
		return errors.New("--start must not be negative")
	case c.SeedBatch < 1:
		return errors.New("--seed-batch must be at least 1")
	case c.Timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roster-load:", err)
		os.Exit(2)
	}
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	runner := run
	if cfg.SeedStore != "" {
		runner = runSeedStore
	}
	if err := runner(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roster-load:", err)
		os.Exit(1)
	}
}

// run executes the scenario against Roster, then (unless disabled) the same
// load against the bare baseline, and writes the reports.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	text, logw := stdout, stderr
	if cfg.JSON {
		text = stderr
	}
	runTag := strconv.FormatInt(time.Now().UnixMilli(), 36)
	pop := population{prefix: cfg.Prefix, domain: cfg.Domain}

	roster := newTarget("roster", cfg.URL, cfg.Token, cfg.Concurrency, cfg.RequestTimeout, cfg.ShowErrors)
	defer roster.close()
	if pid := cfg.ServerPID; pid > 0 {
		if _, err := procCPU(pid); err != nil {
			return fmt.Errorf("--server-pid %d: %w", pid, err)
		}
		roster.cpu = func() (time.Duration, error) { return procCPU(pid) }
	}
	d := &driver{cfg: cfg, pop: pop, t: roster, log: logw, capture: true, runTag: runTag}
	rosterPhases := d.scenario(ctx)
	sum := Summary{
		Scenario:     cfg.Scenario,
		Concurrency:  cfg.Concurrency,
		Users:        cfg.Users,
		Machine:      Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()},
		Roster:       summarizePhases(roster, rosterPhases),
		RosterErrors: roster.errs.samples(),
	}
	if ctx.Err() != nil {
		sum.Interrupted = true
	}

	if cfg.Baseline && ctx.Err() == nil {
		bare, err := runBaseline(ctx, cfg, pop, runTag, rosterPhases, logw)
		if err != nil {
			return err
		}
		sum.Bare = bare
		sum.Comparison = compare(sum.Roster, sum.Bare)
	}
	writeText(text, sum)
	if cfg.JSON {
		if err := writeJSON(stdout, sum); err != nil {
			return err
		}
	}
	return nil
}

// runBaseline repeats the Roster run's load against a bare gin server.
func runBaseline(ctx context.Context, cfg config, pop population, runTag string, rosterPhases []*phase, logw io.Writer) ([]PhaseSummary, error) {
	b, err := startBaseline()
	if err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.stop(sctx)
	}()
	byName := make(map[string]*phase, len(rosterPhases))
	for _, p := range rosterPhases {
		byName[p.name] = p
	}
	t := newTarget("bare-gin", b.url, "", cfg.Concurrency, cfg.RequestTimeout, cfg.ShowErrors)
	defer t.close()
	d := &driver{cfg: cfg, pop: pop, t: t, log: logw, runTag: runTag,
		beforePhase: func(name string) { b.installFrom(byName[name]) }}
	if lp := byName[phaseLookup]; lp != nil {
		var n int64
		for _, r := range lp.recs {
			for _, s := range r.ops {
				n += int64(len(s.latencies))
			}
		}
		d.lookupLimit = max(n, 1)
	}
	return summarizePhases(t, d.scenario(ctx)), nil
}
