package slack_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakeslack"
)

// leaseEnv is an env whose payments policy has an ack lease of lease (the
// "still on it?" DM comes min(5m, lease/6) before its end), escalating to
// bob escalate after a page, and whose fake delivers the bot's own channel
// posts as message events too.
func leaseEnv(t *testing.T, lease, escalate time.Duration) *env {
	cfg := defaults()
	cfg.ackLease, cfg.escalate = lease, escalate
	cfg.fakeOpts = append(cfg.fakeOpts, fakeslack.WithMessageEvents())
	return newEnv(t, cfg)
}

// ackedByAlice opens an incident, waits for alice's page and has her
// acknowledge it in its channel; it returns the incident and its channel.
func (e *env) ackedByAlice() (int64, string) {
	e.t.Helper()
	n := e.open("payments", "db", "db down")
	ch, _ := e.announced(n)
	e.waitFor("alice's first page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	if r := e.slash(e.alice, ch, "/incident", "ack"); !strings.Contains(r, "You acknowledged") {
		e.t.Fatalf("ack: %q", r)
	}
	return n, ch
}

// stillOnIt are the "still on it?" DMs to user about incident n.
func (e *env) stillOnIt(user fakeslack.User, n int64) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range e.dms(user) {
		if strings.Contains(m.Text, fmt.Sprintf("INC-%d ", n)) && strings.Contains(blocksText(m), fmt.Sprintf("Still working on INC-%d?", n)) {
			out = append(out, m)
		}
	}
	return out
}

// escalationState is incident n's escalation state as the runner reads it.
func (e *env) escalationState(n int64) incident.EscalationState {
	e.t.Helper()
	_, st, err := e.svc.LoadEscalation(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// retriggers are incident n's retriggered timeline events.
func (e *env) retriggers(n int64) []incident.Event {
	e.t.Helper()
	_, tl, err := e.svc.Get(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []incident.Event
	for _, ev := range tl {
		if ev.Type == incident.EventRetriggered {
			out = append(out, ev)
		}
	}
	return out
}

// post writes text in channel as user, as a person typing would; it
// returns the message's ts.
func (e *env) post(user fakeslack.User, channel, text string) string {
	e.t.Helper()
	ts, _, err := e.fake.PostAsUser(user.ID, channel, text)
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

// seen waits until the bot has handled n channel messages in all.
func (e *env) seen(n int) {
	e.t.Helper()
	e.logged(n, "channel message seen")
}

// The owner's message in the incident's channel renews the lease: the
// warning came, the message answered it, and at the old expiry nothing
// happens; the renewed lease warns again and, with no answer, runs out:
// the incident is triggered again, alice is paged, and escalation resumes
// from her level (bob is paged when it times out). Messages of anyone
// else, in another channel, edits and the bot's own posts renew nothing,
// and no message text is logged.
func TestAckLeaseRenewedByAMessageThenRunsOut(t *testing.T) {
	const lease = 900 * time.Millisecond // warned 150ms before its end
	e := leaseEnv(t, lease, 1200*time.Millisecond)
	n := e.open("payments", "db", "db down")
	ch, _ := e.announced(n)
	e.waitFor("alice's first page", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	// Before the ack a message of hers renews nothing (nothing to renew);
	// she edits it later.
	early := e.post(e.alice, ch, "secret-text-1 looking")
	e.seen(1)
	if r := e.slash(e.alice, ch, "/incident", "ack"); !strings.Contains(r, "You acknowledged") {
		t.Fatalf("ack: %q", r)
	}
	ackAt := e.escalationState(n).AckAt

	// Nobody but the owner, nowhere but the channel, nothing but a new message.
	seenBefore := strings.Count(e.log.String(), "channel message seen")
	edit, err := e.fake.EditAsUser(e.alice.ID, ch, early, "secret-text-5 edited")
	if err != nil {
		t.Fatal(err)
	}
	e.post(e.bob, ch, "secret-text-2 bob here")
	e.post(e.mallory, ch, "secret-text-3 a stranger")
	e.post(e.alice, e.alerts.ID, "secret-text-4 elsewhere")
	e.handled(edit)
	e.seen(seenBefore + 3) // the edit is not a message; the bot's own posts are not either
	if st := e.escalationState(n); !st.LeaseAt.IsZero() {
		t.Fatalf("renewed by someone else's message, another channel or an edit: %+v", st)
	}

	e.waitFor("the still-on-it DM", func() bool { return len(e.stillOnIt(e.alice, n)) == 1 })
	dm := blocksText(e.stillOnIt(e.alice, n)[0])
	for _, want := range []string{"baton_stillon", "baton_handback", "Hand it back", "Yes, 1s more"} {
		if !strings.Contains(dm, want) {
			t.Fatalf("the DM lacks %q: %s", want, dm)
		}
	}
	if time.Since(ackAt) > lease {
		t.Fatalf("the warning came after the lease ran out (%s after the ack)", time.Since(ackAt))
	}
	e.post(e.alice, ch, "secret-text-6 still digging")
	e.waitFor("the lease renewed", func() bool { return !e.escalationState(n).LeaseAt.IsZero() })
	renewedAt := e.escalationState(n).LeaseAt

	// The renewed lease warns again (after the old expiry): by then the
	// old expiry has passed without a re-trigger.
	e.waitFor("the second still-on-it DM", func() bool { return len(e.stillOnIt(e.alice, n)) == 2 })
	if inc := e.incident(n); inc.Status != incident.StatusAcknowledged || len(e.retriggers(n)) != 0 {
		t.Fatalf("re-triggered at the old expiry: %s, %+v", inc.Status, e.retriggers(n))
	}
	if !time.Now().After(ackAt.Add(lease)) {
		t.Fatalf("the second warning came before the first lease's end")
	}

	// No answer: it runs out.
	e.waitFor("alice paged again", func() bool { return e.dmsAbout(e.alice, n, "triggered again, and yours") == 1 })
	if time.Since(renewedAt) < lease {
		t.Fatalf("re-triggered %s after the renewal, before the lease of %s ran out", time.Since(renewedAt), lease)
	}
	page := e.dms(e.alice)[len(e.dms(e.alice))-1]
	if !strings.Contains(page.Text, "your acknowledgement ran out with no word from you") {
		t.Fatalf("the page: %q", page.Text)
	}
	if inc := e.incident(n); inc.Status != incident.StatusTriggered || inc.Owner != "alice" {
		t.Fatalf("after the lease: %+v", inc)
	}
	rt := e.retriggers(n)
	if len(rt) != 1 || rt[0].By != "baton" || !strings.Contains(rt[0].Note, "no word from the owner") || rt[0].Level != 1 {
		t.Fatalf("retriggered events: %+v", rt)
	}
	// Escalation resumes from level 1: unacknowledged, it reaches bob.
	e.waitFor("bob paged by the escalation", func() bool { return e.dmsAbout(e.bob, n, "escalated to you (level 2)") == 1 })
	if strings.Contains(e.log.String(), "secret-text") {
		t.Fatal("a message's text reached the log")
	}
}

// The DM's buttons: a stranger's click changes nothing; "Yes" renews (the
// next warning is the renewed lease's); "Hand it back" re-triggers at
// once, long before the lease's end, pages alice and says so.
func TestAckLeaseButtons(t *testing.T) {
	const lease = 1500 * time.Millisecond // warned 250ms before its end
	e := leaseEnv(t, lease, time.Hour)
	n, _ := e.ackedByAlice()
	e.waitFor("the still-on-it DM", func() bool { return len(e.stillOnIt(e.alice, n)) == 1 })
	dm := e.stillOnIt(e.alice, n)[0]
	num := strconv.FormatInt(n, 10)

	click := func(user fakeslack.User, action string) string {
		t.Helper()
		id, err := e.fake.SendBlockAction(user.ID, dm.Channel, dm.TS, action, num)
		if err != nil {
			t.Fatal(err)
		}
		e.waitFor("the reply to "+action, func() bool { return len(e.fake.ResponsePosts(id)) > 0 })
		var texts []string // the redraw of the DM, if any, and the reply
		for _, p := range e.fake.ResponsePosts(id) {
			texts = append(texts, unescapeHTML(p.Text))
		}
		return strings.Join(texts, "\n")
	}
	tests := []struct {
		name, action string
		user         fakeslack.User
		reply        string
	}{
		{"bob's yes renews nothing", "baton_stillon", e.bob, "is not acknowledged by you"},
		{"bob cannot hand it back", "baton_handback", e.bob, "Only INC-" + num + "'s owner can hand it back"},
		{"a stranger's click", "baton_handback", e.mallory, "You are not in baton's people"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := click(tc.user, tc.action); !strings.Contains(r, tc.reply) {
				t.Fatalf("reply %q, want %q", r, tc.reply)
			}
			if st := e.escalationState(n); !st.LeaseAt.IsZero() || !st.HandedBack.IsZero() {
				t.Fatalf("changed: %+v", st)
			}
		})
	}
	if r := click(e.alice, "baton_stillon"); !strings.Contains(r, "stays yours") {
		t.Fatalf("yes: %q", r)
	}
	renewed := e.escalationState(n).LeaseAt
	if renewed.IsZero() {
		t.Fatal("yes renewed nothing")
	}
	// The first DM is redrawn ("you said you are still on it", Hand it
	// back alone); the renewed lease's warning is a new one.
	first := dm.TS
	e.waitFor("the renewed lease's DM", func() bool {
		s := e.stillOnIt(e.alice, n)
		return len(s) == 1 && s[0].TS != first
	})
	if len(e.retriggers(n)) != 0 {
		t.Fatalf("re-triggered despite the yes: %+v", e.retriggers(n))
	}
	for _, m := range e.dms(e.alice) {
		if m.TS == first && (!strings.Contains(m.Text, "you said you are still on it") || strings.Contains(blocksText(m), "baton_stillon")) {
			t.Fatalf("the first DM after yes: %q %s", m.Text, blocksText(m))
		}
	}
	dm = e.stillOnIt(e.alice, n)[0]
	if r := click(e.alice, "baton_handback"); !strings.Contains(r, "You handed INC-"+num+" back") {
		t.Fatalf("hand back: %q", r)
	}
	e.waitFor("alice paged again", func() bool { return e.dmsAbout(e.alice, n, "you handed it back") == 1 })
	if time.Since(renewed) >= lease {
		t.Fatalf("handing back waited for the lease's end (%s)", time.Since(renewed))
	}
	rt := e.retriggers(n)
	if len(rt) != 1 || rt[0].By != "alice" || rt[0].Note != "handed back by the owner" {
		t.Fatalf("retriggered events: %+v", rt)
	}
	if inc := e.incident(n); inc.Status != incident.StatusTriggered || inc.Owner != "alice" {
		t.Fatalf("after handing back: %+v", inc)
	}
	// Handed back, the DM is redrawn saying so, without its buttons.
	e.waitFor("the DM redrawn", func() bool {
		for _, m := range e.dms(e.alice) {
			if m.TS == dm.TS {
				return strings.Contains(m.Text, "You handed INC-"+num+" back") && !strings.Contains(blocksText(m), "baton_")
			}
		}
		return false
	})
}

// The warning and the expiry are due jobs in Redis: the engine restarted
// after the ack and again after the warning, alice still gets exactly one
// "still on it?" DM and is paged exactly once when the lease runs out.
func TestAckLeaseAcrossRestarts(t *testing.T) {
	const lease = 900 * time.Millisecond
	e := leaseEnv(t, lease, time.Hour)
	n, _ := e.ackedByAlice()
	e.restart()
	e.waitFor("the still-on-it DM", func() bool { return len(e.stillOnIt(e.alice, n)) == 1 })
	e.restart()
	e.waitFor("alice paged again", func() bool { return e.dmsAbout(e.alice, n, "triggered again, and yours") == 1 })
	e.idle()
	if got := len(e.stillOnIt(e.alice, n)); got != 1 {
		t.Fatalf("%d still-on-it DMs", got)
	}
	if got := e.dmsAbout(e.alice, n, "triggered again, and yours"); got != 1 || len(e.retriggers(n)) != 1 {
		t.Fatalf("%d re-pages, %d re-triggers", got, len(e.retriggers(n)))
	}
}
