package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen, when set, serves /metrics on a listener of its own at this
	// address (e.g. 127.0.0.1:9090, or a port only the monitoring network
	// reaches), and the main listener no longer answers /metrics. Empty:
	// /metrics is served on the main listener.
	Listen string
	// PerAccount, "true" or "false", adds per-account seat and member
	// series; off by default (one series per account and scrape).
	PerAccount string
}

// PerAccountEnabled reports metrics.per_account. After a successful Load
// PerAccount is "true" or "false".
func (m Metrics) PerAccountEnabled() bool { return m.PerAccount == "true" }

// fileMetrics is the metrics mapping of the YAML file. per_account may be
// written as a YAML boolean; yaml.v3 decodes it into the string.
type fileMetrics struct {
	Listen     *string `yaml:"listen"`
	PerAccount *string `yaml:"per_account"`
}

// validateMetrics checks the metrics keys and normalises per_account.
func (c *Config) validateMetrics(fail func(string, error) error) error {
	if c.Metrics.Listen != "" {
		if err := validateListen(c.Metrics.Listen); err != nil {
			return fail("metrics.listen", err)
		}
		// Port 0 picks a free port for each listener, so equal strings
		// only clash with a fixed port.
		if c.Metrics.Listen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			return fail("metrics.listen", errors.New("is the main listen address: leave it empty to serve /metrics there"))
		}
	}
	b, err := strconv.ParseBool(c.Metrics.PerAccount)
	if err != nil {
		return fail("metrics.per_account", fmt.Errorf("%q is not true or false", c.Metrics.PerAccount))
	}
	c.Metrics.PerAccount = strconv.FormatBool(b)
	return nil
}
