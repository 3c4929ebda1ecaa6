package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

// CheckLinkFields checks that a backend keeps the fields invitations and
// account deletion added to the records (Invitation.Kind, SendCount,
// SendCountSince; Account.Deletion) through create, update and read,
// and that clearing them clears them. Backends call it from their own
// tests until the suite's own cases cover these fields.
func CheckLinkFields(t *testing.T, s repository.Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	acct, err := s.CreateAccount(ctx, repository.Account{Name: "Link fields " + repository.NewID(), Status: repository.AccountActive,
		Deletion: repository.DeletionChallenge{CodeHash: "salt$hash", ExpiresAt: at, Attempts: 2}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccount(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Deletion.CodeHash != "salt$hash" || !got.Deletion.ExpiresAt.Equal(at) || got.Deletion.Attempts != 2 {
		t.Errorf("created account deletion = %+v", got.Deletion)
	}
	got, err = s.UpdateAccount(ctx, acct.ID, func(a repository.Account) (repository.Account, error) {
		a.Deletion.Attempts++
		return a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetAccount(ctx, acct.ID); got.Deletion.Attempts != 3 || got.Deletion.CodeHash != "salt$hash" {
		t.Errorf("updated account deletion = %+v", got.Deletion)
	}
	if _, err = s.UpdateAccount(ctx, acct.ID, func(a repository.Account) (repository.Account, error) {
		a.Deletion = repository.DeletionChallenge{}
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetAccount(ctx, acct.ID); got.Deletion != (repository.DeletionChallenge{}) {
		t.Errorf("cleared account deletion = %+v", got.Deletion)
	}

	inv, err := s.CreateInvitation(ctx, repository.Invitation{AccountID: acct.ID, MemberID: "m1", TokenHash: "h-" + repository.NewID(),
		Kind: repository.InvitationActivation, ExpiresAt: at.Add(time.Hour), SentAt: at, SendCount: 1, SendCountSince: at})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, kind string, count int, since time.Time) {
		t.Helper()
		g, err := s.GetInvitation(ctx, acct.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g.Kind != kind || g.SendCount != count || !g.SendCountSince.Equal(since) {
			t.Errorf("%s invitation = kind %q count %d since %v", what, g.Kind, g.SendCount, g.SendCountSince)
		}
	}
	check("created", repository.InvitationActivation, 1, at)
	later := at.Add(time.Minute)
	if _, err := s.UpdateInvitation(ctx, acct.ID, inv.ID, func(i repository.Invitation) (repository.Invitation, error) {
		i.SendCount, i.SendCountSince, i.Kind = 5, later, repository.InvitationInvite
		return i, nil
	}); err != nil {
		t.Fatal(err)
	}
	check("updated", repository.InvitationInvite, 5, later)
	list, err := s.ListInvitations(ctx, acct.ID)
	if err != nil || len(list) != 1 || list[0].SendCount != 5 || list[0].Kind != repository.InvitationInvite {
		t.Errorf("listed invitations = %+v, %v", list, err)
	}
}
