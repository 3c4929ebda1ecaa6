package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/memberimport"
	"github.com/rosterhq/roster/repository"
)

// membersImportSynopsis is the usage line of "members import".
const membersImportSynopsis = "roster members import FILE --account-id ID [--dry-run] [--atomic] [--output text|json] [flags]"

// runMembersImport is "roster members import FILE": create the members of
// a CSV or JSON file (see package memberimport for the columns) in an
// account, as the system, and print one result per row. It fails (exit
// 1) when a row failed, after printing every row.
func runMembersImport(ctx context.Context, c cli, args []string) (err error) {
	fs := flag.NewFlagSet("members import", flag.ContinueOnError)
	accountID := fs.String("account-id", "", "`id` of the account to import into (required)")
	dryRun := fs.Bool("dry-run", false, "validate every row and report what would happen, writing nothing")
	atomic := fs.Bool("atomic", false, "import only if every row succeeds (needs a store with transactions)")
	output := fs.String("output", "text", "output `format`: text or json")
	flags := config.Register(fs)
	file, err := parseFlagsWithFile(c, fs, args, membersImportSynopsis)
	if err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(*accountID) == "":
		return &usageError{"members import: --account-id is required"}
	case *output != "text" && *output != "json":
		return &usageError{fmt.Sprintf("members import: --output %q is not one of text, json", *output)}
	}
	cfg, storeURL, err := resolveConfig(c, flags)
	if err != nil {
		return err
	}

	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("members import: %w", err)
	}
	rows, err := memberimport.Parse(f)
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("members import: %s: %w", file, err)
	}
	if len(rows) == 0 {
		return fmt.Errorf("members import: %s has no rows", file)
	}

	store, err := openStore(ctx, storeURL)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	svc := provisioning.New(store, provisioning.WithBaseURL(cfg.BaseURL))
	if _, err := store.GetAccount(ctx, *accountID); err != nil {
		if errors.Is(err, repository.ErrNotFound) {
			return fmt.Errorf("members import: no account has the id %q", *accountID)
		}
		return fmt.Errorf("members import: %w", err)
	}

	bar := newProgressBar(c.stderr)
	res, err := svc.ImportMembers(ctx, provisioning.Actor{Kind: repository.ActorSystem}, *accountID, rows,
		provisioning.ImportOptions{DryRun: *dryRun, Atomic: *atomic, Progress: bar.update})
	bar.done()
	if err != nil {
		if e := provisioning.AsError(err); e != nil {
			return fmt.Errorf("members import: %s", e.Message)
		}
		return fmt.Errorf("members import: %w", err)
	}
	if err := printImport(c.stdout, res, *output); err != nil {
		return fmt.Errorf("members import: write output: %w", err)
	}
	if res.Failed > 0 {
		what := "failed"
		if res.Atomic && !res.Committed && !res.DryRun {
			what = "failed, so nothing was imported"
		}
		return fmt.Errorf("members import: %d of %d rows %s", res.Failed, len(res.Rows), what)
	}
	return nil
}

// parseFlagsWithFile parses args with one positional FILE anywhere among
// the flags ("import FILE --account-id X" and "import --account-id X
// FILE" both work) and returns FILE.
func parseFlagsWithFile(c cli, fs *flag.FlagSet, args []string, synopsis string) (string, error) {
	var files []string
	rest := args
	for {
		// parseFlags refuses positional arguments; parse up to the first
		// one, keep it, and go on after it.
		i := firstPositional(fs, rest)
		if err := parseFlags(c, fs, rest[:i], synopsis); err != nil {
			return "", err
		}
		if i >= len(rest) {
			break
		}
		files = append(files, rest[i])
		rest = rest[i+1:]
	}
	switch len(files) {
	case 0:
		return "", &usageError{fmt.Sprintf("%s: the FILE to import is required (run 'roster %s --help')", fs.Name(), fs.Name())}
	case 1:
		return files[0], nil
	}
	return "", &usageError{fmt.Sprintf("%s: unexpected argument %q (run 'roster %s --help')", fs.Name(), files[1], fs.Name())}
}

// firstPositional returns the index of the first argument that is neither
// a flag nor a flag's value ("--" ends the flags), or len(args).
func firstPositional(fs *flag.FlagSet, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return i + 1
			}
			return len(args)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return i
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // parseFlags reports it
		}
		if bf, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool && bf.IsBoolFlag() {
			continue
		}
		i++ // the flag's value
	}
	return len(args)
}

// importRowJSON is one row of "members import --output json".
type importRowJSON struct {
	Row      int    `json:"row"`
	Email    string `json:"email,omitempty"`
	Status   string `json:"status"`
	Invited  bool   `json:"invited,omitempty"`
	MemberID string `json:"memberId,omitempty"`
	Code     string `json:"code,omitempty"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

// printImport prints the rows and a summary.
func printImport(w io.Writer, res provisioning.ImportResult, output string) error {
	if output == "json" {
		out := struct {
			DryRun    bool            `json:"dryRun"`
			Atomic    bool            `json:"atomic"`
			Committed bool            `json:"committed"`
			Created   int             `json:"created"`
			Invited   int             `json:"invited"`
			Queued    int             `json:"queued"`
			Failed    int             `json:"failed"`
			Rows      []importRowJSON `json:"rows"`
		}{res.DryRun, res.Atomic, res.Committed, res.Created, res.Invited, res.Queued, res.Failed, nil}
		for _, r := range res.Rows {
			out.Rows = append(out.Rows, importRowJSON{r.Row, r.Email, r.Status, r.Invited, r.MemberID, string(r.Code), r.Field, r.Message})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, r := range res.Rows {
		detail := r.MemberID
		switch r.Status {
		case provisioning.ImportFailed:
			detail = r.Message
			if r.Field != "" {
				detail = r.Field + ": " + r.Message
			}
		case provisioning.ImportNotImported:
			detail = r.Message
		case provisioning.ImportQueued:
			detail = strings.TrimSpace(r.MemberID + " (waiting for an agent seat)")
		}
		if _, err := fmt.Fprintf(w, "row %-6d %-12s %-32s %s\n", r.Row, r.Status, r.Email, detail); err != nil {
			return err
		}
	}
	mode := ""
	switch {
	case res.DryRun:
		mode = " (dry run: nothing was written)"
	case res.Atomic && !res.Committed:
		mode = " (all or nothing: nothing was written)"
	}
	_, err := fmt.Fprintf(w, "\n%d rows: %d created, %d invited, %d queued for a seat, %d failed%s\n",
		len(res.Rows), res.Created, res.Invited, res.Queued, res.Failed, mode)
	return err
}

// progressBar draws the import's progress on a terminal's stderr; on
// anything else (a file, a pipe, a test) it draws nothing.
type progressBar struct {
	w    io.Writer
	on   bool
	last time.Time
}

// newProgressBar returns a bar on w, active only when w is a terminal.
func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, on: isTerminal(w)}
}

// isTerminal reports whether w is a terminal, where a progress bar may
// redraw itself in place.
func isTerminal(w io.Writer) bool {
	f, isFile := w.(*os.File)
	if !isFile {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// barWidth is the bar's width in characters.
const barWidth = 30

// update redraws the bar at most ten times a second, and at the end.
func (b *progressBar) update(done, total int) {
	if !b.on || total == 0 {
		return
	}
	now := time.Now()
	if done < total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	filled := done * barWidth / total
	fmt.Fprintf(b.w, "\rimporting [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), done, total)
}

// done clears the bar's line.
func (b *progressBar) done() {
	if b.on {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", barWidth+40))
	}
}
