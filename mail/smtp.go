package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode says how the SMTP connection is protected.
type TLSMode string

// TLS modes.
const (
	// TLSNone sends in plain text; authentication is then refused unless
	// the server is on localhost (a local relay).
	TLSNone TLSMode = "none"
	// TLSStartTLS connects in plain text and upgrades with STARTTLS; a
	// server that does not offer it is an error, never a silent downgrade.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	TLSImplicit TLSMode = "tls"
)

// DefaultSMTPTimeout bounds one delivery, from connecting to the server's
// reply to the message.
const DefaultSMTPTimeout = 30 * time.Second

// HeaderMessageID carries the outbox id of an email, so an operator can
// find the outbox record of a message a user forwards.
const HeaderMessageID = "X-Roster-Message-Id"

// SMTPConfig configures an SMTPTransport.
type SMTPConfig struct {
	// Host and Port locate the server.
	Host string
	Port int
	// Username and Password authenticate; an empty Username means no
	// authentication.
	Username string
	Password string
	// TLS is the connection's protection (default TLSStartTLS).
	TLS TLSMode
	// From is the sender, with an optional name: "Roster <no-reply@x.io>".
	From string
	// Timeout bounds one delivery from dialing to the reply to the
	// message (default DefaultSMTPTimeout); an earlier ctx deadline wins.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (tests trust their own CA with
	// it); nil verifies the server against the system roots as Host.
	TLSConfig *tls.Config
	// HELO is the name sent in EHLO (default: the machine's host name).
	HELO string
}

// SMTPTransport delivers emails to an SMTP server, one connection per
// email. It is safe for concurrent use.
type SMTPTransport struct {
	cfg    SMTPConfig
	from   *netmail.Address
	domain string // of From: the right-hand side of Message-IDs
	tls    *tls.Config
}

// NewSMTPTransport checks cfg and returns a transport. It does not
// connect: a server that is down at start delays emails, not the start.
func NewSMTPTransport(cfg SMTPConfig) (*SMTPTransport, error) {
	if strings.TrimSpace(cfg.Host) == "" {
		return nil, errors.New("smtp transport: empty host")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp transport: port %d out of range", cfg.Port)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, fmt.Errorf("smtp transport: unknown TLS mode %q", cfg.TLS)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("smtp transport: password without a user name")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp transport: from %q: %w", cfg.From, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	return &SMTPTransport{cfg: cfg, from: from, domain: domain, tls: tc}, nil
}

// Send delivers m and returns once the server accepted it. The whole
// exchange ends by ctx's deadline or the configured Timeout, whichever is
// first, and cancelling ctx aborts it. A recipient or message the server
// rejects with a 5xx reply is a *PermanentError.
func (t *SMTPTransport) Send(ctx context.Context, m Message) error {
	msg, err := t.build(m)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(t.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	client, err := gomail.NewClient(t.cfg.Host, t.options(ctx, deadline)...)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", t.addr(), err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s: connect: %w", t.addr(), err)
	}
	if err := client.SendWithSMTPClient(conn, msg); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		err = fmt.Errorf("smtp %s: send %s: %w", t.addr(), m.ID, err)
		if rejected(err) {
			return &PermanentError{Err: err}
		}
		return err
	}
	// The server took the message with its reply to DATA; a failing QUIT
	// must not make the Sender deliver it again.
	_ = client.CloseWithSMTPClient(conn)
	return nil
}

func (t *SMTPTransport) addr() string {
	return net.JoinHostPort(t.cfg.Host, strconv.Itoa(t.cfg.Port))
}

// build turns m into a go-mail message.
func (t *SMTPTransport) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(t.from)
	if err := msg.To(m.To); err != nil {
		return nil, &PermanentError{Err: fmt.Errorf("smtp: email %s: recipient %q: %w", m.ID, m.To, err)}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(MessageID(m.AccountID, m.ID, t.domain))
	msg.SetGenHeader(gomail.Header(HeaderMessageID), m.ID)
	// RFC 3834: automatic replies (out of office) must not answer it.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetUserAgent("Roster")
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// options returns the go-mail client options of one delivery.
func (t *SMTPTransport) options(ctx context.Context, deadline time.Time) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(t.cfg.Port),
		gomail.WithTimeout(t.cfg.Timeout),
		gomail.WithTLSConfig(t.tls),
		gomail.WithDialContextFunc(t.dialer(ctx, deadline)),
	}
	switch t.cfg.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		// The dialer already speaks TLS. Opportunistic (not NoTLS) makes
		// go-mail read the connection's TLS state, so it knows the
		// channel is encrypted when it picks an authentication mechanism.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if t.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(t.cfg.HELO))
	}
	if t.cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if t.cfg.TLS == TLSNone {
			// Without TLS the only sensible mechanism for a local relay is
			// PLAIN, which go-mail sends only to a localhost server.
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(t.cfg.Username), gomail.WithPassword(t.cfg.Password))
	}
	return opts
}

// dialer returns the dial function of one delivery. go-mail bounds only
// the dial and each command it sends itself, not the greeting, EHLO,
// STARTTLS or AUTH, so a stalled server could hold the Sender forever;
// the connection it returns caps every deadline at the delivery's
// deadline, and cancelling ctx expires it at once. It also does the
// implicit TLS handshake, since go-mail's own TLS dialing is skipped when
// a dial function is set.
func (t *SMTPTransport) dialer(ctx context.Context, deadline time.Time) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(dialCtx, network, address)
		if err != nil {
			return nil, err
		}
		c := &boundedConn{Conn: raw, limit: deadline}
		if err := c.SetDeadline(deadline); err != nil {
			raw.Close()
			return nil, err
		}
		// The AfterFunc lives as long as ctx, which Send cancels on return.
		context.AfterFunc(ctx, c.expire)
		if t.cfg.TLS != TLSImplicit {
			return c, nil
		}
		tc := tls.Client(c, t.tls)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
}

// boundedConn is a connection whose deadlines never pass limit.
type boundedConn struct {
	net.Conn
	limit time.Time

	mu      sync.Mutex // orders expire against deadline changes
	expired bool
}

// past is a deadline already gone: I/O fails at once.
var past = time.Unix(1, 0)

func (c *boundedConn) clamp(t time.Time) time.Time {
	if c.expired {
		return past
	}
	if t.IsZero() || t.After(c.limit) {
		return c.limit
	}
	return t
}

// expire makes every blocked and later read or write fail.
func (c *boundedConn) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expired = true
	_ = c.Conn.SetDeadline(past)
}

func (c *boundedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.clamp(t))
}

func (c *boundedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *boundedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// rejected reports whether err is the server refusing the recipient or
// the message itself with a permanent (5xx) reply. Other 5xx replies
// (authentication, a refused sender) are configuration mistakes: they are
// retried at the normal pace so that emails go out soon after the fix.
func rejected(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	if se.Reason != gomail.ErrSMTPRcptTo && se.Reason != gomail.ErrSMTPDataClose {
		return false
	}
	code := se.ErrorCode()
	if code == 0 {
		var te *textproto.Error
		if errors.As(err, &te) {
			code = te.Code
		}
	}
	return code >= 500 && code < 600
}
