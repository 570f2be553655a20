//go:build chaos

package chaos

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// The verdict's definitions, each on a small hand-made record: the counts
// must be able to fail.
func TestJudge(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	post := func(sec float64, channel, text, metadata string) fakeslack.Call {
		resp, _ := json.Marshal(map[string]any{"ok": true, "channel": channel, "ts": fmt.Sprintf("%f", sec)})
		p := url.Values{"channel": {channel}, "text": {text}}
		if metadata != "" {
			p.Set("metadata", metadata)
		}
		return fakeslack.Call{Method: "chat.postMessage", OK: true, At: at(sec), Params: p, Response: resp}
	}
	create := func(sec float64, id, name string) fakeslack.Call {
		resp, _ := json.Marshal(map[string]any{"ok": true, "channel": map[string]string{"id": id, "name": name}})
		return fakeslack.Call{Method: "conversations.create", OK: true, At: at(sec), Response: resp}
	}
	announce := []fakeslack.Call{
		create(0.5, "C1", "inc-1-checkout"),
		post(0.6, "C1", "INC-1 [critical] Checkout (svc0, triggered)", ""),
		post(0.7, "CALERT", "INC-1 [critical] Checkout (svc0)", ""),
	}
	first := func(s float64) fakeslack.Call {
		return post(s, "D1", "You are on call for INC-1. Acknowledge to stop the pages. INC-1 [critical] …", "")
	}
	repeat := func(s float64) fakeslack.Call {
		return post(s, "D1", "Reminder: INC-1 is still unacknowledged and yours. INC-1 …", "")
	}
	keyed := func(s float64, key string) fakeslack.Call {
		return post(s, "D1", "Reminder: INC-1 is still unacknowledged and yours.", `{"event_type":"baton_page","event_payload":{"page_key":"`+key+`"}}`)
	}
	bundled := func(s float64, keys ...string) fakeslack.Call {
		md, _ := json.Marshal(map[string]any{"event_type": "baton_page", "event_payload": map[string]any{"key": "b1", "keys": keys}})
		return post(s, "D1", "You are on call for 2 incidents. Acknowledge to stop the pages.\nINC-1 …\nINC-2 …", string(md))
	}
	noticeBundle := func(s float64, keys ...string) fakeslack.Call {
		md, _ := json.Marshal(map[string]any{"event_type": "baton_notice", "event_payload": map[string]any{"key": "notices:ab", "keys": keys}})
		return post(s, "CALERT", "2 new incidents:\nINC-1 …\nINC-2 …", string(md))
	}
	inc := func(alerts int64, acked float64) map[int64]incState {
		s := incState{N: 1, DedupKey: "k1", AlertCount: alerts, Created: t0}
		if acked > 0 {
			s.Acknowledged = at(acked)
		}
		return map[int64]incState{1: s}
	}
	accepted := func(n int) []delivery {
		var ds []delivery
		for range n {
			ds = append(ds, delivery{Key: "k1", Status: 202, Incident: 1, Outcome: "created"})
		}
		return ds
	}
	with := func(extra ...fakeslack.Call) []fakeslack.Call {
		return append(append([]fakeslack.Call{}, announce...), extra...)
	}
	tests := []struct {
		name  string
		in    input
		check func(v verdict) string
	}{
		{"clean: paged every interval until the ack", input{
			Deliveries: accepted(2), Incidents: inc(2, 31), End: at(60),
			Calls: with(first(1), repeat(11), repeat(21), repeat(31)),
		}, func(v verdict) string {
			if v.Lost+v.Doubled+v.AcceptedMissing+v.PagedAfterAck+v.NotAnnounced+v.AnnouncedTwice != 0 || v.AnnouncedOnce != 1 || v.MaxGapBaton != 10*time.Second {
				return fmt.Sprintf("%+v", v)
			}
			return ""
		}},
		{"an accepted alert missing from the count", input{
			Deliveries: accepted(3), Incidents: inc(2, 5), End: at(60), Calls: with(first(1)),
		}, func(v verdict) string { return want("AcceptedMissing", v.AcceptedMissing, 1) }},
		{"an SNS replay is not owed a count", input{
			Deliveries: append(accepted(2), delivery{Key: "k1", Status: 200, Incident: 1, Outcome: "duplicate_delivery"}),
			Incidents:  inc(2, 5), End: at(60), Calls: with(first(1)),
		}, func(v verdict) string { return want("AcceptedMissing", v.AcceptedMissing, 0) }},
		{"one key answered with two numbers", input{
			Deliveries: append(accepted(1), delivery{Key: "k1", Status: 202, Incident: 2}), Incidents: inc(1, 5), End: at(60), Calls: with(first(1)),
		}, func(v verdict) string { return want("KeysSplit", v.KeysSplit, 1) }},
		{"the first page twice", input{
			Deliveries: accepted(1), Incidents: inc(1, 5), End: at(60), Calls: with(first(1), first(40)),
		}, func(v verdict) string { return want("Doubled", v.Doubled, 1) }},
		{"a re-page twice within half an interval", input{
			Deliveries: accepted(1), Incidents: inc(1, 25), End: at(60), Calls: with(first(1), repeat(11), repeat(13)),
		}, func(v verdict) string { return want("Doubled", v.Doubled, 1) }},
		{"the same page key a lease later", input{
			Deliveries: accepted(1), Incidents: inc(1, 55), End: at(60), Calls: with(first(1), keyed(11, "a"), keyed(41, "a"), keyed(51, "b")),
		}, func(v verdict) string { return want("Doubled", v.Doubled, 1) }},
		{"paging stopped on an unacknowledged incident", input{
			Deliveries: accepted(1), Incidents: inc(1, 0), End: at(90), Calls: with(first(1), repeat(11)),
		}, func(v verdict) string { return want("Lost", v.Lost, 1) }},
		{"never paged though due", input{
			Deliveries: accepted(1), Incidents: inc(1, 50), End: at(90), Calls: announce,
		}, func(v verdict) string { return want("Lost", v.Lost, 1) }},
		{"a silence of a lease", input{
			Deliveries: accepted(1), Incidents: inc(1, 60), End: at(90), Calls: with(first(1), repeat(11), repeat(45), repeat(55)),
		}, func(v verdict) string { return want("MaxGapBaton (s)", int(v.MaxGapBaton/time.Second), 34) }},
		{"a silence while Slack refused everything is not baton's", input{
			Deliveries: accepted(1), Incidents: inc(1, 60), End: at(90), Calls: with(first(1), repeat(11), repeat(45), repeat(55)),
			SlackDown: []window{{at(15), at(40)}},
		}, func(v verdict) string { return want("MaxGapBaton (s)", int(v.MaxGapBaton/time.Second), 10) }},
		{"a silence while Redis was down is not baton's", input{
			Deliveries: accepted(1), Incidents: inc(1, 60), End: at(90), Calls: with(first(1), repeat(11), repeat(45), repeat(55)),
			RedisDown: []window{{at(15), at(40)}},
		}, func(v verdict) string { return want("MaxGapBaton (s)", int(v.MaxGapBaton/time.Second), 10) }},
		{"Slack and Redis down at once count once", input{
			Deliveries: accepted(1), Incidents: inc(1, 60), End: at(90), Calls: with(first(1), repeat(11), repeat(45), repeat(55)),
			SlackDown: []window{{at(15), at(30)}}, RedisDown: []window{{at(20), at(35)}},
		}, func(v verdict) string { return want("MaxGapBaton (s)", int(v.MaxGapBaton/time.Second), 14) }},
		{"a page more than an interval after the ack", input{
			Deliveries: accepted(1), Incidents: inc(1, 12), End: at(60), Calls: with(first(1), repeat(11), repeat(30)),
		}, func(v verdict) string { return want("PagedAfterAck", v.PagedAfterAck, 1) }},
		{"two notices", input{
			Deliveries: accepted(1), Incidents: inc(1, 5), End: at(60),
			Calls: with(first(1), post(2, "CALERT", "INC-1 [critical] Checkout (svc0)", "")),
		}, func(v verdict) string { return want("AnnouncedTwice", v.AnnouncedTwice, 1) }},
		{"an ack asked and never applied", input{
			Deliveries: accepted(1), Incidents: inc(1, 0), End: at(30), Calls: with(first(1), repeat(11), repeat(21)),
			Acks: []ackRequest{{Incident: 1, At: at(15), Via: "reaction", OK: true}},
		}, func(v verdict) string { return want("AcksNotApplied", len(v.AcksNotApplied), 1) }},
		{"a bundled page is a page of every incident it names", input{
			Deliveries: accepted(1), Incidents: inc(1, 35), End: at(60),
			Calls: with(first(1), repeat(11), bundled(21, "INC-1/3/repeat/p1", "INC-2/1/first/p1"), repeat(31)),
		}, func(v verdict) string {
			if v.MaxGapBaton != 10*time.Second || v.Doubled != 0 || v.Lost != 0 {
				return fmt.Sprintf("max gap %s, doubled %d, lost %d; want 10s, 0, 0", v.MaxGapBaton, v.Doubled, v.Lost)
			}
			return ""
		}},
		{"a bundled page's key again is a double", input{
			Deliveries: accepted(1), Incidents: inc(1, 35), End: at(60),
			Calls: with(first(1), bundled(11, "INC-1/2/repeat/p1", "INC-2/1/first/p1"), keyed(21, "INC-1/2/repeat/p1"), repeat(31)),
		}, func(v verdict) string { return want("Doubled", v.Doubled, 1) }},
		{"a bundled notice announces every incident it names", input{
			Deliveries: accepted(1), Incidents: inc(1, 5), End: at(60),
			Calls: []fakeslack.Call{announce[0], announce[1], noticeBundle(0.7, "notice:1:1796040000000", "notice:2:1796040000001"), first(1)},
		}, func(v verdict) string {
			if v.AnnouncedOnce != 1 || v.NotAnnounced != 0 {
				return fmt.Sprintf("announced once %d, not announced %d; want 1, 0", v.AnnouncedOnce, v.NotAnnounced)
			}
			return ""
		}},
		{"no channel", input{
			Deliveries: accepted(1), Incidents: inc(1, 5), End: at(60), Calls: []fakeslack.Call{announce[2], first(1)},
		}, func(v verdict) string { return want("NotAnnounced", v.NotAnnounced, 1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Repage = 10 * time.Second
			tc.in.AlertChannels = map[string]bool{"CALERT": true}
			if msg := tc.check(judge(tc.in)); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func want(what string, got, want int) string {
	if got != want {
		return fmt.Sprintf("%s = %d, want %d", what, got, want)
	}
	return ""
}
