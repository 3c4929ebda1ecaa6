package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster/repository"
)

// TestSeatsTwoStoresOneFile has two Store values on one file (as two
// `roster serve` instances would) reserve seats from many goroutines at
// once: the limit holds.
func TestSeatsTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	s1, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()

	const limit, callers = 7, 40
	a, err := s1.CreateAccount(ctx, repository.Account{Name: "seats", Seats: repository.SeatSettings{Total: limit}})
	if err != nil {
		t.Fatal(err)
	}
	var full atomic.Int32
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		s := []*Store{s1, s2}[i%2]
		wg.Go(func() {
			id := fmt.Sprintf("member-%d", i)
			err := s.ReserveSeat(ctx, a.ID, id)
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, id)
				mu.Unlock()
			case errors.Is(err, repository.ErrNoSeat):
				full.Add(1)
			default:
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reserve seat: %v", err)
	}
	if len(winners) != limit || full.Load() != callers-limit {
		t.Fatalf("%d seats reserved, %d refused; want %d and %d", len(winners), full.Load(), limit, callers-limit)
	}
	for _, s := range []*Store{s1, s2} {
		if n, err := s.SeatsInUse(ctx, a.ID); err != nil || n != limit {
			t.Errorf("seats in use: %d, %v", n, err)
		}
	}
	// Reserving a seat already held is a no-op, even with none free.
	if err := s2.ReserveSeat(ctx, a.ID, winners[0]); err != nil {
		t.Errorf("re-reserving a held seat: %v", err)
	}
	if held, err := s1.HoldsSeat(ctx, a.ID, winners[0]); err != nil || !held {
		t.Errorf("holds seat: %v, %v", held, err)
	}
	if err := s1.ReleaseSeat(ctx, a.ID, winners[0]); err != nil {
		t.Fatal(err)
	}
	if err := s2.ReserveSeat(ctx, a.ID, "member-new"); err != nil {
		t.Errorf("reserve a released seat: %v", err)
	}

	// The limit cannot go below the seats held.
	_, err = s2.SetSeatLimit(ctx, a.ID, limit-1)
	var siu *repository.SeatsInUseError
	if !errors.As(err, &siu) || siu.InUse != limit || siu.Requested != limit-1 {
		t.Errorf("lowering the limit below use: %v", err)
	}
	acct, err := s1.SetSeatLimit(ctx, a.ID, limit+1)
	if err != nil || acct.Seats.Total != limit+1 || acct.Version != a.Version+1 {
		t.Errorf("raising the limit: %+v, %v", acct, err)
	}
	if err := s2.ReserveSeat(ctx, a.ID, "latecomer"); err != nil {
		t.Errorf("reserve after raising the limit: %v", err)
	}
}

// seatHelperEnv makes the test binary act as one process of
// TestSeatsAcrossProcesses.
const seatHelperEnv = "ROSTER_SQLITE_SEAT_HELPER"

// TestSeatsAcrossProcesses runs the seat race in several processes sharing
// one file: SQLite's file lock, not a Go mutex, must keep the limit.
func TestSeatsAcrossProcesses(t *testing.T) {
	if spec := os.Getenv(seatHelperEnv); spec != "" {
		seatHelper(t, spec)
		return
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const limit, procs, perProc = 9, 3, 12
	a, err := s.CreateAccount(ctx, repository.Account{Name: "procs", Seats: repository.SeatSettings{Total: limit}})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	for p := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSeatsAcrossProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|p%d|%d", seatHelperEnv, path, a.ID, p, perProc))
			outs[p], errs[p] = cmd.CombinedOutput()
		})
	}
	// This process competes too.
	var mine atomic.Int32
	var local sync.WaitGroup
	for i := range perProc {
		local.Go(func() {
			if err := s.ReserveSeat(ctx, a.ID, fmt.Sprintf("parent-%d", i)); err == nil {
				mine.Add(1)
			} else if !errors.Is(err, repository.ErrNoSeat) {
				t.Errorf("reserve: %v", err)
			}
		})
	}
	local.Wait()
	wg.Wait()

	total := int(mine.Load())
	for p := range procs {
		if errs[p] != nil {
			t.Fatalf("helper process %d: %v\n%s", p, errs[p], outs[p])
		}
		_, after, ok := strings.Cut(string(outs[p]), "reserved=")
		if !ok {
			t.Fatalf("helper process %d printed no result:\n%s", p, outs[p])
		}
		n, err := strconv.Atoi(strings.Fields(after)[0])
		if err != nil {
			t.Fatalf("helper process %d: %v", p, err)
		}
		total += n
	}
	if total != limit {
		t.Errorf("%d seats reserved across %d processes, limit %d", total, procs+1, limit)
	}
	if n, err := s.SeatsInUse(ctx, a.ID); err != nil || n != limit {
		t.Errorf("seats in use: %d, %v", n, err)
	}
}

// seatHelper is the child side of TestSeatsAcrossProcesses: it opens the
// file and races for seats, then prints how many it got.
func seatHelper(t *testing.T, spec string) {
	parts := strings.Split(spec, "|")
	if len(parts) != 4 {
		t.Fatalf("bad helper spec %q", spec)
	}
	n, _ := strconv.Atoi(parts[3])
	ctx := context.Background()
	s, err := Open(ctx, parts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.ReserveSeat(ctx, parts[1], fmt.Sprintf("%s-%d", parts[2], i))
			if err == nil {
				got.Add(1)
			} else if !errors.Is(err, repository.ErrNoSeat) {
				t.Errorf("reserve: %v", err)
			}
		})
	}
	wg.Wait()
	fmt.Printf("reserved=%d\n", got.Load())
}
