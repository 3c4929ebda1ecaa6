// Package provisioning holds every business rule of Roster: accounts,
// members, roles, seats, ownership, groups, invitations, locks and audit.
// SCIM, SSO and the admin API all call it, so they cannot disagree. It knows
// nothing of HTTP, SCIM JSON, SAML or a particular store.
package provisioning

import (
	"time"

	"github.com/rosterhq/roster/repository"
)

// Service applies the rules over a store.
type Service struct {
	store repository.Store
	now   func() time.Time
	// baseURL is Roster's public base URL, which invitation links start
	// with (WithBaseURL).
	baseURL string
	// sessionTTL is how long a platform session lives (WithSessionTTL).
	sessionTTL time.Duration
	// tokens keeps tokens Authenticate found, for a second (tokens.go).
	tokens *tokenCache
	// dummyPasswordHash is what a password login without a real hash is
	// compared against (passwordlogin.go); tests lower its cost to match
	// the cheap hashes they store.
	dummyPasswordHash string
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// New returns a Service over store.
func New(store repository.Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now, tokens: newTokenCache(), dummyPasswordHash: dummyPasswordHash}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store returns the store the service writes to, for read paths that need
// no rule (listing, lookups).
func (s *Service) Store() repository.Store { return s.store }

// Actor is who makes a change, recorded in audit events.
type Actor struct {
	Kind      string // repository.ActorSCIMToken, ActorMember or ActorSystem
	ID        string // token id or member id; empty for the system
	RequestID string
}
