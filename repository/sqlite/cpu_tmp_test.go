package sqlite

import (
	"context"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestCPUCost(t *testing.T) {
	if os.Getenv("CPU_COST") == "" {
		t.Skip()
	}
	b := &testing.B{}
	_ = b
	s, accountID, ids, _ := seedBenchT(t, 100000)
	ctx := context.Background()
	run := func(name string, n int, f func(i int)) {
		for i := 0; i < 200; i++ {
			f(i)
		}
		c0, w0 := cpuNow(), time.Now()
		for i := 0; i < n; i++ {
			f(i)
		}
		t.Logf("%-24s cpu %8.1f µs/op   wall %8.1f µs/op", name, float64((cpuNow()-c0).Microseconds())/float64(n), float64(time.Since(w0).Microseconds())/float64(n))
	}
	if os.Getenv("CPU_PROFILE") != "" {
		f, _ := os.Create(os.Getenv("CPU_PROFILE"))
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	run("GetMemberByUserName", 3000, func(i int) {
		if _, err := s.GetMemberByUserName(ctx, accountID, benchUserName((i*7919)%100000)); err != nil {
			t.Fatal(err)
		}
	})
	run("ListUserNameEq", 3000, func(i int) {
		if _, err := s.ListMembers(ctx, accountID, repository.Query{Filter: repository.Compare{Field: repository.MemberUserName, Op: repository.OpEq, Value: benchUserName((i * 7919) % 100000)}, Count: 10}); err != nil {
			t.Fatal(err)
		}
	})
	cursor := ""
	run("Page100", 300, func(i int) {
		p, err := s.ListMembers(ctx, accountID, repository.Query{Count: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		cursor = p.NextCursor
	})
	next := 200000
	run("CreateMember", 2000, func(i int) {
		next++
		if _, err := s.CreateMember(ctx, benchMember(accountID, next)); err != nil {
			t.Fatal(err)
		}
	})
	k := 0
	run("UpdateMember", 2000, func(i int) {
		k++
		if _, err := s.UpdateMember(ctx, accountID, ids[k], func(m repository.Member) (repository.Member, error) { m.Title = "x"; return m, nil }); err != nil {
			t.Fatal(err)
		}
	})
}
