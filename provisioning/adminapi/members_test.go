package adminapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

func TestCreateAndGetMember(t *testing.T) {
	e := newEnv(t)
	rec := e.as(e.owner, http.MethodPost, "/members", map[string]any{
		"userName": "ada@acme.example", "firstName": "Ada", "lastName": "Lovelace",
		"emails":         []any{map[string]any{"value": "ada@acme.example", "type": "work", "primary": true}},
		"roles":          []string{"reporter", "bot_trainer"},
		"title":          "Analyst",
		"supportProfile": map[string]any{"expertise": []string{"billing"}, "channels": []string{"Chat", "email"}, "employmentStatus": "part time"},
	})
	m := decodeAs[Member](t, rec, http.StatusCreated)
	if m.ID == "" || m.UserName != "ada@acme.example" || m.FirstName != "Ada" || m.LastName != "Lovelace" ||
		m.DisplayName != "Ada Lovelace" || m.Title != "Analyst" || !m.Active || m.Status != repository.StatusActive ||
		m.Source != repository.SourceAdmin || m.Owner || m.Version != 1 {
		t.Errorf("created member = %+v", m)
	}
	if !slices.Equal(m.Roles, []string{"reporter", "bot_trainer"}) {
		t.Errorf("roles = %v", m.Roles)
	}
	if got := m.SupportProfile; !slices.Equal(got.Channels, []string{"chat", "email"}) || got.EmploymentStatus != "part_time" ||
		!slices.Equal(got.Expertise, []string{"billing"}) {
		t.Errorf("support profile = %+v", got)
	}
	if loc := rec.Header().Get("Location"); loc != "/api/v1/members/"+m.ID {
		t.Errorf("Location = %q", loc)
	}
	if et := rec.Header().Get("ETag"); et != `W/"1"` {
		t.Errorf("ETag = %q", et)
	}
	stored := e.getMember(m.ID)
	if stored.Name.GivenName != "Ada" || stored.Source != repository.SourceAdmin || len(stored.Emails) != 1 {
		t.Errorf("stored member = %+v", stored)
	}

	got := decodeAs[Member](t, e.as(e.owner, http.MethodGet, "/members/"+m.ID, nil), http.StatusOK)
	if got.ID != m.ID || got.Version != m.Version || got.Emails[0].Value != "ada@acme.example" {
		t.Errorf("GET = %+v", got)
	}
	owner := decodeAs[Member](t, e.as(e.owner, http.MethodGet, "/members/"+e.ownerID, nil), http.StatusOK)
	if !owner.Owner || !slices.Contains(owner.Roles, provisioning.RoleAdministrator) {
		t.Errorf("owner = %+v", owner)
	}

	t.Run("temporary password", func(t *testing.T) {
		rec := e.as(e.owner, http.MethodPost, "/members", map[string]any{"userName": "tmp@acme.example", "roles": []string{"reporter"}, "temporaryPassword": "s3cret-pass"})
		m := decodeAs[Member](t, rec, http.StatusCreated)
		if strings.Contains(rec.Body.String(), "s3cret") {
			t.Error("the password is in the response")
		}
		stored := e.getMember(m.ID)
		if !stored.MustChangePassword || !provisioning.CheckPassword(stored.PasswordHash, "s3cret-pass") {
			t.Errorf("stored password: must change %v", stored.MustChangePassword)
		}
	})
}

func TestListMembers(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"bea", "cid", "dan", "eve"} {
		e.member(n+"@acme.example", provisioning.RoleReporter)
	}
	e.member("zed@acme.example", provisioning.RoleAnalyst)
	e.memberIn(e.other.Account.ID, "bea2@globex.example")

	list := func(q url.Values) Page[Member] {
		t.Helper()
		return decodeAs[Page[Member]](t, e.as(e.owner, http.MethodGet, "/members?"+q.Encode(), nil), http.StatusOK)
	}
	names := func(p Page[Member]) []string {
		var out []string
		for _, m := range p.Items {
			out = append(out, strings.TrimSuffix(m.UserName, "@acme.example"))
		}
		return out
	}

	all := list(url.Values{})
	if all.Total != 6 || len(all.Items) != 6 || all.NextCursor != "" {
		t.Fatalf("all: total %d, %d items, cursor %q", all.Total, len(all.Items), all.NextCursor)
	}
	if got := names(list(url.Values{"filter": {`roles eq "reporter" and userName sw "c"`}})); !slices.Equal(got, []string{"cid"}) {
		t.Errorf("filter = %v", got)
	}
	if got := names(list(url.Values{"filter": {`emails[type eq "work" and value ew "acme.example"] and not (roles eq "analyst")`}, "sortBy": {"userName"}, "sortOrder": {"descending"}})); !slices.Equal(got, []string{"owner", "eve", "dan", "cid", "bea"}) {
		t.Errorf("value filter, sorted descending = %v", got)
	}
	p := list(url.Values{"sortBy": {"userName"}, "count": {"2"}, "startIndex": {"2"}})
	if got := names(p); p.Total != 6 || !slices.Equal(got, []string{"cid", "dan"}) {
		t.Errorf("startIndex page = %v (total %d)", got, p.Total)
	}
	var walked []string
	q := url.Values{"sortBy": {"userName"}, "count": {"2"}, "filter": {`userName ne "owner@acme.example"`}}
	for range 5 {
		p := list(q)
		walked = append(walked, names(p)...)
		if p.NextCursor == "" {
			break
		}
		q.Set("cursor", p.NextCursor)
	}
	if !slices.Equal(walked, []string{"bea", "cid", "dan", "eve", "zed"}) {
		t.Errorf("cursor walk = %v", walked)
	}
	if p := list(url.Values{"count": {"0"}}); p.Total != 6 || len(p.Items) != 0 {
		t.Errorf("count=0: %+v", p)
	}

	bad := []struct {
		query      string
		code, attr string
	}{
		{"filter=" + url.QueryEscape(`userName zz "x"`), "invalid_query", "filter"},
		{"filter=" + url.QueryEscape(`nosuch eq "x"`), "invalid_query", "filter"},
		{"sortBy=emails", "invalid_query", "sortBy"},
		{"sortOrder=up", "invalid_value", "sortOrder"},
		{"count=abc", "invalid_type", "count"},
		{"count=201", "invalid_value", "count"},
		{"startIndex=0", "invalid_value", "startIndex"},
		{"cursor=bm9wZQ&startIndex=2", "invalid_query", "cursor"},
		{"cursor=***", "invalid_value", "cursor"},
		{"sortby=userName", "invalid_query", "sortby"},
	}
	for _, tc := range bad {
		t.Run(tc.query, func(t *testing.T) {
			wantProblem(t, e.as(e.owner, http.MethodGet, "/members?"+tc.query, nil), http.StatusBadRequest, tc.code, tc.attr)
		})
	}
}

func TestPatchMember(t *testing.T) {
	e := newEnv(t)
	m := e.member("ann@acme.example", provisioning.RoleReporter)
	m, err := e.svc.UpdateMember(e.ctx, system, e.acct.Account.ID, m.ID, nil, func(m repository.Member) (repository.Member, error) {
		m.Title = "Lead"
		m.Name.GivenName = "Ann"
		m.Profile.Expertise = []string{"billing"}
		m.Profile.Bio = "hello"
		return m, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := e.do(req{method: http.MethodPatch, path: "/members/" + m.ID, token: e.owner,
		header: map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, m.Version)},
		body: `{"lastName":"Smith","title":null,"roles":["reporter","analyst"],
			"optionalPermissions":[],"supportProfile":{"channels":["voice"],"bio":null}}`})
	got := decodeAs[Member](t, rec, http.StatusOK)
	if got.FirstName != "Ann" || got.LastName != "Smith" || got.Title != "" || got.Version != m.Version+1 {
		t.Errorf("patched = %+v", got)
	}
	if !slices.Equal(got.Roles, []string{"reporter", "analyst"}) {
		t.Errorf("roles = %v", got.Roles)
	}
	if p := got.SupportProfile; !slices.Equal(p.Expertise, []string{"billing"}) || !slices.Equal(p.Channels, []string{"voice"}) || p.Bio != "" {
		t.Errorf("profile = %+v: expertise kept, channels set, bio cleared", p)
	}
	if et := rec.Header().Get("ETag"); et != fmt.Sprintf(`W/"%d"`, got.Version) {
		t.Errorf("ETag = %q", et)
	}
	stored := e.getMember(m.ID)
	if stored.Name.FamilyName != "Smith" || stored.Name.Formatted != "Ann Smith" || stored.Title != "" {
		t.Errorf("stored = %+v", stored)
	}

	t.Run("stale If-Match", func(t *testing.T) {
		before := e.getMember(m.ID)
		rec := e.do(req{method: http.MethodPatch, path: "/members/" + m.ID, token: e.owner,
			header: map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, m.Version)}, body: `{"title":"Boss"}`})
		wantProblem(t, rec, http.StatusPreconditionFailed, "version_mismatch", "")
		if after := e.getMember(m.ID); after.Version != before.Version || after.Title != before.Title {
			t.Errorf("changed despite the failed precondition: %+v", after)
		}
	})

	t.Run("null profile clears it", func(t *testing.T) {
		got := decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+m.ID, `{"supportProfile":null}`), http.StatusOK)
		if len(got.SupportProfile.Expertise) != 0 || len(got.SupportProfile.Channels) != 0 {
			t.Errorf("profile = %+v", got.SupportProfile)
		}
	})

	t.Run("pending team leader survives an edit", func(t *testing.T) {
		scim := provisioning.Actor{Kind: repository.ActorSCIMToken, ID: "okta"}
		p, err := e.svc.CreateMember(e.ctx, scim, repository.Member{AccountID: e.acct.Account.ID, UserName: "pend@acme.example",
			Active: true, Roles: []string{provisioning.RoleReporter}, ManagerID: "ext-boss-not-yet-pushed"})
		if err != nil || p.PendingManagerRef != "ext-boss-not-yet-pushed" {
			t.Fatalf("set-up: %+v, %v", p, err)
		}
		got := decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+p.ID, `{"title":"Agent"}`), http.StatusOK)
		if got.PendingManagerRef != "ext-boss-not-yet-pushed" || got.ManagerID != "" || got.Title != "Agent" {
			t.Errorf("after an unrelated edit: %+v", got)
		}
	})

	t.Run("team leader", func(t *testing.T) {
		lead := e.member("lead@acme.example", provisioning.RoleReporter)
		rec := e.as(e.owner, http.MethodPatch, "/members/"+m.ID, map[string]any{"managerId": lead.ID})
		wantProblem(t, rec, http.StatusBadRequest, "invalid_value", "managerId") // cannot manage teams yet
		decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+lead.ID, `{"supportProfile":{"canManageTeams":true}}`), http.StatusOK)
		got := decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+m.ID, map[string]any{"managerId": lead.ID}), http.StatusOK)
		if got.ManagerID != lead.ID {
			t.Errorf("managerId = %q", got.ManagerID)
		}
		reports := decodeAs[Reports](t, e.as(e.owner, http.MethodGet, "/members/"+lead.ID+"/reports", nil), http.StatusOK)
		if len(reports.Direct) != 1 || reports.Direct[0].ID != m.ID || len(reports.Indirect) != 0 {
			t.Errorf("reports = %+v", reports)
		}
		got = decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+m.ID, `{"managerId":null}`), http.StatusOK)
		if got.ManagerID != "" {
			t.Errorf("managerId after null = %q", got.ManagerID)
		}
	})
}

func TestMemberLifecycle(t *testing.T) {
	e := newEnv(t)
	m := e.member("bo@acme.example", provisioning.RoleReporter)
	tok := e.tokenFor(m.ID)

	got := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members/"+m.ID+"/deactivate", nil), http.StatusOK)
	if got.Active || got.Status != repository.StatusDeactivated {
		t.Errorf("deactivated = %+v", got)
	}
	// The member's own token died with the deactivation.
	wantProblem(t, e.as(tok, http.MethodGet, "/members/"+m.ID, nil), http.StatusUnauthorized, "unauthenticated", "")

	got = decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members/"+m.ID+"/reactivate", nil), http.StatusOK)
	if !got.Active || got.Status != repository.StatusActive {
		t.Errorf("reactivated = %+v", got)
	}

	stale := fmt.Sprintf(`W/"%d"`, got.Version-1)
	wantProblem(t, e.do(req{method: http.MethodDelete, path: "/members/" + m.ID, token: e.owner,
		header: map[string]string{"If-Match": stale}}), http.StatusPreconditionFailed, "version_mismatch", "")

	rec := e.as(e.owner, http.MethodDelete, "/members/"+m.ID, nil)
	expect(t, rec, http.StatusNoContent)
	if rec.Body.Len() != 0 {
		t.Errorf("204 with a body: %s", rec.Body)
	}
	if _, err := e.store.GetMember(e.ctx, e.acct.Account.ID, m.ID); err == nil {
		t.Error("member still stored")
	}
	wantProblem(t, e.as(e.owner, http.MethodGet, "/members/"+m.ID, nil), http.StatusNotFound, "not_found", "")
}

func TestMemberPermissions(t *testing.T) {
	e := newEnv(t)
	m := e.member("ag@acme.example", provisioning.RoleAgent)
	if _, err := e.svc.UpdateMember(e.ctx, system, e.acct.Account.ID, m.ID, nil, func(m repository.Member) (repository.Member, error) {
		m.OptionalPermissions = []repository.RolePermission{{Role: provisioning.RoleAgent, Permission: provisioning.PermConversationsDispense}}
		return m, nil
	}); err != nil {
		t.Fatal(err)
	}
	ep := decodeAs[EffectivePermissions](t, e.as(e.owner, http.MethodGet, "/members/"+m.ID+"/permissions", nil), http.StatusOK)
	if ep.MemberID != m.ID || !slices.Equal(ep.Roles, []string{"agent"}) || !ep.Agent || ep.SeatStatus != repository.SeatAssigned {
		t.Errorf("effective = %+v", ep)
	}
	for _, p := range []string{provisioning.PermConversationsAnswer, provisioning.PermConversationsDispense, provisioning.PermReportsView} {
		if !slices.Contains(ep.Permissions, p) {
			t.Errorf("permissions %v lack %s", ep.Permissions, p)
		}
	}
	if slices.Contains(ep.Permissions, provisioning.PermTeamManage) {
		t.Errorf("an agent has %s", provisioning.PermTeamManage)
	}
}

// TestMemberBadInput sends bodies and values the API must refuse, each
// with a precise problem, and checks nothing changed.
func TestMemberBadInput(t *testing.T) {
	e := newEnv(t)
	m := e.member("cy@acme.example", provisioning.RoleReporter)
	lead := e.member("lead@acme.example", provisioning.RoleReporter)
	if _, err := e.svc.UpdateMember(e.ctx, system, e.acct.Account.ID, lead.ID, nil, func(x repository.Member) (repository.Member, error) {
		x.Profile.CanManageTeams = true
		x.ManagerID = m.ID
		return x, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateMember(e.ctx, system, e.acct.Account.ID, m.ID, nil, func(x repository.Member) (repository.Member, error) {
		x.Profile.CanManageTeams = true
		return x, nil
	}); err != nil {
		t.Fatal(err)
	}
	foreign := e.memberIn(e.other.Account.ID, "x@globex.example")
	if _, err := e.svc.UpdateMember(e.ctx, system, e.other.Account.ID, foreign.ID, nil, func(x repository.Member) (repository.Member, error) {
		x.Profile.CanManageTeams = true
		return x, nil
	}); err != nil {
		t.Fatal(err)
	}

	patches := []struct {
		name, body string
		status     int
		code, attr string
	}{
		{"unknown field", `{"nickname":"x"}`, 400, "unknown_field", "nickname"},
		{"wrong case", `{"FirstName":"x"}`, 400, "unknown_field", "FirstName"},
		{"nested unknown field", `{"supportProfile":{"favouriteColour":"red"}}`, 400, "unknown_field", "supportProfile.favouriteColour"},
		{"unknown field in an array element", `{"emails":[{"value":"a@b.example","label":"x"}]}`, 400, "unknown_field", "emails[0].label"},
		{"string for a string array", `{"roles":"agent"}`, 400, "invalid_type", "roles"},
		{"number for a string", `{"firstName":5}`, 400, "invalid_type", "firstName"},
		{"string for a boolean", `{"supportProfile":{"canManageTeams":"yes"}}`, 400, "invalid_type", "supportProfile.canManageTeams"},
		{"number in a string array", `{"supportProfile":{"channels":["chat",7]}}`, 400, "invalid_type", "supportProfile.channels[1]"},
		{"object for an array", `{"emails":{"value":"a@b.example"}}`, 400, "invalid_type", "emails"},
		{"read-only id", `{"id":"x"}`, 400, "read_only", "id"},
		{"read-only active", `{"active":false}`, 400, "read_only", "active"},
		{"read-only seat status", `{"seatStatus":"assigned"}`, 400, "read_only", "seatStatus"},
		{"not JSON", `{"firstName":`, 400, "invalid_json", ""},
		{"trailing data", `{"firstName":"a"} {}`, 400, "invalid_json", ""},
		{"array body", `[{"firstName":"a"}]`, 400, "invalid_json", ""},
		{"empty body", ``, 400, "invalid_json", ""},
		{"unknown role key", `{"roles":["reporter","wizard"]}`, 400, "invalid_value", "roles"},
		{"optional permission of a role not held", `{"optionalPermissions":[{"role":"agent","permission":"conversations.dispense"}]}`, 400, "invalid_value", "optionalPermissions"},
		{"team leader in another account", fmt.Sprintf(`{"managerId":%q}`, foreign.ID), 400, "invalid_value", "managerId"},
		{"unknown team leader", `{"managerId":"no-such-member"}`, 400, "invalid_value", "managerId"},
		{"cycle", fmt.Sprintf(`{"managerId":%q}`, lead.ID), 400, "invalid_value", "managerId"},
		{"own leader", fmt.Sprintf(`{"managerId":%q}`, m.ID), 400, "invalid_value", "managerId"},
		{"empty userName", `{"userName":""}`, 400, "invalid_value", "userName"},
		{"taken userName", `{"userName":"LEAD@acme.example"}`, 409, "conflict", "userName"},
		{"bad employment status", `{"supportProfile":{"employmentStatus":"sometimes"}}`, 400, "invalid_value", "supportProfile.employmentStatus"},
	}
	for _, tc := range patches {
		t.Run("PATCH "+tc.name, func(t *testing.T) {
			before, audits := e.getMember(m.ID), e.auditCount()
			rec := e.as(e.owner, http.MethodPatch, "/members/"+m.ID, tc.body)
			wantProblem(t, rec, tc.status, tc.code, tc.attr)
			after := e.getMember(m.ID)
			if after.Version != before.Version || memberJSON(t, after) != memberJSON(t, before) {
				t.Errorf("member changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if n := e.auditCount(); n != audits {
				t.Errorf("%d audit events written", n-audits)
			}
		})
	}

	creates := []struct {
		name       string
		body       any
		code, attr string
	}{
		{"no userName", `{"firstName":"x"}`, "invalid_value", "userName"},
		{"unknown field", `{"userName":"n@acme.example","memberOf":["x"]}`, "unknown_field", "memberOf"},
		{"read-only status", `{"userName":"n@acme.example","status":"active"}`, "read_only", "status"},
		{"read-only externalId", `{"userName":"n@acme.example","externalId":"e1"}`, "read_only", "externalId"},
		{"wrong type", `{"userName":["n@acme.example"]}`, "invalid_type", "userName"},
		{"unknown role key", `{"userName":"n@acme.example","roles":["wizard"]}`, "invalid_value", "roles"},
		{"team leader in another account", fmt.Sprintf(`{"userName":"n@acme.example","managerId":%q}`, foreign.ID), "invalid_value", "managerId"},
		{"long temporary password", `{"userName":"n@acme.example","temporaryPassword":"` + strings.Repeat("p", 80) + `"}`, "invalid_value", "temporaryPassword"},
	}
	for _, tc := range creates {
		t.Run("POST "+tc.name, func(t *testing.T) {
			members, audits := e.memberCount(e.acct.Account.ID), e.auditCount()
			wantProblem(t, e.as(e.owner, http.MethodPost, "/members", tc.body), http.StatusBadRequest, tc.code, tc.attr)
			if n := e.memberCount(e.acct.Account.ID); n != members {
				t.Errorf("%d members created", n-members)
			}
			if n := e.auditCount(); n != audits {
				t.Errorf("%d audit events written", n-audits)
			}
		})
	}

	t.Run("body over 1 MiB", func(t *testing.T) {
		body := `{"title":"` + strings.Repeat("x", 1<<20) + `"}`
		wantProblem(t, e.as(e.owner, http.MethodPatch, "/members/"+m.ID, body), http.StatusRequestEntityTooLarge, "payload_too_large", "")
	})
	t.Run("not JSON content type", func(t *testing.T) {
		rec := e.do(req{method: http.MethodPatch, path: "/members/" + m.ID, token: e.owner, body: `title=x`,
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		wantProblem(t, rec, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	})
	t.Run("merge-patch content type", func(t *testing.T) {
		rec := e.do(req{method: http.MethodPatch, path: "/members/" + lead.ID, token: e.owner, body: `{"title":"Lead"}`,
			header: map[string]string{"Content-Type": "application/merge-patch+json"}})
		decodeAs[Member](t, rec, http.StatusOK)
	})
}

// memberJSON is a comparable form of a stored member.
func memberJSON(t *testing.T, m repository.Member) string {
	t.Helper()
	return fmt.Sprintf("%+v", m)
}

// TestTeamManagerCannotGrantMoreThanItHolds: team.manage lets a member
// change colleagues' roles, but not to roles carrying permissions it does
// not hold, its own roles included (the escalation PATCH used to allow),
// nor by adding members to a group mapped to such a role.
func TestTeamManagerCannotGrantMoreThanItHolds(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.CreateRole(e.ctx, system, e.acct.Account.ID, repository.Role{AccountID: e.acct.Account.ID,
		Key: "team_lead", DisplayName: "Team lead", Permissions: []string{provisioning.PermTeamManage, provisioning.PermReportsView}}); err != nil {
		t.Fatal(err)
	}
	lead := e.member("lead@acme.example", "team_lead")
	colleague := e.member("colleague@acme.example")
	tok := e.tokenFor(lead.ID)
	g, err := e.svc.CreateGroup(e.ctx, system, repository.Group{AccountID: e.acct.Account.ID, DisplayName: "Admins",
		RoleKey: provisioning.RoleAdministrator}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := e.auditCount()
	for _, id := range []string{lead.ID, colleague.ID} {
		rec := e.as(tok, http.MethodPatch, "/members/"+id, map[string]any{"roles": []string{"team_lead", provisioning.RoleAdministrator}})
		p := wantProblem(t, rec, http.StatusForbidden, string(provisioning.CodeForbidden), "roles")
		if !strings.Contains(p.Detail, provisioning.RoleAdministrator) {
			t.Errorf("detail %q does not name the role", p.Detail)
		}
	}
	if got := e.getMember(lead.ID).Roles; !slices.Equal(got, []string{"team_lead"}) {
		t.Errorf("the lead's roles after the refusal: %v", got)
	}
	rec := e.as(tok, http.MethodPost, "/groups/"+g.ID+"/members", map[string]any{"memberIds": []string{lead.ID}})
	wantProblem(t, rec, http.StatusForbidden, string(provisioning.CodeForbidden), "roles")
	if got := len(e.mustGroup(g.ID).Members); got != 0 {
		t.Errorf("%d members in the mapped group after the refusal", got)
	}
	if got := e.auditCount(); got != before {
		t.Errorf("%d audit events written by refused requests", got-before)
	}
	// What the lead holds, it may give.
	rec = e.as(tok, http.MethodPatch, "/members/"+colleague.ID, map[string]any{"roles": []string{"team_lead"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("give a role the lead holds: %d %s", rec.Code, rec.Body)
	}
}
