// Package mail renders Roster's emails and delivers them from the outbox.
//
// A change that causes an email (an invitation, a deletion code) renders
// it with Enqueue inside the same store.InTx as the change, so the email is
// stored if and only if the change is. A Sender, running in every
// `roster serve` process, then claims due messages from the outbox, hands
// them to a Transport (SMTP, or the log for a first run without a mail
// server) and records the outcome. See Sender for what is guaranteed.
package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"

	"github.com/rosterhq/roster/repository"
)

// Message is one email handed to a Transport.
type Message struct {
	// AccountID is the account the email belongs to.
	AccountID string
	// ID is the outbox id, the idempotency key of the email: every
	// delivery attempt of one outbox message carries the same ID.
	ID string
	// To is the recipient's address, optionally with a name.
	To string
	// Subject is one line.
	Subject string
	// Text is the plain-text body; HTML the HTML alternative (optional).
	Text string
	HTML string
}

// messageFromOutbox returns the Message of an outbox record.
func messageFromOutbox(m repository.OutboxMessage) Message {
	return Message{AccountID: m.AccountID, ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
}

// Transport delivers one email. Send returns nil only once the email is
// accepted for delivery (an SMTP server's 250 after DATA); any error means
// the Sender tries again later, so a Transport must not report failure for
// an email it knows was accepted.
type Transport interface {
	Send(ctx context.Context, m Message) error
}

// PermanentError marks a failure that retrying soon will not fix, such as
// a recipient the server rejects with a 5xx reply. The Sender still tries
// again (the outbox has no dead-letter state), but at its longest backoff.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is or wraps a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// MessageID returns the RFC 5322 Message-ID (without angle brackets) of
// the outbox message id of accountID, at domain (the sender's domain).
// It is derived from the two ids only, so a message delivered twice (see
// Sender) carries the same Message-ID both times and receivers that
// deduplicate on it show it once. The ids are hashed because an
// idempotency key may hold characters a Message-ID cannot, and the
// account id is in the hash because keys are only unique per account.
func MessageID(accountID, id, domain string) string {
	sum := sha256.Sum256([]byte(accountID + "\x00" + id))
	if domain == "" {
		domain = "roster.invalid"
	}
	return "roster." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// Enqueue renders the template tmpl with data and stores the email in the
// outbox, addressed to to, under the id idempotencyKey. Call it with the
// ctx of the store.InTx that makes the change causing the email, so both
// commit together; a retried change enqueues with the same key and stores
// nothing new, so the person gets one email.
func Enqueue(ctx context.Context, store repository.Outbox, accountID, idempotencyKey, to, tmpl string, data any) error {
	if strings.TrimSpace(accountID) == "" {
		return errors.New("enqueue email: empty account id")
	}
	if strings.TrimSpace(idempotencyKey) == "" {
		return errors.New("enqueue email: empty idempotency key")
	}
	// An address that cannot be parsed now never will be: refuse it here,
	// where the caller can report it, rather than retry it forever.
	if _, err := netmail.ParseAddress(to); err != nil {
		return fmt.Errorf("enqueue email %s: recipient %q: %w", idempotencyKey, to, err)
	}
	subject, text, html, err := Render(tmpl, data)
	if err != nil {
		return fmt.Errorf("enqueue email %s: %w", idempotencyKey, err)
	}
	err = store.EnqueueEmail(ctx, repository.OutboxMessage{
		AccountID: accountID, ID: idempotencyKey, To: to, Subject: subject, Text: text, HTML: html,
	})
	if err != nil {
		return fmt.Errorf("enqueue email %s: %w", idempotencyKey, err)
	}
	return nil
}
