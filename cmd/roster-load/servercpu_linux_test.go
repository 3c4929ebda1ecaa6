package main

import (
	"os"
	"testing"
	"time"
)

// TestProcCPUOfThisProcess reads the real /proc: this process's CPU time
// grows while it works.
func TestProcCPUOfThisProcess(t *testing.T) {
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		x++
	}
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("CPU time %v then %v after %d spins", before, after, x)
	}
	if _, err := procCPU(-1); err == nil {
		t.Error("pid -1: no error")
	}
}
