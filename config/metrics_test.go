package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsKeys(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		file       string
		wantListen string
		wantPer    bool
		wantErr    string
	}{
		{name: "defaults", wantPer: false},
		{name: "flags", args: []string{"--metrics-listen", "127.0.0.1:9090", "--metrics-per-account", "true"},
			wantListen: "127.0.0.1:9090", wantPer: true},
		{name: "environment", env: map[string]string{"ROSTER_METRICS_PER_ACCOUNT": "1", "ROSTER_METRICS_LISTEN": ":9090"},
			wantListen: ":9090", wantPer: true},
		{name: "yaml boolean", file: "metrics:\n  per_account: true\n  listen: \"127.0.0.1:9100\"\n",
			wantListen: "127.0.0.1:9100", wantPer: true},
		{name: "bad boolean", env: map[string]string{"ROSTER_METRICS_PER_ACCOUNT": "sometimes"},
			wantErr: `config: metrics.per_account (from ROSTER_METRICS_PER_ACCOUNT): "sometimes" is not true or false`},
		{name: "bad address", args: []string{"--metrics-listen", "9090"},
			wantErr: "config: metrics.listen (from --metrics-listen):"},
		{name: "same as main listener", args: []string{"--listen", ":8081", "--metrics-listen", ":8081"},
			wantErr: "is the main listen address"},
		{name: "unknown key in file", file: "metrics:\n  perAccount: true\n", wantErr: `unknown key "perAccount"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				p := filepath.Join(t.TempDir(), "roster.yaml")
				if err := os.WriteFile(p, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"--config", p}, args...)
			}
			cfg, _, err := Load(args, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Metrics.Listen != tt.wantListen || cfg.Metrics.PerAccountEnabled() != tt.wantPer {
				t.Errorf("metrics = %+v, want listen %q per_account %v", cfg.Metrics, tt.wantListen, tt.wantPer)
			}
		})
	}
}
