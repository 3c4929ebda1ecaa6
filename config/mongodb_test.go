package config

import (
	"strings"
	"testing"
)

func TestMongoDBApplyToURI(t *testing.T) {
	all := MongoDB{MaxPoolSize: "50", MinPoolSize: "5", MaxConnIdleTime: "5m"}
	tests := []struct {
		name string
		m    MongoDB
		uri  string
		want string
	}{
		{"unset keys leave the URI", MongoDB{}, "mongodb://h/roster?replicaSet=rs0", "mongodb://h/roster?replicaSet=rs0"},
		{"no path", all, "mongodb://h", "mongodb://h/?maxPoolSize=50&minPoolSize=5&maxIdleTimeMS=300000"},
		{"path, no options", all, "mongodb://u:p%40ss@h1,h2/roster", "mongodb://u:p%40ss@h1,h2/roster?maxPoolSize=50&minPoolSize=5&maxIdleTimeMS=300000"},
		{"options kept byte for byte", all, "mongodb+srv://c.example/db?readPreferenceTags=dc:ny,rack:1&w=majority",
			"mongodb+srv://c.example/db?readPreferenceTags=dc:ny,rack:1&w=majority&maxPoolSize=50&minPoolSize=5&maxIdleTimeMS=300000"},
		{"the URI wins, any case", all, "mongodb://h/db?MAXPOOLSIZE=7&maxIdleTimeMS=1", "mongodb://h/db?MAXPOOLSIZE=7&maxIdleTimeMS=1&minPoolSize=5"},
		{"trailing question mark", MongoDB{MaxPoolSize: "0"}, "mongodb://h/db?", "mongodb://h/db?maxPoolSize=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.ApplyToURI(tt.uri); got != tt.want {
				t.Errorf("ApplyToURI(%q) = %q, want %q", tt.uri, got, tt.want)
			}
		})
	}
}

func TestMongoDBKeys(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		want    MongoDB
	}{
		{"defaults", nil, "", MongoDB{}},
		{"set", map[string]string{"ROSTER_MONGODB_MAX_POOL_SIZE": "200", "ROSTER_MONGODB_MIN_POOL_SIZE": "10", "ROSTER_MONGODB_MAX_CONN_IDLE_TIME": "90s"}, "",
			MongoDB{MaxPoolSize: "200", MinPoolSize: "10", MaxConnIdleTime: "90s"}},
		{"bad max", map[string]string{"ROSTER_MONGODB_MAX_POOL_SIZE": "lots"}, "mongodb.max_pool_size (from ROSTER_MONGODB_MAX_POOL_SIZE)", MongoDB{}},
		{"min above max", map[string]string{"ROSTER_MONGODB_MAX_POOL_SIZE": "5", "ROSTER_MONGODB_MIN_POOL_SIZE": "6"}, "mongodb.min_pool_size", MongoDB{}},
		{"bad idle", map[string]string{"ROSTER_MONGODB_MAX_CONN_IDLE_TIME": "-1m"}, "mongodb.max_conn_idle_time", MongoDB{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Load(nil, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MongoDB != tt.want {
				t.Errorf("MongoDB = %+v, want %+v", cfg.MongoDB, tt.want)
			}
		})
	}
}
