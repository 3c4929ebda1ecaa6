package main

import "runtime/debug"

// version is the release, set at link time:
//
//	go build -ldflags "-X main.version=v1.4.0" ./cmd/roster
//
// Empty in a plain build, where buildVersion falls back to what the Go
// toolchain recorded (a module version, or the VCS revision).
var version string

// buildVersion returns the running build's version, "dev" when unknown.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
