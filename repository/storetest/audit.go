package storetest

import (
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func init() {
	register(testCase{"Audit", testAudit})
}

func testAudit(t *testing.T, c Config) {
	s := c.New(t)
	ctx := t.Context()
	acct := newAccount(t, s)
	other := newAccount(t, s)
	base := ms(time.Now().Add(-time.Hour))
	targetX, targetY := repository.NewID(), repository.NewID()

	// Six events a minute apart:
	//   i  action          actor    target
	//   0  member.create   actor-0  X
	//   1  member.update   actor-1  X
	//   2  member.create   actor-2  X
	//   3  member.update   actor-0  Y
	//   4  member.create   actor-1  Y
	//   5  member.update   actor-2  Y
	var events []repository.AuditEvent
	for i := range 6 {
		e := repository.AuditEvent{
			AccountID:  acct.ID,
			ID:         repository.NewID(),
			Time:       base.Add(time.Duration(i) * time.Minute),
			ActorKind:  repository.ActorMember,
			ActorID:    []string{"actor-0", "actor-1", "actor-2"}[i%3],
			Action:     []string{"member.create", "member.update"}[i%2],
			TargetKind: "member",
			TargetID:   []string{targetX, targetY}[i/3],
			Diff:       []byte(`{"title":["old","new"]}`),
			RequestID:  unique("req"),
		}
		got, err := s.AppendAudit(ctx, e)
		must(t, err, "append audit event %d", i)
		expectSame(t, got, e, "AppendAudit result")
		events = append(events, got)
	}
	// The other account's event is newer than all of them and matches
	// every filter below; it must never show.
	_, err := s.AppendAudit(ctx, repository.AuditEvent{
		AccountID: other.ID, ID: repository.NewID(), Time: base.Add(10 * time.Minute), ActorKind: repository.ActorMember,
		ActorID: "actor-0", Action: "member.create", TargetKind: "member", TargetID: targetX,
	})
	must(t, err, "append audit event of another account")

	ids := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, events[i].ID)
		}
		return out
	}
	list := func(q repository.AuditQuery) []string {
		t.Helper()
		p, err := s.ListAudit(ctx, acct.ID, q)
		must(t, err, "list audit %+v", q)
		var out []string
		for _, e := range p.Items {
			out = append(out, e.ID)
			expect(t, e.AccountID, acct.ID, "account of a listed audit event")
		}
		return out
	}

	t.Run("NewestFirst", func(t *testing.T) {
		expectSeq(t, list(repository.AuditQuery{Limit: 100}), ids(5, 4, 3, 2, 1, 0), "all events, newest first")
		p, err := s.ListAudit(ctx, acct.ID, repository.AuditQuery{Limit: 100})
		must(t, err, "list audit")
		if len(p.Items) == 6 {
			expectSame(t, p.Items[5], events[0], "listed event round trip")
		}
		expect(t, p.Total, 6, "total audit events")
		expect(t, p.NextCursor, "", "cursor of the only page")
	})

	t.Run("FillsID", func(t *testing.T) {
		other := newAccount(t, s)
		got, err := s.AppendAudit(ctx, repository.AuditEvent{AccountID: other.ID, Time: base, ActorKind: repository.ActorSystem, Action: "account.create"})
		must(t, err, "append audit event without id")
		if got.ID == "" {
			t.Errorf("AppendAudit did not fill an empty ID")
		}
	})

	t.Run("Filters", func(t *testing.T) {
		tests := []struct {
			name string
			q    repository.AuditQuery
			want []string
		}{
			{"Action", repository.AuditQuery{Action: "member.create"}, ids(4, 2, 0)},
			{"ActorID", repository.AuditQuery{ActorID: "actor-0"}, ids(3, 0)},
			{"TargetID", repository.AuditQuery{TargetID: targetY}, ids(5, 4, 3)},
			{"Since", repository.AuditQuery{Since: base.Add(90 * time.Second)}, ids(5, 4, 3, 2)},
			{"Until", repository.AuditQuery{Until: base.Add(150 * time.Second)}, ids(2, 1, 0)},
			{"SinceUntil", repository.AuditQuery{Since: base.Add(90 * time.Second), Until: base.Add(210 * time.Second)}, ids(3, 2)},
			{"ActionSince", repository.AuditQuery{Action: "member.update", Since: base.Add(30 * time.Second)}, ids(5, 3, 1)},
			{"ActorTarget", repository.AuditQuery{ActorID: "actor-1", TargetID: targetX}, ids(1)},
			{"NoMatch", repository.AuditQuery{Action: "member.delete"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.q.Limit = 100
				expectSeq(t, list(tt.q), tt.want, "events matching %+v", tt.q)
			})
		}
	})

	t.Run("Cursor", func(t *testing.T) {
		for _, tt := range []struct {
			q    repository.AuditQuery
			want []string
		}{
			{repository.AuditQuery{Limit: 2}, ids(5, 4, 3, 2, 1, 0)},
			{repository.AuditQuery{Limit: 4}, ids(5, 4, 3, 2, 1, 0)},
			{repository.AuditQuery{Limit: 2, Action: "member.update"}, ids(5, 3, 1)},
		} {
			var got []string
			q := tt.q
			for page := 0; ; page++ {
				if page > 10 {
					t.Fatalf("audit cursor %+v does not end", tt.q)
				}
				p, err := s.ListAudit(ctx, acct.ID, q)
				must(t, err, "list audit page %d", page)
				if len(p.Items) > q.Limit {
					t.Fatalf("audit page of %d events for limit %d", len(p.Items), q.Limit)
				}
				for _, e := range p.Items {
					got = append(got, e.ID)
				}
				expect(t, p.Total, len(tt.want), "total on audit page %d of %+v", page, tt.q)
				if p.NextCursor == "" {
					break
				}
				q.Cursor = p.NextCursor
			}
			expectSeq(t, got, tt.want, "audit events paged with %+v", tt.q)
		}
	})
}
