package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/repository"
)

// stateCollector reads the deployment's state from the store on scrape:
// usage totals (and per-account lines when asked for) and the outbox. The
// read is bounded by a timeout and reused for a TTL, so scrapes cannot
// pile load on the store.
type stateCollector struct {
	store      repository.Store
	perAccount bool
	ttl        time.Duration
	timeout    time.Duration
	log        *slog.Logger
	now        func() time.Time

	up, accounts, members, seatsTotal, seatsInUse, seatsQueued *prometheus.Desc
	outboxPending, outboxOldestAge                             *prometheus.Desc
	acctMembers, acctSeatsTotal, acctSeatsInUse, acctQueued    *prometheus.Desc

	mu      sync.Mutex
	fetched time.Time
	snap    stateSnapshot
}

// stateSnapshot is one read of the store.
type stateSnapshot struct {
	err           error
	usage         repository.Usage
	outboxPending int
	outboxOldest  time.Time
	at            time.Time
}

func newStateCollector(opts Options) *stateCollector {
	ttl, timeout := opts.StateTTL, opts.StateTimeout
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	if timeout <= 0 {
		timeout = DefaultStateTimeout
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &stateCollector{
		store: opts.Store, perAccount: opts.PerAccount, ttl: ttl, timeout: timeout, log: opts.Logger, now: time.Now,
		up:              d("state_up", "1 when the last read of the store's state (seats, members, outbox) succeeded, else 0 and the state series are left out."),
		accounts:        d("accounts", "Accounts in the deployment."),
		members:         d("members", "Members across all accounts."),
		seatsTotal:      d("seats_total", "Agent seats bought, across all accounts."),
		seatsInUse:      d("seats_in_use", "Agent seats held, across all accounts."),
		seatsQueued:     d("seats_queued", "Members waiting for an agent seat, across all accounts."),
		outboxPending:   d("outbox_pending", "Emails in the outbox not yet sent."),
		outboxOldestAge: d("outbox_oldest_age_seconds", "Age of the oldest email not yet sent (0 when none)."),
		acctMembers:     d("account_members", "Members of one account (metrics.per_account).", "account_id"),
		acctSeatsTotal:  d("account_seats_total", "Agent seats bought by one account (metrics.per_account).", "account_id"),
		acctSeatsInUse:  d("account_seats_in_use", "Agent seats held in one account (metrics.per_account).", "account_id"),
		acctQueued:      d("account_seats_queued", "Members of one account waiting for a seat (metrics.per_account).", "account_id"),
	}
}

// Describe sends every descriptor.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.accounts, c.members, c.seatsTotal, c.seatsInUse, c.seatsQueued,
		c.outboxPending, c.outboxOldestAge, c.acctMembers, c.acctSeatsTotal, c.acctSeatsInUse, c.acctQueued} {
		ch <- d
	}
}

// Collect sends the state, read now or reused from a recent read.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if s.err != nil {
		gauge(c.up, 0)
		return
	}
	gauge(c.up, 1)
	u := s.usage
	gauge(c.accounts, float64(u.Accounts))
	gauge(c.members, float64(u.Members))
	gauge(c.seatsTotal, float64(u.SeatsTotal))
	gauge(c.seatsInUse, float64(u.SeatsInUse))
	gauge(c.seatsQueued, float64(u.SeatsQueued))
	gauge(c.outboxPending, float64(s.outboxPending))
	age := 0.0
	if s.outboxPending > 0 && !s.outboxOldest.IsZero() {
		age = max(s.at.Sub(s.outboxOldest).Seconds(), 0)
	}
	gauge(c.outboxOldestAge, age)
	for _, a := range u.ByAccount {
		gauge(c.acctMembers, float64(a.Members), a.AccountID)
		gauge(c.acctSeatsTotal, float64(a.SeatsTotal), a.AccountID)
		gauge(c.acctSeatsInUse, float64(a.SeatsInUse), a.AccountID)
		gauge(c.acctQueued, float64(a.SeatsQueued), a.AccountID)
	}
}

// snapshot returns the cached state, reading the store when it is older
// than the TTL. Concurrent scrapes wait for one read rather than each
// starting their own.
func (c *stateCollector) snapshot() stateSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.fetched.IsZero() && now.Sub(c.fetched) < c.ttl {
		return c.snap
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s := stateSnapshot{at: now}
	s.usage, s.err = c.store.UsageTotals(ctx, c.perAccount)
	if s.err == nil {
		s.outboxPending, s.outboxOldest, s.err = c.store.OutboxStats(ctx)
	}
	if s.err != nil {
		c.log.Warn("metrics: reading the store's state failed", "err", s.err)
	}
	c.snap, c.fetched = s, now
	return s
}
