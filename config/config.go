// Package config is Roster's typed configuration: one struct, its defaults,
// and how it is read from a YAML file, ROSTER_* environment variables and
// command-line flags, in that order of precedence (a flag beats an
// environment variable, which beats the file, which beats the default).
//
// Everything is validated once, at load, and every error names the key and
// where its value came from, so an operator can fix it without guessing:
//
//	config: store (from ROSTER_STORE): unknown scheme "postgres": use sqlite:PATH or mongodb://…
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default values of the keys that have one.
const (
	DefaultListen    = ":8080"
	DefaultStore     = "sqlite:./data/roster.db"
	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
	// DefaultSCIMRateLimit is the requests per second per SCIM token.
	DefaultSCIMRateLimit = "200"
	// DefaultMailTransport prints emails to the log, so a first run needs
	// no mail server.
	DefaultMailTransport = MailTransportLog
	DefaultMailFrom      = "Roster <no-reply@localhost>"
	// DefaultSMTPPort is the message submission port (RFC 6409), which
	// expects STARTTLS.
	DefaultSMTPPort = "587"
	DefaultSMTPTLS  = SMTPTLSStartTLS
)

// Mail transports (Mail.Transport).
const (
	MailTransportLog  = "log"
	MailTransportSMTP = "smtp"
)

// SMTP TLS modes (SMTP.TLS).
const (
	SMTPTLSNone     = "none"
	SMTPTLSStartTLS = "starttls"
	SMTPTLSImplicit = "tls"
)

// Config is the whole configuration of a Roster process.
type Config struct {
	// Listen is the TCP address the HTTP server listens on (host:port).
	Listen string
	// BaseURL is the public base URL people and IdPs reach Roster at,
	// without a trailing slash. Links (invitations, SAML endpoints) are
	// built from it. When not configured it is derived from Listen.
	BaseURL string
	// TrustedProxies lists, comma-separated, the addresses or CIDRs of the
	// load balancers in front of Roster: only their X-Forwarded-For is
	// believed for the client address (per-IP login backoff, logs).
	TrustedProxies string
	// Store is where data lives: sqlite:PATH for the embedded store, or a
	// mongodb:// or mongodb+srv:// URI.
	Store string
	// Log configures the process logger.
	Log Log
	// SCIM configures the SCIM 2.0 endpoint.
	SCIM SCIM
	// Mail configures how emails (invitations, codes) leave Roster.
	Mail Mail
	// SMTP configures the SMTP server used when Mail.Transport is smtp.
	SMTP SMTP
	// Metrics configures the Prometheus endpoint (config/metrics.go).
	Metrics Metrics
	// MongoDB configures the MongoDB connection pool (config/mongodb.go).
	MongoDB MongoDB
	// SSO configures the SSO bridge: platform sessions and logins.
	SSO SSO

	// Later sections (SSO signing keys, metrics, trusted proxies, …)
	// are added here as their features land; each one gets its YAML key,
	// ROSTER_* variable and flag in keys.go and a line in README.md.
}

// DefaultSessionTTL is how long a platform session lives.
const DefaultSessionTTL = "12h"

// SSO configures the SSO bridge.
type SSO struct {
	// SecretKey is the deployment's secret key, 32 bytes in base64: it
	// seals OIDC client secrets, SAML SP keys and access-token signing keys,
	// and keys the CSRF tokens of sessions. Every instance must share it.
	// Empty with the embedded store: one is generated into the data
	// directory (secret.key) at the first start. Required with MongoDB.
	// A secret: never log it.
	SecretKey string
	// SessionTTL is how long a platform session lives, as a Go duration
	// ("12h"); empty means DefaultSessionTTL. An IdP may end it sooner.
	SessionTTL string
	// ReturnPaths is a comma-separated list of path prefixes of Roster's
	// own origin a login may return to; empty means the built-in list
	// (/app, /auth/session, /invite/).
	ReturnPaths string
	// AllowPrivateNetworks, "true" or "false", lets Roster reach identity
	// providers on loopback and private addresses. Off, the URLs account
	// admins type in cannot reach the internal network.
	AllowPrivateNetworks string
}

// TrustedProxyList returns TrustedProxies as a list, blanks dropped.
func (c Config) TrustedProxyList() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// PrivateNetworksAllowed reports sso.allow_private_networks (valid after
// a successful Load).
func (s SSO) PrivateNetworksAllowed() bool { return s.AllowPrivateNetworks == "true" }

// SessionTTLDuration returns SessionTTL parsed (validated by Resolve),
// DefaultSessionTTL when empty.
func (s SSO) SessionTTLDuration() time.Duration {
	v := strings.TrimSpace(s.SessionTTL)
	if v == "" {
		v = DefaultSessionTTL
	}
	d, _ := time.ParseDuration(v)
	return d
}

// ReturnPathList returns ReturnPaths split, or nil when empty.
func (s SSO) ReturnPathList() []string {
	var out []string
	for _, p := range strings.Split(s.ReturnPaths, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SCIM configures the SCIM 2.0 endpoint.
type SCIM struct {
	// RateLimit is the sustained requests per second allowed per SCIM
	// token on each instance, as a decimal number; "0" turns the limit off.
	// Okta and Entra send far less than the default; a load test turns it off.
	RateLimit string
}

// RateLimitPerSecond returns RateLimit as a number (validated by Resolve).
func (s SCIM) RateLimitPerSecond() float64 {
	f, _ := strconv.ParseFloat(s.RateLimit, 64)
	return f
}

// Mail configures email delivery.
type Mail struct {
	// Transport is log (print emails, links included, to the log) or
	// smtp (deliver them through the SMTP section's server).
	Transport string
	// From is the sender address, with an optional display name:
	// "Roster <no-reply@example.com>".
	From string
}

// SMTP configures the SMTP server emails are delivered through.
type SMTP struct {
	// Host is the server's host name; required with the smtp transport.
	Host string
	// Port is the server's TCP port, as a decimal number.
	Port string
	// Username and Password authenticate to the server; both empty means
	// no authentication. Password is a secret: never log it.
	Username string
	Password string
	// TLS is none (plain text), starttls (upgrade after connecting, and
	// refuse a server that cannot) or tls (implicit TLS, usually port 465).
	TLS string
}

// PortNumber returns Port as a number (validated by Resolve).
func (s SMTP) PortNumber() int {
	n, _ := strconv.Atoi(s.Port)
	return n
}

// Log configures logging.
type Log struct {
	// Level is the lowest level logged: debug, info, warn or error.
	Level string
	// Format is text (human readable) or json (one object a line).
	Format string
}

// Defaults returns the configuration used when nothing is configured. Its
// BaseURL is empty: Resolve derives it from Listen.
func Defaults() Config {
	return Config{
		Listen:  DefaultListen,
		Store:   DefaultStore,
		Log:     Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		SCIM:    SCIM{RateLimit: DefaultSCIMRateLimit},
		Mail:    Mail{Transport: DefaultMailTransport, From: DefaultMailFrom},
		SMTP:    SMTP{Port: DefaultSMTPPort, TLS: DefaultSMTPTLS},
		Metrics: Metrics{PerAccount: "false"},
		SSO:     SSO{AllowPrivateNetworks: "false"},
	}
}

// SlogLevel returns Level as a slog.Level. Level must be valid (Load
// guarantees it); anything else is treated as info.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// StoreURL returns Store parsed. After a successful Load it cannot fail.
func (c Config) StoreURL() (StoreURL, error) {
	return ParseStoreURL(c.Store)
}

// Store kinds.
const (
	StoreSQLite  = "sqlite"
	StoreMongoDB = "mongodb"
)

// StoreURL is a parsed Config.Store.
type StoreURL struct {
	// Kind is StoreSQLite or StoreMongoDB.
	Kind string
	// Path is the SQLite database file (Kind sqlite).
	Path string
	// URI is the full MongoDB connection string (Kind mongodb), which may
	// carry credentials: log Redacted, never URI.
	URI string
}

// Redacted returns the store location safe for logs and error messages:
// a MongoDB password is replaced by "xxxxx".
func (u StoreURL) Redacted() string {
	switch u.Kind {
	case StoreSQLite:
		return "sqlite:" + u.Path
	case StoreMongoDB:
		parsed, err := url.Parse(u.URI)
		if err != nil {
			return "mongodb://…"
		}
		return parsed.Redacted()
	}
	return ""
}

// ParseStoreURL parses a store location: "sqlite:PATH" (also written
// "sqlite://PATH", so "sqlite:///var/lib/roster.db" is an absolute path),
// or a "mongodb://" or "mongodb+srv://" URI.
func ParseStoreURL(s string) (StoreURL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return StoreURL{}, fmt.Errorf("empty: use sqlite:PATH or mongodb://…")
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme == "" {
		return StoreURL{}, fmt.Errorf("%q has no scheme: use sqlite:PATH or mongodb://…", s)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		path := rest
		if strings.HasPrefix(path, "//") {
			path = path[2:]
		}
		if path == "" {
			return StoreURL{}, fmt.Errorf("sqlite store needs a file path: sqlite:./data/roster.db")
		}
		return StoreURL{Kind: StoreSQLite, Path: path}, nil
	case "mongodb", "mongodb+srv":
		u, err := url.Parse(s)
		if err != nil {
			// url.Parse errors quote the whole input, credentials
			// included; say what is wrong without repeating it.
			return StoreURL{}, fmt.Errorf("malformed MongoDB URI: expected %s://HOST[:PORT][/DATABASE][?OPTIONS]", scheme)
		}
		if u.Host == "" {
			return StoreURL{}, fmt.Errorf("MongoDB URI %q names no host", u.Redacted())
		}
		return StoreURL{Kind: StoreMongoDB, URI: s}, nil
	}
	return StoreURL{}, fmt.Errorf("unknown scheme %q: use sqlite:PATH or mongodb://…", scheme)
}

// validateListen checks a host:port address.
func validateListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address (e.g. :8080 or 127.0.0.1:8080)", s)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has an invalid port: use a number from 0 to 65535", s)
	}
	return nil
}

// normalizeBaseURL checks a public base URL and returns it without a
// trailing slash.
func normalizeBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http:// or https:// URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q must not carry a query, fragment or user info", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// deriveBaseURL returns the base URL a process listening on listen is
// reached at locally: a wildcard host becomes localhost.
func deriveBaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://localhost:8080"
	}
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}
