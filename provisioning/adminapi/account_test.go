package adminapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/rosterhq/roster/provisioning"
	"github.com/rosterhq/roster/repository"
)

func TestSeats(t *testing.T) {
	e := newEnv(t)
	s := decodeAs[Seats](t, e.as(e.owner, http.MethodGet, "/seats", nil), http.StatusOK)
	if s != (Seats{Policy: "named", Exhaustion: "queue", Total: 3, Available: 3}) {
		t.Errorf("seats = %+v", s)
	}
	e.member("a1@acme.example", provisioning.RoleAgent)
	e.member("a2@acme.example", provisioning.RoleAgent)
	s = decodeAs[Seats](t, e.as(e.owner, http.MethodPut, "/seats", `{"total":4,"exhaustion":"reject"}`), http.StatusOK)
	if s != (Seats{Policy: "named", Exhaustion: "reject", Total: 4, Used: 2, Available: 2}) {
		t.Errorf("after PUT = %+v", s)
	}
	acct, _ := e.store.GetAccount(e.ctx, e.acct.Account.ID)
	if acct.Seats.Total != 4 || acct.Seats.Exhaustion != repository.SeatExhaustionReject || acct.Seats.Policy != repository.SeatPolicyNamed {
		t.Errorf("stored seats = %+v", acct.Seats)
	}

	bad := []struct {
		body       string
		status     int
		code, attr string
	}{
		{`{"total":1}`, http.StatusConflict, "seats_in_use", "total"},
		{`{"total":-1}`, http.StatusBadRequest, "invalid_value", "total"},
		{`{"total":"5"}`, http.StatusBadRequest, "invalid_type", "total"},
		{`{"total":2.5}`, http.StatusBadRequest, "invalid_type", "total"},
		{`{"policy":"floating"}`, http.StatusBadRequest, "invalid_value", "policy"},
		{`{"exhaustion":"panic"}`, http.StatusBadRequest, "invalid_value", "exhaustion"},
		{`{"used":0}`, http.StatusBadRequest, "read_only", "used"},
		{`{"seats":5}`, http.StatusBadRequest, "unknown_field", "seats"},
	}
	for _, tc := range bad {
		t.Run(tc.body, func(t *testing.T) {
			wantProblem(t, e.as(e.owner, http.MethodPut, "/seats", tc.body), tc.status, tc.code, tc.attr)
			after, _ := e.store.GetAccount(e.ctx, e.acct.Account.ID)
			if after.Seats != acct.Seats {
				t.Errorf("seats changed to %+v", after.Seats)
			}
		})
	}
}

func TestOwnershipTransfer(t *testing.T) {
	e := newEnv(t)
	admin := e.member("admin@acme.example", provisioning.RoleAdministrator)
	reporter := e.member("rep@acme.example", provisioning.RoleReporter)
	adminTok := e.tokenFor(admin.ID)

	wantProblem(t, e.as(adminTok, http.MethodPost, "/ownership/transfer", map[string]string{"memberId": admin.ID}), http.StatusForbidden, "owner_only", "")
	wantProblem(t, e.as(e.owner, http.MethodPost, "/ownership/transfer", map[string]string{"memberId": reporter.ID}), http.StatusBadRequest, "invalid_value", "memberId")
	wantProblem(t, e.as(e.owner, http.MethodPost, "/ownership/transfer", map[string]string{"memberId": "nobody"}), http.StatusNotFound, "not_found", "memberId")
	wantProblem(t, e.as(e.owner, http.MethodPost, "/ownership/transfer", `{"member":"x"}`), http.StatusBadRequest, "unknown_field", "member")
	if acct, _ := e.store.GetAccount(e.ctx, e.acct.Account.ID); acct.OwnerMemberID != e.ownerID {
		t.Fatalf("owner changed to %s", acct.OwnerMemberID)
	}

	o := decodeAs[Ownership](t, e.as(e.owner, http.MethodPost, "/ownership/transfer", map[string]string{"memberId": admin.ID}), http.StatusOK)
	if o.OwnerMemberID != admin.ID || o.PreviousOwnerMemberID != e.ownerID {
		t.Errorf("transfer = %+v", o)
	}
	if acct, _ := e.store.GetAccount(e.ctx, e.acct.Account.ID); acct.OwnerMemberID != admin.ID {
		t.Errorf("stored owner = %s", acct.OwnerMemberID)
	}
	former := decodeAs[Member](t, e.as(adminTok, http.MethodGet, "/members/"+e.ownerID, nil), http.StatusOK)
	if former.Owner || !slices.Contains(former.Roles, provisioning.RoleAdministrator) {
		t.Errorf("former owner = %+v", former)
	}
	// The former owner is an administrator now, no longer the owner.
	wantProblem(t, e.as(e.owner, http.MethodPost, "/ownership/transfer", map[string]string{"memberId": e.ownerID}), http.StatusForbidden, "owner_only", "")
}
