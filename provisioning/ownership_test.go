package provisioning

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// activateOwner accepts the owner's invitation (status active), as the
// invitation flow will.
func (e *ruleEnv) activateOwner() {
	e.t.Helper()
	if _, err := e.store.UpdateMember(e.ctx, e.id, e.acct.Owner.ID, func(m repository.Member) (repository.Member, error) {
		m.Status = repository.StatusActive
		return m, nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func TestOwnerProtection(t *testing.T) {
	e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, true)
	owner := e.acct.Owner.ID
	hash, err := HashPassword("owner-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	type change func(*repository.Member)
	deactivate := change(func(m *repository.Member) { m.Active = false })
	demote := change(func(m *repository.Member) { m.Roles = []string{RoleAgent} })
	rename := change(func(m *repository.Member) { m.DisplayName = "The Boss" })
	password := change(func(m *repository.Member) { m.PasswordHash = hash })
	addRole := change(func(m *repository.Member) { m.Roles = append(m.Roles, RoleReporter) })

	tests := []struct {
		name  string
		actor Actor
		fn    change
		code  Code   // "" means allowed
		text  string // in the message
	}{
		{"SCIM deactivates", scimActor, deactivate, CodeOwnerProtected, "transfer ownership first"},
		{"SCIM removes the administrator role", scimActor, demote, CodeOwnerProtected, "transfer ownership first"},
		{"SCIM sets the password", scimActor, password, CodeOwnerProtected, "own sign-in"},
		{"SCIM updates the profile", scimActor, rename, "", ""},
		{"another admin deactivates", e.admin, deactivate, CodeOwnerProtected, "transfer ownership first"},
		{"another admin renames", e.admin, func(m *repository.Member) { m.DisplayName = "Not The Boss" }, CodeOwnerProtected, "only the account owner"},
		{"another admin adds a role", e.admin, addRole, CodeOwnerProtected, "only the account owner"},
		{"the owner deactivates themself", e.owner, deactivate, CodeOwnerProtected, "transfer ownership first"},
		{"the owner drops administrator", e.owner, demote, CodeOwnerProtected, "transfer ownership first"},
		{"the owner changes their password", e.owner, password, "", ""},
		{"the owner adds a role", e.owner, addRole, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.get(owner)
			_, err := e.update(tc.actor, owner, tc.fn)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			pe := wantCode(t, err, tc.code)
			if !strings.Contains(pe.Message, tc.text) {
				t.Errorf("message %q, want it to say %q", pe.Message, tc.text)
			}
			if after := e.get(owner); after.Version != before.Version {
				t.Errorf("a refused change was written")
			}
		})
	}
	t.Run("nobody deletes the owner", func(t *testing.T) {
		for _, a := range []Actor{scimActor, e.admin, e.owner, systemActor} {
			err := e.s.DeleteMember(e.ctx, a, e.id, owner, nil)
			if pe := wantCode(t, err, CodeOwnerProtected); !strings.Contains(pe.Message, "transfer ownership first") {
				t.Errorf("message %q", pe.Message)
			}
		}
		e.get(owner)
	})
}

func TestTransferOwnership(t *testing.T) {
	for _, transactional := range []bool{true, false} {
		t.Run(fmt.Sprintf("transactional=%v", transactional), func(t *testing.T) {
			e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, transactional)
			e.activateOwner()
			oldOwner := e.acct.Owner.ID
			reporter := e.create("rep@own.example", RoleReporter)
			invited, err := e.store.UpdateMember(e.ctx, e.id, e.create("inv@own.example", RoleAdministrator).ID,
				func(m repository.Member) (repository.Member, error) {
					m.Status = repository.StatusInvited
					return m, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			off := e.create("off@own.example", RoleAdministrator)
			if err := e.setActive(scimActor, off.ID, false); err != nil {
				t.Fatal(err)
			}
			// An administrator only through a group may become owner; the
			// role is then given directly.
			viaGroup := e.create("grp@own.example", RoleAgent)
			g, err := e.s.CreateGroup(e.ctx, scimActor, repository.Group{AccountID: e.id, DisplayName: "Admins"}, []string{viaGroup.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.SetGroupRole(e.ctx, e.owner, e.id, g.ID, RoleAdministrator); err != nil {
				t.Fatal(err)
			}

			refused := []struct {
				name  string
				actor Actor
				to    string
				code  Code
				text  string
			}{
				{"by another admin", e.admin, e.adminID, CodeOwnerOnly, "only the account owner"},
				{"by SCIM", scimActor, e.adminID, CodeOwnerOnly, "only the account owner"},
				{"to a reporter", e.owner, reporter.ID, CodeInvalidValue, "is not an administrator"},
				{"to an invited admin", e.owner, invited.ID, CodeInvalidValue, "has not accepted the invitation"},
				{"to a deactivated admin", e.owner, off.ID, CodeInvalidValue, "is deactivated"},
				{"to nobody", e.owner, "ghost", CodeNotFound, "ghost"},
			}
			for _, tc := range refused {
				_, err := e.s.TransferOwnership(e.ctx, tc.actor, e.id, tc.to)
				if pe := wantCode(t, err, tc.code); !strings.Contains(pe.Message, tc.text) {
					t.Errorf("%s: message %q", tc.name, pe.Message)
				}
			}

			acct, err := e.s.TransferOwnership(e.ctx, e.owner, e.id, viaGroup.ID)
			if err != nil {
				t.Fatal(err)
			}
			if acct.OwnerMemberID != viaGroup.ID {
				t.Fatalf("owner %q", acct.OwnerMemberID)
			}
			if roles := e.get(viaGroup.ID).Roles; !slices.Equal(roles, []string{RoleAgent, RoleAdministrator}) {
				t.Errorf("new owner's roles %v", roles)
			}
			// The former owner stays an administrator and loses the
			// protection; the new owner has it.
			if roles := e.get(oldOwner).Roles; !slices.Contains(roles, RoleAdministrator) {
				t.Errorf("former owner's roles %v", roles)
			}
			newOwner := Actor{Kind: repository.ActorMember, ID: viaGroup.ID, RequestID: "req-new"}
			_, err = e.s.TransferOwnership(e.ctx, e.owner, e.id, oldOwner)
			wantCode(t, err, CodeOwnerOnly)
			wantCode(t, e.setActive(scimActor, viaGroup.ID, false), CodeOwnerProtected)
			if err := e.setActive(scimActor, oldOwner, false); err != nil {
				t.Fatalf("deactivate the former owner: %v", err)
			}
			if err := e.setActive(scimActor, oldOwner, true); err != nil {
				t.Fatal(err)
			}
			// A transfer to the owner is a no-op.
			if _, err := e.s.TransferOwnership(e.ctx, newOwner, e.id, viaGroup.ID); err != nil {
				t.Fatal(err)
			}
			// The system (an operator command) may transfer.
			if _, err := e.s.TransferOwnership(e.ctx, systemActor, e.id, e.adminID); err != nil {
				t.Fatal(err)
			}

			events := e.events("account.ownership.transfer")
			if len(events) != 2 {
				t.Fatalf("%d transfers recorded", len(events))
			}
			want := fmt.Sprintf(`{"ownerMemberId":{"before":%q,"after":%q}}`, oldOwner, viaGroup.ID)
			if ev := events[0]; string(ev.Diff) != want || ev.ActorID != oldOwner || ev.RequestID != "req-owner" || ev.TargetID != e.id {
				t.Errorf("transfer event %+v %s", ev, ev.Diff)
			}
		})
	}
}

// TestOwnershipRace runs ownership transfers between two administrators
// while both are being deactivated and reactivated: whatever the
// interleaving, the account ends with exactly one owner, active and an
// administrator, and every refusal is the owner protection. With and
// without store transactions; run it with -race.
func TestOwnershipRace(t *testing.T) {
	for _, transactional := range []bool{true, false} {
		t.Run(fmt.Sprintf("transactional=%v", transactional), func(t *testing.T) {
			e := newRuleEnv(t, 5, repository.SeatExhaustionQueue, transactional)
			e.activateOwner()
			a, b := e.acct.Owner.ID, e.adminID
			const rounds = 12
			var wg sync.WaitGroup
			errs := make(chan error, 8*rounds)
			for i := range rounds {
				to := []string{a, b}[i%2]
				wg.Go(func() {
					_, err := e.s.TransferOwnership(e.ctx, systemActor, e.id, to)
					if pe := AsError(err); err != nil && (pe == nil || pe.Code != CodeInvalidValue) {
						errs <- fmt.Errorf("transfer: %w", err)
					}
				})
				for _, id := range []string{a, b} {
					wg.Go(func() {
						// Without transactions a writer may lose the race for
						// the record more often than it retries: that is a
						// version mismatch (412 in SCIM), not a broken rule.
						lost := func(err error) bool {
							pe := AsError(err)
							return !transactional && pe != nil && pe.Code == CodeVersionMismatch
						}
						err := e.setActive(scimActor, id, false)
						if pe := AsError(err); err != nil && !lost(err) && (pe == nil || pe.Code != CodeOwnerProtected) {
							errs <- fmt.Errorf("deactivate: %w", err)
						}
						if err == nil {
							if err := e.setActive(scimActor, id, true); err != nil && !lost(err) {
								errs <- fmt.Errorf("reactivate: %w", err)
							}
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			e.checkOwner()

			// A deletion racing a transfer to the member deleted: either
			// the deletion wins and the transfer finds nobody, or the
			// transfer wins and the deletion is refused.
			for i := range 6 {
				c := e.create(fmt.Sprintf("c%d@race.example", i), RoleAdministrator)
				var transferErr, deleteErr error
				wg.Go(func() { _, transferErr = e.s.TransferOwnership(e.ctx, systemActor, e.id, c.ID) })
				wg.Go(func() { deleteErr = e.s.DeleteMember(e.ctx, scimActor, e.id, c.ID, nil) })
				wg.Wait()
				switch {
				case transferErr == nil && deleteErr != nil:
					wantCode(t, deleteErr, CodeOwnerProtected)
				case deleteErr == nil && transferErr != nil:
					// Gone, or (without transactions, where a deletion
					// first deactivates) found deactivated.
					if pe := AsError(transferErr); pe == nil || (pe.Code != CodeNotFound && pe.Code != CodeInvalidValue) {
						t.Errorf("round %d: transfer after the deletion: %v", i, transferErr)
					}
				default:
					t.Errorf("round %d: transfer %v, delete %v: exactly one must win", i, transferErr, deleteErr)
				}
				e.checkOwner()
			}
		})
	}
}

// checkOwner fails unless the account's owner exists, is active and holds
// the administrator role directly.
func (e *ruleEnv) checkOwner() {
	e.t.Helper()
	acct, err := e.store.GetAccount(e.ctx, e.id)
	if err != nil {
		e.t.Fatal(err)
	}
	owner, err := e.store.GetMember(e.ctx, e.id, acct.OwnerMemberID)
	if err != nil {
		e.t.Fatalf("the owner %q is gone: %v", acct.OwnerMemberID, err)
	}
	if !owner.Active || owner.Status != repository.StatusActive || !slices.Contains(owner.Roles, RoleAdministrator) {
		e.t.Errorf("owner %s: active %v status %q roles %v", owner.UserName, owner.Active, owner.Status, owner.Roles)
	}
}
