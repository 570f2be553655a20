package slack_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
)

// A fallback bundle says why nobody could be paged, as a lone fallback
// page does (break test of issue 14: the bundle said only "Nobody could be
// paged for 4 incidents. Whoever takes one, acknowledge it."), and neither
// the reason's alert text nor the incidents' titles reach the log.
func TestFallbackBundleSaysWhy(t *testing.T) {
	cfg := defaults()
	cfg.levels = func(ls []escalation.Level) { ls[0] = level(time.Hour, "user:dave") }
	e := newEnv(t, cfg)
	for i := range 5 {
		e.open("payments", fmt.Sprintf("why-%d", i), fmt.Sprintf("Queue stuck on worker-%d", i))
	}
	lone := regexp.MustCompile(`^Nobody could be paged for INC-\d+ \((.+)\)\. Whoever takes it, acknowledge\.`)
	bundle := regexp.MustCompile(`^Nobody could be paged for \d+ incidents \((.+)\)\. Whoever takes one, acknowledge it\.`)
	var loneWhy, bundleWhy, last string
	e.t.Cleanup(func() {
		if t.Failed() {
			for _, m := range e.fake.Messages(e.alerts.ID) {
				t.Logf("%q", m.Text)
			}
		}
	})
	e.waitFor("a fallback bundle saying why", func() bool {
		for _, m := range e.fake.Messages(e.alerts.ID) {
			if !strings.HasPrefix(m.Text, "Nobody could be paged for ") {
				continue
			}
			last = m.Text
			if s := lone.FindStringSubmatch(m.Text); s != nil {
				loneWhy = s[1]
			}
			if s := bundle.FindStringSubmatch(m.Text); s != nil {
				bundleWhy = s[1]
			}
		}
		return bundleWhy != ""
	})
	// What a lone fallback page says (its notification text cut; the
	// first page of a quiet spell goes alone, when the timing allows).
	const why = "page to dave could not be delivered: dave has no slack id and no email in config: cannot be reached in chat"
	if bundleWhy != why || !strings.HasPrefix(why, loneWhy) {
		t.Errorf("the bundle says %q, the lone page %q, want %q (last: %q)", bundleWhy, loneWhy, why, last)
	}
	if log := e.log.String(); strings.Contains(log, "Queue stuck") {
		t.Errorf("an incident's title reached the log:\n%s", log)
	}
}
