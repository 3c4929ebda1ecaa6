// Package metrics is Roster's Prometheus instrumentation: HTTP requests by
// route template and client, SCIM operations and errors, SSO login
// outcomes, store call latency (InstrumentStore), and the deployment's
// state (seats, members, outbox) read from the store on scrape.
//
// Everything lives in one Registry of its own, never in the client
// library's global default registry, so two servers in one process (tests)
// do not share or collide on series. Every label takes values from a fixed
// set or from route templates, so the number of series stays bounded
// whatever callers send; per-account series exist only when asked for
// (Options.PerAccount).
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rosterhq/roster/repository"
)

// namespace prefixes every Roster series.
const namespace = "roster"

// Defaults of Options.
const (
	// DefaultStateTTL is how long the state read from the store (seats,
	// members, outbox) is reused between scrapes: several Prometheus
	// servers, or a short scrape interval, then cost one read.
	DefaultStateTTL = 10 * time.Second
	// DefaultStateTimeout bounds that read, so a slow store makes a scrape
	// report roster_state_up 0 instead of hanging the scrape.
	DefaultStateTimeout = 5 * time.Second
)

// Options configure a Registry.
type Options struct {
	// Store, when set, is read on scrape for the state series (usage
	// totals, outbox). Pass the store itself, not the instrumented one, so
	// scrapes do not show up as store calls.
	Store repository.Store
	// PerAccount adds per-account seat and member series (label
	// account_id). Off by default: one series per account per scrape can
	// be a lot of series.
	PerAccount bool
	// StateTTL and StateTimeout default to DefaultStateTTL and
	// DefaultStateTimeout.
	StateTTL     time.Duration
	StateTimeout time.Duration
	// Version is reported in roster_build_info.
	Version string
	// SCIMPrefix is where SCIM is mounted ("/scim/v2" when empty); SCIM
	// requests below it are counted as SCIM operations.
	SCIMPrefix string
	// Logger receives failures of the state read (default slog.Default()).
	Logger *slog.Logger
}

// Registry holds Roster's metrics. Its methods are safe for concurrent use.
type Registry struct {
	reg        *prometheus.Registry
	scimPrefix string

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	scimOps      *prometheus.CounterVec
	scimErrors   *prometheus.CounterVec
	ssoLogins    *prometheus.CounterVec
	storeCalls   *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
}

// New returns a Registry with every Roster series registered, plus the Go
// runtime and process collectors.
func New(opts Options) *Registry {
	if opts.SCIMPrefix == "" {
		opts.SCIMPrefix = "/scim/v2"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Registry{
		reg:        prometheus.NewRegistry(),
		scimPrefix: opts.SCIMPrefix,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route template, method, status code and client (okta, entra, other).",
		}, []string{"route", "method", "code", "client"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		scimOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "scim", Name: "operations_total",
			Help: "SCIM requests by operation (create, replace, patch, delete, get, list, search, bulk, discovery, other), resource type and outcome (ok or error).",
		}, []string{"operation", "resource", "outcome"}),
		scimErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "scim", Name: "errors_total",
			Help: "SCIM error responses by scimType (none when the error has none) and HTTP status.",
		}, []string{"scim_type", "status"}),
		ssoLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "sso", Name: "logins_total",
			Help: "SSO and password logins by kind (saml, oidc, password), outcome (success, failure) and failure reason.",
		}, []string{"kind", "outcome", "reason"}),
		storeCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "store", Name: "call_duration_seconds",
			Help:    "Time of store calls, by operation (the repository.Store method).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "store", Name: "errors_total",
			Help: "Store calls that returned an error, by operation and kind (not_found, conflict, version_mismatch, no_seat, replayed, canceled, other).",
		}, []string{"operation", "kind"}),
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.httpRequests, r.httpDuration, r.scimOps, r.scimErrors, r.ssoLogins, r.storeCalls, r.storeErrors,
	)
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the label version is the running build.",
		ConstLabels: prometheus.Labels{"version": orUnknown(opts.Version)},
	})
	buildInfo.Set(1)
	r.reg.MustRegister(buildInfo)
	if opts.Store != nil {
		r.reg.MustRegister(newStateCollector(opts))
	}
	return r
}

// Handler serves the registry in the Prometheus exposition formats.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		Registry:          r.reg, // counts its own scrape errors
		EnableOpenMetrics: true,
		// A scrape that takes long (a slow store) is still answered.
		MaxRequestsInFlight: 4,
	})
}

// Gatherer exposes the registry to tests and to other exporters.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
