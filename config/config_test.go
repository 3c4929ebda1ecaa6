package config

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env returns a lookupEnv over a fixed map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	cfg, rest, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:  ":8080",
		BaseURL: "http://localhost:8080",
		Store:   "sqlite:./data/roster.db",
		Log:     Log{Level: "info", Format: "text"},
		SCIM:    SCIM{RateLimit: "200"},
		Mail:    Mail{Transport: "log", From: "Roster <no-reply@localhost>"},
		SMTP:    SMTP{Port: "587", TLS: "starttls"},
		Metrics: Metrics{PerAccount: "false"},
		SSO:     SSO{AllowPrivateNetworks: "false"},
	}
	if cfg != want {
		t.Errorf("Load() = %+v, want %+v", cfg, want)
	}
	if len(rest) != 0 {
		t.Errorf("rest = %q, want none", rest)
	}
	u, err := cfg.StoreURL()
	if err != nil || u != (StoreURL{Kind: StoreSQLite, Path: "./data/roster.db"}) {
		t.Errorf("StoreURL() = %+v, %v", u, err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	full := writeFile(t, "roster.yaml", `
listen: "127.0.0.1:7000"
base_url: https://file.example.com/
store: sqlite:/var/lib/file.db
log:
  level: warn
  format: json
`)
	partial := writeFile(t, "partial.yaml", "log:\n  level: debug\n")
	smtpFile := writeFile(t, "smtp.yaml", `
mail:
  transport: smtp
  from: Acme Support <support@acme.example>
smtp:
  host: smtp.acme.example
  port: 465
  username: roster
  password: file-secret
  tls: tls
`)
	empty := writeFile(t, "empty.yaml", "")

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{
			name: "file beats defaults",
			args: []string{"--config", full},
			want: Config{Listen: "127.0.0.1:7000", BaseURL: "https://file.example.com",
				Store: "sqlite:/var/lib/file.db", Log: Log{Level: "warn", Format: "json"}},
		},
		{
			name: "ROSTER_CONFIG names the file",
			env:  map[string]string{"ROSTER_CONFIG": full},
			want: Config{Listen: "127.0.0.1:7000", BaseURL: "https://file.example.com",
				Store: "sqlite:/var/lib/file.db", Log: Log{Level: "warn", Format: "json"}},
		},
		{
			name: "--config beats ROSTER_CONFIG",
			args: []string{"--config", partial},
			env:  map[string]string{"ROSTER_CONFIG": full},
			want: Config{Listen: ":8080", BaseURL: "http://localhost:8080",
				Store: DefaultStore, Log: Log{Level: "debug", Format: "text"}},
		},
		{
			name: "empty file configures nothing",
			args: []string{"--config", empty},
			want: Config{Listen: ":8080", BaseURL: "http://localhost:8080",
				Store: DefaultStore, Log: Log{Level: "info", Format: "text"}},
		},
		{
			name: "environment beats file",
			args: []string{"--config", full},
			env: map[string]string{
				"ROSTER_LISTEN": ":9000", "ROSTER_BASE_URL": "https://env.example.com",
				"ROSTER_STORE":     "mongodb://db1,db2/roster?replicaSet=rs0",
				"ROSTER_LOG_LEVEL": "ERROR", "ROSTER_LOG_FORMAT": "text",
			},
			want: Config{Listen: ":9000", BaseURL: "https://env.example.com",
				Store: "mongodb://db1,db2/roster?replicaSet=rs0", Log: Log{Level: "error", Format: "text"}},
		},
		{
			name: "empty environment variable counts as unset",
			args: []string{"--config", full},
			env:  map[string]string{"ROSTER_STORE": "", "ROSTER_LOG_LEVEL": ""},
			want: Config{Listen: "127.0.0.1:7000", BaseURL: "https://file.example.com",
				Store: "sqlite:/var/lib/file.db", Log: Log{Level: "warn", Format: "json"}},
		},
		{
			name: "flags beat environment and file",
			args: []string{"--config", full, "--listen", "127.0.0.1:9100", "--base-url=https://flag.example.com",
				"--store", "sqlite:flag.db", "--log-level", "debug", "-log-format", "text"},
			env: map[string]string{"ROSTER_LISTEN": ":9000", "ROSTER_STORE": "mongodb://env/",
				"ROSTER_LOG_LEVEL": "error", "ROSTER_BASE_URL": "https://env.example.com"},
			want: Config{Listen: "127.0.0.1:9100", BaseURL: "https://flag.example.com",
				Store: "sqlite:flag.db", Log: Log{Level: "debug", Format: "text"}},
		},
		{
			name: "base URL derived from the configured listen address",
			env:  map[string]string{"ROSTER_LISTEN": "127.0.0.1:9300"},
			want: Config{Listen: "127.0.0.1:9300", BaseURL: "http://127.0.0.1:9300",
				Store: DefaultStore, Log: Log{Level: "info", Format: "text"}},
		},
		{
			name: "base URL derived from a wildcard IPv6 listen address",
			args: []string{"--listen", "[::]:9400"},
			want: Config{Listen: "[::]:9400", BaseURL: "http://localhost:9400",
				Store: DefaultStore, Log: Log{Level: "info", Format: "text"}},
		},
		{
			name: "explicit empty base URL flag derives it again",
			args: []string{"--base-url", "", "--listen", ":81"},
			env:  map[string]string{"ROSTER_BASE_URL": "https://env.example.com"},
			want: Config{Listen: ":81", BaseURL: "http://localhost:81",
				Store: DefaultStore, Log: Log{Level: "info", Format: "text"}},
		},
		{
			name: "mail and smtp from the file",
			args: []string{"--config", smtpFile},
			want: Config{Listen: ":8080", BaseURL: "http://localhost:8080", Store: DefaultStore,
				Log:  Log{Level: "info", Format: "text"},
				Mail: Mail{Transport: "smtp", From: "Acme Support <support@acme.example>"},
				SMTP: SMTP{Host: "smtp.acme.example", Port: "465", Username: "roster", Password: "file-secret", TLS: "tls"}},
		},
		{
			name: "smtp keys from environment and flags over the file",
			args: []string{"--config", smtpFile, "--smtp-tls", "STARTTLS", "--smtp-port", "2525"},
			env: map[string]string{"ROSTER_SMTP_PASSWORD": "env-secret", "ROSTER_SMTP_PORT": "25",
				"ROSTER_MAIL_FROM": "no-reply@acme.example"},
			want: Config{Listen: ":8080", BaseURL: "http://localhost:8080", Store: DefaultStore,
				Log:  Log{Level: "info", Format: "text"},
				Mail: Mail{Transport: "smtp", From: "no-reply@acme.example"},
				SMTP: SMTP{Host: "smtp.acme.example", Port: "2525", Username: "roster", Password: "env-secret", TLS: "starttls"}},
		},
		{
			name: "smtp keys are not checked with the log transport",
			env:  map[string]string{"ROSTER_SMTP_PORT": "none", "ROSTER_MAIL_TRANSPORT": "LOG"},
			want: Config{Listen: ":8080", BaseURL: "http://localhost:8080", Store: DefaultStore,
				Log: Log{Level: "info", Format: "text"}, SMTP: SMTP{Port: "none", TLS: "starttls"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Load(tc.args, env(tc.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tc.want.SCIM == (SCIM{}) {
				tc.want.SCIM = Defaults().SCIM
			}
			if tc.want.Mail == (Mail{}) {
				tc.want.Mail = Defaults().Mail
			}
			if tc.want.SMTP == (SMTP{}) {
				tc.want.SMTP = Defaults().SMTP
			}
			if tc.want.Metrics == (Metrics{}) {
				tc.want.Metrics = Defaults().Metrics
			}
			if tc.want.SSO == (SSO{}) {
				tc.want.SSO = Defaults().SSO
			}
			if got != tc.want {
				t.Errorf("Load() =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	unknownKey := writeFile(t, "typo.yaml", "listen: :8080\nstroe: sqlite:x.db\n")
	unknownNested := writeFile(t, "nested.yaml", "log:\n  colour: true\n")
	malformed := writeFile(t, "bad.yaml", "listen: [unclosed\n")
	notMapping := writeFile(t, "scalar.yaml", "hello\n")
	twoDocs := writeFile(t, "two.yaml", "listen: :1\n---\nlisten: :2\n")
	badInFile := writeFile(t, "level.yaml", "log:\n  level: verbose\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	dir := t.TempDir()

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // the whole error message
	}{
		{
			name: "unknown store scheme from the environment",
			env:  map[string]string{"ROSTER_STORE": "postgres://db/roster"},
			want: `config: store (from ROSTER_STORE): unknown scheme "postgres": use sqlite:PATH or mongodb://…`,
		},
		{
			name: "store without a scheme",
			args: []string{"--store", "./data/roster.db"},
			want: `config: store (from --store): "./data/roster.db" has no scheme: use sqlite:PATH or mongodb://…`,
		},
		{
			name: "empty store flag",
			args: []string{"--store", ""},
			want: `config: store (from --store): empty: use sqlite:PATH or mongodb://…`,
		},
		{
			name: "sqlite store without a path",
			args: []string{"--store", "sqlite:"},
			want: `config: store (from --store): sqlite store needs a file path: sqlite:./data/roster.db`,
		},
		{
			name: "mongodb URI without host hides the password",
			args: []string{"--store", "mongodb://user:secret@/roster"},
			want: `config: store (from --store): MongoDB URI "mongodb://user:xxxxx@/roster" names no host`,
		},
		{
			name: "malformed mongodb URI is not echoed",
			args: []string{"--store", "mongodb://user:se%zzcret@db/"},
			want: `config: store (from --store): malformed MongoDB URI: expected mongodb://HOST[:PORT][/DATABASE][?OPTIONS]`,
		},
		{
			name: "negative SCIM rate limit from the environment",
			env:  map[string]string{"ROSTER_SCIM_RATE_LIMIT": "-1"},
			want: `config: scim.rate_limit (from ROSTER_SCIM_RATE_LIMIT): "-1" is not a number of requests per second (0 turns the limit off)`,
		},
		{
			name: "unknown log level from a flag",
			args: []string{"--log-level", "loud"},
			want: `config: log.level (from --log-level): "loud" is not one of debug, info, warn, error`,
		},
		{
			name: "unknown log level from the file",
			args: []string{"--config", badInFile},
			want: `config: log.level (from ` + badInFile + `): "verbose" is not one of debug, info, warn, error`,
		},
		{
			name: "unknown log format from the environment",
			env:  map[string]string{"ROSTER_LOG_FORMAT": "xml"},
			want: `config: log.format (from ROSTER_LOG_FORMAT): "xml" is not one of text, json`,
		},
		{
			name: "listen without a port",
			args: []string{"--listen", "localhost"},
			want: `config: listen (from --listen): "localhost" is not a host:port address (e.g. :8080 or 127.0.0.1:8080)`,
		},
		{
			name: "listen with a bad port",
			env:  map[string]string{"ROSTER_LISTEN": ":99999"},
			want: `config: listen (from ROSTER_LISTEN): ":99999" has an invalid port: use a number from 0 to 65535`,
		},
		{
			name: "relative base URL",
			env:  map[string]string{"ROSTER_BASE_URL": "roster.example.com"},
			want: `config: base_url (from ROSTER_BASE_URL): "roster.example.com" is not an absolute http:// or https:// URL`,
		},
		{
			name: "base URL with a query",
			args: []string{"--base-url", "https://roster.example.com/?x=1"},
			want: `config: base_url (from --base-url): "https://roster.example.com/?x=1" must not carry a query, fragment or user info`,
		},
		{
			name: "missing config file from --config",
			args: []string{"--config", missing},
			want: `config: file ` + missing + ` (from --config): no such file or directory`,
		},
		{
			name: "missing config file from ROSTER_CONFIG",
			env:  map[string]string{"ROSTER_CONFIG": missing},
			want: `config: file ` + missing + ` (from ROSTER_CONFIG): no such file or directory`,
		},
		{
			name: "config file is a directory",
			args: []string{"--config", dir},
			want: `config: file ` + dir + ` (from --config): is a directory`,
		},
		{
			name: "unknown key in the file",
			args: []string{"--config", unknownKey},
			want: `config: file ` + unknownKey + ` (from --config): line 2: unknown key "stroe"`,
		},
		{
			name: "unknown nested key in the file",
			args: []string{"--config", unknownNested},
			want: `config: file ` + unknownNested + ` (from --config): line 2: unknown key "colour"`,
		},
		{
			name: "malformed YAML",
			args: []string{"--config", malformed},
			want: `config: file ` + malformed + ` (from --config): line 1: did not find expected ',' or ']'`,
		},
		{
			name: "YAML that is not a mapping",
			args: []string{"--config", notMapping},
			want: "config: file " + notMapping + " (from --config): line 1: cannot unmarshal !!str `hello` into the configuration mapping",
		},
		{
			name: "several YAML documents",
			args: []string{"--config", twoDocs},
			want: `config: file ` + twoDocs + ` (from --config): holds more than one YAML document`,
		},
		{
			name: "unknown mail transport",
			args: []string{"--mail-transport", "sendmail"},
			want: `config: mail.transport (from --mail-transport): "sendmail" is not one of log, smtp`,
		},
		{
			name: "malformed sender address",
			env:  map[string]string{"ROSTER_MAIL_FROM": "Roster no-reply"},
			want: `config: mail.from (from ROSTER_MAIL_FROM): "Roster no-reply" is not an email address (e.g. "Roster <no-reply@example.com>")`,
		},
		{
			name: "smtp transport without a host",
			args: []string{"--mail-transport", "smtp"},
			want: `config: smtp.host (from default): empty: the smtp mail transport needs a server host name`,
		},
		{
			name: "smtp host with a port",
			args: []string{"--mail-transport", "smtp", "--smtp-host", "smtp.example.com:25"},
			want: `config: smtp.host (from --smtp-host): "smtp.example.com:25" is not a host name (put the port in smtp.port)`,
		},
		{
			name: "smtp port out of range",
			env:  map[string]string{"ROSTER_MAIL_TRANSPORT": "smtp", "ROSTER_SMTP_HOST": "mx", "ROSTER_SMTP_PORT": "0"},
			want: `config: smtp.port (from ROSTER_SMTP_PORT): "0" is not a port: use a number from 1 to 65535`,
		},
		{
			name: "unknown smtp TLS mode",
			args: []string{"--mail-transport", "smtp", "--smtp-host", "mx", "--smtp-tls", "ssl"},
			want: `config: smtp.tls (from --smtp-tls): "ssl" is not one of none, starttls, tls`,
		},
		{
			name: "smtp password without a user name",
			args: []string{"--mail-transport", "smtp", "--smtp-host", "mx"},
			env:  map[string]string{"ROSTER_SMTP_PASSWORD": "secret"},
			want: `config: smtp.username (from default): empty while smtp.password is set: set both or neither`,
		},
		{
			name: "unknown flag",
			args: []string{"--colour"},
			want: `config: flag provided but not defined: -colour`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.args, env(tc.env))
			if err == nil {
				t.Fatalf("Load succeeded, want error %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error =\n %s\nwant\n %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

// TestRegisterWithCommandFlags checks the cmd layer's use: its own flags
// and the configuration flags on one FlagSet.
func TestRegisterWithCommandFlags(t *testing.T) {
	fs := flag.NewFlagSet("roster account create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "account name")
	cf := Register(fs)
	if _, err := cf.Resolve(env(nil)); err == nil {
		t.Error("Resolve before Parse succeeded")
	}
	if err := fs.Parse([]string{"--name", "Acme", "--store", "sqlite:/tmp/x.db", "extra"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cf.Resolve(env(map[string]string{"ROSTER_STORE": "mongodb://ignored/"}))
	if err != nil {
		t.Fatal(err)
	}
	if *name != "Acme" || cfg.Store != "sqlite:/tmp/x.db" || fs.Arg(0) != "extra" {
		t.Errorf("name %q, store %q, args %q", *name, cfg.Store, fs.Args())
	}
	// Flag help shows the real defaults.
	if f := fs.Lookup("store"); f == nil || f.DefValue != DefaultStore {
		t.Errorf("store flag default = %v", f)
	}
}

func TestParseStoreURL(t *testing.T) {
	tests := []struct {
		in       string
		want     StoreURL
		redacted string
	}{
		{"sqlite:./data/roster.db", StoreURL{Kind: StoreSQLite, Path: "./data/roster.db"}, "sqlite:./data/roster.db"},
		{"sqlite:///var/lib/roster.db", StoreURL{Kind: StoreSQLite, Path: "/var/lib/roster.db"}, "sqlite:/var/lib/roster.db"},
		{"SQLite:x.db", StoreURL{Kind: StoreSQLite, Path: "x.db"}, "sqlite:x.db"},
		{"mongodb://127.0.0.1:27017/", StoreURL{Kind: StoreMongoDB, URI: "mongodb://127.0.0.1:27017/"}, "mongodb://127.0.0.1:27017/"},
		{"mongodb://u:p@a,b,c/roster?replicaSet=rs0",
			StoreURL{Kind: StoreMongoDB, URI: "mongodb://u:p@a,b,c/roster?replicaSet=rs0"},
			"mongodb://u:xxxxx@a,b,c/roster?replicaSet=rs0"},
		{"mongodb+srv://cluster0.example.net/roster",
			StoreURL{Kind: StoreMongoDB, URI: "mongodb+srv://cluster0.example.net/roster"},
			"mongodb+srv://cluster0.example.net/roster"},
	}
	for _, tc := range tests {
		got, err := ParseStoreURL(tc.in)
		if err != nil {
			t.Errorf("ParseStoreURL(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseStoreURL(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if r := got.Redacted(); r != tc.redacted {
			t.Errorf("Redacted(%q) = %q, want %q", tc.in, r, tc.redacted)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		if got := (Log{Level: in}).SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestAllowPrivateNetworks(t *testing.T) {
	for _, tc := range []struct {
		env     string
		want    bool
		wantErr bool
	}{
		{"", false, false},
		{"TRUE", true, false},
		{"false", false, false},
		{"yes please", false, true},
	} {
		e := map[string]string{}
		if tc.env != "" {
			e["ROSTER_SSO_ALLOW_PRIVATE_NETWORKS"] = tc.env
		}
		cfg, _, err := Load(nil, env(e))
		if (err != nil) != tc.wantErr {
			t.Fatalf("%q: err = %v", tc.env, err)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "sso.allow_private_networks") {
				t.Errorf("%q: error %v does not name the key", tc.env, err)
			}
			continue
		}
		if cfg.SSO.PrivateNetworksAllowed() != tc.want {
			t.Errorf("%q: allowed = %v, want %v", tc.env, cfg.SSO.PrivateNetworksAllowed(), tc.want)
		}
	}
}
