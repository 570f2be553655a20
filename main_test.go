package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// asBatonEnv makes this test binary run as baton (run with its arguments)
// instead of running tests: for the processes a command starts from its own
// executable (the load tool's ceiling, startCeilingProcess).
const asBatonEnv = "BATON_TEST_AS_BATON"

func TestMain(m *testing.M) {
	if os.Getenv(asBatonEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Environ(), time.Now))
	}
	ceilingChildEnv = []string{asBatonEnv + "=1"}
	os.Exit(m.Run())
}
