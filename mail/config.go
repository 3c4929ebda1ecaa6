package mail

import (
	"fmt"
	"log/slog"

	"github.com/rosterhq/roster/config"
)

// NewTransport builds the Transport cfg.Mail selects: the log transport
// (the default) or SMTP through cfg.SMTP. It does not connect.
func NewTransport(cfg config.Config, logger *slog.Logger) (Transport, error) {
	switch cfg.Mail.Transport {
	case config.MailTransportLog, "":
		return LogTransport{Logger: logger}, nil
	case config.MailTransportSMTP:
		t, err := NewSMTPTransport(SMTPConfig{
			Host: cfg.SMTP.Host, Port: cfg.SMTP.PortNumber(),
			Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
			TLS: TLSMode(cfg.SMTP.TLS), From: cfg.Mail.From,
		})
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		return t, nil
	}
	return nil, fmt.Errorf("mail: unknown transport %q", cfg.Mail.Transport)
}
