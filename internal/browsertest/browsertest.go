// Package browsertest starts headless Chromium for the tests that drive the
// demo's sandbox page with chromedp (demo_test.go, internal/demo). Only
// tests import it.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"strings"
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

// clickTries bounds Click's attempts at a button the page keeps redrawing.
const clickTries = 10

// Click clicks the element sel (CSS) finds. The sandbox page redraws a
// message when the chat updates it (Server-Sent Events), replacing its
// nodes: a click that found the button just before the redraw fails with
// "Could not find node with given id" before any mouse event is sent. Such
// an attempt is made again on the new node, up to clickTries times; any
// other error is returned at once.
func Click(ctx context.Context, sel string) error {
	var err error
	for range clickTries {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)))
		if err == nil || !strings.Contains(err.Error(), "Could not find node with given id") {
			return err
		}
	}
	return fmt.Errorf("%s was redrawn under every one of %d clicks: %w", sel, clickTries, err)
}
