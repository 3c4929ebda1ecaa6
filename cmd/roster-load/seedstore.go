package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// seedManagedAttributes are the attributes Entra's POST /Users body sets
// (see entraUser), under the names the SCIM server records them as
// IdP-managed.
var seedManagedAttributes = []string{"active", "department", "displayName", "emails", "employeeNumber", "externalId", "name", "userName"}

// seedMember is the member a SCIM POST /Users of p's Entra body creates in
// the account: the same attributes, the account's default role, active,
// source SCIM. It leaves out what the request path adds around the
// record: no audit event, no seat reservation (seat status none).
func seedMember(p person, accountID string, roles []string) repository.Member {
	display := p.givenName + " " + p.familyName
	return repository.Member{
		AccountID:         accountID,
		ID:                repository.NewID(),
		UserName:          p.userName,
		ExternalID:        p.objectID,
		Name:              repository.Name{Formatted: display, FamilyName: p.familyName, GivenName: p.givenName},
		DisplayName:       display,
		Active:            true,
		Status:            repository.StatusActive,
		Source:            repository.SourceSCIM,
		Emails:            []repository.Email{{Value: p.userName, Type: "work", Primary: true}},
		EmployeeNumber:    p.employeeNumber(),
		Department:        p.department,
		Roles:             roles,
		SeatStatus:        repository.SeatNone,
		ManagedAttributes: seedManagedAttributes,
	}
}

// seedStorePath reads --seed-store: only the embedded store can be seeded
// directly.
func seedStorePath(store string) (string, error) {
	path, ok := strings.CutPrefix(store, "sqlite:")
	if !ok || path == "" {
		return "", fmt.Errorf("--seed-store %q: give sqlite:PATH (only the embedded store can be seeded directly)", store)
	}
	return path, nil
}

// runSeedStore creates users Start … Start+Users-1 of the population in
// the account directly in an SQLite store file, in transactions of
// SeedBatch users, and reports the rate. Users that already exist are
// skipped, so an interrupted seed can simply be run again. The server may
// run on the file meanwhile (writes queue on SQLite's lock), but each
// batch holds the write lock while it runs.
func runSeedStore(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	path, err := seedStorePath(cfg.SeedStore)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := st.GetAccount(ctx, cfg.AccountID)
	if err != nil {
		return fmt.Errorf("--account-id %q: %w", cfg.AccountID, err)
	}
	roles, err := defaultRoles(ctx, st, acct)
	if err != nil {
		return err
	}

	pop := population{prefix: cfg.Prefix, domain: cfg.Domain}
	start := time.Now()
	lastReport := start
	created, skipped := 0, 0
	for lo := cfg.Start; lo < cfg.Start+cfg.Users; lo += cfg.SeedBatch {
		hi := min(lo+cfg.SeedBatch, cfg.Start+cfg.Users)
		c, s, err := seedBatch(ctx, st, pop, acct.ID, roles, lo, hi)
		if err != nil {
			return fmt.Errorf("seed users %d–%d (%d created before): %w", lo, hi-1, created, err)
		}
		created += c
		skipped += s
		if cfg.Progress > 0 && time.Since(lastReport) >= cfg.Progress {
			lastReport = time.Now()
			fmt.Fprintf(stderr, "seed-store: %d/%d users, %.0f users/s\n", hi-cfg.Start, cfg.Users, float64(created)/time.Since(start).Seconds())
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "seed-store: %d users created, %d already there, in %s (%.0f users/s) into account %s of %s\n",
		created, skipped, elapsed.Round(time.Millisecond), float64(created)/elapsed.Seconds(), acct.ID, path)
	return nil
}

// defaultRoles is the role a SCIM-created member gets: the account's
// default role, as its stored key.
func defaultRoles(ctx context.Context, st repository.Store, acct repository.Account) ([]string, error) {
	if acct.Settings.DefaultRoleKey == "" {
		return nil, nil
	}
	list, err := st.ListRoles(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		if strings.EqualFold(r.Key, acct.Settings.DefaultRoleKey) {
			return []string{r.Key}, nil
		}
	}
	return nil, fmt.Errorf("the account's default role %q does not exist", acct.Settings.DefaultRoleKey)
}

// seedBatch creates users lo … hi-1 in one transaction. When one of them
// exists already, the transaction is rolled back and the batch is done
// again, skipping the users that exist.
func seedBatch(ctx context.Context, st repository.Store, pop population, accountID string, roles []string, lo, hi int) (created, skipped int, err error) {
	create := func(skipExisting bool) error {
		created, skipped = 0, 0
		return st.InTx(ctx, func(ctx context.Context) error {
			for i := lo; i < hi; i++ {
				p := pop.person(i)
				if skipExisting {
					_, err := st.GetMemberByUserName(ctx, accountID, p.userName)
					if err == nil {
						skipped++
						continue
					}
					if !errors.Is(err, repository.ErrNotFound) {
						return err
					}
				}
				if _, err := st.CreateMember(ctx, seedMember(p, accountID, roles)); err != nil {
					return fmt.Errorf("user %d (%s): %w", i, p.userName, err)
				}
				created++
			}
			return nil
		})
	}
	err = create(false)
	if errors.Is(err, repository.ErrConflict) {
		err = create(true)
	}
	return created, skipped, err
}
