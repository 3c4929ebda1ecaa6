package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/provisioning/invitepage"
	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// linkEnv is the admin API and the invitation pages on one engine over a
// real SQLite store, as cmd/roster mounts them, with a service that has a
// base URL.
type linkEnv struct {
	*env
	outboxAt time.Time
}

func newLinkEnv(t *testing.T, seats int, exhaustion string) *linkEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}
	svc := provisioning.New(store, provisioning.WithClock(clock.Now), provisioning.WithBaseURL("https://roster.example.com"))
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	api, err := New(svc, Options{Logger: logger, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	api.Mount(engine.Group("/api/v1"))
	if err := invitepage.Mount(engine, svc, invitepage.Options{Logger: logger}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, svc: svc, clock: clock, engine: engine, logs: logs, ctx: ctx}
	e.acct = e.newAccount("Acme", seats)
	e.owner = e.acct.APIToken
	e.ownerID = e.acct.Owner.ID
	if _, err := svc.ChangeSeats(ctx, system, e.acct.Account.ID, provisioning.SeatChange{Exhaustion: &exhaustion}); err != nil {
		t.Fatal(err)
	}
	return &linkEnv{env: e, outboxAt: time.Now().Add(time.Hour)}
}

// emails returns the emails enqueued since the last call.
func (e *linkEnv) emails() []repository.OutboxMessage {
	e.t.Helper()
	e.outboxAt = e.outboxAt.Add(time.Hour)
	msgs, err := e.store.ClaimEmails(e.ctx, e.outboxAt, e.outboxAt.Add(time.Minute), 100_000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range msgs {
		if err := e.store.MarkEmailSent(e.ctx, m.AccountID, m.ID, e.outboxAt); err != nil {
			e.t.Fatal(err)
		}
	}
	return msgs
}

var inviteLinkRE = regexp.MustCompile(`https://roster\.example\.com(/invite/[A-Za-z0-9_-]+)`)

// linkTo returns the path of the link in the one email enqueued since
// the last read, checking its recipient.
func (e *linkEnv) linkTo(to string) string {
	e.t.Helper()
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != to {
		e.t.Fatalf("emails %+v, want one to %s", msgs, to)
	}
	m := inviteLinkRE.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		e.t.Fatalf("no link in %q", msgs[0].Text)
	}
	return m[1]
}

// page sends a request to the invitation pages.
func (e *linkEnv) page(method, path, contentType, accept, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	e.engine.ServeHTTP(rec, r)
	return rec
}

// form encodes a password form.
func form(password, confirm string) string {
	return url.Values{"password": {password}, "passwordConfirm": {confirm}}.Encode()
}

const strongPassword = "purple elephant ladder"

func TestInvitationJourney(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionQueue)

	// The owner created by CreateAccount follows the printed link.
	ownerPath := strings.TrimPrefix(e.acct.OwnerInvitationURL, "https://roster.example.com")
	rec := e.page(http.MethodGet, ownerPath, "", "text/html", "")
	body := expect(t, rec, http.StatusOK)
	if !strings.Contains(string(body), "Join Acme") || !strings.Contains(string(body), `action="`+ownerPath+`/accept"`) {
		t.Fatalf("owner's page: %s", body)
	}
	if rec.Header().Get("Referrer-Policy") != "no-referrer" || rec.Header().Get("Cache-Control") != "no-store" ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("page headers: %v", rec.Header())
	}
	rec = e.page(http.MethodPost, ownerPath+"/accept", "application/x-www-form-urlencoded", "", form(strongPassword, strongPassword))
	if body := expect(t, rec, http.StatusOK); !strings.Contains(string(body), "all set") {
		t.Fatalf("owner accept page: %s", body)
	}
	if m := e.getMember(e.ownerID); m.Status != repository.StatusActive || !provisioning.CheckPassword(m.PasswordHash, strongPassword) {
		t.Fatalf("owner after accepting: status %s", m.Status)
	}
	rec = e.page(http.MethodPost, ownerPath+"/accept", "application/x-www-form-urlencoded", "", form(strongPassword, strongPassword))
	if body := expect(t, rec, http.StatusGone); !strings.Contains(string(body), "already accepted") {
		t.Errorf("accepting twice: %s", body)
	}

	// The owner invites a teammate.
	inv := decodeAs[Invitation](t, e.as(e.owner, http.MethodPost, "/invitations", map[string]any{
		"email": "Tara@Acme.example", "firstName": "Tara", "lastName": "Mate", "roles": []string{"agent"},
		"supportProfile": map[string]any{"channels": []string{"chat", "Email"}, "expertise": []string{"billing"}},
	}), http.StatusCreated)
	if inv.Status != "pending" || inv.Kind != "invitation" || inv.Email != "Tara@Acme.example" || inv.InvitedBy != e.ownerID ||
		inv.Member.Status != "invited" || inv.Member.UserName != "tara@acme.example" || inv.Member.SeatStatus != "assigned" ||
		inv.Member.SupportProfile.Channels[1] != "email" || inv.SendCount != 1 {
		t.Errorf("invitation = %+v", inv)
	}
	first := e.linkTo("Tara@Acme.example")

	js := decodeAs[invitepage.Invitation](t, e.page(http.MethodGet, first, "", "application/json", ""), http.StatusOK)
	if js.AccountName != "Acme" || js.InviterName != "Olive Acme" || js.Email != "Tara@Acme.example" || js.AcceptURL != first+"/accept" {
		t.Errorf("page JSON = %+v", js)
	}
	list := decodeAs[List[Invitation]](t, e.as(e.owner, http.MethodGet, "/invitations", nil), http.StatusOK)
	if len(list.Items) != 1 || list.Items[0].ID != inv.ID {
		t.Errorf("pending = %+v", list.Items)
	}

	// Resend: rate limited at once, then a new link that kills the old.
	wantProblem(t, e.as(e.owner, http.MethodPost, "/invitations/"+inv.ID+"/resend", nil), http.StatusTooManyRequests, "rate_limited", "")
	e.clock.Advance(2 * time.Minute)
	resent := decodeAs[Invitation](t, e.as(e.owner, http.MethodPost, "/invitations/"+inv.ID+"/resend", nil), http.StatusOK)
	if resent.SendCount != 2 {
		t.Errorf("resent = %+v", resent)
	}
	second := e.linkTo("Tara@Acme.example")
	rec = e.page(http.MethodGet, first, "", "application/json", "")
	var p struct{ Code, Detail string }
	if err := json.Unmarshal(expect(t, rec, http.StatusGone), &p); err != nil || p.Code != "invitation_gone" ||
		!strings.Contains(p.Detail, "Ask an administrator") || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("old link: %s", rec.Body)
	}
	if body := expect(t, e.page(http.MethodGet, first, "", "", ""), http.StatusGone); !strings.Contains(string(body), "Ask an administrator") {
		t.Errorf("old link page: %s", body)
	}
	expect(t, e.page(http.MethodGet, second, "", "", ""), http.StatusOK)

	// A fresh link, without an email, kills the resent one.
	rec = e.as(e.owner, http.MethodPost, "/invitations/"+inv.ID+"/link", nil)
	fresh := decodeAs[InvitationLink](t, rec, http.StatusOK)
	if rec.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(fresh.URL, "https://roster.example.com/invite/") {
		t.Errorf("fresh link %+v, headers %v", fresh, rec.Header())
	}
	if msgs := e.emails(); len(msgs) != 0 {
		t.Errorf("fresh link emailed %d", len(msgs))
	}
	expect(t, e.page(http.MethodGet, second, "", "", ""), http.StatusGone)
	freshPath := strings.TrimPrefix(fresh.URL, "https://roster.example.com")

	// A weak password is refused on the page, which shows the form again.
	rec = e.page(http.MethodPost, freshPath+"/accept", "application/x-www-form-urlencoded", "", form("password1234", "password1234"))
	if body := expect(t, rec, http.StatusBadRequest); !strings.Contains(string(body), "common") || !strings.Contains(string(body), "<form") {
		t.Errorf("weak password page: %s", body)
	}
	rec = e.page(http.MethodPost, freshPath+"/accept", "application/x-www-form-urlencoded", "", form(strongPassword, strongPassword+"x"))
	expect(t, rec, http.StatusBadRequest)
	rec = e.page(http.MethodPost, freshPath+"/accept", "application/json", "application/json", `{"password":"`+strongPassword+`"}`)
	acc := decodeAs[invitepage.Accepted](t, rec, http.StatusOK)
	if acc.Status != "accepted" || acc.MemberID != inv.Member.ID || acc.UserName != "tara@acme.example" {
		t.Errorf("accepted = %+v", acc)
	}
	rec = e.page(http.MethodPost, freshPath+"/accept", "application/json", "application/json", `{"password":"`+strongPassword+`"}`)
	if err := json.Unmarshal(expect(t, rec, http.StatusGone), &p); err != nil || p.Code != "invitation_gone" {
		t.Errorf("accepting twice: %s", rec.Body)
	}
	if m := e.getMember(inv.Member.ID); m.Status != repository.StatusActive {
		t.Errorf("teammate status %s", m.Status)
	}
	wantProblem(t, e.as(e.owner, http.MethodPost, "/invitations/"+inv.ID+"/resend", nil), http.StatusGone, "invitation_gone", "")

	// Revoking an invitation frees its seat for the queue.
	q1 := decodeAs[Invitation](t, e.as(e.owner, http.MethodPost, "/invitations", map[string]any{
		"email": "q1@acme.example", "firstName": "Q", "lastName": "One", "roles": []string{"agent"}}), http.StatusCreated)
	if q1.Member.SeatStatus != "queued" {
		t.Fatalf("q1 seat = %s, want queued (the only seat is Tara's)", q1.Member.SeatStatus)
	}
	expect(t, e.as(e.owner, http.MethodDelete, "/members/"+inv.Member.ID, nil), http.StatusNoContent)
	if got := e.getMember(q1.Member.ID).SeatStatus; got != repository.SeatAssigned {
		t.Fatalf("q1 after Tara left = %s", got)
	}
	q2 := decodeAs[Invitation](t, e.as(e.owner, http.MethodPost, "/invitations", map[string]any{
		"email": "q2@acme.example", "firstName": "Q", "lastName": "Two", "roles": []string{"agent"}}), http.StatusCreated)
	e.emails()
	expect(t, e.as(e.owner, http.MethodDelete, "/invitations/"+q1.ID, nil), http.StatusNoContent)
	if _, err := e.store.GetMember(e.ctx, e.acct.Account.ID, q1.Member.ID); err == nil {
		t.Error("revoked member still exists")
	}
	seats := decodeAs[Seats](t, e.as(e.owner, http.MethodGet, "/seats", nil), http.StatusOK)
	if seats.Used != 1 || seats.Queued != 0 || e.getMember(q2.Member.ID).SeatStatus != repository.SeatAssigned {
		t.Errorf("after revoke: seats %+v, q2 %s", seats, e.getMember(q2.Member.ID).SeatStatus)
	}
	wantProblem(t, e.as(e.owner, http.MethodDelete, "/invitations/"+q1.ID, nil), http.StatusGone, "invitation_gone", "")
	wantProblem(t, e.as(e.owner, http.MethodDelete, "/invitations/nope", nil), http.StatusNotFound, "not_found", "")

	// Another account's invitation is not found.
	other := e.newAccount("Globex", 1)
	otherInv, err := e.svc.PendingInvitations(e.ctx, other.Account.ID)
	if err != nil || len(otherInv) != 1 {
		t.Fatal(err)
	}
	wantProblem(t, e.as(e.owner, http.MethodPost, "/invitations/"+otherInv[0].Invitation.ID+"/link", nil), http.StatusNotFound, "not_found", "")
}

func TestInvitationBadInput(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionReject)
	// A supervisor that may invite, but holds neither the agent's nor the
	// administrator's permissions.
	if _, err := e.svc.CreateRole(e.ctx, system, e.acct.Account.ID, repository.Role{AccountID: e.acct.Account.ID,
		Key: "lead", DisplayName: "Team lead", Permissions: []string{provisioning.PermTeamInvite, provisioning.PermReportsView, provisioning.PermReportsExport}}); err != nil {
		t.Fatal(err)
	}
	lead := e.member("lead@acme.example", "lead")
	leadTok := e.tokenFor(lead.ID)
	e.member("agent@acme.example", provisioning.RoleAgent) // the only seat
	base := func(email string, roles ...string) map[string]any {
		return map[string]any{"email": email, "firstName": "F", "lastName": "L", "roles": roles}
	}
	before := e.memberCount(e.acct.Account.ID)
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
		attr   string
		detail string
	}{
		{"existing email", e.owner, base("Owner@acme.example"), http.StatusConflict, "conflict", "email", "Owner@acme.example"},
		{"invalid email", e.owner, base("nobody"), http.StatusBadRequest, "invalid_value", "email", "not a valid email"},
		{"missing last name", e.owner, map[string]any{"email": "x@acme.example", "firstName": "X"}, http.StatusBadRequest, "invalid_value", "lastName", ""},
		{"role the inviter may not grant", leadTok, base("y@acme.example", "administrator"), http.StatusForbidden, "forbidden", "roles", "administrator"},
		{"beyond seats under reject", e.owner, base("z@acme.example", "agent"), http.StatusConflict, "seat_limit_reached", "roles", "1 of 1 agent seats in use"},
		{"unknown field", e.owner, map[string]any{"email": "u@acme.example", "firstName": "U", "lastName": "U", "role": "agent"}, http.StatusBadRequest, "unknown_field", "role", ""},
		{"read-only field", e.owner, map[string]any{"email": "u@acme.example", "status": "active"}, http.StatusBadRequest, "read_only", "status", ""},
		{"without team.invite", e.tokenFor(e.member("rep@acme.example").ID), base("r@acme.example"), http.StatusForbidden, "forbidden", "", "team.invite"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, e.as(tc.token, http.MethodPost, "/invitations", tc.body), tc.status, tc.code, tc.attr)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not name %q", p.Detail, tc.detail)
			}
		})
	}
	if after := e.memberCount(e.acct.Account.ID); after != before+1 { // + rep@, created by the last case's set-up
		t.Errorf("members %d -> %d", before, after)
	}
	if msgs := e.emails(); len(msgs) != 0 {
		t.Errorf("refused invitations sent %d emails", len(msgs))
	}
	// The lead may grant what it holds.
	expect(t, e.as(leadTok, http.MethodPost, "/invitations", base("rep2@acme.example", "reporter")), http.StatusCreated)
	// Direct creates follow the same grant rule.
	wantProblem(t, e.as(leadTok, http.MethodPost, "/members", map[string]any{"userName": "d@acme.example", "roles": []string{"administrator"}}),
		http.StatusForbidden, "forbidden", "")
}

func TestCreateMemberWithActivationEmail(t *testing.T) {
	e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
	m := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", map[string]any{
		"userName": "sam", "firstName": "Sam", "lastName": "Smith", "emails": []map[string]any{{"value": "sam@acme.example", "primary": true}},
		"roles": []string{"reporter"}, "employeeNumber": "E-7", "sendActivationEmail": true,
		"supportProfile": map[string]any{"employmentStatus": "Part Time", "startDate": "2025-01-06", "hometown": "Lyon"},
	}), http.StatusCreated)
	if m.Status != "active" || m.SupportProfile.EmploymentStatus != "part_time" || m.EmployeeNumber != "E-7" {
		t.Errorf("member = %+v", m)
	}
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != "sam@acme.example" || !strings.Contains(msgs[0].Subject, "Acme") {
		t.Fatalf("emails = %+v", msgs)
	}
	path := inviteLinkRE.FindStringSubmatch(msgs[0].Text)[1]
	js := decodeAs[invitepage.Invitation](t, e.page(http.MethodGet, path, "", "application/json", ""), http.StatusOK)
	if js.Kind != "activation" || js.UserName != "sam" {
		t.Errorf("activation page = %+v", js)
	}
	expect(t, e.page(http.MethodPost, path+"/accept", "application/json", "", `{"password":"`+strongPassword+`"}`), http.StatusOK)
	if got := e.getMember(m.ID); !provisioning.CheckPassword(got.PasswordHash, strongPassword) || got.MustChangePassword {
		t.Error("activation did not set the password")
	}

	wantProblem(t, e.as(e.owner, http.MethodPost, "/members", map[string]any{"userName": "t@acme.example",
		"temporaryPassword": "Temp-password-1", "sendActivationEmail": true}), http.StatusBadRequest, "invalid_value", "sendActivationEmail")
	tmp := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", map[string]any{"userName": "t@acme.example",
		"temporaryPassword": "Temp-password-1"}), http.StatusCreated)
	if got := e.getMember(tmp.ID); !got.MustChangePassword || !provisioning.CheckPassword(got.PasswordHash, "Temp-password-1") {
		t.Error("temporary password not set to be changed")
	}
}

// importCSV builds a CSV import of n good rows plus bad rows at known
// lines.
func importCSV(n int) (string, map[int]string) {
	var b bytes.Buffer
	b.WriteString("email,firstName,lastName,displayName,roles,employeeNumber,teamLeaderEmail,expertise,channels,employmentStatus,startDate,externalSso,canManageTeams,invite\n")
	bad := map[int]string{}
	line := 1
	for i := range n {
		line++
		switch i {
		case 10:
			b.WriteString("not-an-email,Bad,Email,,reporter,,,,,,,false,false,false\n")
			bad[line] = "email"
			continue
		case 20:
			b.WriteString("p20@acme.example,Bad,Bool,,reporter,,,,,,,maybe,false,false\n")
			bad[line] = "externalSso"
			continue
		case 30:
			b.WriteString("p30@acme.example,Bad,Role,,wizard,,,,,,,false,false,false\n")
			bad[line] = "roles"
			continue
		case 40:
			b.WriteString("p41@acme.example,Dup,Row,,reporter,,,,,,,false,false,false\n") // p41 is the next row too
			continue
		case 50:
			b.WriteString("p50@acme.example,Short,Row\n")
			bad[line] = ""
			continue
		case 60:
			b.WriteString("p60@acme.example,Bad,Date,,reporter,,,,,,someday,false,false,false\n")
			bad[line] = "startDate"
			continue
		}
		leader := ""
		if i > 0 && i%100 != 0 {
			leader = fmt.Sprintf("p%d@acme.example", i-i%100)
		}
		invite := i%7 == 0
		fmt.Fprintf(&b, "p%d@acme.example,First%d,Last%d,,Reporter;analyst,E%05d,%s,billing;returns,chat;email,full time,2024-01-%02d,%v,%v,%v\n",
			i, i, i, i, leader, i%28+1, i%3 == 0, i%100 == 0, invite)
	}
	// Line of p41: the duplicate is the row after the one at i == 40.
	bad[43] = "email"
	return b.String(), bad
}

func TestImportThousandMembersFromCSV(t *testing.T) {
	e := newLinkEnv(t, 5, repository.SeatExhaustionQueue)
	csvBody, bad := importCSV(1000)
	before, audits := e.memberCount(e.acct.Account.ID), e.auditCount()
	send := func(query string) *httptest.ResponseRecorder {
		return e.do(req{method: http.MethodPost, path: "/members/import" + query, token: e.owner, body: csvBody,
			header: map[string]string{"Content-Type": "text/csv"}})
	}

	dry := decodeAs[ImportResult](t, send("?dryRun=true"), http.StatusOK)
	if !dry.DryRun || dry.Committed || e.memberCount(e.acct.Account.ID) != before || len(e.emails()) != 0 || e.auditCount() != audits {
		t.Fatalf("dry run wrote: %+v", dry.Summary)
	}
	checkRows := func(res ImportResult) {
		t.Helper()
		if len(res.Rows) != 1000 || res.Summary.Failed != len(bad) || res.Summary.Created+res.Summary.Invited+res.Summary.Queued != 1000-len(bad) {
			t.Errorf("summary %+v", res.Summary)
		}
		for i, r := range res.Rows {
			if r.Row != i+2 {
				t.Fatalf("row %d has number %d", i, r.Row)
			}
			field, isBad := bad[r.Row]
			switch {
			case isBad && (r.Status != "error" || r.Field != field || r.Message == "" || r.Code == ""):
				t.Errorf("bad row %d: %+v, want an error on %q", r.Row, r, field)
			case !isBad && r.Status == "error":
				t.Errorf("good row %d failed: %+v", r.Row, r)
			}
		}
	}
	checkRows(dry)

	res := decodeAs[ImportResult](t, send(""), http.StatusOK)
	checkRows(res)
	if !res.Committed || e.memberCount(e.acct.Account.ID) != before+1000-len(bad) {
		t.Fatalf("imported %d members, want %d", e.memberCount(e.acct.Account.ID)-before, 1000-len(bad))
	}
	invites := 0
	for _, r := range res.Rows {
		if r.Invited && r.Status != "error" {
			invites++
		}
	}
	if msgs := e.emails(); len(msgs) != invites || invites == 0 {
		t.Errorf("%d emails for %d invitations", len(msgs), invites)
	}
	// Analysts and reporters use no seat; the hierarchy is in place.
	row := res.Rows[150] // p150, line 152, led by p100
	m := e.getMember(row.MemberID)
	leader, err := e.store.GetMemberByUserName(e.ctx, e.acct.Account.ID, "p100@acme.example")
	if err != nil || m.ManagerID != leader.ID || m.Profile.EmploymentStatus != "full_time" || len(m.Roles) != 2 {
		t.Errorf("p150 = manager %q (want %q), %+v", m.ManagerID, leader.ID, m.Profile)
	}

	// Importing again: every good row is now a conflict, and nothing changes.
	again := decodeAs[ImportResult](t, send("?atomic=true"), http.StatusOK)
	if again.Committed || again.Summary.Failed != 1000 {
		t.Errorf("second import: %+v", again.Summary)
	}
}

func TestImportJSONAndModes(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionQueue)
	rows := `[
		{"email":"a@acme.example","firstName":"A","lastName":"A","roles":["agent"],"invite":true},
		{"email":"b@acme.example","firstName":"B","lastName":"B","roles":["agent"]},
		{"email":"c@acme.example","firstName":"C","lastName":"C","roles":"agent"},
		{"email":"d@acme.example","firstName":"D","lastName":"D","team":"x"}
	]`
	res := decodeAs[ImportResult](t, e.as(e.owner, http.MethodPost, "/members/import?atomic=true", rows), http.StatusOK)
	if res.Committed || res.Summary.Failed != 2 || res.Rows[0].Status != "not_imported" || res.Rows[2].Field != "roles" || res.Rows[3].Field != "team" {
		t.Errorf("atomic = %+v", res)
	}
	if len(e.emails()) != 0 {
		t.Error("a rolled-back import sent email")
	}
	res = decodeAs[ImportResult](t, e.as(e.owner, http.MethodPost, "/members/import", rows), http.StatusOK)
	if !res.Committed || res.Rows[0].Status != "invited" || res.Rows[1].Status != "queued" || res.Summary.Queued != 1 {
		t.Errorf("import = %+v", res)
	}
	for _, tc := range []struct {
		query, ct, body string
		status          int
		code            string
	}{
		{"?dryRun=maybe", "application/json", rows, 400, "invalid_type"},
		{"?dryrun=true", "application/json", rows, 400, "invalid_query"},
		{"", "application/xml", rows, 415, "unsupported_media_type"},
		{"", "application/json", `{"email":"x"}`, 400, "invalid_value"},
		{"", "text/csv", "mail,name\nx,y\n", 400, "invalid_value"},
		{"", "text/csv", "", 400, "invalid_value"},
	} {
		rec := e.do(req{method: http.MethodPost, path: "/members/import" + tc.query, token: e.owner, body: tc.body,
			header: map[string]string{"Content-Type": tc.ct}})
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) {
			t.Errorf("%s %s: %d %s", tc.query, tc.ct, rec.Code, rec.Body)
		}
	}
	// Inviting rows need team.invite.
	if _, err := e.svc.CreateRole(e.ctx, system, e.acct.Account.ID, repository.Role{AccountID: e.acct.Account.ID,
		Key: "hr", DisplayName: "HR", Permissions: []string{provisioning.PermTeamManage, provisioning.PermReportsView, provisioning.PermReportsExport}}); err != nil {
		t.Fatal(err)
	}
	hr := e.tokenFor(e.member("hr@acme.example", "hr").ID)
	wantProblem(t, e.as(hr, http.MethodPost, "/members/import", `[{"email":"i@acme.example","firstName":"I","lastName":"I","roles":["reporter"],"invite":true}]`),
		http.StatusForbidden, "forbidden", "")
	res = decodeAs[ImportResult](t, e.as(hr, http.MethodPost, "/members/import", `[{"email":"j@acme.example","firstName":"J","lastName":"J","roles":["agent"]}]`), http.StatusOK)
	if res.Rows[0].Status != "error" || res.Rows[0].Code != "forbidden" {
		t.Errorf("hr granting agent: %+v", res.Rows[0])
	}
}

var deletionCodeRE = regexp.MustCompile(`\b(\d{6})\b`)

func TestAccountDeletionFlow(t *testing.T) {
	e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
	admin := e.tokenFor(e.member("admin@acme.example", provisioning.RoleAdministrator).ID)
	wantProblem(t, e.as(admin, http.MethodPost, "/account/deletion", nil), http.StatusForbidden, "owner_only", "")

	req := decodeAs[DeletionRequested](t, e.as(e.owner, http.MethodPost, "/account/deletion", nil), http.StatusAccepted)
	if req.SentTo != "owner@acme.example" {
		t.Errorf("request = %+v", req)
	}
	msgs := e.emails()
	if len(msgs) != 1 || msgs[0].To != "owner@acme.example" {
		t.Fatalf("emails = %+v", msgs)
	}
	code := deletionCodeRE.FindStringSubmatch(msgs[0].Text)[1]
	wrong := "000000"
	if code == wrong {
		wrong = "999999"
	}
	wantProblem(t, e.as(admin, http.MethodPost, "/account/deletion/confirm", map[string]string{"code": code}), http.StatusForbidden, "owner_only", "")
	p := wantProblem(t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm", map[string]string{"code": wrong}), http.StatusBadRequest, "invalid_code", "code")
	if !strings.Contains(p.Detail, "4 attempts left") {
		t.Errorf("wrong code: %s", p.Detail)
	}
	wantProblem(t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm", map[string]string{"code": wrong}), http.StatusBadRequest, "invalid_code", "code")
	del := decodeAs[AccountDeleted](t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm",
		map[string]string{"code": code, "reason": "closing the shop"}), http.StatusOK)
	if del.AccountID != e.acct.Account.ID || del.Name != "Acme" || del.Reason != "closing the shop" {
		t.Errorf("deleted = %+v", del)
	}
	wantProblem(t, e.as(e.owner, http.MethodGet, "/members", nil), http.StatusUnauthorized, "unauthenticated", "")
	wantProblem(t, e.as(admin, http.MethodGet, "/members", nil), http.StatusUnauthorized, "unauthenticated", "")
	if page, _ := e.store.ListMembers(e.ctx, e.acct.Account.ID, repository.Query{}); page.Total != 0 {
		t.Errorf("%d members left", page.Total)
	}
	ownerPath := strings.TrimPrefix(e.acct.OwnerInvitationURL, "https://roster.example.com")
	expect(t, e.page(http.MethodGet, ownerPath, "", "", ""), http.StatusGone)

	t.Run("too many attempts", func(t *testing.T) {
		e := newLinkEnv(t, 2, repository.SeatExhaustionQueue)
		expect(t, e.as(e.owner, http.MethodPost, "/account/deletion", nil), http.StatusAccepted)
		code := deletionCodeRE.FindStringSubmatch(e.emails()[0].Text)[1]
		wrong := "000000"
		if code == wrong {
			wrong = "999999"
		}
		for range 4 {
			wantProblem(t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm", map[string]string{"code": wrong}), http.StatusBadRequest, "invalid_code", "code")
		}
		wantProblem(t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm", map[string]string{"code": wrong}), http.StatusTooManyRequests, "too_many_attempts", "code")
		wantProblem(t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm", map[string]string{"code": code}), http.StatusBadRequest, "invalid_code", "code")
		wantProblem(t, e.as(e.owner, http.MethodPost, "/account/deletion/confirm", map[string]string{}), http.StatusBadRequest, "invalid_code", "code")
		expect(t, e.as(e.owner, http.MethodGet, "/members", nil), http.StatusOK)
	})
}

func TestNewRoutesAreDocumented(t *testing.T) {
	e := newLinkEnv(t, 1, repository.SeatExhaustionQueue)
	doc := openAPIDoc(t, e.env)
	for path, methods := range map[string][]string{
		"/invitations":              {"get", "post"},
		"/invitations/{id}":         {"get", "delete"},
		"/invitations/{id}/resend":  {"post"},
		"/invitations/{id}/link":    {"post"},
		"/members/import":           {"post"},
		"/account/deletion":         {"post"},
		"/account/deletion/confirm": {"post"},
	} {
		for _, m := range methods {
			if _, found := doc.Paths[path][m]; !found {
				t.Errorf("%s %s undocumented", m, path)
			}
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(expect(t, e.as("", http.MethodGet, "/openapi.json", nil), http.StatusOK), &raw); err != nil {
		t.Fatal(err)
	}
	imp := raw["paths"].(map[string]any)["/members/import"].(map[string]any)["post"].(map[string]any)
	content := imp["requestBody"].(map[string]any)["content"].(map[string]any)
	if content["text/csv"] == nil || content["application/json"] == nil {
		t.Errorf("import body media types: %v", content)
	}
	// The JSON row type and the parser agree on the columns.
	var names []string
	for _, f := range orderedFields(reflect.TypeFor[ImportRowInput]()) {
		names = append(names, f.name)
	}
	if got, want := strings.Join(names, ","), importColumns; got != strings.ReplaceAll(want, ", ", ",") {
		t.Errorf("ImportRowInput fields %s, import columns %s", got, want)
	}
}
