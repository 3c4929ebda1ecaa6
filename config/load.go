package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvConfig names the environment variable that points at the YAML file
// when --config is not given.
const EnvConfig = "ROSTER_CONFIG"

// key is one configuration key with its three spellings. Adding a key means
// adding a field to Config, a line here, a field to fileConfig and a row in
// README.md.
type key struct {
	name  string // YAML path, used in error messages: "log.level"
	env   string // environment variable: "ROSTER_LOG_LEVEL"
	flag  string // flag name without dashes: "log-level"
	usage string
	field func(*Config) *string
	file  func(*fileConfig) *string
}

// keys returns the configuration keys in the order they are validated.
func keys() []key {
	return []key{
		{
			name: "listen", env: "ROSTER_LISTEN", flag: "listen",
			usage: "TCP `address` the HTTP server listens on",
			field: func(c *Config) *string { return &c.Listen },
			file:  func(f *fileConfig) *string { return f.Listen },
		},
		{
			name: "base_url", env: "ROSTER_BASE_URL", flag: "base-url",
			usage: "public base `URL` of Roster, used in links (default: derived from --listen)",
			field: func(c *Config) *string { return &c.BaseURL },
			file:  func(f *fileConfig) *string { return f.BaseURL },
		},
		{
			name: "trusted_proxies", env: "ROSTER_TRUSTED_PROXIES", flag: "trusted-proxies",
			usage: "comma-separated IP `addresses or CIDRs` of the load balancers in front of Roster, whose X-Forwarded-For gives the client address (default: none, the connection's address is the client's)",
			field: func(c *Config) *string { return &c.TrustedProxies },
			file:  func(f *fileConfig) *string { return f.TrustedProxies },
		},
		{
			name: "store", env: "ROSTER_STORE", flag: "store",
			usage: "data store: sqlite:PATH or a mongodb:// / mongodb+srv:// `URI`",
			field: func(c *Config) *string { return &c.Store },
			file:  func(f *fileConfig) *string { return f.Store },
		},
		{
			name: "log.level", env: "ROSTER_LOG_LEVEL", flag: "log-level",
			usage: "lowest log `level`: debug, info, warn or error",
			field: func(c *Config) *string { return &c.Log.Level },
			file:  func(f *fileConfig) *string { return f.Log.Level },
		},
		{
			name: "log.format", env: "ROSTER_LOG_FORMAT", flag: "log-format",
			usage: "log `format`: text or json",
			field: func(c *Config) *string { return &c.Log.Format },
			file:  func(f *fileConfig) *string { return f.Log.Format },
		},
		{
			name: "scim.rate_limit", env: "ROSTER_SCIM_RATE_LIMIT", flag: "scim-rate-limit",
			usage: "SCIM requests per `second` allowed per token on each instance; 0 turns the limit off",
			field: func(c *Config) *string { return &c.SCIM.RateLimit },
			file:  func(f *fileConfig) *string { return f.SCIM.RateLimit },
		},
		{
			name: "mail.transport", env: "ROSTER_MAIL_TRANSPORT", flag: "mail-transport",
			usage: "how emails leave: log (print them, links included) or smtp",
			field: func(c *Config) *string { return &c.Mail.Transport },
			file:  func(f *fileConfig) *string { return f.Mail.Transport },
		},
		{
			name: "mail.from", env: "ROSTER_MAIL_FROM", flag: "mail-from",
			usage: "sender `address` of emails, with an optional name: \"Roster <no-reply@example.com>\"",
			field: func(c *Config) *string { return &c.Mail.From },
			file:  func(f *fileConfig) *string { return f.Mail.From },
		},
		{
			name: "smtp.host", env: "ROSTER_SMTP_HOST", flag: "smtp-host",
			usage: "SMTP server `host` (required with --mail-transport smtp)",
			field: func(c *Config) *string { return &c.SMTP.Host },
			file:  func(f *fileConfig) *string { return f.SMTP.Host },
		},
		{
			name: "smtp.port", env: "ROSTER_SMTP_PORT", flag: "smtp-port",
			usage: "SMTP server `port`",
			field: func(c *Config) *string { return &c.SMTP.Port },
			file:  func(f *fileConfig) *string { return f.SMTP.Port },
		},
		{
			name: "smtp.username", env: "ROSTER_SMTP_USERNAME", flag: "smtp-username",
			usage: "SMTP `user` name (empty: no authentication)",
			field: func(c *Config) *string { return &c.SMTP.Username },
			file:  func(f *fileConfig) *string { return f.SMTP.Username },
		},
		{
			name: "smtp.password", env: "ROSTER_SMTP_PASSWORD", flag: "smtp-password",
			usage: "SMTP `password`; prefer the environment variable or the file to a flag other users can see",
			field: func(c *Config) *string { return &c.SMTP.Password },
			file:  func(f *fileConfig) *string { return f.SMTP.Password },
		},
		{
			name: "smtp.tls", env: "ROSTER_SMTP_TLS", flag: "smtp-tls",
			usage: "SMTP TLS `mode`: none, starttls (required upgrade) or tls (implicit, usually port 465)",
			field: func(c *Config) *string { return &c.SMTP.TLS },
			file:  func(f *fileConfig) *string { return f.SMTP.TLS },
		},
		{
			name: "sso.secret_key", env: "ROSTER_SSO_SECRET_KEY", flag: "sso-secret-key",
			usage: "deployment secret `key` (32 bytes, base64) sealing SSO secrets and keying session CSRF tokens; generated into the data directory with the embedded store, required with MongoDB; prefer the environment variable or the file to a flag",
			field: func(c *Config) *string { return &c.SSO.SecretKey },
			file:  func(f *fileConfig) *string { return f.SSO.SecretKey },
		},
		{
			name: "sso.session_ttl", env: "ROSTER_SSO_SESSION_TTL", flag: "sso-session-ttl",
			usage: "how long a platform session lives, as a `duration` (default 12h)",
			field: func(c *Config) *string { return &c.SSO.SessionTTL },
			file:  func(f *fileConfig) *string { return f.SSO.SessionTTL },
		},
		{
			name: "sso.return_paths", env: "ROSTER_SSO_RETURN_PATHS", flag: "sso-return-paths",
			usage: "comma-separated path `prefixes` of Roster's origin a login may return to (default: /app,/auth/session,/invite/)",
			field: func(c *Config) *string { return &c.SSO.ReturnPaths },
			file:  func(f *fileConfig) *string { return f.SSO.ReturnPaths },
		},
		{
			name: "sso.allow_private_networks", env: "ROSTER_SSO_ALLOW_PRIVATE_NETWORKS", flag: "sso-allow-private-networks",
			usage: "let Roster reach identity providers (metadata URLs, OIDC discovery, keys, tokens) on loopback and private addresses (true or false; default false, which keeps admin-typed URLs off the internal network)",
			field: func(c *Config) *string { return &c.SSO.AllowPrivateNetworks },
			file:  func(f *fileConfig) *string { return f.SSO.AllowPrivateNetworks },
		},
		{
			name: "metrics.listen", env: "ROSTER_METRICS_LISTEN", flag: "metrics-listen",
			usage: "serve /metrics on its own listener at this `address` instead of the main one (default: the main listener)",
			field: func(c *Config) *string { return &c.Metrics.Listen },
			file:  func(f *fileConfig) *string { return f.Metrics.Listen },
		},
		{
			name: "metrics.per_account", env: "ROSTER_METRICS_PER_ACCOUNT", flag: "metrics-per-account",
			usage: "add per-account seat and member series (true or false; one series per account)",
			field: func(c *Config) *string { return &c.Metrics.PerAccount },
			file:  func(f *fileConfig) *string { return f.Metrics.PerAccount },
		},
		{
			name: "mongodb.max_pool_size", env: "ROSTER_MONGODB_MAX_POOL_SIZE", flag: "mongodb-max-pool-size",
			usage: "most `connections` each instance opens to each MongoDB server (default: the driver's 100; 0: no cap)",
			field: func(c *Config) *string { return &c.MongoDB.MaxPoolSize },
			file:  func(f *fileConfig) *string { return f.MongoDB.MaxPoolSize },
		},
		{
			name: "mongodb.min_pool_size", env: "ROSTER_MONGODB_MIN_POOL_SIZE", flag: "mongodb-min-pool-size",
			usage: "`connections` each instance keeps open to each MongoDB server when idle (default: 0)",
			field: func(c *Config) *string { return &c.MongoDB.MinPoolSize },
			file:  func(f *fileConfig) *string { return f.MongoDB.MinPoolSize },
		},
		{
			name: "mongodb.max_conn_idle_time", env: "ROSTER_MONGODB_MAX_CONN_IDLE_TIME", flag: "mongodb-max-conn-idle-time",
			usage: "close a MongoDB connection idle this long, a `duration` (default: never)",
			field: func(c *Config) *string { return &c.MongoDB.MaxConnIdleTime },
			file:  func(f *fileConfig) *string { return f.MongoDB.MaxConnIdleTime },
		},
	}
}

// fileConfig is the YAML file's shape. Pointers tell a key that is absent
// (or null) from one set to the empty string.
type fileConfig struct {
	Listen  *string `yaml:"listen"`
	BaseURL *string `yaml:"base_url"`
	Store   *string `yaml:"store"`

	TrustedProxies *string     `yaml:"trusted_proxies"`
	Log            fileLog     `yaml:"log"`
	SCIM           fileSCIM    `yaml:"scim"`
	Mail           fileMail    `yaml:"mail"`
	SMTP           fileSMTP    `yaml:"smtp"`
	SSO            fileSSO     `yaml:"sso"`
	Metrics        fileMetrics `yaml:"metrics"`
	MongoDB        fileMongoDB `yaml:"mongodb"`
}

type fileSSO struct {
	SecretKey   *string `yaml:"secret_key"`
	SessionTTL  *string `yaml:"session_ttl"`
	ReturnPaths *string `yaml:"return_paths"`
	// allow_private_networks may be a YAML boolean; yaml.v3 decodes it
	// into the string.
	AllowPrivateNetworks *string `yaml:"allow_private_networks"`
}

type fileMail struct {
	Transport *string `yaml:"transport"`
	From      *string `yaml:"from"`
}

type fileSMTP struct {
	Host     *string `yaml:"host"`
	Port     *string `yaml:"port"`
	Username *string `yaml:"username"`
	Password *string `yaml:"password"`
	TLS      *string `yaml:"tls"`
}

type fileSCIM struct {
	RateLimit *string `yaml:"rate_limit"`
}

type fileLog struct {
	Level  *string `yaml:"level"`
	Format *string `yaml:"format"`
}

// Flags are the configuration flags registered on a command's FlagSet.
type Flags struct {
	fs     *flag.FlagSet
	config *string
}

// Register adds the configuration flags (--config, --listen, --base-url,
// --store, --log-level, --log-format) to fs, next to the command's own
// flags. Parse fs, then call Resolve.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	f.config = fs.String("config", "", "YAML configuration `file` (also "+EnvConfig+")")
	defaults := Defaults()
	for _, k := range keys() {
		fs.String(k.flag, *k.field(&defaults), k.usage+" (also "+k.env+")")
	}
	return f
}

// Resolve builds the configuration from the defaults, the YAML file
// (--config, else ROSTER_CONFIG), the ROSTER_* environment variables read
// through lookupEnv (os.LookupEnv in production), and the flags set on the
// parsed FlagSet, each overriding the previous. An environment variable set
// to the empty string counts as unset. The result is validated.
func (f *Flags) Resolve(lookupEnv func(string) (string, bool)) (Config, error) {
	if !f.fs.Parsed() {
		return Config{}, errors.New("config: flags resolved before they were parsed")
	}
	set := map[string]string{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = fl.Value.String() })

	cfg := Defaults()
	source := map[string]string{} // key name -> where its value came from

	path, pathSource := "", ""
	if v, ok := set["config"]; ok {
		path, pathSource = v, "--config"
	} else if v, ok := lookupEnv(EnvConfig); ok && v != "" {
		path, pathSource = v, EnvConfig
	}
	if path != "" {
		fc, err := readFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: file %s (from %s): %w", path, pathSource, err)
		}
		for _, k := range keys() {
			if v := k.file(&fc); v != nil {
				*k.field(&cfg) = *v
				source[k.name] = path
			}
		}
	}
	for _, k := range keys() {
		if v, ok := lookupEnv(k.env); ok && v != "" {
			*k.field(&cfg) = v
			source[k.name] = k.env
		}
	}
	for _, k := range keys() {
		if v, ok := set[k.flag]; ok {
			*k.field(&cfg) = v
			source[k.name] = "--" + k.flag
		}
	}
	if err := cfg.validate(source); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Load parses args (configuration flags only) and resolves the
// configuration. It returns the arguments left after the flags. Commands
// with flags of their own use Register and Resolve instead.
func Load(args []string, lookupEnv func(string) (string, bool)) (Config, []string, error) {
	fs := flag.NewFlagSet("roster", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := Register(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := f.Resolve(lookupEnv)
	if err != nil {
		return Config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

// validate checks and normalises every key; errors name the key and source.
func (c *Config) validate(source map[string]string) error {
	fail := func(name string, err error) error {
		from, ok := source[name]
		if !ok {
			from = "default"
		}
		return fmt.Errorf("config: %s (from %s): %w", name, from, err)
	}
	if err := validateListen(c.Listen); err != nil {
		return fail("listen", err)
	}
	for _, p := range c.TrustedProxyList() {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return fail("trusted_proxies", fmt.Errorf("%q is not an IP address or CIDR", p))
			}
		}
	}
	if strings.TrimSpace(c.BaseURL) == "" {
		c.BaseURL = deriveBaseURL(c.Listen)
	} else {
		u, err := normalizeBaseURL(c.BaseURL)
		if err != nil {
			return fail("base_url", err)
		}
		c.BaseURL = u
	}
	if _, err := ParseStoreURL(c.Store); err != nil {
		return fail("store", err)
	}
	if f, err := strconv.ParseFloat(c.SCIM.RateLimit, 64); err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return fail("scim.rate_limit", fmt.Errorf("%q is not a number of requests per second (0 turns the limit off)", c.SCIM.RateLimit))
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	if err := oneOf(c.Log.Level, "debug", "info", "warn", "error"); err != nil {
		return fail("log.level", err)
	}
	c.Log.Format = strings.ToLower(c.Log.Format)
	if err := oneOf(c.Log.Format, "text", "json"); err != nil {
		return fail("log.format", err)
	}
	if err := c.validateSSO(fail); err != nil {
		return err
	}
	if err := c.validateMetrics(fail); err != nil {
		return err
	}
	if err := c.validateMongoDB(fail); err != nil {
		return err
	}
	return c.validateMail(fail)
}

// validateSSO checks the sso section.
func (c *Config) validateSSO(fail func(string, error) error) error {
	c.SSO.SecretKey = strings.TrimSpace(c.SSO.SecretKey)
	if c.SSO.SecretKey != "" {
		if _, err := DecodeSecretKey(c.SSO.SecretKey); err != nil {
			// The value is a secret: the message never repeats it.
			return fail("sso.secret_key", err)
		}
	}
	c.SSO.SessionTTL = strings.TrimSpace(c.SSO.SessionTTL)
	if c.SSO.SessionTTL != "" {
		d, err := time.ParseDuration(c.SSO.SessionTTL)
		if err != nil || d < time.Minute || d > 30*24*time.Hour {
			return fail("sso.session_ttl", fmt.Errorf("%q is not a duration from 1m to 720h (e.g. 12h)", c.SSO.SessionTTL))
		}
	}
	b, err := strconv.ParseBool(c.SSO.AllowPrivateNetworks)
	if err != nil {
		return fail("sso.allow_private_networks", fmt.Errorf("%q is not true or false", c.SSO.AllowPrivateNetworks))
	}
	c.SSO.AllowPrivateNetworks = strconv.FormatBool(b)
	for _, p := range c.SSO.ReturnPathList() {
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\?# ") {
			return fail("sso.return_paths", fmt.Errorf("%q is not a path of Roster's origin like /app", p))
		}
	}
	return nil
}

// DecodeSecretKey decodes a secret key written in base64 (standard or
// URL alphabet, padded or not) and checks it is 32 bytes long.
func DecodeSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("the key is %d bytes long, not 32: make one with `openssl rand -base64 32`", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("the key is not base64: make one with `openssl rand -base64 32`")
}

// validateMail checks the mail and smtp sections. The SMTP keys are
// checked only for the smtp transport, so a stray smtp.port does not stop
// a first run that prints emails to the log.
func (c *Config) validateMail(fail func(string, error) error) error {
	c.Mail.Transport = strings.ToLower(strings.TrimSpace(c.Mail.Transport))
	if err := oneOf(c.Mail.Transport, MailTransportLog, MailTransportSMTP); err != nil {
		return fail("mail.transport", err)
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		return fail("mail.from", fmt.Errorf("%q is not an email address (e.g. \"Roster <no-reply@example.com>\")", c.Mail.From))
	}
	if c.Mail.Transport != MailTransportSMTP {
		return nil
	}
	c.SMTP.Host = strings.TrimSpace(c.SMTP.Host)
	if c.SMTP.Host == "" {
		return fail("smtp.host", errors.New("empty: the smtp mail transport needs a server host name"))
	}
	if strings.ContainsAny(c.SMTP.Host, " /:") && net.ParseIP(c.SMTP.Host) == nil {
		return fail("smtp.host", fmt.Errorf("%q is not a host name (put the port in smtp.port)", c.SMTP.Host))
	}
	if n, err := strconv.Atoi(c.SMTP.Port); err != nil || n < 1 || n > 65535 {
		return fail("smtp.port", fmt.Errorf("%q is not a port: use a number from 1 to 65535", c.SMTP.Port))
	}
	c.SMTP.TLS = strings.ToLower(c.SMTP.TLS)
	if err := oneOf(c.SMTP.TLS, SMTPTLSNone, SMTPTLSStartTLS, SMTPTLSImplicit); err != nil {
		return fail("smtp.tls", err)
	}
	if c.SMTP.Password != "" && c.SMTP.Username == "" {
		return fail("smtp.username", errors.New("empty while smtp.password is set: set both or neither"))
	}
	return nil
}

// readFile reads and strictly decodes a YAML configuration file: unknown
// keys are errors, so a typo never silently falls back to a default.
func readFile(path string) (fileConfig, error) {
	var fc fileConfig
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fc, pe.Err // the path is already in the caller's message
		}
		return fc, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		if errors.Is(err, io.EOF) { // an empty file configures nothing
			return fileConfig{}, nil
		}
		return fc, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fc, errors.New("holds more than one YAML document")
	}
	return fc, nil
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlError turns yaml.v3's errors, which may span several lines and name
// Go types, into one line an operator understands.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		m = unknownField.ReplaceAllString(m, `unknown key "$1"`)
		m = strings.ReplaceAll(m, "config.fileConfig", "the configuration mapping")
		m = strings.ReplaceAll(m, "config.fileLog", "the log mapping")
		m = strings.ReplaceAll(m, "config.fileMail", "the mail mapping")
		m = strings.ReplaceAll(m, "config.fileSMTP", "the smtp mapping")
		m = strings.ReplaceAll(m, "config.fileSSO", "the sso mapping")
		m = strings.ReplaceAll(m, "config.fileMetrics", "the metrics mapping")
		m = strings.ReplaceAll(m, "config.fileMongoDB", "the mongodb mapping")
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}
