package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message the test SMTP server accepted.
type received struct {
	From   string
	To     []string
	Header netmail.Header
	Text   string // the text/plain part, decoded
	HTML   string // the text/html part, decoded
	TLS    bool   // the session was encrypted
	User   string // the authenticated user, if any
	At     time.Time
}

// serverOptions configure a test SMTP server.
type serverOptions struct {
	startTLS bool              // offer STARTTLS
	implicit bool              // speak TLS from the first byte
	users    map[string]string // require AUTH PLAIN with these users
}

// testServer is a real SMTP server (github.com/emersion/go-smtp) on
// loopback that records what it accepts and can be told to fail.
type testServer struct {
	t    *testing.T
	opts serverOptions
	cert tls.Certificate
	pool *x509.CertPool // trusts cert
	addr string

	mu       sync.Mutex
	srv      *smtp.Server
	msgs     []received
	attempts []time.Time // every DATA, accepted or not
	failData int         // answer the next failData DATA commands with 451
}

func startServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	s := &testServer{t: t, opts: opts}
	s.cert, s.pool = selfSigned(t)
	s.listen("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

// listen starts serving on addr and records the address.
func (s *testServer) listen(addr string) {
	s.t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{server: s, conn: c}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = !s.opts.startTLS && !s.opts.implicit
	tlsConf := &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
	if s.opts.startTLS {
		srv.TLSConfig = tlsConf
	}
	var ln net.Listener
	var err error
	// A port just closed may take a moment to be free again.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtp test server: listen %s: %v", addr, err)
	}
	if s.opts.implicit {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.mu.Lock()
	s.srv = srv
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection: the server is down.
func (s *testServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// restart brings the server back on the same address.
func (s *testServer) restart() {
	s.listen(s.addr)
}

func (s *testServer) hostPort() (string, int) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	p, _ := net.LookupPort("tcp", port)
	return host, p
}

func (s *testServer) failNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = n
}

func (s *testServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *testServer) dataAttempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.attempts...)
}

// transportConfig returns an SMTPConfig that reaches s and trusts its
// certificate.
func (s *testServer) transportConfig(mode TLSMode) SMTPConfig {
	host, port := s.hostPort()
	return SMTPConfig{Host: host, Port: port, TLS: mode, From: "Roster <no-reply@acme.example>",
		Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}, HELO: "roster.test"}
}

// session is one SMTP connection of the test server.
type session struct {
	server *testServer
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.server.opts.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if want, ok := ss.server.opts.users[username]; !ok || want != password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.server.opts.users != nil && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.server
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, time.Now())
	if s.failData > 0 {
		s.failData--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		s.t.Errorf("smtp test server: unparsable message: %v\n%s", err, data)
		return err
	}
	text, html := bodyParts(s.t, msg)
	_, isTLS := ss.conn.TLSConnectionState()
	s.msgs = append(s.msgs, received{From: ss.from, To: ss.to, Header: msg.Header, Text: text, HTML: html,
		TLS: isTLS, User: ss.user, At: time.Now()})
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// bodyParts returns the decoded text/plain and text/html parts of msg.
func bodyParts(t *testing.T, msg *netmail.Message) (text, html string) {
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("Content-Type: %v", err)
		return "", ""
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body := decodePart(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if mediaType == "text/html" {
			return "", body
		}
		return body, ""
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return text, html
		}
		if err != nil {
			t.Errorf("multipart: %v", err)
			return text, html
		}
		mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		// multipart.Reader decodes quoted-printable itself and drops the
		// header; other encodings are decoded here.
		body := decodePart(t, p.Header.Get("Content-Transfer-Encoding"), p)
		switch mt {
		case "text/plain":
			text = body
		case "text/html":
			html = body
		}
	}
}

func decodePart(t *testing.T, encoding string, r io.Reader) string {
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Errorf("read part: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// selfSigned returns a certificate for 127.0.0.1 and localhost, made now,
// and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "roster test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
