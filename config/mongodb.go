package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MongoDB configures the MongoDB driver's connection pool, per instance.
// Each key left empty keeps the driver's default; a store URI that sets
// the same option (maxPoolSize, minPoolSize, maxIdleTimeMS) wins over the
// key.
type MongoDB struct {
	// MaxPoolSize caps the connections an instance opens to each server
	// (the driver's default: 100; 0 means no cap). Size it so that
	// instances × max_pool_size stays under what the servers accept.
	MaxPoolSize string
	// MinPoolSize is how many connections an instance keeps open to each
	// server even when idle (the driver's default: 0), sparing a burst of
	// SCIM pushes the connection setup.
	MinPoolSize string
	// MaxConnIdleTime closes a connection idle this long, as a Go
	// duration (the driver's default: never); set it below the idle
	// timeout of a firewall or load balancer between Roster and MongoDB.
	MaxConnIdleTime string
}

// fileMongoDB is the mongodb mapping of the YAML file.
type fileMongoDB struct {
	MaxPoolSize     *string `yaml:"max_pool_size"`
	MinPoolSize     *string `yaml:"min_pool_size"`
	MaxConnIdleTime *string `yaml:"max_conn_idle_time"`
}

// validateMongoDB checks the mongodb keys.
func (c *Config) validateMongoDB(fail func(string, error) error) error {
	m := &c.MongoDB
	m.MaxPoolSize, m.MinPoolSize, m.MaxConnIdleTime = strings.TrimSpace(m.MaxPoolSize), strings.TrimSpace(m.MinPoolSize), strings.TrimSpace(m.MaxConnIdleTime)
	maxSize, minSize := -1, -1
	if m.MaxPoolSize != "" {
		n, err := strconv.Atoi(m.MaxPoolSize)
		if err != nil || n < 0 {
			return fail("mongodb.max_pool_size", fmt.Errorf("%q is not a number of connections (0 means no cap)", m.MaxPoolSize))
		}
		maxSize = n
	}
	if m.MinPoolSize != "" {
		n, err := strconv.Atoi(m.MinPoolSize)
		if err != nil || n < 0 {
			return fail("mongodb.min_pool_size", fmt.Errorf("%q is not a number of connections", m.MinPoolSize))
		}
		minSize = n
	}
	if maxSize > 0 && minSize > maxSize {
		return fail("mongodb.min_pool_size", errors.New("is above mongodb.max_pool_size"))
	}
	if m.MaxConnIdleTime != "" {
		d, err := time.ParseDuration(m.MaxConnIdleTime)
		if err != nil || d < 0 {
			return fail("mongodb.max_conn_idle_time", fmt.Errorf("%q is not a duration such as 5m (0 means never)", m.MaxConnIdleTime))
		}
	}
	return nil
}

// ApplyToURI returns uri with the pool keys that are set added as URI
// options, except the options uri sets itself. The URI is extended, never
// re-encoded, so what it already says is kept byte for byte.
func (m MongoDB) ApplyToURI(uri string) string {
	has := map[string]bool{}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		for _, kv := range strings.FieldsFunc(uri[i+1:], func(r rune) bool { return r == '&' || r == ';' }) {
			k, _, _ := strings.Cut(kv, "=")
			if k, err := url.QueryUnescape(k); err == nil {
				has[strings.ToLower(k)] = true
			}
		}
	}
	var add []string
	if m.MaxPoolSize != "" && !has["maxpoolsize"] {
		add = append(add, "maxPoolSize="+m.MaxPoolSize)
	}
	if m.MinPoolSize != "" && !has["minpoolsize"] {
		add = append(add, "minPoolSize="+m.MinPoolSize)
	}
	if m.MaxConnIdleTime != "" && !has["maxidletimems"] {
		if d, err := time.ParseDuration(m.MaxConnIdleTime); err == nil {
			add = append(add, "maxIdleTimeMS="+strconv.FormatInt(d.Milliseconds(), 10))
		}
	}
	if len(add) == 0 {
		return uri
	}
	switch {
	case !strings.Contains(uri, "?"):
		// The options follow the path; a URI without one gets "/".
		rest := uri
		if i := strings.Index(rest, "://"); i >= 0 {
			rest = rest[i+3:]
		}
		if !strings.Contains(rest, "/") {
			uri += "/"
		}
		uri += "?"
	case !strings.HasSuffix(uri, "?") && !strings.HasSuffix(uri, "&"):
		uri += "&"
	}
	return uri + strings.Join(add, "&")
}
