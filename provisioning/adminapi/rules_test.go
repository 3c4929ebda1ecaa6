package adminapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

// The scenarios of this file are the ones provisioning's and SCIM's tests
// run for the same rules: the admin API must reach the same outcome, with
// this door's statuses (owner_protected 403; seat_limit_reached and
// managed_by_idp 409).

func TestOwnerIsProtected(t *testing.T) {
	e := newEnv(t)
	admin := e.member("admin@acme.example", provisioning.RoleAdministrator)
	adminTok := e.tokenFor(admin.ID)
	tests := []struct {
		name, token, method, path string
		body                      any
	}{
		{"owner deactivates self", e.owner, http.MethodPost, "/members/" + e.ownerID + "/deactivate", nil},
		{"admin deactivates owner", adminTok, http.MethodPost, "/members/" + e.ownerID + "/deactivate", nil},
		{"admin deletes owner", adminTok, http.MethodDelete, "/members/" + e.ownerID, nil},
		{"owner deletes self", e.owner, http.MethodDelete, "/members/" + e.ownerID, nil},
		{"owner drops administrator", e.owner, http.MethodPatch, "/members/" + e.ownerID, `{"roles":["agent"]}`},
		{"admin strips owner's roles", adminTok, http.MethodPatch, "/members/" + e.ownerID, `{"roles":null}`},
		{"admin edits owner's profile", adminTok, http.MethodPatch, "/members/" + e.ownerID, `{"title":"Intern"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, audits := e.getMember(e.ownerID), e.auditCount()
			p := wantProblem(t, e.as(tc.token, tc.method, tc.path, tc.body), http.StatusForbidden, "owner_protected", "")
			if tc.method != http.MethodPatch && !strings.Contains(p.Detail, "transfer ownership first") {
				t.Errorf("detail %q does not say what to do", p.Detail)
			}
			after := e.getMember(e.ownerID)
			if after.Version != before.Version || !after.Active || !slices.Contains(after.Roles, provisioning.RoleAdministrator) {
				t.Errorf("owner changed: %+v", after)
			}
			if n := e.auditCount(); n != audits {
				t.Errorf("%d audit events written", n-audits)
			}
		})
	}
	// The owner may change their own profile.
	got := decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+e.ownerID, `{"title":"Founder","roles":["administrator","agent"]}`), http.StatusOK)
	if got.Title != "Founder" || !got.Owner {
		t.Errorf("owner's own change = %+v", got)
	}
}

func TestSeatLimitUnderReject(t *testing.T) {
	e := newEnv(t)
	expect(t, e.as(e.owner, http.MethodPut, "/seats", `{"total":1,"exhaustion":"reject"}`), http.StatusOK)
	first := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", `{"userName":"a1@acme.example","roles":["agent"]}`), http.StatusCreated)
	if first.SeatStatus != repository.SeatAssigned {
		t.Errorf("first agent seat = %s", first.SeatStatus)
	}
	rep := e.member("rep@acme.example", provisioning.RoleReporter)

	t.Run("create", func(t *testing.T) {
		n, audits := e.memberCount(e.acct.Account.ID), e.auditCount()
		p := wantProblem(t, e.as(e.owner, http.MethodPost, "/members", `{"userName":"a2@acme.example","roles":["agent"]}`),
			http.StatusConflict, "seat_limit_reached", "roles")
		if !strings.Contains(p.Detail, "1 of 1 agent seats in use") {
			t.Errorf("detail %q does not name the limit", p.Detail)
		}
		if e.memberCount(e.acct.Account.ID) != n || e.auditCount() != audits {
			t.Error("something was written")
		}
		if _, err := e.store.GetMemberByUserName(e.ctx, e.acct.Account.ID, "a2@acme.example"); err == nil {
			t.Error("the refused member exists")
		}
	})
	t.Run("role change", func(t *testing.T) {
		wantProblem(t, e.as(e.owner, http.MethodPatch, "/members/"+rep.ID, `{"roles":["reporter","agent"]}`), http.StatusConflict, "seat_limit_reached", "roles")
		if got := e.getMember(rep.ID); got.Version != rep.Version || slices.Contains(got.Roles, provisioning.RoleAgent) {
			t.Errorf("member changed: %+v", got)
		}
	})
	t.Run("reactivation", func(t *testing.T) {
		decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members/"+first.ID+"/deactivate", nil), http.StatusOK)
		second := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", `{"userName":"a3@acme.example","roles":["agent"]}`), http.StatusCreated)
		if second.SeatStatus != repository.SeatAssigned {
			t.Errorf("the freed seat was not given: %+v", second)
		}
		wantProblem(t, e.as(e.owner, http.MethodPost, "/members/"+first.ID+"/reactivate", nil), http.StatusConflict, "seat_limit_reached", "roles")
		if got := e.getMember(first.ID); got.Active {
			t.Error("reactivated without a seat")
		}
	})
	s := decodeAs[Seats](t, e.as(e.owner, http.MethodGet, "/seats", nil), http.StatusOK)
	if s.Used != 1 || s.Total != 1 || s.Available != 0 || s.Queued != 0 {
		t.Errorf("seats = %+v", s)
	}
}

func TestSeatQueue(t *testing.T) {
	e := newEnv(t)
	expect(t, e.as(e.owner, http.MethodPut, "/seats", `{"total":1}`), http.StatusOK)
	decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", `{"userName":"a1@acme.example","roles":["agent"]}`), http.StatusCreated)
	queued := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", `{"userName":"a2@acme.example","roles":["agent"]}`), http.StatusCreated)
	if queued.SeatStatus != repository.SeatQueued {
		t.Fatalf("second agent = %s, want queued", queued.SeatStatus)
	}
	ep := decodeAs[EffectivePermissions](t, e.as(e.owner, http.MethodGet, "/members/"+queued.ID+"/permissions", nil), http.StatusOK)
	if ep.Agent || slices.Contains(ep.Permissions, provisioning.PermConversationsAnswer) {
		t.Errorf("queued agent may answer: %+v", ep)
	}
	s := decodeAs[Seats](t, e.as(e.owner, http.MethodPut, "/seats", `{"total":2}`), http.StatusOK)
	if s.Used != 2 || s.Queued != 0 {
		t.Errorf("after buying a seat: %+v", s)
	}
	if got := decodeAs[Member](t, e.as(e.owner, http.MethodGet, "/members/"+queued.ID, nil), http.StatusOK); got.SeatStatus != repository.SeatAssigned {
		t.Errorf("queued agent now %s", got.SeatStatus)
	}
}

func TestManagedByIdP(t *testing.T) {
	e := newEnv(t)
	scim := provisioning.Actor{Kind: repository.ActorSCIMToken, ID: "okta"}
	m, err := e.svc.CreateMember(e.ctx, scim, repository.Member{
		AccountID: e.acct.Account.ID, UserName: "idp@acme.example", ExternalID: "00u1",
		Name: repository.Name{GivenName: "Ida", FamilyName: "Pe"}, DisplayName: "Ida Pe", Active: true,
		Roles:             []string{provisioning.RoleReporter},
		ManagedAttributes: []string{"active", "displayName", "emails", "name", "userName", "externalId", "expertise"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		body               any
		attr               string
	}{
		{"displayName", http.MethodPatch, "/members/" + m.ID, `{"displayName":"Ida"}`, "displayName"},
		{"firstName", http.MethodPatch, "/members/" + m.ID, `{"firstName":"Idaho"}`, "firstName"},
		{"lastName", http.MethodPatch, "/members/" + m.ID, `{"lastName":"P"}`, "lastName"},
		{"userName", http.MethodPatch, "/members/" + m.ID, `{"userName":"other@acme.example"}`, "userName"},
		{"emails", http.MethodPatch, "/members/" + m.ID, `{"emails":[{"value":"x@acme.example"}]}`, "emails"},
		{"expertise", http.MethodPatch, "/members/" + m.ID, `{"supportProfile":{"expertise":["billing"]}}`, "supportProfile.expertise"},
		{"deactivate", http.MethodPost, "/members/" + m.ID + "/deactivate", nil, "active"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.getMember(m.ID)
			p := wantProblem(t, e.as(e.owner, tc.method, tc.path, tc.body), http.StatusConflict, "managed_by_idp", tc.attr)
			if !strings.Contains(p.Detail, "identity provider") {
				t.Errorf("detail %q", p.Detail)
			}
			if after := e.getMember(m.ID); after.Version != before.Version {
				t.Errorf("member changed: %+v", after)
			}
		})
	}
	// What the IdP did not set stays editable here.
	got := decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+m.ID, `{"title":"Agent lead","roles":["reporter","analyst"]}`), http.StatusOK)
	if got.Title != "Agent lead" || !slices.Contains(got.ManagedAttributes, "displayName") || got.Source != repository.SourceSCIM {
		t.Errorf("unmanaged change = %+v", got)
	}
}
