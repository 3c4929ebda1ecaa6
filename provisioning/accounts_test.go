package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/repository"
)

func TestCreateAccount(t *testing.T) {
	ctx := context.Background()
	s, store, clock := openSQLiteService(t)
	now := clock.Now()

	got, err := s.CreateAccount(ctx, CreateAccountInput{
		Name: "  Acme Support  ", OwnerEmail: " Ada.Lovelace@Acme.Example ", OwnerGivenName: "Ada",
		OwnerFamilyName: "Lovelace", Seats: 3, BaseURL: "https://roster.example.com/",
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("account", func(t *testing.T) {
		a, err := store.GetAccount(ctx, got.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := repository.SeatSettings{Policy: repository.SeatPolicyNamed, Total: 3, Exhaustion: repository.SeatExhaustionQueue}
		if a.Name != "Acme Support" || a.Status != repository.AccountActive || a.Seats != want {
			t.Errorf("account = %+v", a)
		}
		if a.Settings.InvitationTTL != DefaultInvitationTTL || a.Settings.DefaultRoleKey != RoleAgent {
			t.Errorf("settings = %+v", a.Settings)
		}
		if a.OwnerMemberID == "" || a.OwnerMemberID != got.Owner.ID || got.Account.OwnerMemberID != a.OwnerMemberID {
			t.Errorf("owner member id = %q, returned %q, owner %q", a.OwnerMemberID, got.Account.OwnerMemberID, got.Owner.ID)
		}
	})

	t.Run("built-in roles seeded", func(t *testing.T) {
		roles, err := store.ListRoles(ctx, got.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range roles {
			keys = append(keys, r.Key)
			if !r.BuiltIn || r.AccountID != got.Account.ID {
				t.Errorf("role %s: built-in %v, account %q", r.Key, r.BuiltIn, r.AccountID)
			}
		}
		var want []string
		for _, r := range BuiltInRoles("") {
			want = append(want, r.Key)
		}
		if !slices.Equal(keys, want) {
			t.Errorf("roles = %q, want %q", keys, want)
		}
		agent, err := store.GetRole(ctx, got.Account.ID, RoleAgent)
		if err != nil || !agent.ConsumesSeat || !slices.Contains(agent.OptionalPermissions, PermConversationsTransfer) {
			t.Errorf("agent role = %+v, %v", agent, err)
		}
	})

	t.Run("owner", func(t *testing.T) {
		m, err := store.GetMemberByUserName(ctx, got.Account.ID, "ada.lovelace@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != got.Owner.ID || m.UserName != "ada.lovelace@acme.example" {
			t.Errorf("owner id %q userName %q", m.ID, m.UserName)
		}
		wantEmails := []repository.Email{{Value: "Ada.Lovelace@Acme.Example", Type: "work", Primary: true}}
		if !slices.Equal(m.Emails, wantEmails) {
			t.Errorf("emails = %+v, want %+v", m.Emails, wantEmails)
		}
		if !slices.Equal(m.Roles, []string{RoleAdministrator}) || m.Status != repository.StatusInvited ||
			!m.Active || m.Source != repository.SourceAdmin || m.SeatStatus != repository.SeatNone {
			t.Errorf("owner = roles %q status %q active %v source %q seat %q", m.Roles, m.Status, m.Active, m.Source, m.SeatStatus)
		}
		if m.Name.GivenName != "Ada" || m.Name.FamilyName != "Lovelace" || m.DisplayName != "Ada Lovelace" {
			t.Errorf("owner name = %+v, display %q", m.Name, m.DisplayName)
		}
		if m.PasswordHash != "" {
			t.Error("owner has a password before accepting the invitation")
		}
	})

	t.Run("tokens", func(t *testing.T) {
		scim, err := s.Authenticate(ctx, got.SCIMToken, repository.TokenSCIM)
		if err != nil || scim.AccountID != got.Account.ID || scim.MemberID != "" {
			t.Errorf("SCIM token: %+v, %v", scim, err)
		}
		api, err := s.Authenticate(ctx, got.APIToken, repository.TokenAPI)
		if err != nil || api.AccountID != got.Account.ID || api.MemberID != got.Owner.ID {
			t.Errorf("API token: %+v, %v", api, err)
		}
	})

	t.Run("invitation", func(t *testing.T) {
		link, ok := strings.CutPrefix(got.OwnerInvitationURL, "https://roster.example.com/invite/")
		if !ok || len(link) != 43 {
			t.Fatalf("invitation URL %q: want base URL + /invite/ + a 256-bit token", got.OwnerInvitationURL)
		}
		inv, err := store.GetInvitationByTokenHash(ctx, HashToken(link))
		if err != nil {
			t.Fatal(err)
		}
		if inv.AccountID != got.Account.ID || inv.MemberID != got.Owner.ID || inv.TokenHash == link {
			t.Errorf("invitation = %+v", inv)
		}
		if !inv.ExpiresAt.Equal(now.Add(DefaultInvitationTTL)) {
			t.Errorf("invitation expires %v, want %v", inv.ExpiresAt, now.Add(DefaultInvitationTTL))
		}
		if !inv.AcceptedAt.IsZero() || !inv.RevokedAt.IsZero() {
			t.Errorf("new invitation accepted %v revoked %v", inv.AcceptedAt, inv.RevokedAt)
		}
	})

	t.Run("audited", func(t *testing.T) {
		page, err := store.ListAudit(ctx, got.Account.ID, repository.AuditQuery{Action: "account.create", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("%d account.create events, want 1", len(page.Items))
		}
		e := page.Items[0]
		var diff map[string]any
		if err := json.Unmarshal(e.Diff, &diff); err != nil {
			t.Fatalf("diff %s: %v", e.Diff, err)
		}
		owner, _ := diff["ownerMemberId"].(map[string]any)
		if e.ActorKind != repository.ActorSystem || e.TargetID != got.Account.ID || owner["after"] != got.Owner.ID {
			t.Errorf("event = %+v, diff %v", e, diff)
		}
		if strings.Contains(string(e.Diff), got.SCIMToken) || strings.Contains(string(e.Diff), got.APIToken) {
			t.Error("audit diff holds a secret")
		}
	})
}

func TestCreateAccountDuplicateName(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSQLiteService(t)
	newTestAccount(t, s, "Globex")
	_, err := s.CreateAccount(ctx, CreateAccountInput{
		Name: "GLOBEX", OwnerEmail: "someone@else.example", BaseURL: "http://localhost:8080",
	})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeConflict || e.Attribute != "name" {
		t.Fatalf("err = %v, want a conflict on name", err)
	}
	if e.Message != `an account named "GLOBEX" already exists` {
		t.Errorf("message = %q", e.Message)
	}
}

func TestCreateAccountValidation(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSQLiteService(t)
	valid := CreateAccountInput{Name: "Initech", OwnerEmail: "owner@initech.example", Seats: 1, BaseURL: "http://localhost:8080"}

	tests := []struct {
		name   string
		change func(*CreateAccountInput)
		attr   string
	}{
		{"empty name", func(in *CreateAccountInput) { in.Name = "" }, "name"},
		{"blank name", func(in *CreateAccountInput) { in.Name = " \t " }, "name"},
		{"name too long", func(in *CreateAccountInput) { in.Name = strings.Repeat("é", 101) }, "name"},
		{"name with a control character", func(in *CreateAccountInput) { in.Name = "Ini\ntech" }, "name"},
		{"empty email", func(in *CreateAccountInput) { in.OwnerEmail = "" }, "ownerEmail"},
		{"email without at", func(in *CreateAccountInput) { in.OwnerEmail = "owner" }, "ownerEmail"},
		{"email with display name", func(in *CreateAccountInput) { in.OwnerEmail = "Owner <owner@initech.example>" }, "ownerEmail"},
		{"two emails", func(in *CreateAccountInput) { in.OwnerEmail = "a@initech.example, b@initech.example" }, "ownerEmail"},
		{"two ats", func(in *CreateAccountInput) { in.OwnerEmail = "a@b@initech.example" }, "ownerEmail"},
		{"dotless domain", func(in *CreateAccountInput) { in.OwnerEmail = "owner@localhost" }, "ownerEmail"},
		{"domain starting with a dot", func(in *CreateAccountInput) { in.OwnerEmail = "owner@.example" }, "ownerEmail"},
		{"address literal", func(in *CreateAccountInput) { in.OwnerEmail = "owner@[127.0.0.1]" }, "ownerEmail"},
		{"email too long", func(in *CreateAccountInput) { in.OwnerEmail = strings.Repeat("a", 250) + "@x.example" }, "ownerEmail"},
		{"negative seats", func(in *CreateAccountInput) { in.Seats = -1 }, "seats"},
		{"too many seats", func(in *CreateAccountInput) { in.Seats = 1_000_001 }, "seats"},
		{"no base URL", func(in *CreateAccountInput) { in.BaseURL = "" }, "baseURL"},
		{"relative base URL", func(in *CreateAccountInput) { in.BaseURL = "roster.example.com" }, "baseURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := valid
			tc.change(&in)
			_, err := s.CreateAccount(ctx, in)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidValue || e.Attribute != tc.attr {
				t.Fatalf("err = %v, want invalid value on %s", err, tc.attr)
			}
			if e.Message == "" || strings.Contains(e.Message, "\n") {
				t.Errorf("message %q is not one readable line", e.Message)
			}
		})
	}
	// Nothing above was created: the valid input still gets the name.
	if _, err := s.CreateAccount(ctx, valid); err != nil {
		t.Errorf("valid input after rejected ones: %v", err)
	}
}
