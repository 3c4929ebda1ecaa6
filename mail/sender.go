package mail

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/repository"
)

// Defaults of SenderOptions.
const (
	DefaultInterval    = time.Second
	DefaultBatch       = 10
	DefaultLease       = 2 * time.Minute
	DefaultSendTimeout = 45 * time.Second
	DefaultMinBackoff  = 5 * time.Second
	DefaultMaxBackoff  = 30 * time.Minute
)

// markTimeout bounds recording an outcome in the store; it is not tied to
// the Sender's ctx, so a shutdown still records the message in flight.
const markTimeout = 10 * time.Second

// SenderOptions tune a Sender; zero fields take the defaults above.
type SenderOptions struct {
	// Interval is how often the outbox is polled when Wake is not called.
	Interval time.Duration
	// Batch is how many messages one claim leases.
	Batch int
	// Lease is how long a claim keeps other instances off its messages.
	Lease time.Duration
	// SendTimeout bounds one delivery; it is cut to Lease/2 when longer,
	// so a delivery always ends while its lease holds.
	SendTimeout time.Duration
	// MinBackoff is the wait after a first failure; it doubles with each
	// further failure up to MaxBackoff, less up to 20 % jitter so that
	// messages failed together do not come back together.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

func (o SenderOptions) withDefaults() SenderOptions {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.SendTimeout > o.Lease/2 {
		o.SendTimeout = o.Lease / 2
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	return o
}

// Sender delivers the outbox through a Transport. Every instance of
// Roster runs one over the shared store.
//
// What is guaranteed:
//   - Nothing is lost: an email is in the outbox once the change that
//     caused it committed, and stays due until a Transport accepted it
//     and MarkEmailSent recorded that. A failed attempt is retried after
//     a backoff (MinBackoff, doubling, up to MaxBackoff), forever: the
//     outbox has no dead-letter state, so a message that keeps failing is
//     retried at MaxBackoff and every failure at that pace (or a
//     permanent one, see PermanentError) is logged at error level for an
//     operator to act on.
//   - No two instances send one message at the same time: ClaimEmails
//     leases it to one caller, and a delivery starts only when its lease
//     has SendTimeout (plus a margin) left and is cut off at that deadline,
//     so it ends before another instance can claim the message. This
//     assumes the instances' clocks agree to well within the margin
//     (min(Lease/10, 5 s)).
//   - Under normal operation an email is sent once. Delivery is
//     at-least-once: when the process dies, or the store cannot be
//     written, after the server accepted a message but before
//     MarkEmailSent, the message is sent again once its lease ends (or its
//     backoff, when the Transport reported the failure). Every attempt of
//     a message carries the same Message-ID (see MessageID) and
//     X-Roster-Message-Id header, so such a duplicate is recognisable and
//     mail systems that deduplicate on Message-ID show it once.
//
// On shutdown (ctx cancelled) the Sender finishes the message in flight,
// records its outcome, and stops; the rest of its batch stays leased and
// is picked up, by any instance, when the lease ends.
type Sender struct {
	store     repository.Outbox
	transport Transport
	logger    *slog.Logger
	opts      SenderOptions
	wake      chan struct{}
}

// NewSender returns a Sender; call Run to start it.
func NewSender(store repository.Outbox, transport Transport, logger *slog.Logger, opts SenderOptions) *Sender {
	if logger == nil {
		logger = slog.Default()
	}
	return &Sender{
		store: store, transport: transport, logger: logger.With("component", "mail"),
		opts: opts.withDefaults(), wake: make(chan struct{}, 1),
	}
}

// Wake makes Run look at the outbox now rather than at the next tick;
// call it after committing a change that enqueued an email. It never
// blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers due messages until ctx is cancelled, then returns after
// the message in flight is sent and recorded.
func (s *Sender) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		// A full batch suggests more are due: claim again at once.
		for ctx.Err() == nil {
			claimed, err := s.SendDue(ctx)
			if err != nil {
				s.logger.Error("outbox claim failed", "err", err)
				break
			}
			if claimed < s.opts.Batch {
				break
			}
		}
		timer.Reset(s.opts.Interval)
	}
}

// SendDue claims one batch of due messages and delivers them one by one.
// It returns how many it claimed; only a failed claim is an error (a
// failed delivery is recorded on the message and logged).
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	now := time.Now()
	leaseUntil := now.Add(s.opts.Lease)
	msgs, err := s.store.ClaimEmails(ctx, now, leaseUntil, s.opts.Batch)
	if err != nil {
		return 0, err
	}
	margin := min(s.opts.Lease/10, 5*time.Second)
	for _, m := range msgs {
		if ctx.Err() != nil {
			break // shutting down: the rest return when the lease ends
		}
		deadline := time.Now().Add(s.opts.SendTimeout)
		if deadline.After(leaseUntil.Add(-margin)) {
			// Too little lease left to finish before another instance
			// may claim the message; it returns when the lease ends.
			s.logger.Warn("outbox lease too short for the rest of the batch; they wait for the lease to end",
				"lease", s.opts.Lease.String(), "send_timeout", s.opts.SendTimeout.String())
			break
		}
		s.deliver(ctx, m, deadline)
	}
	return len(msgs), nil
}

// deliver sends one claimed message and records the outcome.
func (s *Sender) deliver(ctx context.Context, m repository.OutboxMessage, deadline time.Time) {
	// Finish the message in flight even when ctx is cancelled: a send cut
	// off half-way may still be delivered, and would then be sent again.
	sendCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	err := s.transport.Send(sendCtx, messageFromOutbox(m))
	cancel()
	log := s.logger.With("account_id", m.AccountID, "outbox_id", m.ID, "attempt", m.Attempts+1)

	markCtx, cancelMark := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancelMark()
	if err == nil {
		if merr := s.markSent(markCtx, m); merr != nil {
			log.Error("email sent but not recorded as sent: it will be sent again, with the same Message-ID, when its lease ends",
				"err", merr)
			return
		}
		log.Info("email sent")
		return
	}

	base := backoff(m.Attempts, s.opts.MinBackoff, s.opts.MaxBackoff)
	permanent := IsPermanent(err)
	if permanent {
		base = s.opts.MaxBackoff
	}
	delay := jittered(base, rand.Float64())
	next := time.Now().Add(delay)
	if merr := s.store.MarkEmailFailed(markCtx, m.AccountID, m.ID, truncate(err.Error(), 1000), next); merr != nil {
		log.Error("email failed and the failure was not recorded: it is retried when its lease ends",
			"err", err, "mark_err", merr)
		return
	}
	level := slog.LevelWarn
	if permanent || base >= s.opts.MaxBackoff {
		level = slog.LevelError
	}
	log.Log(ctx, level, "email not sent; retrying later", "err", err, "permanent", permanent,
		"retry_in", delay.Round(time.Millisecond).String())
}

// markSent records delivery, retrying briefly: a store hiccup here would
// otherwise mean sending the email again.
func (s *Sender) markSent(ctx context.Context, m repository.OutboxMessage) error {
	var err error
	for try := range 3 {
		if try > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(try) * 200 * time.Millisecond):
			}
		}
		if err = s.store.MarkEmailSent(ctx, m.AccountID, m.ID, time.Now()); err == nil {
			return nil
		}
	}
	return err
}

// backoff returns the wait after a message's failed attempt, before
// jitter, given how many attempts failed before (failedBefore):
// minimum·2^failedBefore, capped at maximum.
func backoff(failedBefore int, minimum, maximum time.Duration) time.Duration {
	d := minimum
	for i := 0; i < failedBefore && d < maximum; i++ {
		d *= 2
	}
	return min(d, maximum)
}

// jittered takes up to 20 % off d; r is uniform in [0, 1).
func jittered(d time.Duration, r float64) time.Duration {
	return d - time.Duration(float64(d)*0.2*r)
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
