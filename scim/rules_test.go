package scim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// This file proves issue 4's team-member rules through the SCIM door: the
// same scenarios as the provisioning tests, with the same outcomes, since
// the rules live in provisioning alone.

// Paths of the Roster extension in a SCIM User.
const seatStatusPath = `["` + urnRoster + `"].seatStatus`

// scimSystem is Roster itself acting (operator commands, SSO JIT).
var scimSystem = provisioning.Actor{Kind: repository.ActorSystem, RequestID: "test-system"}

// setSeats changes an account's seats through provisioning (the admin API
// does the same).
func (e *env) setSeats(acc account, total int, exhaustion string) {
	e.t.Helper()
	if _, err := e.svc.ChangeSeats(e.ctx, adminActor(acc), acc.id, provisioning.SeatChange{Total: &total, Exhaustion: &exhaustion}); err != nil {
		e.t.Fatalf("set seats: %v", err)
	}
}

// agent is a user body holding the given roles.
func agent(userName string, roles ...string) map[string]any {
	body := user(userName)
	list := []any{}
	for _, r := range roles {
		list = append(list, map[string]any{"value": r})
	}
	body["roles"] = list
	return body
}

// seatOf reads a user's seat status through SCIM.
func (e *env) seatOf(acc account, id string) string {
	e.t.Helper()
	return e.do(acc, "GET", "/Users/"+id, nil).want(e.t, http.StatusOK).str(seatStatusPath)
}

// activateOwner accepts the owner's invitation, as the invitation flow
// will: ownership only moves between active administrators.
func (e *env) activateOwner(acc account) {
	e.t.Helper()
	if _, err := e.store.Store.UpdateMember(e.ctx, acc.id, acc.ownerID, func(m repository.Member) (repository.Member, error) {
		m.Status = repository.StatusActive
		return m, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// send is a request that reports instead of failing the test, for use
// from several goroutines.
func (e *env) send(acc account, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.srv.URL+"/scim/v2"+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+acc.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("body %s: %w", raw, err)
		}
	}
	return resp.StatusCode, out, nil
}

func TestSCIMSeats(t *testing.T) {
	e := newEnv(t)
	e.setSeats(e.a, 2, repository.SeatExhaustionQueue)
	a := e.do(e.a, "POST", "/Users", agent("a@seats.example", "agent")).want(t, http.StatusCreated)
	b := e.do(e.a, "POST", "/Users", agent("b@seats.example", "Agent", "administrator")).want(t, http.StatusCreated)
	c := e.do(e.a, "POST", "/Users", agent("c@seats.example", "agent")).want(t, http.StatusCreated)
	rep := e.do(e.a, "POST", "/Users", agent("r@seats.example", "reporter")).want(t, http.StatusCreated)
	for _, tc := range []struct {
		r    result
		want string
	}{{a, "assigned"}, {b, "assigned"}, {c, "queued"}, {rep, "none"}} {
		if got := tc.r.str(seatStatusPath); got != tc.want {
			t.Errorf("%s: seatStatus %q, want %q", tc.r.str("userName"), got, tc.want)
		}
	}
	// Filters see the seat status (an indexed attribute).
	list := e.do(e.a, "GET", `/Users?filter=`+urnRoster+`:seatStatus eq "queued"`, nil).want(t, http.StatusOK)
	if list.get("totalResults") != 1.0 || list.str("Resources.0.id") != c.str("id") {
		t.Errorf("queued users: %s", list.raw)
	}

	// Okta deprovisioning (active false) frees the seat; the queue moves.
	e.do(e.a, "PATCH", "/Users/"+a.str("id"), patch(op("replace", "", map[string]any{"active": false}))).want(t, http.StatusOK)
	if got := e.seatOf(e.a, a.str("id")); got != "none" {
		t.Errorf("deactivated: %q", got)
	}
	if got := e.seatOf(e.a, c.str("id")); got != "assigned" {
		t.Errorf("queued after a seat was freed: %q", got)
	}
	// Entra reactivates with a string boolean: no seat is free, so it waits.
	e.do(e.a, "PATCH", "/Users/"+a.str("id"), patch(op("Replace", "active", "True"))).want(t, http.StatusOK)
	if got := e.seatOf(e.a, a.str("id")); got != "queued" {
		t.Errorf("reactivated: %q", got)
	}
	// Roles replaced without the agent: the seat goes to the queue.
	e.do(e.a, "PATCH", "/Users/"+b.str("id"), patch(op("replace", "roles", []any{map[string]any{"value": "administrator"}}))).
		want(t, http.StatusOK)
	if got := e.seatOf(e.a, a.str("id")); got != "assigned" {
		t.Errorf("queued after a role change: %q", got)
	}
	// Deletion frees the seat at once.
	e.do(e.a, "POST", "/Users", agent("d@seats.example", "agent")).want(t, http.StatusCreated)
	e.do(e.a, "DELETE", "/Users/"+c.str("id"), nil).want(t, http.StatusNoContent)
	sum, err := e.svc.Seats(e.ctx, e.a.id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Used != 2 || sum.Queued != 0 {
		t.Errorf("seats after the deletion: %+v", sum)
	}

	// Under reject, a push that needs a seat fails with a readable reason
	// and changes nothing.
	e.setSeats(e.a, 2, repository.SeatExhaustionReject)
	r := e.do(e.a, "POST", "/Users", agent("e@seats.example", "agent")).wantError(t, http.StatusForbidden, "")
	if got := r.str("detail"); !strings.HasPrefix(got, "2 of 2 agent seats in use") {
		t.Errorf("detail %q", got)
	}
	e.do(e.a, "GET", `/Users?filter=userName eq "e@seats.example"`, nil).want(t, http.StatusOK)
	e.do(e.a, "PATCH", "/Users/"+rep.str("id"), patch(op("add", "roles", []any{map[string]any{"value": "agent"}}))).
		wantError(t, http.StatusForbidden, "")
	if m := e.member(e.a, rep.str("id")); slices.Contains(m.Roles, "agent") {
		t.Errorf("a refused role was written: %v", m.Roles)
	}
	// The other account is untouched by all this.
	if sum, _ := e.svc.Seats(e.ctx, e.b.id); sum.Used != 0 || sum.Total != 10 {
		t.Errorf("account B's seats: %+v", sum)
	}
}

// TestSCIMParallelCreates sends 64 POST /Users of agents at once against
// 10 seats: exactly 10 get a seat; the rest are queued (queue) or refused
// with 403 "10 of 10 agent seats in use" (reject). Run it with -race.
func TestSCIMParallelCreates(t *testing.T) {
	for _, exhaustion := range []string{repository.SeatExhaustionQueue, repository.SeatExhaustionReject} {
		t.Run(exhaustion, func(t *testing.T) {
			e := newEnv(t)
			e.setSeats(e.a, 10, exhaustion)
			const n = 64
			type outcome struct {
				status int
				body   map[string]any
				err    error
			}
			out := make([]outcome, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					st, body, err := e.send(e.a, "POST", "/Users", agent(fmt.Sprintf("agent%02d@par.example", i), "agent"))
					out[i] = outcome{st, body, err}
				})
			}
			wg.Wait()
			count := map[string]int{}
			for _, o := range out {
				switch {
				case o.err != nil:
					t.Fatal(o.err)
				case o.status == http.StatusCreated:
					ext, _ := o.body[urnRoster].(map[string]any)
					count[fmt.Sprint(ext["seatStatus"])]++
				case o.status == http.StatusForbidden && o.body["detail"] == "10 of 10 agent seats in use: buy more seats or free one, then try again":
					count["refused"]++
				default:
					t.Fatalf("status %d body %v", o.status, o.body)
				}
			}
			want := map[string]int{"assigned": 10, "queued": n - 10}
			if exhaustion == repository.SeatExhaustionReject {
				want = map[string]int{"assigned": 10, "refused": n - 10}
			}
			if fmt.Sprint(count) != fmt.Sprint(want) {
				t.Errorf("outcomes %v, want %v", count, want)
			}
			sum, err := e.svc.Seats(e.ctx, e.a.id)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Used != 10 || sum.Queued != want["queued"] {
				t.Errorf("seats %+v", sum)
			}
		})
	}
}

func TestSCIMOwnerProtection(t *testing.T) {
	e := newEnv(t)
	owner := "/Users/" + e.a.ownerID
	forbidden := []struct {
		name   string
		method string
		body   any
	}{
		{"Okta deactivation", "PATCH", patch(op("replace", "", map[string]any{"active": false}))},
		{"Entra deactivation", "PATCH", patch(op("Replace", "active", "False"))},
		{"PUT inactive", "PUT", map[string]any{"userName": "owner@acme.example", "active": false, "roles": []any{map[string]any{"value": "administrator"}}}},
		{"administrator role removed", "PATCH", patch(op("replace", "roles", []any{map[string]any{"value": "agent"}}))},
		{"administrator role removed by filter", "PATCH", patch(op("remove", `roles[value eq "administrator"]`, nil))},
		{"password set", "PATCH", patch(op("replace", "password", "n3w-Passw0rd!"))},
		{"deletion", "DELETE", nil},
	}
	for _, tc := range forbidden {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(e.a, tc.method, owner, tc.body).wantError(t, http.StatusForbidden, "")
			if d := r.str("detail"); !strings.Contains(d, "transfer ownership first") && !strings.Contains(d, "owner's own sign-in") {
				t.Errorf("detail %q", d)
			}
		})
	}
	// The IdP still keeps the owner's profile up to date.
	r := e.do(e.a, "PATCH", owner, patch(
		op("replace", "displayName", "Ada L."),
		op("replace", urnEnterprise+":department", "Board"),
	)).want(t, http.StatusOK)
	if r.str("displayName") != "Ada L." || r.str(`["`+urnEnterprise+`"].department`) != "Board" || r.get("active") != true {
		t.Errorf("owner after a profile push: %s", r.raw)
	}
	m := e.member(e.a, e.a.ownerID)
	if !m.Active || !slices.Contains(m.Roles, "administrator") {
		t.Errorf("owner %+v", m)
	}
	// The admin API (an admin other than the owner) may not change the
	// owner at all; the same rule, one door over.
	admin := e.createUser(e.a, agent("admin@acme.example", "administrator"))
	_, err := e.svc.UpdateMember(e.ctx, provisioning.Actor{Kind: repository.ActorMember, ID: admin}, e.a.id, e.a.ownerID, nil,
		func(m repository.Member) (repository.Member, error) { m.Title = "Nobody"; return m, nil })
	if pe := provisioning.AsError(err); pe == nil || pe.Code != provisioning.CodeOwnerProtected {
		t.Errorf("admin changing the owner: %v", err)
	}
}

// TestSCIMOwnershipRace deactivates and reactivates the owner and another
// administrator through SCIM while ownership moves between them: the
// account always ends with exactly one active owner holding the
// administrator role. Run it with -race.
func TestSCIMOwnershipRace(t *testing.T) {
	e := newEnv(t)
	e.activateOwner(e.a)
	other := e.createUser(e.a, agent("second@acme.example", "administrator"))
	ids := []string{e.a.ownerID, other}
	const rounds = 16
	var wg sync.WaitGroup
	failures := make(chan string, 4*rounds)
	for i := range rounds {
		to := ids[i%2]
		wg.Go(func() {
			_, err := e.svc.TransferOwnership(e.ctx, scimSystem, e.a.id, to)
			if pe := provisioning.AsError(err); err != nil && (pe == nil || pe.Code != provisioning.CodeInvalidValue) {
				failures <- fmt.Sprintf("transfer: %v", err)
			}
		})
		for _, id := range ids {
			wg.Go(func() {
				st, body, err := e.send(e.a, "PATCH", "/Users/"+id, patch(op("replace", "active", false)))
				switch {
				case err != nil:
					failures <- err.Error()
				case st == http.StatusForbidden:
					if d, _ := body["detail"].(string); !strings.Contains(d, "transfer ownership first") {
						failures <- fmt.Sprintf("refusal %v", body)
					}
				case st == http.StatusOK:
					if st, body, err := e.send(e.a, "PATCH", "/Users/"+id, patch(op("replace", "active", true))); err != nil || st != http.StatusOK {
						failures <- fmt.Sprintf("reactivate: %d %v %v", st, body, err)
					}
				default:
					failures <- fmt.Sprintf("deactivate: %d %v", st, body)
				}
			})
		}
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	acct, err := e.store.Store.GetAccount(e.ctx, e.a.id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, acct.OwnerMemberID) {
		t.Fatalf("owner %q", acct.OwnerMemberID)
	}
	owner := e.member(e.a, acct.OwnerMemberID)
	if !owner.Active || owner.Status != repository.StatusActive || !slices.Contains(owner.Roles, "administrator") {
		t.Errorf("owner %s: active %v status %q roles %v", owner.UserName, owner.Active, owner.Status, owner.Roles)
	}
	e.do(e.a, "PATCH", "/Users/"+owner.ID, patch(op("replace", "active", false))).wantError(t, http.StatusForbidden, "")
}

func TestSCIMTeamLeaderRule(t *testing.T) {
	e := newEnv(t)
	lead := e.createUser(e.a, agent("lead@acme.example", "supervisor"))
	if m := e.member(e.a, lead); m.Profile.CanManageTeams {
		t.Fatal("the leader starts able to manage teams")
	}
	// The directory names a manager: the push succeeds, and the leader
	// becomes able to manage teams.
	report := agent("report@acme.example", "agent")
	report[urnEnterprise] = map[string]any{"manager": lead}
	reportID := e.createUser(e.a, report)
	r := e.do(e.a, "GET", "/Users/"+lead, nil).want(t, http.StatusOK)
	if r.get(`["`+urnRoster+`"].canManageTeams`) != true {
		t.Errorf("leader after a report arrived: %s", r.raw)
	}
	if got := e.member(e.a, reportID).ManagerID; got != lead {
		t.Errorf("manager %q", got)
	}
	// Turning it off while the leader has reports fails with the reason.
	r = e.do(e.a, "PATCH", "/Users/"+lead, patch(op("replace", urnRoster+":canManageTeams", false))).
		wantError(t, http.StatusBadRequest, "invalidValue")
	if !strings.Contains(r.str("detail"), "1 members report to this member") {
		t.Errorf("detail %q", r.str("detail"))
	}
	// The admin API, picking a leader by hand, must pick one who can
	// manage teams (for a member whose manager the IdP does not manage:
	// on the report above, "manager" is locked).
	plain := e.createUser(e.a, agent("plain@acme.example", "agent"))
	inApp, err := e.svc.CreateMember(e.ctx, adminActor(e.a), repository.Member{AccountID: e.a.id, UserName: "app@acme.example", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	for ref, code := range map[string]provisioning.Code{plain: provisioning.CodeInvalidValue, lead: ""} {
		_, err = e.svc.UpdateMember(e.ctx, adminActor(e.a), e.a.id, inApp.ID, nil,
			func(m repository.Member) (repository.Member, error) { m.ManagerID = ref; return m, nil })
		if pe := provisioning.AsError(err); (code == "" && err != nil) || (code != "" && (pe == nil || pe.Code != code || pe.Attribute != "manager")) {
			t.Errorf("admin picking leader %s: %v", ref, err)
		}
	}
	_, err = e.svc.UpdateMember(e.ctx, adminActor(e.a), e.a.id, reportID, nil,
		func(m repository.Member) (repository.Member, error) { m.ManagerID = ""; return m, nil })
	if pe := provisioning.AsError(err); pe == nil || pe.Code != provisioning.CodeManagedByIdP || pe.Attribute != "manager" {
		t.Errorf("admin changing an IdP-managed manager: %v", err)
	}
	direct, indirect, err := e.svc.Reports(e.ctx, e.a.id, lead)
	if err != nil {
		t.Fatal(err)
	}
	if len(direct) != 2 || direct[0].ID != reportID || direct[1].ID != inApp.ID || len(indirect) != 0 {
		t.Errorf("reports %v %v", direct, indirect)
	}
}

func TestSCIMGroupRoleSeats(t *testing.T) {
	e := newEnv(t)
	e.setSeats(e.a, 1, repository.SeatExhaustionQueue)
	r1 := e.createUser(e.a, agent("r1@acme.example", "reporter"))
	r2 := e.createUser(e.a, agent("r2@acme.example", "reporter"))
	g := e.createGroup(e.a, "Tier 1", r1)
	if _, err := e.svc.SetGroupRole(e.ctx, adminActor(e.a), e.a.id, g, "agent"); err != nil {
		t.Fatal(err)
	}
	if got := e.seatOf(e.a, r1); got != "assigned" {
		t.Errorf("member of a mapped group: %q", got)
	}
	// Okta adds a member: no seat is free, so it waits.
	e.do(e.a, "PATCH", "/Groups/"+g, patch(op("add", "members", []any{map[string]any{"value": r2}}))).want(t, http.StatusNoContent)
	if got := e.seatOf(e.a, r2); got != "queued" {
		t.Errorf("joined a full mapped group: %q", got)
	}
	// Okta removes a member by filter: its seat goes to the queue.
	e.do(e.a, "PATCH", "/Groups/"+g, patch(op("remove", fmt.Sprintf(`members[value eq "%s"]`, r1), nil))).want(t, http.StatusNoContent)
	if a, b := e.seatOf(e.a, r1), e.seatOf(e.a, r2); a != "none" || b != "assigned" {
		t.Errorf("after the removal: %q %q", a, b)
	}
	// Under reject, a join without a free seat is refused: 403 and nothing
	// changes.
	e.setSeats(e.a, 1, repository.SeatExhaustionReject)
	r := e.do(e.a, "PATCH", "/Groups/"+g, patch(op("add", "members", []any{map[string]any{"value": r1}}))).
		wantError(t, http.StatusForbidden, "")
	if !strings.Contains(r.str("detail"), "1 of 1 agent seats in use") {
		t.Errorf("detail %q", r.str("detail"))
	}
	members := e.do(e.a, "GET", "/Groups/"+g, nil).want(t, http.StatusOK)
	if list, _ := members.get("members").([]any); len(list) != 1 {
		t.Errorf("members after a refused join: %s", members.raw)
	}
	// Deleting the group gives its seats back.
	e.do(e.a, "DELETE", "/Groups/"+g, nil).want(t, http.StatusNoContent)
	if got := e.seatOf(e.a, r2); got != "none" {
		t.Errorf("after the group's deletion: %q", got)
	}
}

func TestSCIMAttributesLockedForAdmins(t *testing.T) {
	e := newEnv(t)
	body := user("locked@acme.example")
	body[urnEnterprise] = map[string]any{"department": "Support"}
	id := e.createUser(e.a, body)
	change := func(fn func(*repository.Member)) error {
		_, err := e.svc.UpdateMember(e.ctx, adminActor(e.a), e.a.id, id, nil, func(m repository.Member) (repository.Member, error) {
			fn(&m)
			return m, nil
		})
		return err
	}
	// What the IdP sent is read-only in the admin API...
	for attr, fn := range map[string]func(*repository.Member){
		"department": func(m *repository.Member) { m.Department = "Sales" },
		"name":       func(m *repository.Member) { m.Name.GivenName = "Other" },
		"active":     func(m *repository.Member) { m.Active = false },
	} {
		pe := provisioning.AsError(change(fn))
		if pe == nil || pe.Code != provisioning.CodeManagedByIdP || pe.Attribute != attr {
			t.Errorf("%s: %v", attr, pe)
		}
	}
	// ...the rest stays editable, and the IdP keeps changing its own.
	if err := change(func(m *repository.Member) { m.Profile.Bio = "Hello"; m.Title = "Agent" }); err != nil {
		t.Fatal(err)
	}
	e.do(e.a, "PATCH", "/Users/"+id, patch(op("replace", urnEnterprise+":department", "Sales"))).want(t, http.StatusOK)
	m := e.member(e.a, id)
	if m.Department != "Sales" || m.Profile.Bio != "Hello" || m.Title != "Agent" {
		t.Errorf("member %+v", m)
	}
}

// door is one way into the rules: provisioning called directly, or SCIM
// over HTTP. Outcomes are "ok" or a provisioning error code.
type door interface {
	create(userName string, roles ...string) (string, string)
	setActive(id string, active bool) string
	setRoles(id string, roles ...string) string
	remove(id string) string
}

// directDoor calls provisioning with a SCIM token's actor.
type directDoor struct{ e *env }

func (d directDoor) actor() provisioning.Actor {
	return provisioning.Actor{Kind: repository.ActorSCIMToken, ID: "direct", RequestID: "direct"}
}

func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	if pe := provisioning.AsError(err); pe != nil {
		return string(pe.Code)
	}
	return err.Error()
}

func (d directDoor) create(userName string, roles ...string) (string, string) {
	m, err := d.e.svc.CreateMember(d.e.ctx, d.actor(), repository.Member{AccountID: d.e.a.id, UserName: userName, Active: true, Roles: roles})
	return m.ID, outcomeOf(err)
}

func (d directDoor) update(id string, fn func(*repository.Member)) string {
	_, err := d.e.svc.UpdateMember(d.e.ctx, d.actor(), d.e.a.id, id, nil, func(m repository.Member) (repository.Member, error) {
		fn(&m)
		return m, nil
	})
	return outcomeOf(err)
}

func (d directDoor) setActive(id string, active bool) string {
	return d.update(id, func(m *repository.Member) { m.Active = active })
}

func (d directDoor) setRoles(id string, roles ...string) string {
	return d.update(id, func(m *repository.Member) { m.Roles = roles })
}

func (d directDoor) remove(id string) string {
	return outcomeOf(d.e.svc.DeleteMember(d.e.ctx, d.actor(), d.e.a.id, id, nil))
}

// scimDoor sends SCIM requests as an IdP would.
type scimDoor struct{ e *env }

// outcomeOfStatus maps a SCIM answer back to the rule it reports.
func outcomeOfStatus(st int, body map[string]any) string {
	detail, _ := body["detail"].(string)
	switch {
	case st < 300:
		return "ok"
	case st == http.StatusForbidden && strings.Contains(detail, "agent seats in use"):
		return string(provisioning.CodeSeatLimitReached)
	case st == http.StatusForbidden && strings.Contains(detail, "transfer ownership first"):
		return string(provisioning.CodeOwnerProtected)
	case st == http.StatusBadRequest:
		return string(provisioning.CodeInvalidValue)
	}
	return fmt.Sprintf("%d %s", st, detail)
}

func (d scimDoor) create(userName string, roles ...string) (string, string) {
	st, body, err := d.e.send(d.e.a, "POST", "/Users", agent(userName, roles...))
	if err != nil {
		return "", err.Error()
	}
	id, _ := body["id"].(string)
	return id, outcomeOfStatus(st, body)
}

func (d scimDoor) patch(id string, ops ...map[string]any) string {
	st, body, err := d.e.send(d.e.a, "PATCH", "/Users/"+id, patch(ops...))
	if err != nil {
		return err.Error()
	}
	return outcomeOfStatus(st, body)
}

func (d scimDoor) setActive(id string, active bool) string {
	return d.patch(id, op("replace", "active", active))
}

func (d scimDoor) setRoles(id string, roles ...string) string {
	list := []any{}
	for _, r := range roles {
		list = append(list, map[string]any{"value": r})
	}
	return d.patch(id, op("replace", "roles", list))
}

func (d scimDoor) remove(id string) string {
	st, body, err := d.e.send(d.e.a, "DELETE", "/Users/"+id, nil)
	if err != nil {
		return err.Error()
	}
	return outcomeOfStatus(st, body)
}

// TestSameOutcomeThroughBothDoors runs one scenario through provisioning
// and through SCIM, under both exhaustion settings: every step answers the
// same and the seats end the same.
func TestSameOutcomeThroughBothDoors(t *testing.T) {
	run := func(t *testing.T, e *env, d door) (steps []string, seats []string) {
		ids := map[string]string{}
		create := func(name string, roles ...string) {
			id, out := d.create(name+"@doors.example", roles...)
			ids[name] = id
			steps = append(steps, "create "+name+": "+out)
		}
		step := func(what, out string) { steps = append(steps, what+": "+out) }
		create("a", "agent")
		create("b", "agent", "administrator")
		create("c", "agent")
		create("r", "reporter")
		step("deactivate owner", d.setActive(e.a.ownerID, false))
		step("demote owner", d.setRoles(e.a.ownerID, "agent"))
		step("delete owner", d.remove(e.a.ownerID))
		step("deactivate a", d.setActive(ids["a"], false))
		step("reactivate a", d.setActive(ids["a"], true))
		step("b drops agent", d.setRoles(ids["b"], "administrator"))
		step("r becomes agent", d.setRoles(ids["r"], "reporter", "agent"))
		step("delete b", d.remove(ids["b"]))
		step("unknown role", d.setRoles(ids["r"], "pilot"))
		create("d", "stakeholder")
		step("deactivate r", d.setActive(ids["r"], false))
		step("reactivate r", d.setActive(ids["r"], true))
		for _, name := range []string{"a", "b", "c", "d", "r"} {
			m, err := e.store.Store.GetMember(e.ctx, e.a.id, ids[name])
			status := "gone"
			if err == nil {
				status = m.SeatStatus
			}
			seats = append(seats, name+"="+status)
		}
		sum, err := e.svc.Seats(e.ctx, e.a.id)
		if err != nil {
			t.Fatal(err)
		}
		return steps, append(seats, fmt.Sprintf("used=%d queued=%d", sum.Used, sum.Queued))
	}
	for _, exhaustion := range []string{repository.SeatExhaustionQueue, repository.SeatExhaustionReject} {
		t.Run(exhaustion, func(t *testing.T) {
			de := newEnv(t)
			de.setSeats(de.a, 2, exhaustion)
			directSteps, directSeats := run(t, de, directDoor{de})
			se := newEnv(t)
			se.setSeats(se.a, 2, exhaustion)
			scimSteps, scimSeats := run(t, se, scimDoor{se})
			if !slices.Equal(directSteps, scimSteps) || !slices.Equal(directSeats, scimSeats) {
				t.Errorf("provisioning:\n  %s\n  %s\nSCIM:\n  %s\n  %s",
					strings.Join(directSteps, "\n  "), directSeats, strings.Join(scimSteps, "\n  "), scimSeats)
			}
			t.Logf("%s\n  %s", strings.Join(scimSteps, "\n"), scimSeats)
		})
	}
}
