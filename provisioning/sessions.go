package provisioning

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/repository"
)

// Platform sessions.
//
// A login (SSO or password) ends in a session: a 256-bit secret in an
// HttpOnly cookie, of which the store keeps only the hash (HashToken). It
// lives for the service's session TTL (12 hours unless WithSessionTTL says
// otherwise), never longer than the IdP allows (SAML SessionNotOnOrAfter).
// Every request re-reads the member (AuthenticateSession), so deactivating
// or deleting a member takes effect on its next request.
//
// Concurrent seats: under the account's concurrent policy an agent's login
// takes a seat lease with the store's atomic ReserveSeat, which never gives
// out more leases than seats, across instances. A member holds at most one
// lease, shared by all its sessions; it is released when its last live
// agent session ends (logout, expiry swept by SweepSessions), and at once
// when the member is deactivated or deleted (the member rules release the
// seat of a member that stops needing one). When every seat is leased the
// session is still issued, without the agent capability, and says why
// (Session.NoSeatReason).

// DefaultSessionTTL is how long a platform session lives unless configured.
const DefaultSessionTTL = 12 * time.Hour

// maxSessionSecretLen bounds what a session cookie may look like before a
// lookup: the secrets are 43 characters of base64url.
const maxSessionSecretLen = 128

// WithSessionTTL sets how long platform sessions live; 0 or less keeps
// DefaultSessionTTL.
func WithSessionTTL(d time.Duration) Option {
	return func(s *Service) { s.sessionTTL = d }
}

// SessionTTL returns how long a new platform session lives.
func (s *Service) SessionTTL() time.Duration {
	if s.sessionTTL <= 0 {
		return DefaultSessionTTL
	}
	return s.sessionTTL
}

// sessionEnded is the refusal of a session cookie that does not work. One
// message for every reason (unknown, revoked, expired, member gone), so a
// caller cannot probe; the private cause says which.
func sessionEnded(reason string) error {
	return &Error{Code: CodeUnauthenticated, Message: "your session has ended: sign in again", Err: errors.New(reason)}
}

// StartSession opens a platform session for member m after a successful
// login through connectionID (empty for a password login). It returns the
// session secret (the cookie value, shown once) and the stored session.
// notAfter, when not zero, caps the session's expiry (the IdP's own
// session limit). The member is read again, so a member deactivated since
// its login resolved gets no session.
func (s *Service) StartSession(ctx context.Context, m repository.Member, connectionID string, notAfter time.Time) (string, repository.Session, error) {
	now := s.now().UTC()
	expires := now.Add(s.SessionTTL())
	if !notAfter.IsZero() && notAfter.Before(expires) {
		expires = notAfter.UTC()
	}
	if !expires.After(now) {
		return "", repository.Session{}, &Error{Code: CodeUnauthenticated,
			Message: "your identity provider's session has already ended: sign in again",
			Err:     fmt.Errorf("session would expire at %s, now is %s", expires, now)}
	}
	secret, err := newSecret()
	if err != nil {
		return "", repository.Session{}, fmt.Errorf("start session: %w", err)
	}
	var sess repository.Session
	// The lease and the session are written together on a transactional
	// store, so EndSession of another session of the member (which checks
	// for live agent sessions before releasing) sees either both or none.
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.GetMember(ctx, m.AccountID, m.ID)
		if errors.Is(err, repository.ErrNotFound) {
			return &Error{Code: CodeUnauthenticated, Message: "your account no longer exists here: ask your administrator", Err: err}
		}
		if err != nil {
			return fmt.Errorf("start session: %w", err)
		}
		if !cur.Active || cur.Status != repository.StatusActive {
			return memberInactive(cur.ID)
		}
		acct, err := s.store.GetAccount(ctx, cur.AccountID)
		if err != nil {
			return fmt.Errorf("start session: %w", err)
		}
		sess = repository.Session{
			AccountID: cur.AccountID, ID: repository.NewID(), MemberID: cur.ID,
			Hash: HashToken(secret), ConnectionID: connectionID,
			CreatedAt: now, ExpiresAt: expires, LastSeenAt: now,
		}
		if acct.Seats.Policy == repository.SeatPolicyConcurrent {
			agent, err := s.needsAgentSeat(ctx, cur)
			if err != nil {
				return err
			}
			if agent {
				switch err := s.store.ReserveSeat(ctx, acct.ID, cur.ID); {
				case err == nil:
					sess.AgentSeat = true
				case errors.Is(err, repository.ErrNoSeat):
					sess.NoSeatReason = noSeatReason(acct.Seats.Total)
				default:
					return fmt.Errorf("start session: lease seat: %w", err)
				}
			}
		}
		if sess, err = s.store.CreateSession(ctx, sess); err != nil {
			if sess.AgentSeat {
				s.releaseIfIdleBestEffort(ctx, cur.AccountID, cur.ID)
			}
			return fmt.Errorf("start session: %w", err)
		}
		actor := Actor{Kind: repository.ActorMember, ID: cur.ID}
		return s.audit(ctx, actor, cur.AccountID, "member.login", "member", cur.ID, map[string]any{
			"sessionId": sess.ID, "connectionId": connectionID, "agentSeat": sess.AgentSeat,
			"noSeatReason": sess.NoSeatReason, "expiresAt": sess.ExpiresAt,
		})
	})
	if err != nil {
		return "", repository.Session{}, err
	}
	return secret, sess, nil
}

// noSeatReason is what a session without the agent capability says.
func noSeatReason(total int) string {
	return fmt.Sprintf("all %d agent seats are in use: ask an administrator for more seats, or a colleague to sign out", total)
}

// needsAgentSeat reports whether the member holds (directly or through its
// groups) a role that consumes an agent seat: the rule seats.go applies.
func (s *Service) needsAgentSeat(ctx context.Context, m repository.Member) (bool, error) {
	_, idx, err := s.roleCatalogue(ctx, m.AccountID)
	if err != nil {
		return false, err
	}
	roles, err := s.effectiveRoleKeys(ctx, m.AccountID, m)
	if err != nil {
		return false, err
	}
	return m.Active && idx.consumesSeat(roles), nil
}

// AuthenticateSession returns the live session of secret and its member.
// Unknown, revoked and expired sessions, and sessions of a member deleted
// or deactivated since, are CodeUnauthenticated. A store failure is
// returned as is (the front door answers "unavailable"). LastSeenAt is
// written at most once a minute.
func (s *Service) AuthenticateSession(ctx context.Context, secret string) (repository.Session, repository.Member, error) {
	var m repository.Member
	if secret == "" || len(secret) > maxSessionSecretLen || strings.ContainsFunc(secret, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return repository.Session{}, m, sessionEnded("malformed session secret")
	}
	hash := HashToken(secret)
	sess, err := s.store.GetSessionByHash(ctx, hash)
	if errors.Is(err, repository.ErrNotFound) {
		return sess, m, sessionEnded("unknown session")
	}
	if err != nil {
		return sess, m, fmt.Errorf("authenticate session: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(sess.Hash), []byte(hash)) != 1 {
		return sess, m, sessionEnded("stored hash differs from the presented secret's")
	}
	now := s.now().UTC()
	switch {
	case !sess.RevokedAt.IsZero():
		return sess, m, sessionEnded(fmt.Sprintf("session %s was revoked", sess.ID))
	case !now.Before(sess.ExpiresAt):
		return sess, m, sessionEnded(fmt.Sprintf("session %s expired", sess.ID))
	}
	m, err = s.store.GetMember(ctx, sess.AccountID, sess.MemberID)
	if errors.Is(err, repository.ErrNotFound) {
		return sess, m, sessionEnded(fmt.Sprintf("member %s of session %s is gone", sess.MemberID, sess.ID))
	}
	if err != nil {
		return sess, m, fmt.Errorf("authenticate session: %w", err)
	}
	if !m.Active || m.Status == repository.StatusDeactivated {
		return sess, m, sessionEnded(fmt.Sprintf("member %s is deactivated", m.ID))
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval {
		// Best effort, like a token's last use: a failed write must not
		// turn a valid session away.
		if err := s.store.TouchSession(ctx, sess.AccountID, sess.ID, now); err == nil {
			sess.LastSeenAt = now
		}
	}
	return sess, m, nil
}

// EndSession ends the session of secret (a logout): it is revoked, and the
// member's seat lease is released when no other live agent session of the
// member remains. An unknown or already ended session is not an error.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	if secret == "" || len(secret) > maxSessionSecretLen {
		return nil
	}
	sess, err := s.store.GetSessionByHash(ctx, HashToken(secret))
	if errors.Is(err, repository.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return s.EndSessionRecord(ctx, sess)
}

// EndSessionRecord ends a session already read (from AuthenticateSession).
func (s *Service) EndSessionRecord(ctx context.Context, sess repository.Session) error {
	now := s.now().UTC()
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.RevokeSession(ctx, sess.AccountID, sess.ID, now); err != nil && !errors.Is(err, repository.ErrNotFound) {
			return fmt.Errorf("end session: %w", err)
		}
		if sess.RevokedAt.IsZero() {
			actor := Actor{Kind: repository.ActorMember, ID: sess.MemberID}
			if err := s.audit(ctx, actor, sess.AccountID, "member.logout", "member", sess.MemberID,
				map[string]any{"sessionId": sess.ID}); err != nil {
				return err
			}
		}
		if !sess.AgentSeat {
			return nil
		}
		return s.releaseLeaseIfIdle(ctx, sess.AccountID, sess.MemberID)
	})
}

// liveAgentSession reports whether any of sessions is a live session
// holding the agent capability at now.
func liveAgentSession(sessions []repository.Session, now time.Time) bool {
	for _, x := range sessions {
		if x.AgentSeat && x.RevokedAt.IsZero() && now.Before(x.ExpiresAt) {
			return true
		}
	}
	return false
}

// releaseLeaseIfIdle releases the member's concurrent-seat lease when it
// has no live agent session left. Under the named policy the seat is the
// member's, not a lease, and stays.
func (s *Service) releaseLeaseIfIdle(ctx context.Context, accountID, memberID string) error {
	acct, err := s.store.GetAccount(ctx, accountID)
	if errors.Is(err, repository.ErrNotFound) {
		return nil // the account is gone, its seats with it
	}
	if err != nil {
		return fmt.Errorf("release seat lease: %w", err)
	}
	if acct.Seats.Policy != repository.SeatPolicyConcurrent {
		return nil
	}
	now := s.now().UTC()
	sessions, err := s.store.ListMemberSessions(ctx, accountID, memberID)
	if err != nil {
		return fmt.Errorf("release seat lease: %w", err)
	}
	if liveAgentSession(sessions, now) {
		return nil
	}
	if err := s.store.ReleaseSeat(ctx, accountID, memberID); err != nil {
		return fmt.Errorf("release seat lease: %w", err)
	}
	if s.store.Transactional() {
		return nil
	}
	// Without a transaction a login of the member may have taken the lease
	// (a no-op, as it was held) between the listing and the release: look
	// again and take the lease back for it. Losing it to another agent
	// meanwhile leaves that session without a seat, which is what it
	// would have got a moment later.
	sessions, err = s.store.ListMemberSessions(ctx, accountID, memberID)
	if err != nil {
		return fmt.Errorf("release seat lease: %w", err)
	}
	if liveAgentSession(sessions, now) {
		if err := s.store.ReserveSeat(ctx, accountID, memberID); err != nil && !errors.Is(err, repository.ErrNoSeat) {
			return fmt.Errorf("release seat lease: %w", err)
		}
	}
	return nil
}

// releaseIfIdleBestEffort gives back a lease after a failed session write.
func (s *Service) releaseIfIdleBestEffort(ctx context.Context, accountID, memberID string) {
	// The write's own error is what the caller sees; a lease left behind
	// is released by the next logout or sweep of the member.
	_ = s.releaseLeaseIfIdle(context.WithoutCancel(ctx), accountID, memberID)
}

// SweepReport is what one SweepSessions removed.
type SweepReport struct {
	Sessions int // expired sessions deleted
	Leases   int // concurrent-seat leases released with them
	OneTime  int // expired one-time values (login states, request ids)
	Replays  int // expired replay-cache keys
	Failures int // login-failure keys (or failures) too old to count
}

// SweepSessions deletes the sessions expired before now and releases the
// seat leases they held (when their member has no other live agent
// session), then the expired one-time values and replay keys, and the
// login failures no backoff can count any more. A server
// runs it every minute. Every step runs even when one fails; the errors
// are joined.
func (s *Service) SweepSessions(ctx context.Context, now time.Time) (SweepReport, error) {
	var rep SweepReport
	var errs []error
	expired, err := s.store.DeleteExpiredSessions(ctx, now)
	if err != nil {
		errs = append(errs, fmt.Errorf("sweep sessions: %w", err))
	}
	rep.Sessions = len(expired)
	type key struct{ account, member string }
	done := map[key]bool{}
	for _, x := range expired {
		k := key{x.AccountID, x.MemberID}
		if !x.AgentSeat || done[k] {
			continue
		}
		done[k] = true
		var held bool
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			var err error
			if held, err = s.store.HoldsSeat(ctx, x.AccountID, x.MemberID); err != nil || !held {
				return err
			}
			if err := s.releaseLeaseIfIdle(ctx, x.AccountID, x.MemberID); err != nil {
				return err
			}
			still, err := s.store.HoldsSeat(ctx, x.AccountID, x.MemberID)
			held = held && !still
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep sessions: %w", err))
			continue
		}
		if held {
			rep.Leases++
		}
	}
	if rep.OneTime, err = s.store.DeleteExpiredOneTime(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("sweep one-time values: %w", err))
	}
	if rep.Replays, err = s.store.DeleteExpiredReplays(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("sweep replay keys: %w", err))
	}
	// A failure older than the window and the longest lockout after it
	// changes no decision any more.
	if rep.Failures, err = s.store.DeleteFailuresBefore(ctx, now.Add(-throttleWindow-maxLockout)); err != nil {
		errs = append(errs, fmt.Errorf("sweep login failures: %w", err))
	}
	return rep, errors.Join(errs...)
}
