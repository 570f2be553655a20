//go:build pprof

package main

// Built with -tags pprof, baton serves net/http/pprof on $BATON_PPROF_ADDR
// (default 127.0.0.1:6060), for profiling under `baton load`. Release builds
// do not contain it.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("BATON_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
