package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/repository"
	"github.com/rosterhq/roster/repository/sqlite"
)

// waitLong bounds every wait for the Sender; generous because the
// machine is shared and -race is slow. Waits end as soon as the condition
// holds.
const waitLong = 30 * time.Second

// openStore opens a SQLite store in path (a fresh one per test unless
// two "instances" share it).
func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fastOptions make the Sender's waits short for tests.
func fastOptions() SenderOptions {
	return SenderOptions{Interval: 20 * time.Millisecond, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
}

// quietLogger discards the Sender's log unless the test fails.
func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(&testWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// runSender runs s until the test ends (or stop is called) and waits for
// it to return.
func runSender(t *testing.T, s *Sender) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(waitLong):
				t.Error("Sender did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// enqueueInvitation enqueues an invitation the way provisioning does:
// inside the transaction of the change.
func enqueueInvitation(t *testing.T, store repository.Store, accountID, key, to string) {
	t.Helper()
	err := store.InTx(context.Background(), func(ctx context.Context) error {
		return Enqueue(ctx, store, accountID, key, to, TemplateInvitation, InvitationData{
			AccountName: "Acme Support", InviterName: "Ada", InviteeEmail: to,
			Link: "https://roster.example.com/invite/" + key + "?a=1&b=2", ExpiresAt: expires,
		})
	})
	if err != nil {
		t.Fatalf("enqueue %s: %v", key, err)
	}
}

func pending(t *testing.T, store repository.Outbox) int {
	t.Helper()
	n, _, err := store.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// settle lets a running Sender poll several more times, so that a
// duplicate it would send has the chance to show.
func settle() { time.Sleep(300 * time.Millisecond) }

// byMessageID counts the received messages per Message-ID.
func byMessageID(msgs []received) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		out[m.Header.Get("Message-Id")]++
	}
	return out
}

func TestSenderDeliversOnce(t *testing.T) {
	srv := startServer(t, serverOptions{startTLS: true})
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	tr, err := NewSMTPTransport(srv.transportConfig(TLSStartTLS))
	if err != nil {
		t.Fatal(err)
	}
	// The same change retried enqueues the same key: one email.
	enqueueInvitation(t, store, "acc1", "invitation:inv1:1", "grace@acme.example")
	enqueueInvitation(t, store, "acc1", "invitation:inv1:1", "grace@acme.example")
	// A change rolled back enqueues nothing.
	rollback := errors.New("rollback")
	err = store.InTx(context.Background(), func(ctx context.Context) error {
		if err := Enqueue(ctx, store, "acc1", "invitation:inv2:1", "linus@acme.example", TemplateInvitation, InvitationData{
			AccountName: "Acme", InviteeEmail: "linus@acme.example", Link: "https://r.example/i/2", ExpiresAt: expires,
		}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v", err)
	}
	if n := pending(t, store); n != 1 {
		t.Fatalf("pending = %d, want 1", n)
	}

	s := NewSender(store, tr, quietLogger(t), fastOptions())
	runSender(t, s)
	eventually(t, waitLong, "the email to be sent and recorded", func() bool {
		return len(srv.messages()) == 1 && pending(t, store) == 0
	})
	settle()
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	want := testMessage(t, "invitation:inv1:1", "grace@acme.example")
	checkDelivered(t, msgs[0], want)
	if !msgs[0].TLS {
		t.Error("delivered without STARTTLS")
	}
}

func TestSenderRetriesWithBackoff(t *testing.T) {
	srv := startServer(t, serverOptions{})
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	tr, err := NewSMTPTransport(srv.transportConfig(TLSNone))
	if err != nil {
		t.Fatal(err)
	}
	srv.failNext(3) // 451 three times, then accept
	enqueueInvitation(t, store, "acc1", "k1", "grace@acme.example")
	opts := fastOptions()
	runSender(t, NewSender(store, tr, quietLogger(t), opts))

	eventually(t, waitLong, "delivery after three 451s", func() bool {
		return len(srv.messages()) == 1 && pending(t, store) == 0
	})
	settle()
	if n := len(srv.messages()); n != 1 {
		t.Fatalf("delivered %d times, want 1", n)
	}
	attempts := srv.dataAttempts()
	if len(attempts) != 4 {
		t.Fatalf("server saw %d DATA attempts, want 4", len(attempts))
	}
	// Each wait is at least the backoff less its 20 % jitter: 100, 200,
	// 400 ms. (Lower bounds only: a slow machine waits longer.)
	for i := 1; i < len(attempts); i++ {
		minGap := jittered(backoff(i-1, opts.MinBackoff, opts.MaxBackoff), 1)
		if gap := attempts[i].Sub(attempts[i-1]); gap < minGap {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i+1, gap, minGap)
		}
	}
	checkDelivered(t, srv.messages()[0], testMessage(t, "k1", "grace@acme.example"))
}

// TestSenderServerDownAndBack stops the SMTP server (connections
// refused), lets the Sender fail against it, brings it back on the same
// port, and expects each email exactly once.
func TestSenderServerDownAndBack(t *testing.T) {
	srv := startServer(t, serverOptions{})
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	tr, err := NewSMTPTransport(srv.transportConfig(TLSNone))
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int32
	counting := transportFunc(func(ctx context.Context, m Message) error {
		err := tr.Send(ctx, m)
		if err != nil {
			failures.Add(1)
		}
		return err
	})
	srv.stop()
	for i := range 3 {
		enqueueInvitation(t, store, "acc1", fmt.Sprintf("k%d", i), fmt.Sprintf("p%d@acme.example", i))
	}
	runSender(t, NewSender(store, counting, quietLogger(t), fastOptions()))
	eventually(t, waitLong, "failed attempts while the server is down", func() bool { return failures.Load() >= 6 })
	srv.restart()
	eventually(t, waitLong, "delivery after the server came back", func() bool {
		return len(srv.messages()) == 3 && pending(t, store) == 0
	})
	settle()
	counts := byMessageID(srv.messages())
	if len(counts) != 3 {
		t.Fatalf("distinct messages = %d, want 3: %v", len(counts), counts)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

// TestTwoSendersDeliverEachOnce runs two "instances", each with its own
// connection to one SQLite file, over many messages.
func TestTwoSendersDeliverEachOnce(t *testing.T) {
	srv := startServer(t, serverOptions{})
	path := filepath.Join(t.TempDir(), "r.db")
	storeA, storeB := openStore(t, path), openStore(t, path)
	tr, err := NewSMTPTransport(srv.transportConfig(TLSNone))
	if err != nil {
		t.Fatal(err)
	}
	var sentBy [2]atomic.Int32
	counted := func(i int) Transport {
		return transportFunc(func(ctx context.Context, m Message) error {
			err := tr.Send(ctx, m)
			if err == nil {
				sentBy[i].Add(1)
			}
			return err
		})
	}
	opts := fastOptions()
	opts.Batch = 3
	runSender(t, NewSender(storeA, counted(0), quietLogger(t), opts))
	runSender(t, NewSender(storeB, counted(1), quietLogger(t), opts))

	const n = 40
	for i := range n {
		store := storeA
		if i%2 == 1 {
			store = storeB
		}
		enqueueInvitation(t, store, fmt.Sprintf("acc%d", i%3), fmt.Sprintf("k%d", i), fmt.Sprintf("p%d@acme.example", i))
	}
	eventually(t, waitLong, "every email sent", func() bool {
		return len(srv.messages()) >= n && pending(t, storeA) == 0
	})
	settle()
	counts := byMessageID(srv.messages())
	if len(srv.messages()) != n || len(counts) != n {
		t.Fatalf("server got %d messages, %d distinct, want %d each", len(srv.messages()), len(counts), n)
	}
	for id, c := range counts {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
	if got := sentBy[0].Load() + sentBy[1].Load(); got != n {
		t.Errorf("senders report %d deliveries, want %d", got, n)
	}
	t.Logf("instance A sent %d, instance B sent %d", sentBy[0].Load(), sentBy[1].Load())
}

// TestSendAcceptedButReportedFailed: the server accepted the email but
// the Sender learned otherwise (a connection lost after the reply to
// DATA). The email is sent again, with the same Message-ID, and then
// recorded; never a third time.
func TestSendAcceptedButReportedFailed(t *testing.T) {
	srv := startServer(t, serverOptions{})
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	tr, err := NewSMTPTransport(srv.transportConfig(TLSNone))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	lying := transportFunc(func(ctx context.Context, m Message) error {
		if err := tr.Send(ctx, m); err != nil {
			return err
		}
		if calls.Add(1) == 1 {
			return errors.New("connection reset after the server accepted the message")
		}
		return nil
	})
	enqueueInvitation(t, store, "acc1", "k1", "grace@acme.example")
	runSender(t, NewSender(store, lying, quietLogger(t), fastOptions()))
	eventually(t, waitLong, "the resend to be recorded", func() bool { return pending(t, store) == 0 })
	settle()
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("server got %d copies, want 2", len(msgs))
	}
	if a, b := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id"); a != b || a == "" {
		t.Errorf("copies carry Message-IDs %q and %q, want one", a, b)
	}
	for _, m := range msgs {
		checkDelivered(t, m, testMessage(t, "k1", "grace@acme.example"))
	}
}

// TestCrashBeforeMarkSent: instance A dies (its goroutine exits) right
// after the server accepted the email, before recording it. Once A's
// lease ends, instance B sends it again with the same Message-ID.
func TestCrashBeforeMarkSent(t *testing.T) {
	srv := startServer(t, serverOptions{})
	path := filepath.Join(t.TempDir(), "r.db")
	storeA, storeB := openStore(t, path), openStore(t, path)
	tr, err := NewSMTPTransport(srv.transportConfig(TLSNone))
	if err != nil {
		t.Fatal(err)
	}
	crashed := make(chan struct{})
	crashing := transportFunc(func(ctx context.Context, m Message) error {
		if err := tr.Send(ctx, m); err != nil {
			return err
		}
		close(crashed)
		runtime.Goexit() // the process is gone: no MarkEmailSent, no MarkEmailFailed
		return nil
	})
	enqueueInvitation(t, storeA, "acc1", "k1", "grace@acme.example")

	opts := fastOptions()
	opts.Lease = 4 * time.Second
	startA := time.Now()
	a := NewSender(storeA, crashing, quietLogger(t), opts)
	go a.Run(context.Background()) // ends with the Goexit
	select {
	case <-crashed:
	case <-time.After(waitLong):
		t.Fatal("instance A did not send")
	}
	if len(srv.messages()) != 1 || pending(t, storeA) != 1 {
		t.Fatalf("after the crash: %d delivered, %d pending; want 1 and 1", len(srv.messages()), pending(t, storeA))
	}

	runSender(t, NewSender(storeB, tr, quietLogger(t), opts))
	eventually(t, waitLong, "instance B to resend", func() bool { return pending(t, storeB) == 0 })
	settle()
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("server got %d copies, want 2", len(msgs))
	}
	if msgs[0].Header.Get("Message-Id") != msgs[1].Header.Get("Message-Id") {
		t.Errorf("the resend has another Message-ID: %q, %q", msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id"))
	}
	// B cannot take the message before A's lease ends, Lease after A
	// claimed it, which was after startA.
	if resent := msgs[1].At.Sub(startA); resent < opts.Lease {
		t.Errorf("B resent %v after A started, before A's lease of %v could end", resent, opts.Lease)
	}
}

// TestSenderStopsAfterMessageInFlight cancels Run while a delivery is in
// progress: Run waits for it, records it, and stops.
func TestSenderStopsAfterMessageInFlight(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	started, release := make(chan struct{}), make(chan struct{})
	var sent atomic.Int32
	slow := transportFunc(func(ctx context.Context, m Message) error {
		close(started)
		<-release
		if ctx.Err() != nil {
			return fmt.Errorf("send ctx ended early: %w", ctx.Err())
		}
		sent.Add(1)
		return nil
	})
	enqueueInvitation(t, store, "acc1", "k1", "grace@acme.example")
	enqueueInvitation(t, store, "acc1", "k2", "linus@acme.example")
	opts := fastOptions()
	opts.Batch = 1
	s := NewSender(store, slow, quietLogger(t), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-started
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned with a message in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatal("Run did not stop")
	}
	if sent.Load() != 1 || pending(t, store) != 1 {
		t.Errorf("sent %d, pending %d; want the in-flight one sent and recorded, the other left", sent.Load(), pending(t, store))
	}
}

func TestLogTransportPrintsLinks(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	enqueueInvitation(t, store, "acc1", "k1", "grace@acme.example")
	s := NewSender(store, LogTransport{Logger: logger}, logger, fastOptions())
	s.Wake()
	runSender(t, s)
	// "email sent" is logged after the outbox records it.
	eventually(t, waitLong, "the email to be logged and recorded", func() bool {
		return strings.Contains(buf.String(), `msg="email sent"`) && pending(t, store) == 0
	})
	out := buf.String()
	link := "https://roster.example.com/invite/k1?a=1&b=2"
	for _, want := range []string{
		`msg="email (log transport: printed, not sent)"`, "to=grace@acme.example",
		`subject="Ada invited you to Acme Support on Roster"`, `links="` + link + `"`, "outbox_id=k1",
		`text="Hello,\n\nAda invited you to join Acme Support on Roster as grace@acme.example.\n\nAccept the invitation here:\n\n` + link + `\n`,
		`msg="email sent"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestEnqueueRejects(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "r.db"))
	data := InvitationData{AccountName: "A", InviteeEmail: "g@a.example", Link: "https://r.example/i", ExpiresAt: expires}
	tests := []struct {
		name, account, key, to, tmpl string
		data                         any
		want                         string
	}{
		{"no account", "", "k", "g@a.example", TemplateInvitation, data, "empty account id"},
		{"no key", "acc1", " ", "g@a.example", TemplateInvitation, data, "empty idempotency key"},
		{"bad recipient", "acc1", "k", "grace at acme", TemplateInvitation, data, `recipient "grace at acme"`},
		{"two recipients", "acc1", "k", "a@a.example, b@a.example", TemplateInvitation, data, "recipient"},
		{"bad data", "acc1", "k", "g@a.example", TemplateInvitation, NoticeData{}, "want mail.InvitationData"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Enqueue(context.Background(), store, tc.account, tc.key, tc.to, tc.tmpl, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Enqueue error = %v, want %q", err, tc.want)
			}
		})
	}
	if n := pending(t, store); n != 0 {
		t.Errorf("pending = %d after refused enqueues", n)
	}
}

// transportFunc adapts a function to Transport.
type transportFunc func(ctx context.Context, m Message) error

func (f transportFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// syncBuffer is a bytes.Buffer safe for a logger writing from another
// goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
