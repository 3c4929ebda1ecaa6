package mail

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// LogTransport "delivers" emails by printing them to a logger: the
// recipient, subject, every link on its own, and the text part in full.
// It is the default, so a first run with no mail server still lets people
// accept invitations (the operator copies the link from the console).
// The log then holds secrets (invitation links, deletion codes): use SMTP
// in production.
type LogTransport struct {
	Logger *slog.Logger
}

// linkPattern finds the URLs of a text body; templates put each link on
// a line of its own, so whitespace ends one.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// Send logs m at info level and never fails.
func (t LogTransport) Send(ctx context.Context, m Message) error {
	logger := t.Logger
	if logger == nil {
		logger = slog.Default()
	}
	links := linkPattern.FindAllString(m.Text, -1)
	logger.LogAttrs(ctx, slog.LevelInfo, "email (log transport: printed, not sent)",
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("links", strings.Join(links, " ")),
		slog.String("account_id", m.AccountID),
		slog.String("outbox_id", m.ID),
		slog.String("text", m.Text),
	)
	return nil
}
