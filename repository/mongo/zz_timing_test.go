package mongo

import (
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func TestZZTiming(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a, _ := s.CreateAccount(ctx, repository.Account{Name: "x", Seats: repository.SeatSettings{Total: 10}})
	g, _ := s.CreateGroup(ctx, repository.Group{AccountID: a.ID, DisplayName: "g"})
	var ids []string
	for i := range 400 {
		ids = append(ids, fmt.Sprintf("m%05d", i))
	}
	tm := func(name string, f func()) {
		start := time.Now()
		f()
		t.Logf("%s: %s", name, time.Since(start))
	}
	for _, n := range []int{10, 50, 100, 200} {
		tm(fmt.Sprintf("addEdges %d new", n), func() { s.addEdges(ctx, a.ID, g.ID, ids[:n]) })
		tm(fmt.Sprintf("addEdges %d existing", n), func() { s.addEdges(ctx, a.ID, g.ID, ids[:n]) })
		s.removeEdges(ctx, a.ID, g.ID, ids)
	}
}
