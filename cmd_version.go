package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=$(git rev-parse HEAD)"
//
// Left empty, buildVersion reads them from the module and VCS information
// the Go toolchain stamps into the binary (debug.ReadBuildInfo).
var (
	version string
	commit  string
)

// buildInfo is what `baton version` prints.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Modified: the binary was built from a work tree with changes not in Commit.
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// buildVersion returns the version, commit and Go version: -ldflags wins;
// otherwise the module version and vcs.revision/vcs.modified of the
// binary's build info; "unknown" when neither says.
func buildVersion(read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: version, Commit: commit, Go: runtime.Version()}
	if bi, ok := read(); ok {
		b.Go = bi.GoVersion
		if b.Version == "" && bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				if commit == "" {
					b.Modified = s.Value == "true"
				}
			}
		}
	}
	if b.Version == "" {
		b.Version = "unknown"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// cmdVersion prints baton's version, commit and Go version, one per line
// (--json: {"version","commit","go"}).
func cmdVersion(args []string, stdout, stderr io.Writer) int {
	asJSON := false
	for _, a := range args {
		switch a {
		case "--json", "-json":
			asJSON = true
		case "-h", "-help", "--help":
			fmt.Fprintln(stdout, "Usage: baton version [--json]\n\nPrints baton's version, commit and Go version (--json: {\"version\",\"commit\",\"go\"}).")
			return exitOK
		default:
			fmt.Fprintf(stderr, "baton version: unknown argument %q (only --json)\n", a)
			return exitUsage
		}
	}
	b := buildVersion(debug.ReadBuildInfo)
	if asJSON {
		return printJSON(stdout, b)
	}
	mod := ""
	if b.Modified {
		mod = " (modified)"
	}
	fmt.Fprintf(stdout, "baton %s\ncommit %s%s\n%s\n", b.Version, b.Commit, mod, b.Go)
	return exitOK
}
