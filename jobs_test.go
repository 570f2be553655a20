package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/internal/redistest"
)

// unreachable fails every page to a person for good, as a pager does for
// someone with no chat account; fallback pages to a channel succeed.
type unreachable struct{}

func (unreachable) Page(_ context.Context, p escalation.Page) error {
	if p.Person != "" {
		return escalation.Permanent(errors.New(p.Person + " has no chat account"))
	}
	return nil
}

func TestJobsCommandListsDeadLetters(t *testing.T) {
	rs := redistest.Start(t)
	env := []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"}
	cfg, err := LoadConfig("config.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewAppWith(cfg, slog.New(slog.DiscardHandler), AppOptions{Pager: unreachable{}, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	defer func() { cancel(); <-done; app.Close() }()

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"jobs", "--config", "config.yaml"}, &out, &errb, env, time.Now); code != 0 || !strings.Contains(out.String(), "0 dead letters") {
		t.Fatalf("empty queue: exit %d %q %q", code, out.String(), errb.String())
	}
	a := &testApp{url: "http://" + ln.Addr().String(), redis: rs}
	if code, body := a.call(t, "POST", "/v1/alerts/generic", genToken, `{"service":"database","summary":"replica lag"}`); code != 202 {
		t.Fatalf("alert: %d %v", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.Reset()
		errb.Reset()
		code := run(ctx, []string{"jobs", "--config", "config.yaml"}, &out, &errb, env, time.Now)
		if code != 0 {
			t.Fatalf("jobs: exit %d: %s", code, errb.String())
		}
		if strings.Contains(out.String(), "1 dead letters") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter appeared:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "INC-1") || !strings.Contains(out.String(), "has no chat account") {
		t.Fatalf("dead letter listing:\n%s", out.String())
	}
	// Redis down: a plain sentence and exit 1, not a hang or a panic.
	rs.Stop()
	out.Reset()
	errb.Reset()
	if code := run(ctx, []string{"jobs", "--config", "config.yaml"}, &out, &errb, env, time.Now); code != 1 || !strings.Contains(errb.String(), "cannot read the queue from Redis") {
		t.Fatalf("redis down: exit %d %q", code, errb.String())
	}
}
