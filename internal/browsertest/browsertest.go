// Package browsertest starts headless Chromium for the tests that drive the
// demo's sandbox page with chromedp (demo_test.go, internal/demo). Only
// tests import it.
package browsertest

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which .ci/install-chromium installs.
const ChromiumPath = "/usr/bin/chromium"

// Start opens a headless Chromium with a window of width×height pixels and
// returns its chromedp context, which ends with ctx or when the test ends.
// It fails the test, saying how to install it, when Chromium is missing.
func Start(t testing.TB, ctx context.Context, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run .ci/install-chromium, which installs Debian's chromium; this test drives the demo's sandbox page in headless Chromium", ChromiumPath, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return browser
}
