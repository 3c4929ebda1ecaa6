package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/config"
	"github.com/rosterhq/roster/provisioning"
)

// defaultSeats is the number of agent seats a new account gets when
// --seats is not given.
const defaultSeats = 10

// createdAccountOutput is what "account create --output json" prints.
type createdAccountOutput struct {
	AccountID          string `json:"accountId"`
	SCIMToken          string `json:"scimToken"`
	APIToken           string `json:"apiToken"`
	OwnerInvitationURL string `json:"ownerInvitationUrl"`
}

// runAccountCreate is "roster account create": create an account, its
// owner and first tokens, and print the secrets once.
func runAccountCreate(ctx context.Context, c cli, args []string) (err error) {
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	name := fs.String("name", "", "account `name`, unique (required)")
	ownerEmail := fs.String("owner-email", "", "`email` of the owner, the first administrator (required)")
	givenName := fs.String("owner-given-name", "", "owner's first `name`")
	familyName := fs.String("owner-family-name", "", "owner's last `name`")
	seats := fs.Int("seats", defaultSeats, "agent seats bought (`N`)")
	output := fs.String("output", "text", "output `format`: text or json")
	flags := config.Register(fs)
	if err := parseFlags(c, fs, args,
		"roster account create --name NAME --owner-email EMAIL [--seats N] [--output json|text] [flags]"); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(*name) == "":
		return &usageError{"account create: --name is required"}
	case strings.TrimSpace(*ownerEmail) == "":
		return &usageError{"account create: --owner-email is required"}
	case *output != "text" && *output != "json":
		return &usageError{fmt.Sprintf("account create: --output %q is not one of text, json", *output)}
	}
	cfg, storeURL, err := resolveConfig(c, flags)
	if err != nil {
		return err
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

	created, err := provisioning.New(store).CreateAccount(ctx, provisioning.CreateAccountInput{
		Name:            *name,
		OwnerEmail:      *ownerEmail,
		OwnerGivenName:  *givenName,
		OwnerFamilyName: *familyName,
		Seats:           *seats,
		BaseURL:         cfg.BaseURL,
	})
	if err != nil {
		if e := provisioning.AsError(err); e != nil {
			// The public message names the value at fault; the cause is
			// for logs and would only add noise here.
			return fmt.Errorf("account create: %s", e.Message)
		}
		return fmt.Errorf("account create: %w", err)
	}

	out := createdAccountOutput{
		AccountID:          created.Account.ID,
		SCIMToken:          created.SCIMToken,
		APIToken:           created.APIToken,
		OwnerInvitationURL: created.OwnerInvitationURL,
	}
	if *output == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("account create: write output: %w", err)
		}
		return nil
	}
	_, err = fmt.Fprintf(c.stdout, `Account %q created.

  accountId           %s
  scimToken           %s
  apiToken            %s
  ownerInvitationUrl  %s

The tokens are shown only once: Roster keeps only their hashes. Store them
now. The SCIM token authenticates your identity provider's SCIM client;
the API token is the owner's admin-API credential.
Send the invitation URL to %s; it expires in %s.
`, created.Account.Name, out.AccountID, out.SCIMToken, out.APIToken, out.OwnerInvitationURL,
		created.Owner.UserName, humanDuration(created.Account.Settings.InvitationTTL))
	if err != nil {
		return fmt.Errorf("account create: write output: %w", err)
	}
	return nil
}

// humanDuration says d in whole days when it is whole days.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > day && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
