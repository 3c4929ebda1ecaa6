package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"Transfer", testTransfer})
}

// transferPage is small so that every kind spans several pages.
const transferPage = 3

// testTransfer fills store A with every transferred kind, exports it,
// imports it into an empty store B, and holds B to A field by field; a
// second import changes nothing; B then serves what A served.
func testTransfer(t *testing.T, c Config) {
	a, b := c.New(t), c.New(t)
	ea, ok := a.(repository.Exporter)
	if !ok {
		t.Fatalf("%T does not implement repository.Exporter", a)
	}
	ib, ok := b.(repository.Importer)
	if !ok {
		t.Fatalf("%T does not implement repository.Importer", b)
	}
	eb := b.(repository.Exporter)
	ctx := t.Context()
	fx := fillForTransfer(t, a)

	src := exportAll(t, ea)
	for _, k := range repository.TransferKinds() {
		if len(src[k]) == 0 {
			t.Errorf("store A exported no %s: the fixture should hold every kind", k)
		}
	}
	importAll := func() {
		for _, k := range repository.TransferKinds() {
			recs := src[k]
			for len(recs) > 0 {
				n := min(len(recs), transferPage+1)
				must(t, ib.Import(ctx, k, recs[:n]), "import %d %s", n, k)
				recs = recs[n:]
			}
		}
	}
	importAll()
	dst := exportAll(t, eb)
	compareExports(t, dst, src)

	for _, k := range repository.TransferKinds() {
		n, err := eb.Count(ctx, k)
		must(t, err, "count %s", k)
		expect(t, n, len(dst[k]), "B: count of %s", k)
	}

	// Importing again (a resumed migration) changes nothing.
	importAll()
	again := exportAll(t, eb)
	for _, k := range repository.TransferKinds() {
		if len(again[k]) != len(dst[k]) {
			t.Errorf("second import: %d %s, want %d", len(again[k]), k, len(dst[k]))
			continue
		}
		for i := range dst[k] {
			expectSame(t, again[k][i].Value, dst[k][i].Value, "second import: %s %q", k, dst[k][i].Key)
		}
	}

	// Checksums over the canonical records agree.
	for _, k := range repository.TransferKinds() {
		var ca, cb repository.Checksum
		for _, r := range src[k] {
			must(t, ca.Add(r), "checksum of A")
		}
		for _, r := range dst[k] {
			must(t, cb.Add(r), "checksum of B")
		}
		expect(t, cb.Count, ca.Count, "%s count", k)
		expect(t, cb.Sum(), ca.Sum(), "%s checksum", k)
	}

	// The checkpoint of a migration into B round-trips.
	if cp, ok := b.(repository.Checkpointer); ok {
		_, err := cp.LoadCheckpoint(ctx)
		mustIs(t, err, repository.ErrNotFound, "checkpoint before any")
		want := repository.Checkpoint{Source: "sqlite:/x.db", Kind: repository.KindMembers, After: src[repository.KindMembers][0].Key,
			StartedAt: time.Now().Add(-time.Minute), UpdatedAt: time.Now()}
		must(t, cp.SaveCheckpoint(ctx, want), "save checkpoint")
		want.Done = true
		must(t, cp.SaveCheckpoint(ctx, want), "save checkpoint again")
		got, err := cp.LoadCheckpoint(ctx)
		must(t, err, "load checkpoint")
		expectSame(t, got, want, "checkpoint")
	}

	// B answers the store's own reads the way A does.
	acct := fx.account.ID
	gotM, err := b.GetMember(ctx, acct, fx.member.ID)
	must(t, err, "B: get member")
	wantM, err := a.GetMember(ctx, acct, fx.member.ID)
	must(t, err, "A: get member")
	expectSame(t, gotM, wantM, "B: member")
	byName, err := b.GetMemberByUserName(ctx, acct, fx.member.UserName)
	must(t, err, "B: get member by userName")
	expect(t, byName.ID, fx.member.ID, "B: member by userName")
	page := listMembers(t, b, acct, repository.Query{Count: 100})
	expect(t, page.Total, 3, "B: members of the account")
	tok, err := b.GetTokenByHash(ctx, fx.token.Hash)
	must(t, err, "B: token by hash")
	expectSame(t, tok, fx.token, "B: token")
	sess, err := b.GetSessionByHash(ctx, fx.session.Hash)
	must(t, err, "B: session by hash")
	expect(t, sess.ID, fx.session.ID, "B: session by hash")
	inv, err := b.GetInvitationByTokenHash(ctx, fx.invitation.TokenHash)
	must(t, err, "B: invitation by hash")
	expect(t, inv.ID, fx.invitation.ID, "B: invitation by hash")
	conn, err := b.GetSSOConnectionByDomain(ctx, "Transfer.Example")
	must(t, err, "B: connection by domain")
	expect(t, conn.ID, fx.conn.ID, "B: connection by domain")
	link, err := b.GetIdentityLink(ctx, acct, fx.conn.ID, "subject-1")
	must(t, err, "B: identity link")
	expect(t, link.MemberID, fx.member.ID, "B: identity link member")
	inUse, err := b.SeatsInUse(ctx, acct)
	must(t, err, "B: seats in use")
	expect(t, inUse, 2, "B: seats in use")
	g, err := b.GetGroup(ctx, acct, fx.group.ID, true)
	must(t, err, "B: get group")
	expectSet(t, groupMemberIDs(g.Members), []string{fx.member.ID, fx.other.ID}, "B: group members")
	expect(t, g.Version, fx.group.Version, "B: group version")
	roles, err := b.ListRoles(ctx, acct)
	must(t, err, "B: list roles")
	wantRoles, err := a.ListRoles(ctx, acct)
	must(t, err, "A: list roles")
	expect(t, len(roles), len(wantRoles), "B: roles")
	keys, err := b.ListSigningKeys(ctx, time.Now())
	must(t, err, "B: signing keys")
	expect(t, len(keys), 1, "B: signing keys")
	del, err := b.GetAccountDeletion(ctx, fx.deleted)
	must(t, err, "B: account deletion")
	expect(t, del.Reason, "moved", "B: deletion reason")

	// B keeps working after the import: updates continue the versions,
	// and a new member counts along with the imported ones.
	upd, err := b.UpdateMember(ctx, acct, fx.member.ID, func(m repository.Member) (repository.Member, error) {
		m.Title = "Moved"
		return m, nil
	})
	must(t, err, "B: update imported member")
	expect(t, upd.Version, fx.member.Version+1, "B: version after update")
	newMember(t, b, acct, unique("after")+"@transfer.example")
	page = listMembers(t, b, acct, repository.Query{Count: 100})
	expect(t, page.Total, 4, "B: members after one more")
	// A colliding record from elsewhere is a conflict, not an overwrite.
	clash := fx.member
	clash.ID, clash.ExternalID = repository.NewID(), ""
	rec, err := repository.NewRecord(repository.KindMembers, clash)
	must(t, err, "record")
	err = ib.Import(ctx, repository.KindMembers, []repository.Record{rec})
	mustConflict(t, err, "userName", "import of another member with the same userName")
}

// transferFixture is what fillForTransfer made.
type transferFixture struct {
	account    repository.Account
	member     repository.Member
	other      repository.Member
	group      repository.Group
	token      repository.Token
	session    repository.Session
	invitation repository.Invitation
	conn       repository.SSOConnection
	deleted    string
}

// fillForTransfer writes at least one record of every kind, with every
// attribute set, versions above 1 and times with sub-millisecond parts.
func fillForTransfer(t *testing.T, s repository.Store) transferFixture {
	ctx := t.Context()
	var fx transferFixture
	now := time.Now()
	fx.account = newAccount(t, s, func(a *repository.Account) {
		a.Settings.ProfileGuidelines = "Be kind"
		a.Settings.AllowEmailLinking = true
	})
	acct := fx.account.ID
	var err error
	fx.account, err = s.UpdateAccount(ctx, acct, func(a repository.Account) (repository.Account, error) {
		a.Deletion = repository.DeletionChallenge{CodeHash: "code-hash", ExpiresAt: now.Add(time.Hour), Attempts: 1}
		return a, nil
	})
	must(t, err, "update account")
	second := newAccount(t, s)

	for _, key := range []string{"agent", "Supervisor", "admin"} {
		_, err := s.CreateRole(ctx, repository.Role{
			AccountID: acct, Key: key, DisplayName: key + " role", Description: "does " + key,
			Permissions: []string{"conversations.read", "conversations.write"}, OptionalPermissions: []string{"reports.export"},
			ConsumesSeat: key == "agent", BuiltIn: key != "Supervisor",
		})
		must(t, err, "create role %s", key)
	}
	_, err = s.UpdateRole(ctx, acct, "supervisor", func(r repository.Role) (repository.Role, error) {
		r.Description = "leads a team"
		return r, nil
	})
	must(t, err, "update role")

	fx.member = newMember(t, s, acct, "ada@transfer.example", func(m *repository.Member) {
		m.ExternalID = "ext-ada"
		m.Name = repository.Name{Formatted: "Ada Lovelace", FamilyName: "Lovelace", GivenName: "Ada", MiddleName: "B", HonorificPrefix: "Ms", HonorificSuffix: "III"}
		m.NickName, m.ProfileURL, m.Title, m.UserType = "ada", "https://example.com/ada", "Engineer", "Employee"
		m.PreferredLanguage, m.Locale, m.Timezone = "en-GB", "en_GB", "Europe/London"
		m.Emails = append(m.Emails, repository.Email{Value: "ada@home.example", Type: "home", Display: "Home"})
		m.PhoneNumbers = []repository.PhoneNumber{{Value: "+44 20 7946 0000", Type: "work", Primary: true}}
		m.Addresses = []repository.Address{{Formatted: "1 Main St", StreetAddress: "1 Main St", Locality: "London", Region: "LDN", PostalCode: "N1", Country: "GB", Type: "work", Primary: true}}
		m.EmployeeNumber, m.CostCenter, m.Organization, m.Division, m.Department = "42", "CC1", "Org", "Div", "Dept"
		m.PendingManagerRef = "boss-ext"
		m.Roles = []string{"agent", "Supervisor"}
		m.OptionalPermissions = []repository.RolePermission{{Role: "agent", Permission: "reports.export"}}
		m.Profile = repository.SupportProfile{
			Expertise: []string{"billing", "Refunds"}, OnlyAssignFromExpertise: true, OnlyAssignedConversations: true,
			CanViewGroupCompanies: true, ExternalSSO: true, CanManageTeams: true, Channels: []string{"email", "chat"},
			EmploymentStatus: "full_time", StartDate: "2024-01-02", Bio: "Counts things", ImageURL: "https://example.com/a.png",
			Hometown: "London", StateOrCountry: "UK", ApprovalStatus: "approved",
		}
		m.SeatStatus = repository.SeatAssigned
		m.ManagedAttributes = []string{"userName", "emails", "name"}
		m.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"
		m.MustChangePassword = true
	})
	fx.member, err = s.UpdateMember(ctx, acct, fx.member.ID, func(m repository.Member) (repository.Member, error) {
		m.Title = "Principal Engineer"
		return m, nil
	})
	must(t, err, "update member")
	fx.other = newMember(t, s, acct, "grace@transfer.example", func(m *repository.Member) {
		m.ManagerID = fx.member.ID
		m.SeatStatus = repository.SeatQueued
		m.SeatQueuedAt = now
	})
	newMember(t, s, acct, "solo@transfer.example")
	newMember(t, s, second.ID, "ada@transfer.example")

	fx.group = newGroup(t, s, acct, "Support", fx.member.ID, fx.other.ID)
	_, err = s.UpdateGroup(ctx, acct, fx.group.ID, func(g repository.Group) (repository.Group, error) {
		g.ExternalID, g.RoleKey = "ext-support", "agent"
		return g, nil
	})
	must(t, err, "update group")
	fx.group, err = s.GetGroup(ctx, acct, fx.group.ID, false)
	must(t, err, "get group")
	newGroup(t, s, acct, "Empty")
	newGroup(t, s, second.ID, "Support", func() []string {
		m := newMember(t, s, second.ID, "x@second.example")
		return []string{m.ID}
	}()...)

	must(t, s.ReserveSeat(ctx, acct, fx.member.ID), "reserve seat")
	must(t, s.ReserveSeat(ctx, acct, fx.other.ID), "reserve seat")

	fx.invitation, err = s.CreateInvitation(ctx, repository.Invitation{
		AccountID: acct, ID: repository.NewID(), MemberID: fx.other.ID, TokenHash: unique("inv-hash"), InvitedBy: fx.member.ID,
		Kind: repository.InvitationActivation, ExpiresAt: now.Add(time.Hour), SentAt: now, SendCount: 2, SendCountSince: now,
	})
	must(t, err, "create invitation")
	fx.token, err = s.CreateToken(ctx, repository.Token{
		AccountID: acct, ID: repository.NewID(), Kind: repository.TokenSCIM, Name: "Okta", Hash: unique("tok-hash"),
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	})
	must(t, err, "create token")
	must(t, s.TouchToken(ctx, acct, fx.token.ID, now.Add(time.Second)), "touch token")
	fx.token.LastUsedAt = now.Add(time.Second)
	api, err := s.CreateToken(ctx, repository.Token{
		AccountID: acct, ID: repository.NewID(), Kind: repository.TokenAPI, Name: "cli", MemberID: fx.member.ID,
		Hash: unique("tok-hash"), CreatedAt: now,
	})
	must(t, err, "create api token")
	must(t, s.RevokeToken(ctx, acct, api.ID, now), "revoke token")
	fx.session, err = s.CreateSession(ctx, repository.Session{
		AccountID: acct, ID: repository.NewID(), MemberID: fx.member.ID, Hash: unique("sess-hash"), AgentSeat: false,
		NoSeatReason: "every concurrent seat taken", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now,
	})
	must(t, err, "create session")
	fx.conn, err = s.CreateSSOConnection(ctx, repository.SSOConnection{
		AccountID: acct, ID: repository.NewID(), Kind: repository.SSOOIDC, Name: "Entra",
		Domains: []string{"transfer.example", unique("d") + ".example"}, Enabled: true, Config: []byte(`{"issuer":"https://idp.example"}`),
	})
	must(t, err, "create SSO connection")
	_, err = s.CreateIdentityLink(ctx, repository.IdentityLink{
		AccountID: acct, ConnectionID: fx.conn.ID, Subject: "subject-1", MemberID: fx.member.ID, CreatedAt: now,
	})
	must(t, err, "create identity link")
	_, err = s.CreateIdentityLink(ctx, repository.IdentityLink{
		AccountID: acct, ConnectionID: fx.conn.ID, Subject: "Subject/2 with spaces", MemberID: fx.other.ID, CreatedAt: now,
	})
	must(t, err, "create identity link")
	must(t, s.CreateSigningKey(ctx, repository.SigningKey{
		ID: unique("kid"), Algorithm: "ES256", PrivateKey: []byte("sealed\x00private"), PublicKey: []byte("\x30\x59public"),
		CreatedAt: now, RetiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour),
	}), "create signing key")
	for i := range 4 {
		_, err = s.AppendAudit(ctx, repository.AuditEvent{
			AccountID: acct, ID: repository.NewID(), Time: now.Add(time.Duration(i) * time.Millisecond), ActorKind: repository.ActorSCIMToken,
			ActorID: fx.token.ID, Action: "member.update", TargetKind: "member", TargetID: fx.member.ID,
			Diff: []byte(`{"title":["Engineer","Principal Engineer"]}`), RequestID: unique("req"),
		})
		must(t, err, "append audit")
	}
	mid := repository.NewID()
	must(t, s.EnqueueEmail(ctx, repository.OutboxMessage{
		AccountID: acct, ID: mid, To: "ada@transfer.example", Subject: "Hello", Text: "text", HTML: "<p>html</p>",
		CreatedAt: now, NextAttemptAt: now,
	}), "enqueue email")
	must(t, s.MarkEmailFailed(ctx, acct, mid, "421 try later", now.Add(time.Minute)), "mark email failed")
	sent := repository.NewID()
	must(t, s.EnqueueEmail(ctx, repository.OutboxMessage{AccountID: acct, ID: sent, To: "b@transfer.example", Subject: "Sent", CreatedAt: now}), "enqueue")
	must(t, s.MarkEmailSent(ctx, acct, sent, now), "mark sent")

	gone := newAccount(t, s)
	must(t, s.DeleteAccount(ctx, gone.ID, "moved"), "delete account")
	fx.deleted = gone.ID
	return fx
}

// exportAll exports every kind page by page, checking that keys ascend
// strictly and match their records.
func exportAll(t *testing.T, e repository.Exporter) map[repository.RecordKind][]repository.Record {
	t.Helper()
	out := map[repository.RecordKind][]repository.Record{}
	for _, k := range repository.TransferKinds() {
		after := ""
		for {
			page, err := e.Export(context.WithoutCancel(t.Context()), k, after, transferPage)
			must(t, err, "export %s after %q", k, after)
			for _, r := range page {
				if r.Kind != k {
					t.Fatalf("export %s returned a record of kind %s", k, r.Kind)
				}
				key, err := repository.KeyOf(k, r.Value)
				must(t, err, "key of exported %s", k)
				if key != r.Key {
					t.Fatalf("export %s: record key %q, its value's key is %q", k, r.Key, key)
				}
				if r.Key <= after {
					t.Fatalf("export %s: key %q does not follow %q", k, r.Key, after)
				}
				after = r.Key
			}
			out[k] = append(out[k], page...)
			if len(page) < transferPage {
				break
			}
		}
	}
	return out
}

// compareExports holds got to want kind by kind, record by record, field
// by field (times at millisecond precision).
func compareExports(t *testing.T, got, want map[repository.RecordKind][]repository.Record) {
	t.Helper()
	for _, k := range repository.TransferKinds() {
		g, w := got[k], want[k]
		if len(g) != len(w) {
			t.Errorf("%s: %d records, want %d", k, len(g), len(w))
			continue
		}
		for i := range w {
			if g[i].Key != w[i].Key {
				t.Errorf("%s[%d]: key %q, want %q", k, i, g[i].Key, w[i].Key)
				continue
			}
			expectSame(t, repository.Canonical(g[i].Value), repository.Canonical(w[i].Value), "%s %q", k, w[i].Key)
		}
	}
}
