// Command roster runs the Roster server and its admin commands.
//
//	roster serve                 run the HTTP server
//	roster account create ...    create an account and its owner
//	roster members import FILE   create members in bulk from CSV or JSON
//	roster migrate ...           copy one store into another, then verify
//	roster backup / restore      back up and restore the embedded store
//	roster help                  show usage
//
// This package is wiring and command-line handling only: rules live in
// provisioning, storage in repository, configuration in config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// cli is what every command reads from and writes to, so tests can run
// commands in-process.
type cli struct {
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
}

// usageError is a mistake in the command line itself; it exits with 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// command is one subcommand: its name as typed, a one-line summary, and
// its entry point.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c cli, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server (SCIM, SSO, admin API, health checks)", runServe},
		{"account create", "create an account and its owner; prints the tokens once", runAccountCreate},
		{"members import", "create members in bulk from a CSV or JSON file, with a result per row", runMembersImport},
		{"healthcheck", "ask a running server's /readyz; exit 0 when ready (container health checks)", runHealthcheck},
		{"migrate", "copy every record from one store into another (e.g. the embedded store into MongoDB), then verify", runMigrate},
		{"backup", "copy the embedded store into a file, online and consistent", runBackup},
		{"restore", "replace the embedded store with a backup file (servers stopped)", runRestore},
	}
}

// run executes one command line and returns the process exit code: 0 on
// success, 1 when the command failed, 2 for a malformed command line. A
// failure is reported as exactly one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := cli{stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			// "roster help serve" is "roster serve --help".
			return run(ctx, append(args[1:], "--help"), stdout, stderr, lookupEnv)
		}
		printUsage(stdout)
		return 0
	}
	for _, cmd := range commands() {
		words := strings.Fields(cmd.name)
		if len(args) < len(words) || strings.Join(args[:len(words)], " ") != cmd.name {
			continue
		}
		err := cmd.run(ctx, c, args[len(words):])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		fmt.Fprintf(stderr, "roster: %s\n", oneLine(err.Error()))
		var ue *usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stderr, "roster: unknown command %q: run 'roster help'\n", strings.Join(args, " "))
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Roster: SCIM 2.0 provisioning and SSO for support teams.\n\nUsage:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  roster %-16s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "  roster %-16s %s\n", "help [COMMAND]", "show this help, or a command's flags")
	fmt.Fprint(w, `
Every command accepts the configuration flags --config, --listen, --base-url,
--store, --log-level and --log-format; a flag beats its ROSTER_* environment
variable, which beats the YAML file named by --config or ROSTER_CONFIG.
Run 'roster COMMAND --help' for details.
`)
}

// parseFlags parses args into fs (named after the command, e.g. "serve") and turns the flag package's multi-line
// complaints into one usage error. --help prints the command's flags to
// stdout and returns flag.ErrHelp.
func parseFlags(c cli, fs *flag.FlagSet, args []string, synopsis string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(c.stdout, "Usage: %s\n\nFlags:\n", synopsis)
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return &usageError{fmt.Sprintf("%s: %v (run 'roster %s --help')", fs.Name(), err, fs.Name())}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q (run 'roster %s --help')", fs.Name(), fs.Arg(0), fs.Name())}
	}
	return nil
}

// oneLine keeps an error message on one line whatever a dependency put in
// it, so a failure is always exactly one line on stderr.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "; ")
	return strings.ReplaceAll(s, "\n", "; ")
}
