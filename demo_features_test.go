package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/demo"
	"github.com/batonhq/baton/internal/fakeslack"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/rotations/overrides"
)

// sandboxState reads the sandbox page's view (GET /sandbox/state).
func sandboxState(t *testing.T, pageURL string) demo.View {
	t.Helper()
	resp, err := http.Get(pageURL + "sandbox/state")
	if err != nil {
		t.Fatalf("sandbox state: %v", err)
	}
	defer resp.Body.Close()
	var v demo.View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("sandbox state: %v", err)
	}
	return v
}

// dmButton finds in the view the newest button with actionID on a message
// of person's DM whose text contains text; ok false when there is none.
func dmButton(v demo.View, person, actionID, text string) (demo.Action, bool) {
	var slackID string
	for _, p := range v.People {
		if p.ID == person {
			slackID = p.SlackID
		}
	}
	var im fakeslack.Channel
	for _, c := range v.Workspace.Channels {
		if c.IsIM && c.User == slackID {
			im = c
		}
	}
	msgs := v.Workspace.Messages[im.ID]
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if !strings.Contains(m.Text, text) {
			continue
		}
		if val, label, ok := demo.ButtonIn(m.Blocks, actionID, ""); ok {
			return demo.Action{As: slackID, Kind: "button", Channel: im.ID, TS: m.TS, ActionID: actionID, Value: val, Label: label}, true
		}
	}
	return demo.Action{}, false
}

// waitDMButton polls the sandbox until dmButton finds the button.
func (d *runningDemo) waitDMButton(pageURL, person, actionID, text string, timeout time.Duration) demo.Action {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if a, ok := dmButton(sandboxState(d.t, pageURL), person, actionID, text); ok {
			return a
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no %s button in %s's DM (text %q) within %s\nstdout:\n%s", actionID, person, text, timeout, d.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// press sends a to the sandbox as the page does (POST /sandbox/act).
func press(t *testing.T, pageURL string, a demo.Action) {
	t.Helper()
	b, _ := json.Marshal(a)
	resp, err := http.Post(pageURL+"sandbox/act", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("act: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("act %+v: %s %s", a, resp.Status, body)
	}
}

// TestDemoScenarioShowsIssue18 runs `baton demo --scenario` against a
// private redis-server and checks that each feature of issue 18 happens in
// it, end to end through the sandbox: a maintenance window holds a batch
// alert and summarises it when it ends; bob is paged into the payments
// incident, re-paged, and his page acknowledged; email pages reach the
// demo's SMTP sink and the page lists them; heartbeat nightly-export is
// missed and opens an incident; carol's ack lease asks "Still working on
// INC-2?" and [Yes, 1 more minute] renews it; at the batch handoff dave is
// asked to take the pager and [Take it] makes him the holder.
func TestDemoScenarioShowsIssue18(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	d := startDemo(t, []string{"--scenario", "--redis", srv.Addr, "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil)
	pageURL := d.waitOutput(sandboxLineRE, 30*time.Second)
	for _, line := range []string{`handoff  rotation batch hands over at \d\d:\d\d UTC: dave is asked to \[Take it\]`, `email    the demo's SMTP sink on 127\.0\.0\.1:\d+`} {
		d.waitOutput(regexp.MustCompile(line), 5*time.Second)
	}

	// Page-in: bob DMed, reminded, then his page acknowledged (by the scenario).
	d.waitOutput(regexp.MustCompile(`INC-2: bob paged in by carol`), 30*time.Second)
	d.waitOutput(regexp.MustCompile(`bob re-paged into INC-2: they have not acknowledged their page`), 30*time.Second)
	d.waitOutput(regexp.MustCompile(`INC-2: bob acknowledged their page`), 40*time.Second)

	// Maintenance: the batch alert held, then released with the summary.
	held := d.waitOutput(regexp.MustCompile(`(INC-\d+) held: service batch is in maintenance`), 30*time.Second)
	d.waitOutput(regexp.MustCompile(`maintenance summary posted in #batch-alerts: 1 alert arrived in 1 incident\. Still firing, paged now: `+held), 60*time.Second)
	d.waitOutput(regexp.MustCompile(held+` released`), 10*time.Second)

	// Ack lease: carol is asked; [Yes, 1 more minute] renews the lease.
	d.waitOutput(regexp.MustCompile(`carol DMed: "Still working on INC-2\?"`), 60*time.Second)
	yes := d.waitDMButton(pageURL, "carol", "baton_stillon", "Still working on INC-2?", 10*time.Second)
	if yes.Label != "Yes, 1 more minute" {
		t.Errorf("the renew button reads %q", yes.Label)
	}
	press(t, pageURL, yes)
	d.waitOutput(regexp.MustCompile(`baton answered carol \(only they see it\): Thanks: INC-2 stays yours`), 15*time.Second)

	// Email: pages of batch's first level reach the sink, and the page lists them.
	d.waitOutput(regexp.MustCompile(`email about `+held+` received by the demo's SMTP sink, to bob@example\.com`), 30*time.Second)
	v := sandboxState(t, pageURL)
	if len(v.Emails) == 0 || v.Emails[0].To[0] != "bob@example.com" || !strings.Contains(v.Emails[0].Subject, held) || v.Emails[0].Body == "" {
		t.Fatalf("emails on the page: %+v", v.Emails)
	}

	// Heartbeat: missed after its last beat, an incident of batch opens.
	hb := d.waitOutput(regexp.MustCompile(`(INC-\d+) opened: service batch, critical: a heartbeat was missed`), 40*time.Second)

	// Handoff: dave asked, [Take it] makes him the holder.
	d.waitOutput(regexp.MustCompile(`dave DMed at the handoff: "You're on call for batch — take the pager" \[Take it\]`), 90*time.Second)
	take := d.waitDMButton(pageURL, "dave", "baton_takepager", "You're on call for batch", 10*time.Second)
	press(t, pageURL, take)
	d.waitOutput(regexp.MustCompile(`baton answered dave \(only they see it\): You hold the pager of batch until`), 15*time.Second)
	ov := overrides.New(srv.Client(), "baton-demo:")
	// The value is the handoff instant (unix s) << 20 | the rotation's tag (bot/shift.go).
	at := time.Unix(mustAtoi(t, take.Value)>>20, 0)
	h, err := ov.GetHandoff(context.Background(), "batch", at)
	if err != nil || !h.Accepted || h.Incoming != "dave" {
		t.Fatalf("the handoff in Redis: %+v %v", h, err)
	}
	// The lease was renewed: INC-2 is not triggered again by it.
	st := incident.NewStore(srv.Client(), "baton-demo:")
	defer st.Close()
	inc, tl, err := st.Get(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl {
		if e.Type == incident.EventRetriggered {
			t.Fatalf("INC-2 was triggered again although carol said yes: %+v (status %s)", e, inc.Status)
		}
	}
	if !strings.Contains(d.out.String(), hb+": ") {
		t.Errorf("the heartbeat's incident %s was not paged:\n%s", hb, d.out)
	}
	if code := d.shutdown(); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, d.errOut)
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// discordSandboxState reads the Discord sandbox page's view.
func discordSandboxState(t *testing.T, pageURL string) demo.DiscordView {
	t.Helper()
	resp, err := http.Get(pageURL + "sandbox/state")
	if err != nil {
		t.Fatalf("sandbox state: %v", err)
	}
	defer resp.Body.Close()
	var v demo.DiscordView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("sandbox state: %v", err)
	}
	return v
}

// waitDiscordDMButton polls the Discord sandbox for the newest button of
// baton's action in person's DM on a message whose content has text.
func (d *runningDemo) waitDiscordDMButton(pageURL, person, action, text string, timeout time.Duration) demo.Action {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := discordSandboxState(d.t, pageURL)
		var userID string
		for _, p := range v.People {
			if p.ID == person {
				userID = p.DiscordID
			}
		}
		for _, c := range v.Guild.Channels {
			if c.Recipient != userID || userID == "" {
				continue
			}
			msgs := v.Guild.Messages[c.ID]
			for i := len(msgs) - 1; i >= 0; i-- {
				if !strings.Contains(msgs[i].Content, text) {
					continue
				}
				for _, id := range msgs[i].Buttons() {
					if strings.HasPrefix(id, "baton:"+action+":") {
						return demo.Action{As: userID, Kind: "button", Channel: c.ID, Message: msgs[i].ID, CustomID: id}
					}
				}
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no %s button in %s's DM (text %q) within %s\nstdout:\n%s", action, person, text, timeout, d.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDemoScenarioShowsIssue18Discord is TestDemoScenarioShowsIssue18 on
// Discord (`baton demo --chat discord --scenario`): the same features
// shown in the terminal story, bob's page-in acknowledged by the
// scenario's press in his DM, the emails listed on the Discord page, and
// the story in plain text (no Discord markdown escapes).
func TestDemoScenarioShowsIssue18Discord(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	d := startDemo(t, []string{"--chat", "discord", "--scenario", "--redis", srv.Addr, "--listen", "127.0.0.1:0", "--sandbox", "127.0.0.1:0"}, nil)
	pageURL := d.waitOutput(sandboxLineRE, 30*time.Second)

	// Page-in: bob DMed, reminded, then his page acknowledged (by the scenario).
	d.waitOutput(regexp.MustCompile(`INC-2: bob paged in by carol`), 30*time.Second)
	d.waitOutput(regexp.MustCompile(`bob DMed: paged into INC-2 \[Acknowledge my page\]`), 10*time.Second)
	d.waitOutput(regexp.MustCompile(`bob re-paged into INC-2: they have not acknowledged their page`), 30*time.Second)
	d.waitOutput(regexp.MustCompile(`bob pressed Acknowledge my page in bob's DM`), 40*time.Second)
	d.waitOutput(regexp.MustCompile(`INC-2: bob acknowledged their page`), 15*time.Second)

	// Maintenance: the batch alert held, then released with the summary.
	held := d.waitOutput(regexp.MustCompile(`(INC-\d+) held: service batch is in maintenance`), 30*time.Second)
	d.waitOutput(regexp.MustCompile(`maintenance summary posted in #batch-alerts: 1 alert arrived in 1 incident\. Still firing, paged now: `+held), 60*time.Second)
	d.waitOutput(regexp.MustCompile(held+` released`), 10*time.Second)

	// Ack lease: carol is asked; [Yes, 1 more minute] renews the lease.
	d.waitOutput(regexp.MustCompile(`carol DMed: "Still working on INC-2\?"`), 60*time.Second)
	yes := d.waitDiscordDMButton(pageURL, "carol", "stillon", `Still working on INC\-2?`, 10*time.Second)
	// Nobody but carol can press in her DM (Discord shows it to her alone).
	intruder := yes
	for _, p := range discordSandboxState(t, pageURL).People {
		if p.ID == "dave" {
			intruder.As = p.DiscordID
		}
	}
	b, _ := json.Marshal(intruder)
	resp, err := http.Post(pageURL+"sandbox/act", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), "carol's DM") {
		t.Fatalf("dave pressing in carol's DM: %s %s", resp.Status, body)
	}
	press(t, pageURL, yes)
	d.waitOutput(regexp.MustCompile(`baton answered carol \(only they see it\): Thanks: INC-2 stays yours`), 15*time.Second)

	// Email: pages of batch's first level reach the sink, and the Discord page lists them.
	d.waitOutput(regexp.MustCompile(`email about `+held+` received by the demo's SMTP sink, to bob@example\.com`), 30*time.Second)
	v := discordSandboxState(t, pageURL)
	if len(v.Emails) == 0 || v.Emails[0].To[0] != "bob@example.com" || !strings.Contains(v.Emails[0].Subject, held) || v.Emails[0].Body == "" {
		t.Fatalf("emails on the Discord page: %+v", v.Emails)
	}

	// Heartbeat: missed after its last beat, an incident of batch opens.
	d.waitOutput(regexp.MustCompile(`(INC-\d+) opened: service batch, critical: a heartbeat was missed`), 40*time.Second)

	// Handoff: dave asked, [Take it] makes him the holder.
	d.waitOutput(regexp.MustCompile(`dave DMed at the handoff: "You're on call for batch — take the pager" \[Take it\]`), 90*time.Second)
	take := d.waitDiscordDMButton(pageURL, "dave", "takepager", "on call for batch", 10*time.Second)
	press(t, pageURL, take)
	d.waitOutput(regexp.MustCompile(`baton answered dave \(only they see it\): You hold the pager of batch until`), 15*time.Second)

	// The story is plain text: no Discord escape shows in the terminal.
	if m := regexp.MustCompile(`\\[-.:()#@*_~|>\[\]]`).FindString(d.out.String()); m != "" {
		t.Errorf("the story shows Discord escapes (%q):\n%s", m, d.out)
	}
	if code := d.shutdown(); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, d.errOut)
	}
}
