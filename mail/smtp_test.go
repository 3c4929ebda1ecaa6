package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// testMessage is an invitation as Enqueue would store it.
func testMessage(t *testing.T, id, to string) Message {
	t.Helper()
	subject, text, html, err := Render(TemplateInvitation, InvitationData{
		AccountName: "Acme Support", InviterName: "Ada", InviteeEmail: to,
		Link: "https://roster.example.com/invite/" + id + "?a=1&b=2", ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	return Message{AccountID: "acc1", ID: id, To: to, Subject: subject, Text: text, HTML: html}
}

// checkDelivered asserts r is m as the SMTP transport sends it.
func checkDelivered(t *testing.T, r received, m Message) {
	t.Helper()
	if got, want := r.Header.Get("Message-Id"), "<"+MessageID(m.AccountID, m.ID, "acme.example")+">"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if got := r.Header.Get(HeaderMessageID); got != m.ID {
		t.Errorf("%s = %q, want %q", HeaderMessageID, got, m.ID)
	}
	if got := r.Header.Get("Subject"); got != m.Subject {
		t.Errorf("Subject = %q, want %q", got, m.Subject)
	}
	if got := r.Header.Get("From"); got != `"Roster" <no-reply@acme.example>` {
		t.Errorf("From = %q", got)
	}
	if got := r.Header.Get("To"); !strings.Contains(got, m.To) {
		t.Errorf("To = %q, want %q", got, m.To)
	}
	if got := r.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if r.From != "no-reply@acme.example" || len(r.To) != 1 || r.To[0] != m.To {
		t.Errorf("envelope = %q -> %q", r.From, r.To)
	}
	link := "https://roster.example.com/invite/" + m.ID + "?a=1&b=2"
	if !strings.Contains(r.Text, "\n"+link+"\n") {
		t.Errorf("text part lacks %q:\n%s", link, r.Text)
	}
	if !strings.Contains(r.HTML, `href="https://roster.example.com/invite/`+m.ID+`?a=1&amp;b=2"`) {
		t.Errorf("HTML part lacks the link:\n%s", r.HTML)
	}
	if r.Text != m.Text || r.HTML != m.HTML {
		t.Errorf("bodies changed in transit:\ntext %q\nwant %q", r.Text, m.Text)
	}
}

func TestSMTPTransportModes(t *testing.T) {
	tests := []struct {
		name   string
		server serverOptions
		mode   TLSMode
		user   string
		tls    bool
	}{
		{name: "plain text", mode: TLSNone},
		{name: "plain text with auth on localhost", server: serverOptions{users: map[string]string{"roster": "pw"}},
			mode: TLSNone, user: "roster"},
		{name: "starttls", server: serverOptions{startTLS: true}, mode: TLSStartTLS, tls: true},
		{name: "starttls with auth", server: serverOptions{startTLS: true, users: map[string]string{"roster": "pw"}},
			mode: TLSStartTLS, user: "roster", tls: true},
		{name: "implicit tls", server: serverOptions{implicit: true}, mode: TLSImplicit, tls: true},
		{name: "implicit tls with auth", server: serverOptions{implicit: true, users: map[string]string{"roster": "pw"}},
			mode: TLSImplicit, user: "roster", tls: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.server)
			cfg := srv.transportConfig(tc.mode)
			if tc.user != "" {
				cfg.Username, cfg.Password = tc.user, "pw"
			}
			tr, err := NewSMTPTransport(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := testMessage(t, "inv-"+strings.ReplaceAll(tc.name, " ", "-"), "grace@acme.example")
			if err := tr.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			checkDelivered(t, msgs[0], m)
			if msgs[0].TLS != tc.tls || msgs[0].User != tc.user {
				t.Errorf("session TLS %v user %q, want %v %q", msgs[0].TLS, msgs[0].User, tc.tls, tc.user)
			}
		})
	}
}

func TestSMTPTransportFailures(t *testing.T) {
	plain := startServer(t, serverOptions{})
	withTLS := startServer(t, serverOptions{startTLS: true})
	authed := startServer(t, serverOptions{startTLS: true, users: map[string]string{"roster": "pw"}})

	tests := []struct {
		name      string
		cfg       func() SMTPConfig
		to        string
		permanent bool
		want      string // part of the error
	}{
		{
			name: "starttls required but not offered: no silent downgrade",
			cfg:  func() SMTPConfig { return plain.transportConfig(TLSStartTLS) },
			want: "does not support STARTTLS",
		},
		{
			name: "untrusted certificate",
			cfg: func() SMTPConfig {
				c := withTLS.transportConfig(TLSStartTLS)
				c.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12} // system roots only
				return c
			},
			want: "certificate",
		},
		{
			name: "wrong password is retried normally",
			cfg: func() SMTPConfig {
				c := authed.transportConfig(TLSStartTLS)
				c.Username, c.Password = "roster", "wrong"
				return c
			},
			want: "535",
		},
		{
			name: "no auth where the server requires it",
			cfg:  func() SMTPConfig { return authed.transportConfig(TLSStartTLS) },
			want: "502",
		},
		{
			name:      "recipient rejected is permanent",
			cfg:       func() SMTPConfig { return plain.transportConfig(TLSNone) },
			to:        "nobody@acme.example",
			permanent: true,
			want:      "550",
		},
		{
			name: "server down",
			cfg: func() SMTPConfig {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().(*net.TCPAddr)
				ln.Close()
				c := plain.transportConfig(TLSNone)
				c.Port = addr.Port
				return c
			},
			want: "connection refused",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewSMTPTransport(tc.cfg())
			if err != nil {
				t.Fatal(err)
			}
			to := tc.to
			if to == "" {
				to = "grace@acme.example"
			}
			err = tr.Send(context.Background(), testMessage(t, "x1", to))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Send error = %v, want one containing %q", err, tc.want)
			}
			if IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", IsPermanent(err), tc.permanent, err)
			}
		})
	}
	if n := len(plain.messages()) + len(withTLS.messages()) + len(authed.messages()); n != 0 {
		t.Errorf("servers accepted %d messages, want none", n)
	}

	t.Run("temporary failure is not permanent", func(t *testing.T) {
		plain.failNext(1)
		tr, err := NewSMTPTransport(plain.transportConfig(TLSNone))
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Send(context.Background(), testMessage(t, "x2", "grace@acme.example"))
		if err == nil || !strings.Contains(err.Error(), "451") || IsPermanent(err) {
			t.Fatalf("Send error = %v, want a temporary 451", err)
		}
	})
}

// TestSMTPTransportStalledServer checks that a server that accepts the
// connection and never answers cannot hold a delivery past its deadline,
// whether the deadline comes from the Timeout or from ctx, and that
// cancelling ctx aborts at once.
func TestSMTPTransportStalledServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	base := SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "r@acme.example"}

	run := func(cfg SMTPConfig, ctx context.Context) error {
		tr, err := NewSMTPTransport(cfg)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- tr.Send(ctx, testMessage(t, "x", "g@acme.example")) }()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatal("Send still blocked after a minute")
			return nil
		}
	}

	cfg := base
	cfg.Timeout = 200 * time.Millisecond
	if err := run(cfg, context.Background()); err == nil {
		t.Error("Send to a silent server succeeded (Timeout)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := run(base, ctx); err == nil {
		t.Error("Send to a silent server succeeded (ctx deadline)")
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if err := run(base, ctx); err == nil {
		t.Error("Send to a silent server succeeded (ctx cancelled)")
	}
}

func TestNewSMTPTransportRejects(t *testing.T) {
	good := SMTPConfig{Host: "smtp.example.com", Port: 587, From: "r@example.com"}
	tests := []struct {
		name string
		edit func(*SMTPConfig)
		want string
	}{
		{"no host", func(c *SMTPConfig) { c.Host = "" }, "empty host"},
		{"bad port", func(c *SMTPConfig) { c.Port = 70000 }, "port 70000 out of range"},
		{"bad mode", func(c *SMTPConfig) { c.TLS = "ssl" }, `unknown TLS mode "ssl"`},
		{"bad from", func(c *SMTPConfig) { c.From = "Roster" }, `from "Roster"`},
		{"password alone", func(c *SMTPConfig) { c.Password = "x" }, "password without a user name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := NewSMTPTransport(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := NewSMTPTransport(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestMessageID(t *testing.T) {
	a := MessageID("acc1", "invitation:42", "acme.example")
	if a != MessageID("acc1", "invitation:42", "acme.example") {
		t.Error("MessageID is not deterministic")
	}
	if a == MessageID("acc2", "invitation:42", "acme.example") {
		t.Error("two accounts' equal keys share a Message-ID")
	}
	if !strings.HasPrefix(a, "roster.") || !strings.HasSuffix(a, "@acme.example") || strings.ContainsAny(a, "<>: ") {
		t.Errorf("MessageID = %q", a)
	}
	var p *PermanentError
	if err := (&PermanentError{Err: errors.New("x")}); !errors.As(err, &p) || err.Error() != "x" {
		t.Error("PermanentError does not unwrap")
	}
}
