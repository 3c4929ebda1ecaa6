package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
	"github.com/rosterhq/roster/scim"
)

// TestSeedStoreWritesWhatSCIMCreates: the users --seed-store writes are
// the records a SCIM POST of the same Entra body creates (bar ids, times
// and seats), so lookups and groups measured on a seeded store measure
// what an IdP's own sync would have left; a second run skips them.
func TestSeedStoreWritesWhatSCIMCreates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seed.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := provisioning.New(st)
	newAccount := func(name string) provisioning.CreatedAccount {
		ca, err := svc.CreateAccount(ctx, provisioning.CreateAccountInput{
			Name: name, OwnerEmail: "owner@" + strings.ToLower(name) + ".example", BaseURL: "http://127.0.0.1:8080"})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	viaSCIM, seeded := newAccount("ViaSCIM"), newAccount("Seeded")

	srv, err := scim.New(svc, scim.Options{BaseURL: "http://127.0.0.1:8080/scim/v2", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	pop := population{prefix: "load", domain: "contoso.example"}
	const from, n = 40, 5
	for i := from; i < from+n; i++ {
		body, err := entraUserBody(pop.person(i))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/Users", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+viaSCIM.SCIMToken)
		req.Header.Set("Content-Type", scimContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST user %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	cfg := config{SeedStore: "sqlite:" + path, AccountID: seeded.Account.ID, Users: n, Start: from,
		Prefix: pop.prefix, Domain: pop.domain, SeedBatch: 2, Timeout: time.Minute}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runSeedStore(ctx, cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "5 users created, 0 already there") {
		t.Errorf("report: %s", out.String())
	}
	// Again, over a range that overlaps: only the new users are created.
	cfg.Start, cfg.Users = from+3, 4
	out.Reset()
	if err := runSeedStore(ctx, cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 users created, 2 already there") {
		t.Errorf("second report: %s", out.String())
	}

	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	comparable := func(m repository.Member) repository.Member {
		m.AccountID, m.ID, m.Meta = "", "", repository.Meta{}
		m.SeatStatus, m.SeatQueuedAt = "", time.Time{} // seats are the request path's business
		return m
	}
	for i := from; i < from+n; i++ {
		p := pop.person(i)
		want, err := st.GetMemberByUserName(ctx, viaSCIM.Account.ID, p.userName)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.GetMemberByUserName(ctx, seeded.Account.ID, p.userName)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(comparable(got), comparable(want)) {
			t.Errorf("user %d seeded as\n%+v\nSCIM created\n%+v", i, comparable(got), comparable(want))
		}
	}
	page, err := st.ListMembers(ctx, seeded.Account.ID, repository.Query{Count: 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + n + 2; page.Total != want { // the owner, the first run, two more in the second
		t.Errorf("seeded account holds %d members, want %d", page.Total, want)
	}
}

func TestSeedStoreFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--seed-store", "sqlite:/tmp/x.db"}, "needs --account-id"},
		{[]string{"--seed-store", "mongodb://x", "--account-id", "a"}, "give sqlite:PATH"},
		{[]string{"--seed-store", "sqlite:/tmp/x.db", "--account-id", "a", "--seed-batch", "0"}, "--seed-batch"},
		{[]string{"--seed-store", "sqlite:/tmp/x.db", "--account-id", "a", "--users", "10"}, ""},
	}
	for _, tc := range tests {
		_, err := parseFlags(tc.args, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one naming %q", tc.args, err, tc.want)
		}
	}
}
