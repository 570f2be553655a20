package demo

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/escalation/escalationtest"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/rotations"
	"github.com/batonhq/baton/rotations/overrides"
)

// TestStoreRunsOnMiniredis runs the incident store's main paths and the
// escalation engine against the in-memory Redis the demo falls back to. The
// store is Lua (EVALSHA in pipelines, cjson, XADD, ZADD LT/NX/XX, HINCRBY,
// SET PX…): if miniredis lacked any of it, this test says which step broke,
// and the demo would have to refuse the in-memory fallback.
func TestStoreRunsOnMiniredis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := StartRedis(ctx, RedisOptions{Mode: RedisMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Kind != RedisInMemory || !strings.Contains(r.Note, "NOTHING will be kept") {
		t.Fatalf("kind %q note %q", r.Kind, r.Note)
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	wake := escalation.NewWakeup() // the policies below have no ack timeout to give the store
	svc := incident.NewStore(rdb, "baton-demo:", incident.WithOnJobDue(wake.Notify))
	defer svc.Close()

	alert := func(key string, st incident.AlertStatus) incident.Alert {
		return incident.Alert{Source: "generic", Service: "database", DedupKey: key, Summary: "disk full on db-1",
			Severity: incident.SevCritical, Status: st, Details: map[string]any{"host": "db-1"}}
	}
	step := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s on miniredis: %v", name, err)
		}
	}

	// open.lua: create, then dedup (single calls and a batched pipeline of EVALSHA).
	first, err := svc.Open(ctx, alert("k1", incident.AlertFiring))
	step("open", err)
	again, err := svc.Open(ctx, alert("k1", incident.AlertFiring))
	step("open again", err)
	if !first.Created || again.Created || again.Number != first.Number || again.AlertCount != 2 {
		t.Fatalf("dedup: first %+v again %+v", first, again)
	}
	errs := make(chan error, 20)
	for range 20 {
		go func() { _, err := svc.Open(ctx, alert("storm", incident.AlertFiring)); errs <- err }()
	}
	for range 20 {
		step("batched open", <-errs)
	}
	dup, err := svc.OpenDelivery(ctx, alert("k1", incident.AlertFiring), "sns-1")
	step("open delivery", err)
	dup2, err := svc.OpenDelivery(ctx, alert("k1", incident.AlertFiring), "sns-1")
	step("open delivery again", err)
	if dup.Outcome != incident.OutcomeRepeated || dup2.Outcome != incident.OutcomeDuplicate {
		t.Fatalf("delivery ids: %s then %s", dup.Outcome, dup2.Outcome)
	}
	list, err := svc.List(ctx, incident.FilterOpen, 0)
	step("list", err)
	if len(list) != 2 || list[1].AlertCount != 20 {
		t.Fatalf("open incidents: %+v", list)
	}
	d, err := svc.Details(ctx, first.Number)
	step("details", err)
	if d["host"] != "db-1" {
		t.Fatalf("details %v", d)
	}

	// transition.lua: ack, assign, escalate, note, resolve; recovery through open.lua.
	_, err = svc.Ack(ctx, first.Number, "bob", "")
	step("ack", err)
	_, err = svc.Ack(ctx, first.Number, "bob", "")
	if !errors.Is(err, incident.ErrAlreadyAcknowledged) {
		t.Fatalf("second ack: %v", err)
	}
	_, err = svc.Assign(ctx, first.Number, "carol", "bob")
	step("assign", err)
	_, err = svc.Escalate(ctx, first.Number, "carol", "")
	step("escalate", err)
	_, err = svc.Note(ctx, first.Number, "carol", "looking")
	step("note", err)
	inc, err := svc.Resolve(ctx, first.Number, "carol", "fixed")
	step("resolve", err)
	if inc.Status != incident.StatusResolved {
		t.Fatalf("status %s", inc.Status)
	}
	rec, err := svc.Open(ctx, alert("storm", incident.AlertResolved))
	step("recovery", err)
	if rec.Outcome != incident.OutcomeResolved {
		t.Fatalf("recovery outcome %s", rec.Outcome)
	}

	// The audit stream (XADD) got every lifecycle event.
	n, err := rdb.XLen(ctx, "baton-demo:{inc}:events").Result()
	step("xlen", err)
	if n < 7 {
		t.Fatalf("events stream has %d entries", n)
	}

	// Chat queue, refs and links (ZADD LT, HSET, SET PX).
	step("schedule chat", svc.ScheduleChat(ctx, first.Number, time.Now()))
	step("chat refs", svc.SetChatRefs(ctx, first.Number, map[string]string{"channel": "C1"}))
	step("link chat", svc.LinkChat(ctx, "C1", first.Number, time.Hour))
	got, err := svc.ChatLink(ctx, "C1")
	step("chat link", err)
	if got != first.Number {
		t.Fatalf("chat link %d", got)
	}

	// Overrides (their own Lua).
	ovs := overrides.New(rdb, "baton-demo:")
	ovs.Known = rotations.Known{Person: func(string) bool { return true }, Rotation: func(string) bool { return true }}
	_, err = ovs.Create(ctx, rotations.Override{Rotation: "db-primary", Person: "dave",
		From: time.Now(), Until: time.Now().Add(time.Hour)}, time.Now())
	step("override create", err)

	// The escalation engine: claim, renew, commit, release (claim.lua,
	// renew.lua, commit.lua, release.lua) by running it for real.
	pager := &escalationtest.Recorder{}
	pols, err := escalation.Lookup([]escalation.Service{{Name: "database", Policy: "p"}},
		[]escalation.Policy{{Name: "p", RepageEvery: time.Hour, Levels: []escalation.Level{
			mustLevel(t, "user:alice", 200*time.Millisecond), mustLevel(t, "user:bob", time.Hour)}}})
	step("policies", err)
	runner, err := escalation.NewRunner(escalation.Options{Incidents: svc, Wakeup: wake, Pager: pager, Policies: pols,
		PollInterval: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	step("runner", err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(runCtx) }()
	defer func() { stop(); <-done }()

	esc, err := svc.Open(ctx, alert("escalate-me", incident.AlertFiring))
	step("open for the runner", err)
	waitCtx, waitCancel := context.WithTimeout(ctx, 10*time.Second)
	defer waitCancel()
	if _, err := pager.WaitMatch(waitCtx, 1, func(p escalation.Page) bool {
		return p.Incident == esc.Number && p.Person == "bob" && p.Reason == escalation.ReasonEscalated
	}); err != nil {
		t.Fatalf("no escalation to bob on miniredis: %v; pages %+v", err, pager.Pages())
	}
	for {
		inc, tl, err := svc.Get(ctx, esc.Number)
		step("get", err)
		if inc.Owner == "bob" && inc.Level == 2 && hasEvent(tl, incident.EventEscalated) {
			break
		}
		select {
		case <-waitCtx.Done():
			t.Fatalf("escalation never committed: %+v", inc)
		case <-time.After(20 * time.Millisecond):
		}
	}
	dead, err := svc.ListDead(ctx)
	step("list dead", err)
	if len(dead) != 0 {
		t.Fatalf("dead letters: %+v", dead)
	}
}

func mustLevel(t *testing.T, target string, after time.Duration) escalation.Level {
	t.Helper()
	l, err := escalation.NewLevel([]string{target}, after)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func hasEvent(tl []incident.Event, typ incident.EventType) bool {
	for _, e := range tl {
		if e.Type == typ {
			return true
		}
	}
	return false
}
