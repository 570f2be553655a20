package escalation_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/rotations"
)

func TestLookup(t *testing.T) {
	p := dbPolicy()
	get, err := escalation.Lookup([]escalation.Service{{Name: "database", Policy: "db-policy", AlertsChannel: "#db"}}, []escalation.Policy{p})
	if err != nil {
		t.Fatal(err)
	}
	if got, svc, ok := get("database"); !ok || got.Name != "db-policy" || svc.AlertsChannel != "#db" {
		t.Fatalf("database = %+v %+v %v", got, svc, ok)
	}
	if _, _, ok := get("billing"); ok {
		t.Fatal("an unknown service has a policy")
	}

	bad := escalation.Policy{Name: "bad", Repeat: -1, AckTimeout: -time.Second,
		Levels: []escalation.Level{{EscalateAfter: 0}}}
	_, err = escalation.Lookup([]escalation.Service{{Name: "x", Policy: "nope"}}, []escalation.Policy{p, p, bad})
	if err == nil {
		t.Fatal("Lookup accepted a broken configuration")
	}
	for _, want := range []string{"defined twice", "repage_every", "repeat", "ack_timeout", "escalate_after", "no targets", `no policy named "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestNewLevel(t *testing.T) {
	l, err := escalation.NewLevel([]string{"rotation:db-primary/next", "user:carol"}, time.Minute)
	if err != nil || len(l.Targets) != 2 || !l.Targets[0].Next || l.Targets[1].Kind != rotations.TargetUser || l.EscalateAfter != time.Minute {
		t.Fatalf("NewLevel = %+v, %v", l, err)
	}
	if _, err := escalation.NewLevel([]string{"group:dba"}, time.Minute); !errors.Is(err, rotations.ErrBadTarget) {
		t.Fatalf("NewLevel(group:dba) = %v, want ErrBadTarget", err)
	}
}

func TestLogPager(t *testing.T) {
	var buf bytes.Buffer
	p := &escalation.LogPager{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	p.Page(context.Background(), escalation.Page{Incident: 3, Person: "alice", Reason: escalation.ReasonFirst, Level: 1})
	p.Page(context.Background(), escalation.Page{Incident: 3, Channel: "#db", Reason: escalation.ReasonFallback, Why: "nobody"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "person=alice") ||
		!strings.Contains(lines[1], "level=ERROR") || !strings.Contains(lines[1], "channel=#db") {
		t.Fatalf("log:\n%s", buf.String())
	}
}

func TestPagerErrorHelpers(t *testing.T) {
	base := errors.New("rate limited")
	var ra escalation.RetryAfterError
	if err := escalation.RetryAfter(base, 3*time.Second); !errors.As(err, &ra) || ra.RetryAfter() != 3*time.Second || !errors.Is(err, base) {
		t.Fatalf("RetryAfter lost its hint or its cause: %v", err)
	}
	if !escalation.IsPermanent(escalation.Permanent(base)) || escalation.IsPermanent(base) {
		t.Fatal("IsPermanent is wrong")
	}
}

// A LogPager finds delivered the pages it logged, and only the last
// LogPagerMemory of them; a page another process logged is not known.
func TestLogPagerDelivered(t *testing.T) {
	page := func(i int) escalation.Page {
		return escalation.Page{Incident: 1, Key: fmt.Sprintf("INC-1/%d/first/alice", i)}
	}
	cases := []struct {
		name   string
		logged int // pages 0..logged-1 logged
		ask    int
		want   bool
	}{
		{"a page it logged", 3, 1, true},
		{"a page it did not log (another process's)", 3, 7, false},
		{"the newest page at the memory's size", escalation.LogPagerMemory + 5, escalation.LogPagerMemory + 4, true},
		{"the oldest page still remembered", escalation.LogPagerMemory + 5, 5, true},
		{"a page pushed out of memory", escalation.LogPagerMemory + 5, 4, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &escalation.LogPager{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			for i := range tc.logged {
				if err := p.Page(context.Background(), page(i)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := p.Delivered(context.Background(), page(tc.ask))
			if err != nil || got != tc.want {
				t.Fatalf("Delivered(page %d) = %v, %v; want %v", tc.ask, got, err, tc.want)
			}
		})
	}
}
