package adminapi

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func TestAuditEvents(t *testing.T) {
	e := newEnv(t)
	start := e.clock.Now()
	var ids []string
	for _, n := range []string{"a", "b", "c"} {
		e.clock.Advance(time.Minute)
		m := decodeAs[Member](t, e.as(e.owner, http.MethodPost, "/members", map[string]any{"userName": n + "@acme.example", "roles": []string{"reporter"}}), http.StatusCreated)
		ids = append(ids, m.ID)
	}
	e.clock.Advance(time.Minute)
	decodeAs[Member](t, e.as(e.owner, http.MethodPatch, "/members/"+ids[0], `{"title":"Lead"}`), http.StatusOK)

	list := func(q url.Values) Page[AuditEvent] {
		t.Helper()
		return decodeAs[Page[AuditEvent]](t, e.as(e.owner, http.MethodGet, "/audit-events?"+q.Encode(), nil), http.StatusOK)
	}
	all := list(url.Values{"actor": {e.ownerID}})
	if all.Total != 4 || all.Items[0].Action != "member.update" || all.Items[0].TargetID != ids[0] || all.Items[0].ActorKind != repository.ActorMember {
		t.Fatalf("events by the owner = %+v", all.Items)
	}
	if string(all.Items[0].Diff) == "{}" || all.Items[0].RequestID == "" {
		t.Errorf("event without diff or request id: %+v", all.Items[0])
	}
	if p := list(url.Values{"action": {"member.create"}}); p.Total != 3 {
		t.Errorf("member.create events = %d", p.Total)
	}
	if p := list(url.Values{"target": {ids[1]}}); p.Total != 1 || p.Items[0].TargetID != ids[1] {
		t.Errorf("events of %s = %+v", ids[1], p.Items)
	}
	window := list(url.Values{"since": {start.Add(90 * time.Second).Format(time.RFC3339)}, "until": {start.Add(150 * time.Second).Format(time.RFC3339)}})
	if window.Total != 1 || window.Items[0].TargetID != ids[1] {
		t.Errorf("window = %+v", window.Items)
	}
	var walked []string
	q := url.Values{"actor": {e.ownerID}, "count": {"3"}}
	for range 5 {
		p := list(q)
		for _, ev := range p.Items {
			walked = append(walked, ev.ID)
		}
		if p.NextCursor == "" {
			break
		}
		q.Set("cursor", p.NextCursor)
	}
	if len(walked) != 4 || walked[0] != all.Items[0].ID || walked[3] != all.Items[3].ID {
		t.Errorf("cursor walk = %v", walked)
	}

	bad := []struct{ query, code, attr string }{
		{"since=yesterday", "invalid_type", "since"},
		{"since=2025-03-05T00:00:00Z&until=2025-03-04T00:00:00Z", "invalid_value", "until"},
		{"count=0", "invalid_value", "count"},
		{"cursor=***", "invalid_value", "cursor"},
		{"actorId=x", "invalid_query", "actorId"},
	}
	for _, tc := range bad {
		t.Run(tc.query, func(t *testing.T) {
			wantProblem(t, e.as(e.owner, http.MethodGet, "/audit-events?"+tc.query, nil), http.StatusBadRequest, tc.code, tc.attr)
		})
	}
}
