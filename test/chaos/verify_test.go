//go:build chaos

package chaos

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// delivery is one alert the load sent, after its retries.
type delivery struct {
	Key      string    // the dedup key baton must give it (sumologic:monitor:<Id>, cloudwatch:<alarm ARN>)
	Source   string    // sumologic, cloudwatch
	At       time.Time // the first attempt was sent
	Answered time.Time // the final answer was read
	Status   int       // the final HTTP status; 0 when no replica answered
	Outcome  string    // "outcome" of the 2xx answer
	Incident int64     // "incident" of the 2xx answer
	Attempts int
}

func (d delivery) accepted() bool { return d.Status >= 200 && d.Status < 300 }

// ackRequest is one acknowledgement the load asked for.
type ackRequest struct {
	Incident int64
	At       time.Time
	Via      string // api, reaction
	OK       bool   // the API answered 200/409, or the reaction was delivered
}

// incState is an incident as baton's API shows it at the end.
type incState struct {
	N            int64
	DedupKey     string
	AlertCount   int64
	Created      time.Time
	Acknowledged time.Time
	Status       string
}

// window is a span of time when the fake Slack refused every call.
type window struct{ From, To time.Time }

// page is one page the fake recorded as delivered (chat.postMessage ok).
type page struct {
	Incident int64
	Channel  string
	At       time.Time
	Reason   string
	Key      string // the page key from message metadata, when the Pager sends one
}

// owner reports whether the page is to the incident's owner (or the
// fallback), the pages whose rhythm the policy promises; notify and handoff
// pages are courtesy.
func (p page) owner() bool { return p.Reason != "notify" && p.Reason != "handoff" }

var (
	incRE   = regexp.MustCompile(`INC-(\d+)\b`)
	leadsRE = []struct {
		re     *regexp.Regexp
		reason string
	}{
		{regexp.MustCompile(`^You are on call for INC-\d+\.`), "first"},
		{regexp.MustCompile(`^Reminder: INC-\d+ is still unacknowledged`), "repeat"},
		{regexp.MustCompile(`^INC-\d+ was escalated to you`), "escalated"},
		{regexp.MustCompile(`^INC-\d+ was assigned to you`), "assigned"},
		{regexp.MustCompile(`^INC-\d+ was acknowledged too long ago`), "retriggered"},
		{regexp.MustCompile(`^For your information: INC-\d+`), "notify"},
		{regexp.MustCompile(`^INC-\d+ moved on \(`), "handoff"},
		{regexp.MustCompile(`^Nobody could be paged for INC-\d+`), "fallback"},
		{regexp.MustCompile(`^You are paged for INC-\d+`), "other"},
	}
)

// pageReason names the page a message text is, or "" when it is no page.
func pageReason(text string) string {
	for _, l := range leadsRE {
		if l.re.MatchString(text) {
			return l.reason
		}
	}
	return ""
}

// metadataKey is the page key carried in a message's metadata
// ({"event_type":…,"event_payload":{"page_key"|"key":…}}), or "".
func metadataKey(raw string) string {
	if raw == "" {
		return ""
	}
	var m struct {
		Payload map[string]any `json:"event_payload"`
	}
	if json.Unmarshal([]byte(raw), &m) != nil {
		return ""
	}
	for _, f := range []string{"page_key", "key"} {
		if s, ok := m.Payload[f].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// bundledKeys is the keys a bundle's metadata carries: a bundled page's
// ({"event_type":"baton_page","event_payload":{"key":<bundle>,"keys":[…]}})
// or a bundled notice's ("baton_notice"); nil for any other message.
func bundledKeys(raw string) []string {
	if raw == "" {
		return nil
	}
	var m struct {
		Type    string `json:"event_type"`
		Payload struct {
			Keys []string `json:"keys"`
		} `json:"event_payload"`
	}
	if json.Unmarshal([]byte(raw), &m) != nil || (m.Type != "baton_page" && m.Type != "baton_notice") {
		return nil
	}
	return m.Payload.Keys
}

// parseNoticeKey reads a notice's key, "notice:<n>:<ms>" (bot's): the
// incident it announces.
func parseNoticeKey(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, "notice:")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil && n > 0
}

// parsePageKey reads a page key, "INC-<n>/<rev>/<reason>/<who>"
// (escalation's Decide): the incident and why it was paged.
func parsePageKey(key string) (n int64, reason string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) < 4 || !strings.HasPrefix(parts[0], "INC-") {
		return 0, "", false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(parts[0], "INC-"), 10, 64)
	if err != nil || n < 1 {
		return 0, "", false
	}
	return n, parts[2], true
}

// posted is one successful chat.postMessage: where it landed and what it said.
type posted struct {
	Channel, TS, Thread, Text, Metadata string
	Blocks, Attachments                 string // the raw JSON parameters, "" when absent
	At                                  time.Time
}

// postsOf lists the successful chat.postMessage calls. The channel is the
// one the fake answered with (a DM is asked for by user id or D… id).
func postsOf(calls []fakeslack.Call) []posted {
	var out []posted
	for _, c := range calls {
		if c.Method != "chat.postMessage" || !c.OK {
			continue
		}
		var r struct {
			Channel string `json:"channel"`
			TS      string `json:"ts"`
		}
		_ = json.Unmarshal(c.Response, &r)
		out = append(out, posted{Channel: r.Channel, TS: r.TS, Thread: c.Param("thread_ts"),
			Text: c.Param("text"), Metadata: c.Param("metadata"),
			Blocks: c.Param("blocks"), Attachments: c.Param("attachments"), At: c.At})
	}
	return out
}

// channelsCreated maps each incident number to the ids of the channels
// created for it (conversations.create ok, named inc-<n>-…).
func channelsCreated(calls []fakeslack.Call) map[int64][]string {
	out := map[int64][]string{}
	for _, c := range calls {
		if c.Method != "conversations.create" || !c.OK {
			continue
		}
		var r struct {
			Channel struct{ ID, Name string } `json:"channel"`
		}
		_ = json.Unmarshal(c.Response, &r)
		rest, ok := strings.CutPrefix(r.Channel.Name, "inc-")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, "-")
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			out[n] = append(out[n], r.Channel.ID)
		}
	}
	return out
}

// input is everything the verdict is computed from.
type input struct {
	Deliveries    []delivery
	Acks          []ackRequest
	Incidents     map[int64]incState
	Calls         []fakeslack.Call
	AlertChannels map[string]bool // channel ids of the services' alerts channels
	Start         time.Time       // when the load began (t0 of the fault log)
	End           time.Time       // when the record was read
	Repage        time.Duration
	SlackDown     []window // Slack refusing everything: not baton's silence
	RedisDown     []window // Redis killed until it answers again: no replica can page (the store is the truth)
}

// verdict holds every count of the table.
type verdict struct {
	Sent, Accepted, Duplicates int
	AcceptedMissing            int // accepted alerts whose incident lacks them
	KeysSplit                  int // one dedup key answered with two incident numbers
	NumbersReused              int // one incident number answered for two dedup keys
	StoredUnanswered           int // incidents whose alerts never got a 2xx (a replica died mid-request)

	Incidents                                       int
	AnnouncedOnce, NotAnnounced, AnnouncedTwice     int
	ChannelsTwice, CardsTwice, NoticesTwice         int
	NoChannel, NoCard, NoNotice                     int
	NotAnnouncedOf                                  []int64
	Pages, OwnerPages, Lost, Doubled                int
	DoubledBy                                       string // "page key" or "(DM, incident, reason, interval)"
	MaxGap, MaxGapBaton, MaxFirstPage               time.Duration
	MaxGapIncident                                  int64
	MaxGapSpan                                      [2]time.Duration // the longest gap's ends, after Start
	AcksAsked, AcksApplied, PagedAfterAck           int
	AcksNotApplied                                  []string // "INC-n by reaction"
	LostIncidents, DoubledIncidents, LateAfterAckOf []int64
	DoubledDetail                                   []string // "INC-n repeat to D…: 12:00:01.234 and 12:00:01.456"
}

// judge computes the verdict. Definitions (RELIABILITY.md repeats them):
//
//   - an owner page is a DM or fallback post whose lead is not notify/handoff;
//   - lost: an incident due a page that paging abandoned: no owner page
//     at all though it was unacknowledged for more than repage+30 s, or
//     unacknowledged at the end with no owner page in the last repage+30 s;
//   - doubled: the same page key delivered twice when pages carry one;
//     otherwise a second "first" page of an incident, or two pages of the
//     same reason to the same DM for the same incident less than half a
//     re-page interval apart (a replay a whole lease later looks like a late
//     re-page to this rule and shows in the gap instead);
//   - gap: from the incident's creation to its first owner page, between
//     consecutive owner pages, and from the last one to the ack (or the end),
//     while unacknowledged; MaxGapBaton subtracts the time the fake Slack was
//     refusing every call, which no replica can page through.
func judge(in input) verdict {
	down := merged(append(slices.Clone(in.SlackDown), in.RedisDown...))
	var v verdict
	v.Sent = len(in.Deliveries)

	// Alerts.
	type keyInfo struct {
		expected int64
		numbers  map[int64]bool
	}
	keys := map[string]*keyInfo{}
	numKeys := map[int64]map[string]bool{}
	for _, d := range in.Deliveries {
		if !d.accepted() {
			continue
		}
		v.Accepted++
		ki := keys[d.Key]
		if ki == nil {
			ki = &keyInfo{numbers: map[int64]bool{}}
			keys[d.Key] = ki
		}
		if d.Outcome == "duplicate_delivery" {
			v.Duplicates++
		} else {
			ki.expected++
		}
		ki.numbers[d.Incident] = true
		if numKeys[d.Incident] == nil {
			numKeys[d.Incident] = map[string]bool{}
		}
		numKeys[d.Incident][d.Key] = true
	}
	for _, ki := range keys {
		if len(ki.numbers) > 1 {
			v.KeysSplit++
		}
		var have int64
		for n := range ki.numbers {
			if inc, ok := in.Incidents[n]; ok {
				have = max(have, inc.AlertCount)
			}
		}
		if have < ki.expected {
			v.AcceptedMissing += int(ki.expected - have)
		}
	}
	for n, ks := range numKeys {
		if len(ks) > 1 {
			v.NumbersReused++
		}
		for k := range ks {
			if inc, ok := in.Incidents[n]; ok && inc.DedupKey != k {
				v.NumbersReused++
			}
		}
	}
	for n := range in.Incidents {
		if numKeys[n] == nil {
			v.StoredUnanswered++
		}
	}

	// Announcements.
	v.Incidents = len(in.Incidents)
	chans := channelsCreated(in.Calls)
	incChannel := map[string]int64{}
	for n, ids := range chans {
		for _, id := range ids {
			incChannel[id] = n
		}
	}
	posts := postsOf(in.Calls)
	cards, notices := map[int64]int{}, map[int64]int{}
	var pages []page
	for _, p := range posts {
		// A bundled page names several incidents; its metadata carries the
		// key of every page in it: each is a page of its incident.
		// A bundled notice (one message for a burst of new incidents in an
		// alerts channel) likewise carries every notice's key.
		if ks := bundledKeys(p.Metadata); len(ks) > 0 && p.Thread == "" {
			for _, k := range ks {
				if n, reason, ok := parsePageKey(k); ok {
					pages = append(pages, page{Incident: n, Channel: p.Channel, At: p.At, Reason: reason, Key: k})
				} else if n, ok := parseNoticeKey(k); ok && in.AlertChannels[p.Channel] {
					notices[n]++
				}
			}
			continue
		}
		m := incRE.FindStringSubmatch(p.Text)
		if m == nil || p.Thread != "" {
			continue
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		reason := pageReason(p.Text)
		switch {
		case reason != "" && (strings.HasPrefix(p.Channel, "D") || reason == "fallback"):
			pages = append(pages, page{Incident: n, Channel: p.Channel, At: p.At, Reason: reason, Key: metadataKey(p.Metadata)})
		case incChannel[p.Channel] == n && strings.HasPrefix(p.Text, m[0]+" "):
			cards[n]++
		case in.AlertChannels[p.Channel] && strings.HasPrefix(p.Text, m[0]+" "):
			notices[n]++
		}
	}
	for n := range in.Incidents {
		c, k, o := len(chans[n]), cards[n], notices[n]
		switch {
		case c == 1 && k == 1 && o == 1:
			v.AnnouncedOnce++
		case c > 1 || k > 1 || o > 1:
			v.AnnouncedTwice++
		default:
			v.NotAnnounced++
			v.NotAnnouncedOf = append(v.NotAnnouncedOf, n)
		}
		if c == 0 {
			v.NoChannel++
		}
		if k == 0 {
			v.NoCard++
		}
		if o == 0 {
			v.NoNotice++
		}
		if c > 1 {
			v.ChannelsTwice++
		}
		if k > 1 {
			v.CardsTwice++
		}
		if o > 1 {
			v.NoticesTwice++
		}
	}

	// Pages.
	v.Pages = len(pages)
	byInc := map[int64][]page{}
	for _, p := range pages {
		byInc[p.Incident] = append(byInc[p.Incident], p)
	}
	keyed := map[string]int{}
	v.DoubledBy = "(DM, incident, reason, interval)"
	doubledInc := map[int64]bool{}
	for n, ps := range byInc {
		sort.Slice(ps, func(i, j int) bool { return ps[i].At.Before(ps[j].At) })
		type slot struct {
			ch, reason string
		}
		last := map[slot]time.Time{}
		for _, p := range ps {
			if p.Key != "" {
				v.DoubledBy = "page key (message metadata)"
				keyed[p.Key]++
				if keyed[p.Key] >= 2 {
					v.Doubled++
					doubledInc[n] = true
					v.DoubledDetail = append(v.DoubledDetail, fmt.Sprintf("INC-%d key %s again at %s", n, p.Key, p.At.Format("15:04:05.000")))
				}
				continue
			}
			s := slot{p.Channel, p.Reason}
			prev, seen := last[s]
			if seen && (p.Reason == "first" || p.At.Sub(prev) < in.Repage/2) {
				v.Doubled++
				doubledInc[n] = true
				v.DoubledDetail = append(v.DoubledDetail, fmt.Sprintf("INC-%d %s to %s at %s and %s", n, p.Reason, p.Channel,
					prev.Format("15:04:05.000"), p.At.Format("15:04:05.000")))
			}
			last[s] = p.At
		}
	}
	const slack = 30 * time.Second
	acked := map[int64]bool{}
	for n, inc := range in.Incidents {
		var own []time.Time
		for _, p := range byInc[n] {
			if p.owner() {
				own = append(own, p.At)
			}
		}
		v.OwnerPages += len(own)
		stop := in.End
		if !inc.Acknowledged.IsZero() {
			stop = inc.Acknowledged
			acked[n] = true
		}
		// Silences while unacknowledged.
		marks := []time.Time{inc.Created}
		for _, t := range own {
			if t.After(stop) {
				break
			}
			marks = append(marks, t)
		}
		if len(marks) > 1 {
			v.MaxFirstPage = max(v.MaxFirstPage, marks[1].Sub(inc.Created))
		}
		marks = append(marks, stop)
		for i := 1; i < len(marks); i++ {
			g := marks[i].Sub(marks[i-1])
			gb := g - overlap(marks[i-1], marks[i], down)
			v.MaxGap = max(v.MaxGap, g)
			if gb > v.MaxGapBaton {
				v.MaxGapBaton, v.MaxGapIncident = gb, n
				v.MaxGapSpan = [2]time.Duration{marks[i-1].Sub(in.Start), marks[i].Sub(in.Start)}
			}
		}
		// Abandoned: unacknowledged long enough to be owed a page and none came.
		lastPage := marks[len(marks)-2] // the creation when there is no page
		owed := stop.Sub(lastPage) - overlap(lastPage, stop, down)
		if (len(marks) == 2 && owed > in.Repage+slack) || (!acked[n] && owed > in.Repage+slack) {
			v.Lost++
			v.LostIncidents = append(v.LostIncidents, n)
		}
		// Pages after an ack, beyond one interval.
		if acked[n] {
			for _, t := range own {
				if t.After(stop.Add(in.Repage)) {
					v.PagedAfterAck++
					v.LateAfterAckOf = append(v.LateAfterAckOf, n)
					break
				}
			}
		}
	}
	for n := range doubledInc {
		v.DoubledIncidents = append(v.DoubledIncidents, n)
	}
	slices.Sort(v.DoubledIncidents)
	slices.Sort(v.LostIncidents)
	slices.Sort(v.NotAnnouncedOf)
	slices.Sort(v.LateAfterAckOf)

	for _, a := range in.Acks {
		v.AcksAsked++
		if acked[a.Incident] {
			v.AcksApplied++
		} else {
			v.AcksNotApplied = append(v.AcksNotApplied, fmt.Sprintf("INC-%d by %s", a.Incident, a.Via))
		}
	}
	return v
}

// overlap is how much of [from, to) the windows cover.
// merged is ws (in any order, possibly overlapping) as disjoint windows,
// so that a time both Slack and Redis were down counts once.
func merged(ws []window) []window {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b window) int { return a.From.Compare(b.From) })
	var out []window
	for _, w := range ws {
		if n := len(out); n > 0 && !w.From.After(out[n-1].To) {
			out[n-1].To = later(out[n-1].To, w.To)
			continue
		}
		out = append(out, w)
	}
	return out
}

// overlap is how much of [from, to] the disjoint windows ws cover.
func overlap(from, to time.Time, ws []window) time.Duration {
	var d time.Duration
	for _, w := range ws {
		a, b := later(from, w.From), earlier(to, w.To)
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// row is one line of the table: a count, its value and its target.
type row struct{ What, Value, Target string }

// failures are the rows whose target is missed.
func (v verdict) rows(repage time.Duration) (rows []row, failures []string) {
	check := func(what string, ok bool, value, target string) {
		mark := "ok"
		if !ok {
			mark = "FAIL"
			failures = append(failures, fmt.Sprintf("%s = %s (target %s)", what, value, target))
		}
		rows = append(rows, row{what, value, target + " " + mark})
	}
	info := func(what, value string) { rows = append(rows, row{what, value, ""}) }
	d := func(x time.Duration) string { return x.Round(100 * time.Millisecond).String() }

	info("alerts sent (after sender retries)", strconv.Itoa(v.Sent))
	info("alerts accepted (2xx)", fmt.Sprintf("%d (%d SNS replays answered duplicate_delivery)", v.Accepted, v.Duplicates))
	check("accepted alerts missing from their incident", v.AcceptedMissing == 0, strconv.Itoa(v.AcceptedMissing), "0")
	check("dedup keys answered with two incident numbers", v.KeysSplit == 0, strconv.Itoa(v.KeysSplit), "0")
	check("incident numbers answered for two alerts", v.NumbersReused == 0, strconv.Itoa(v.NumbersReused), "0")
	info("incidents stored without a 2xx (replica died mid-request)", strconv.Itoa(v.StoredUnanswered))
	info("incidents", strconv.Itoa(v.Incidents))
	check("incidents announced exactly once (channel, card, notice)", v.AnnouncedOnce == v.Incidents, strconv.Itoa(v.AnnouncedOnce), strconv.Itoa(v.Incidents))
	check("incidents not announced", v.NotAnnounced == 0,
		fmt.Sprintf("%d (no channel %d, no card %d, no notice %d) %s", v.NotAnnounced, v.NoChannel, v.NoCard, v.NoNotice, short(v.NotAnnouncedOf)), "0")
	check("incidents announced twice", v.AnnouncedTwice == 0,
		fmt.Sprintf("%d (channels %d, cards %d, notices %d)", v.AnnouncedTwice, v.ChannelsTwice, v.CardsTwice, v.NoticesTwice), "0")
	info("pages delivered (owner pages)", fmt.Sprintf("%d (%d)", v.Pages, v.OwnerPages))
	check("pages lost (incidents whose paging stopped)", v.Lost == 0, fmt.Sprintf("%d %s", v.Lost, short(v.LostIncidents)), "0")
	check("pages doubled, by "+v.DoubledBy, v.Doubled == 0, fmt.Sprintf("%d %s", v.Doubled, short(v.DoubledIncidents)), "0")
	info("max silence of an unacknowledged incident", d(v.MaxGap))
	check("max page gap, Slack and Redis outages excluded", v.MaxGapBaton <= repage+10*time.Second,
		fmt.Sprintf("%s (INC-%d, %s → %s)", d(v.MaxGapBaton), v.MaxGapIncident, d(v.MaxGapSpan[0]), d(v.MaxGapSpan[1])), "≤ "+d(repage+10*time.Second))
	info("max first page after creation", d(v.MaxFirstPage))
	info("acks asked (API, or ✅ on the latest page)", strconv.Itoa(v.AcksAsked))
	check("acks asked but never applied", len(v.AcksNotApplied) == 0,
		fmt.Sprintf("%d %s", len(v.AcksNotApplied), strings.Join(v.AcksNotApplied, ", ")), "0")
	check("acked incidents paged more than one interval after the ack", v.PagedAfterAck == 0, fmt.Sprintf("%d %s", v.PagedAfterAck, short(v.LateAfterAckOf)), "0")
	return rows, failures
}

// short lists up to 8 incident numbers.
func short(ns []int64) string {
	if len(ns) == 0 {
		return ""
	}
	var parts []string
	for i, n := range ns {
		if i == 8 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, "INC-"+strconv.FormatInt(n, 10))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// markdown renders rows as a Markdown table.
func markdown(rows []row) string {
	var b strings.Builder
	b.WriteString("| count | value | target |\n| --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.What, r.Value, r.Target)
	}
	return b.String()
}
