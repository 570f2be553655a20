package bot

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// Page bundling: the pages due for one person at about the same time go out
// as one direct message that names every incident (a Bundle), because a chat
// takes about one message a second into one channel (Slack; a DM is a
// channel), so twenty pages one by one keep the last waiting twenty seconds.
//
// The Pager gathers a person's pages in Redis, from every replica, and the
// replica whose turn it is posts them as one message (gather.go): after a
// quiet spell the first page goes at once, alone; pages due while a message to that DM is in flight or within the window
// after it go together in the next. A batch of one is a single page; a
// batch of several is a Bundle. Every page of a bundle gets the bundle's outcome:
// delivered together, or refused together (a 429, a pacing Defer: certainly
// not delivered), so the runner's page record stays exact per page.
//
// A bundle is remembered in Redis (bundleTTL) so that "Acknowledge all" and
// the redraw after acknowledgements know its incidents:
//
//	P chat:C:bundle:<id>   hash: "b" → the Bundle as posted (JSON),
//	                       "m:<channel>/<msg>" → digest of what that message shows,
//	                       "k" → its page keys (JSON), "at" → its post (unix ms; replay.go)
//	P chat:C:bkey:<key>    string: the bundle a page key went out in (Delivered)
//	P chat:C:bmsg          hash: "<channel>/<msg>" → bundle id (reactions)
//
// Each incident of a bundle records the message in its chat references as
// "b:<channel>/<msg>" = bundle id (or "<id>|<status>" once redrawn for that
// status), so its chat sync redraws the bundle when it is acknowledged or
// resolved elsewhere.

// Bundle is one message that pages a person about several incidents at
// once. It is a model; adapters render it (Slack: a section per listed
// incident with its Acknowledge button, the rest one line each, an
// "Acknowledge all N" button).
type Bundle struct {
	// ID names the bundle (bundleID: the same for the same pages), carried
	// by the "Acknowledge all" button; 17 characters.
	ID string `json:"id"`
	// Fallback: the bundle went to an alerts channel because nobody could
	// be paged for its incidents; whoever takes one acknowledges it.
	Fallback bool `json:"fallback,omitempty"`
	// Reason is why nobody could be paged, when every incident of a
	// fallback bundle shares it (a lone fallback page says it too); when
	// they differ, each entry's Why carries its own.
	Reason string `json:"reason,omitempty"`
	// Entries are the incidents: the pages by incident number, then the
	// entries for information by incident number (SortEntries).
	Entries []BundleEntry `json:"entries"`
}

// BundleEntry is one incident of a bundle.
type BundleEntry struct {
	Number   int64             `json:"number"`
	Ref      string            `json:"ref"`
	Title    string            `json:"title"`
	Service  string            `json:"service"`
	Severity incident.Severity `json:"severity"`
	// Status is the incident's status as last drawn; Owner its owner then.
	Status incident.Status `json:"status"`
	Owner  *PersonRef      `json:"owner,omitempty"`
	// Level is the escalation level the page was sent at.
	Level int `json:"level,omitempty"`
	// Why is a few words on why this page came ("new", "reminder",
	// "escalated to you").
	Why string `json:"why,omitempty"`
	// Channel is the incident's chat channel id, for a link.
	Channel string `json:"channel,omitempty"`
	// Info: the page only tells (someone else owns the incident now, or it
	// moved on); it has no Acknowledge button and "Acknowledge all" leaves
	// it alone.
	Info bool `json:"info,omitempty"`
}

// Actionable reports whether the entry asks its reader to acknowledge: a
// page (not Info) of an incident still triggered.
func (e BundleEntry) Actionable() bool {
	return !e.Info && e.Status == incident.StatusTriggered
}

// BundleListed is how many of a bundle's incidents an adapter shows in full
// (with a button each); the rest are listed one line each, and past what
// fits, counted, pointing to /incident list. Slack allows 50 blocks a
// message; ten sections keep a bundle readable on a phone.
const BundleListed = 10

// MaxBundle bounds the pages in one bundle: its notification text names
// every incident (a line each, well under Slack's 40,000 characters).
const MaxBundle = 100

// bundleTTL is how long a bundle's record is kept: "Acknowledge all" on an
// older bundle says it is too old.
const bundleTTL = 7 * 24 * time.Hour

// Triggered is how many of the bundle's incidents still need an
// acknowledgement (what "Acknowledge all N" counts): its actionable entries.
func (b Bundle) Triggered() int {
	n := 0
	for _, e := range b.Entries {
		if e.Actionable() {
			n++
		}
	}
	return n
}

// Lone is the bundle's one page when it pages for exactly one incident and
// the rest only tell (a "moved on" notice that joined a page): adapters
// draw that page as a single page is drawn, with a card's buttons
// (EntryActions), and no "Acknowledge all", which would count one.
func (b Bundle) Lone() (BundleEntry, bool) {
	if pages, _ := b.Counts(); pages != 1 {
		return BundleEntry{}, false
	}
	for _, e := range b.Entries {
		if !e.Info {
			return e, true
		}
	}
	return BundleEntry{}, false
}

// EntryActions are the buttons entry e of the bundle carries: a lone
// page's are a single page's (Acknowledge, Resolve, Escalate) while it is
// triggered; any other actionable entry's is Acknowledge.
func (b Bundle) EntryActions(e BundleEntry) []Action {
	if !e.Actionable() {
		return nil
	}
	if _, lone := b.Lone(); lone {
		return []Action{ActionAck, ActionResolve, ActionEscalate}
	}
	return []Action{ActionAck}
}

// AckAllCount is the N of the bundle's "Acknowledge all N" button: its
// Triggered entries; 0, no button, when none is or when it pages for one
// incident alone (Lone), which has its own Acknowledge.
func (b Bundle) AckAllCount() int {
	if _, lone := b.Lone(); lone {
		return 0
	}
	return b.Triggered()
}

// ListWords are the words after /incident list that show the incidents a
// bundle stands for, newest first: "mine" for a person's bundle (they own
// what they are paged for), "triggered" for a fallback bundle (what nobody
// acknowledged yet), "" for a bundle that only tells.
func (b Bundle) ListWords() string {
	switch pages, _ := b.Counts(); {
	case pages == 0:
		return ""
	case b.Fallback:
		return "triggered"
	}
	return "mine"
}

// ListPointer is the sentence that points from a bundle too long to show
// whole to the command that lists what it stands for; list is how the
// chat writes "/incident list" followed by words ("/incident list mine").
func (b Bundle) ListPointer(list func(words string) string) string {
	switch b.ListWords() {
	case "mine":
		return "Type " + list("mine") + " to see your open incidents, newest first."
	case "triggered":
		return "Type " + list("triggered") + " to see the open incidents nobody acknowledged yet, newest first."
	}
	return fmt.Sprintf("Type %s to see the %d newest open incidents.", list(""), ListShown)
}

// Counts are how many of the bundle's entries page the reader (pages: not
// Info, whatever their status now) and how many only tell (info).
func (b Bundle) Counts() (pages, info int) {
	for _, e := range b.Entries {
		if e.Info {
			info++
		}
	}
	return len(b.Entries) - info, info
}

// Title is the bundle's heading: what the reader is paged for, and the
// entries for information counted apart ("17 incidents, 1 for your
// information"; "11 incidents for your information" when it only tells).
// Adapters put their mark before it (BundleMark).
func (b Bundle) Title() string {
	pages, info := b.Counts()
	switch {
	case pages == 0:
		return fmt.Sprintf("%s for your information", incidents(info))
	case info == 0:
		return incidents(pages)
	}
	return fmt.Sprintf("%s, %d for your information", incidents(pages), info)
}

// BundleMark says what a bundle's heading stands for.
type BundleMark int

// What a bundle's heading stands for (Bundle.Mark).
const (
	// MarkPage: incidents still need an acknowledgement.
	MarkPage BundleMark = iota
	// MarkDone: every incident it pages for is taken care of.
	MarkDone
	// MarkInfo: it only tells.
	MarkInfo
)

// Mark is what the bundle's heading stands for now.
func (b Bundle) Mark() BundleMark {
	switch pages, _ := b.Counts(); {
	case pages == 0:
		return MarkInfo
	case b.Triggered() == 0:
		return MarkDone
	}
	return MarkPage
}

// incidents is "1 incident", "2 incidents".
func incidents(n int) string {
	return fmt.Sprintf("%d incident%s", n, plural(int64(n)))
}

// SortEntries puts the bundle's entries in the order they are listed:
// the pages first, by incident number, then the entries for information,
// by incident number. The pages of one bundle come from concurrent jobs,
// so the order they were paged in is noise.
func (b *Bundle) SortEntries() {
	slices.SortStableFunc(b.Entries, func(x, y BundleEntry) int {
		if x.Info != y.Info {
			if x.Info {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.Number, y.Number)
	})
}

// Lead is the sentence above the bundle.
func (b Bundle) Lead() string {
	pages, info := b.Counts()
	open := b.Triggered()
	var s string
	switch {
	case pages == 0:
		s = fmt.Sprintf("For your information: %s moved on.", incidents(info))
	case open == 0:
		s = fmt.Sprintf("All %s of this page are taken care of; nothing more to do.", incidents(pages))
		if pages == 1 {
			s = "The incident of this page is taken care of; nothing more to do."
		}
	case b.Fallback && b.Reason != "":
		s = fmt.Sprintf("Nobody could be paged for %s (%s). Whoever takes one, acknowledge it.", incidents(pages), b.Reason)
		if open < pages {
			s += fmt.Sprintf(" %d still need%s an acknowledgement.", open, verbS(open))
		}
	case b.Fallback:
		s = fmt.Sprintf("Nobody could be paged for %s. Whoever takes one, acknowledge it.", incidents(pages))
		if open < pages {
			s += fmt.Sprintf(" %d still need%s an acknowledgement.", open, verbS(open))
		}
	case open < pages:
		s = fmt.Sprintf("You are on call for %s; %d still need%s an acknowledgement.", incidents(pages), open, verbS(open))
	default:
		s = fmt.Sprintf("You are on call for %s. Acknowledge to stop the pages.", incidents(pages))
	}
	if info > 0 && pages > 0 {
		s += fmt.Sprintf(" %d more for your information.", info)
	}
	return s
}

// maxReason bounds the reason a fallback bundle repeats per incident.
const maxReason = 200

// explain gives a fallback bundle the reason nobody could be paged, as a
// lone fallback page gives it (the delivery error: "page to ghost could not
// be delivered: …"): one Reason when every page shares it, else each entry
// its own in its Why. items are the pages in the order of b.Entries.
func (b *Bundle) explain(items []*pageItem) {
	reasons := make([]string, len(items))
	shared := true
	for i, it := range items {
		if it.pg.Reason == escalation.ReasonFallback {
			reasons[i] = text.Truncate(strings.TrimSpace(it.pg.Why), maxReason)
		}
		shared = shared && reasons[i] != "" && reasons[i] == reasons[0]
	}
	if shared && len(reasons) > 0 {
		b.Reason = reasons[0]
		return
	}
	for i, r := range reasons {
		if r != "" {
			b.Entries[i].Why += ": " + r
		}
	}
}

// verbS is the -s of a verb whose subject is n things ("1 still needs").
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// Text is the bundle as plain text, for notifications: the lead and every
// incident, one after the other ("INC-4 [critical] title (service)").
func (b Bundle) Text() string {
	var s strings.Builder
	s.WriteString(b.Lead())
	for _, e := range b.Entries {
		fmt.Fprintf(&s, "\n%s [%s] %s (%s%s)", e.Ref, e.Severity, text.Truncate(e.Title, 80), e.Service, e.StatusWords())
	}
	return s.String()
}

// StatusWords is the entry's state as a suffix: ", new" while triggered
// (its Why), ", acknowledged by Bob", ", resolved".
func (e BundleEntry) StatusWords() string {
	switch e.Status {
	case incident.StatusAcknowledged:
		if e.Owner != nil {
			return ", acknowledged by " + e.Owner.Name
		}
		return ", acknowledged"
	case incident.StatusResolved:
		return ", resolved"
	}
	if e.Why != "" {
		return ", " + e.Why
	}
	return ""
}

// infoReason: pages of these reasons only tell.
func infoReason(r escalation.Reason) bool {
	return r == escalation.ReasonNotify || r == escalation.ReasonHandoff
}

// digest is a short hash of what the bundle shows.
func (b Bundle) digest() string {
	raw, _ := json.Marshal(b)
	sum := sha1.Sum(raw)
	return hex.EncodeToString(sum[:8])
}

// bundleID names the bundle of pages with these keys: the same pages make
// the same id (a retried bundle is the same bundle).
func bundleID(keys []string) string {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "\n")))
	return "b" + hex.EncodeToString(sum[:8])
}

// why is a bundle entry's few words on why the page came.
func why(pg escalation.Page) string {
	switch pg.Reason {
	case escalation.ReasonFirst:
		return "new"
	case escalation.ReasonRepeat:
		return "reminder"
	case escalation.ReasonEscalated:
		return fmt.Sprintf("escalated to you (level %d)", pg.Level)
	case escalation.ReasonAssigned:
		return "assigned to you"
	case escalation.ReasonRetriggered:
		return "triggered again"
	case escalation.ReasonNotify:
		return fmt.Sprintf("reached level %d; someone else owns it", pg.Level)
	case escalation.ReasonHandoff:
		return "moved on: you are no longer paged for it"
	case escalation.ReasonFallback:
		if strings.HasPrefix(pg.Key, "pagein:") {
			return "a page-in could not be delivered"
		}
		return "nobody could be paged"
	}
	return string(pg.Reason)
}

// pageItem is one page being gathered for its message (gather.go), and the
// bundle it went out in.
type pageItem struct {
	pg     escalation.Page
	card   Card
	refs   map[string]string
	bundle escalation.Bundle
}

// entry is the page as a bundle entry.
func (it *pageItem) entry() BundleEntry {
	c := it.card
	e := BundleEntry{Number: c.Number, Ref: c.Ref, Title: c.Title, Service: c.Service, Severity: c.Severity,
		Status: c.Status, Owner: c.Owner, Level: it.pg.Level, Why: why(it.pg), Channel: c.Channel,
		Info: infoReason(it.pg.Reason)}
	return e
}

// BundleWindow is Options.BundleWindow's default: the least time between
// two page messages to one target that the Pager arranges, so the pages
// due within it after a message go together in the next. A chat takes
// about one message a second into one channel (Slack; a DM is one), so a
// message sooner would only wait for its rate-limit slot, while the pages
// that came meanwhile waited for the slot after it.
const BundleWindow = time.Second

// rejoin is how long after a rate limit's Retry-After the next message to
// that target still waits: the pages it refused are retried by their jobs
// when it has passed, and must be running again to join that message
// rather than the one after it.
const rejoin = 300 * time.Millisecond

// hold is how long the next message to target waits for more pages
// (until nextPost[target], this process's record; pageHold adds every
// replica's); a page to a target quiet for BundleWindow goes at once.
func (p *Pager) hold(target string) time.Duration {
	p.mu.Lock()
	next, ok := p.nextPost[target]
	p.mu.Unlock()
	if !ok {
		return 0
	}
	return next.Sub(p.c.now())
}

// sent records that a page message to target was just answered, err its
// outcome: the next one gathers pages for BundleWindow, or, after a rate
// limit's Retry-After, until the refused pages are back (plus rejoin).
func (p *Pager) sent(target string, err error) {
	now := p.c.now()
	next := now.Add(p.c.bundleWindow)
	var ra escalation.RetryAfterError
	if errors.As(err, &ra) {
		next = later(next, now.Add(ra.RetryAfter()+rejoin))
	} else if d, deferred := escalation.IsDeferred(err); deferred {
		next = later(next, now.Add(d+rejoin))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nextPost == nil {
		p.nextPost = map[string]time.Time{}
	}
	for t, at := range p.nextPost { // forget the quiet ones: the map stays small
		if now.After(at) {
			delete(p.nextPost, t)
		}
	}
	p.nextPost[target] = next
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// post sends pages to target now: one page alone as a single page,
// several as a Bundle. Every page gets the post's outcome; those delivered
// in a bundle have it.bundle set.
func (p *Pager) post(ctx context.Context, target string, items []*pageItem) []error {
	all := items
	errs := make([]error, len(items))
	fill := func(err error) []error {
		for i, it := range all {
			if slices.Contains(items, it) {
				errs[i] = err
			}
		}
		return errs
	}
	// The pages waited for their bundle (up to BundleWindow): leave out
	// those whose incident was acknowledged or resolved meanwhile. Their
	// runs' commits are refused (the revision moved), and the transition
	// already queued whatever comes next.
	items, errs = p.stillDue(ctx, items, errs)
	if len(items) == 0 {
		return errs
	}
	if len(items) == 1 {
		it := items[0]
		return fill(p.postOne(ctx, target, it.pg, it.card, it.refs))
	}
	c := p.c
	b := Bundle{Fallback: items[0].pg.Person == ""}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.pg.Key
		b.Entries = append(b.Entries, it.entry())
	}
	if b.Fallback {
		b.explain(items)
	}
	b.ID = bundleID(keys)
	b.SortEntries()
	if err := p.c.saveBundle(ctx, b, keys); err != nil {
		return fill(escalation.Unsent(err))
	}
	// Key is the bundle's id (the same pages, the same id; a chat that
	// dedups a retried post by its key never answers a bundle with another
	// holding fewer pages), Keys every page's, which the delivery check finds.
	chID, ts, err := c.chat.Post(ctx, target, Message{Text: b.Text(), Bundle: &b, Key: b.ID, Keys: keys})
	if err != nil {
		if refusedForCertain(err) {
			c.forgetBundle(ctx, b.ID, keys)
		}
		return fill(fmt.Errorf("bundle of %d pages: %w", len(items), err))
	}
	at := c.now()
	p.bundlePosted(ctx, b, target, chID, ts, items)
	for _, it := range items {
		it.bundle = escalation.Bundle{ID: b.ID, At: at}
	}
	c.log.Debug("pages delivered in one bundle", "bundle", b.ID, "pages", len(items), "person", items[0].pg.Person)
	return errs
}

// errNoLongerDue is the error of a page left out of its bundle because its
// incident is no longer triggered: it was certainly not sent.
var errNoLongerDue = escalation.ErrNotTriggered

// stillDue returns the items whose incident is still triggered, and errs
// with errNoLongerDue (Unsent) for the others (by position in items).
// Informational pages (handoff: "moved on, you are no longer paged";
// notify: "someone else owns it") are left out too once the incident is
// acknowledged or resolved: they would then say something false, as to
// whoever acknowledged while the handoff waited for its bundle (they own
// it now). While the incident is triggered they go: its owner field is
// still the previous owner's until the step that pages them commits, so it
// cannot tell who will own it. An incident that cannot be read now is
// kept: the page is sent (a double beats a loss).
func (p *Pager) stillDue(ctx context.Context, items []*pageItem, errs []error) ([]*pageItem, []error) {
	var due []*pageItem
	for i, it := range items {
		inc, _, err := p.c.inc.Get(ctx, it.pg.Incident)
		if err == nil && inc.Status != incident.StatusTriggered {
			errs[i] = escalation.Unsent(fmt.Errorf("page %s: %w", it.pg.Key, errNoLongerDue))
			continue
		}
		due = append(due, it)
	}
	return due, errs
}

// firstErr is the first non-nil error of errs.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// saveBundle records b and which bundle each page key went out in, before
// it is posted: "Acknowledge all" and a delivery check read them.
func (c *Bot) saveBundle(ctx context.Context, b Bundle, keys []string) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	_, err = c.st.rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
		pp.HSet(ctx, c.st.bundle(b.ID), "b", raw)
		pp.Expire(ctx, c.st.bundle(b.ID), bundleTTL)
		for _, k := range keys {
			pp.Set(ctx, c.st.bundleKey(k), b.ID, bundleTTL)
		}
		return c.saveBundlePost(ctx, pp, b.ID, keys)
	})
	if err != nil {
		return fmt.Errorf("record bundle %s: %w", b.ID, err)
	}
	return nil
}

// bundlePosted records a bundle delivered as message ts in chID: the
// message → bundle link (a reaction on it acknowledges them all), the
// digest of what it shows, and in each incident's chat references the
// message (so an acknowledgement elsewhere redraws it), replacing the
// incident's earlier page in that DM. Failures are logged: the pages were
// delivered.
func (p *Pager) bundlePosted(ctx context.Context, b Bundle, target, chID, ts string, items []*pageItem) {
	c := p.c
	c.learnChannel(ctx, target, chID)
	msg := chID + "/" + ts
	_, err := c.st.rdb.Pipelined(ctx, func(pp redis.Pipeliner) error {
		pp.HSet(ctx, c.st.bundleMsgs(), msg, b.ID)
		pp.HSet(ctx, c.st.bundle(b.ID), "m:"+msg, b.digest())
		return nil
	})
	if err != nil {
		c.log.Warn("bot: bundle delivered but not linked; a reaction on it finds it by its key where the chat keeps one", "bundle", b.ID, "err", err)
	}
	for _, it := range items {
		if err := c.inc.SetChatRefs(ctx, it.pg.Incident, bundleRefs(it.refs, chID, ts, b.ID)); err != nil {
			c.log.Warn("bot: bundle delivered but not recorded for an incident; it will keep its button after an ack", "incident", it.pg.Incident, "err", err)
		} else {
			c.settleLate(ctx, it.pg.Incident, "")
		}
	}
}

// bundleRefs records a bundle message in an incident's chat references
// (bundleShown: drawn with or without the incident's channel link), as
// pageRefs does for a single page.
func bundleRefs(refs map[string]string, chID, ts, id string) map[string]string {
	return recordMsg(refs, refBundle+chID+"/"+ts, bundleShown(refs, id))
}

// loadBundle reads bundle id as posted; ok is false when it is unknown
// (never made, or older than bundleTTL). msgs are the messages it was
// posted as, with the digest each shows.
func (c *Bot) loadBundle(ctx context.Context, id string) (b Bundle, msgs map[string]string, ok bool, err error) {
	all, err := c.st.rdb.HGetAll(ctx, c.st.bundle(id)).Result()
	if err != nil {
		return Bundle{}, nil, false, fmt.Errorf("read bundle %s: %w", id, err)
	}
	raw, found := all["b"]
	if !found {
		return Bundle{}, nil, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		return Bundle{}, nil, false, fmt.Errorf("read bundle %s: %w", id, err)
	}
	msgs = map[string]string{}
	for f, v := range all {
		if m, isMsg := strings.CutPrefix(f, "m:"); isMsg {
			msgs[m] = v
		}
	}
	return b, msgs, true, nil
}

// current is b with each incident's status and owner as they are now.
func (c *Bot) current(ctx context.Context, b Bundle) (Bundle, error) {
	b.Entries = slices.Clone(b.Entries)
	for i, e := range b.Entries {
		inc, _, err := c.inc.Get(ctx, e.Number)
		if errors.Is(err, incident.ErrNotFound) {
			continue
		}
		if err != nil {
			return b, err
		}
		e.Status = inc.Status
		e.Owner = nil
		if inc.Owner != "" {
			o := c.people.Ref(inc.Owner)
			e.Owner = &o
		}
		b.Entries[i] = e
	}
	return b, nil
}

// AckAll runs an "Acknowledge all" click by a chat user on bundle id: each
// of its incidents that is still triggered is acknowledged by them, each in
// its own transition (as its own Acknowledge button would), and the bundle
// is redrawn. Incidents acknowledged or resolved meanwhile are left as they
// are and named in the reply. A stranger changes nothing and is told why.
func (x *Executor) AckAll(ctx context.Context, user, id string) Reply {
	by, ok, err := x.c.people.Person(ctx, user)
	if err != nil {
		return x.fail(err)
	}
	if !ok {
		return Reply{Text: x.strangerText()}
	}
	if _, valid := parseBundleID(id); !valid {
		return Reply{Text: "baton does not know that button."}
	}
	reply, err := x.ackBundle(ctx, by, id, "button")
	if err != nil {
		return x.fail(err)
	}
	return reply
}

// ackBundle acknowledges bundle id's triggered incidents as by. Its error
// is the store's when it could not be read or stopped answering (some may
// be acknowledged already; a retry finds them so and is quiet about them).
func (x *Executor) ackBundle(ctx context.Context, by Person, id, via string) (Reply, error) {
	b, _, ok, err := x.c.loadBundle(ctx, id)
	if err != nil {
		return Reply{}, err
	}
	if !ok {
		return Reply{Text: "baton no longer knows the incidents of that page (it is too old). Type /incident list to see what is open."}, nil
	}
	var acked, taken []string
	for _, e := range b.Entries {
		if e.Info {
			continue
		}
		_, err := x.c.inc.Ack(ctx, e.Number, by.ID, "")
		switch code := incident.ErrorCode(err); {
		case err == nil:
			acked = append(acked, ref(e.Number))
			x.c.metrics.Acknowledged(via)
		case code == incident.Unavailable:
			if len(acked) > 0 {
				x.c.wake()
			}
			return Reply{}, fmt.Errorf("acknowledge %s (after %s): %w", ref(e.Number), orNone(acked), err)
		default:
			taken = append(taken, incident.ErrorMessage(err))
		}
	}
	if len(acked) > 0 {
		x.c.wake()
		x.log().Info("incidents acknowledged together from chat", "bundle", id, "count", len(acked), "by", by.ID)
	}
	// The bundle as it is now goes back with the answer: the adapter
	// replaces the message pressed through the interaction (no rate-limited
	// update). Each incident's chat sync redraws it as well
	// (settleMsgs) where that did not happen; when the bundle is one
	// message pressed, it is recorded as drawn so the syncs leave it. A
	// reaction has no interaction to answer through: nothing replaces the
	// message then, so it is not recorded and the syncs redraw it.
	var redraw *Message
	if cur, err := x.c.current(ctx, b); err == nil {
		redraw = &Message{Text: cur.Text(), Bundle: &cur}
		if _, msgs, _, err := x.c.loadBundle(ctx, id); err == nil && len(msgs) == 1 && via == "button" {
			for msg := range msgs {
				if err := x.c.st.rdb.HSet(ctx, x.c.st.bundle(id), "m:"+msg, cur.digest()).Err(); err != nil {
					x.log().Debug("bot: bundle redraw not recorded; the chat sync redraws it again", "bundle", id, "err", err)
				}
			}
		}
	}
	var s strings.Builder
	if len(acked) > 0 {
		fmt.Fprintf(&s, "You acknowledged %d incident%s and own %s now; %s pages have stopped: %s.",
			len(acked), plural(int64(len(acked))), them(len(acked)), their(len(acked)), strings.Join(acked, ", "))
	} else {
		s.WriteString("Nothing to acknowledge: every incident of that page was already taken.")
	}
	if len(taken) > 0 {
		s.WriteString(" " + strings.Join(taken, " "))
	}
	return Reply{Text: s.String(), Redraw: redraw}, nil
}

func orNone(refs []string) string {
	if len(refs) == 0 {
		return "none"
	}
	return strings.Join(refs, ", ")
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func their(n int) string {
	if n == 1 {
		return "its"
	}
	return "their"
}

// bundleOfMessage is the bundle a message (by channel and id) is, "" when
// it is none.
func (c *Bot) bundleOfMessage(ctx context.Context, channel, msgID string) (string, error) {
	return c.st.hget(ctx, c.st.bundleMsgs(), channel+"/"+msgID)
}

// bundleOfKey is the bundle a page key went out in, "" when none.
func (c *Bot) bundleOfKey(ctx context.Context, key string) (string, error) {
	id, err := c.st.rdb.Get(ctx, c.st.bundleKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the bundle of page %s: %w", key, err)
	}
	return id, nil
}

// parseBundleID checks an id coming back from a button.
func parseBundleID(s string) (string, bool) {
	if len(s) != 17 || s[0] != 'b' {
		return "", false
	}
	if _, err := strconv.ParseUint(s[1:], 16, 64); err != nil {
		return "", false
	}
	return s, true
}

// foundBundle records bundle id, found delivered as message ts in channel
// by a delivery check of pg (its sender died before recording it), as
// bundlePosted would have for pg's incident.
func (p *Pager) foundBundle(ctx context.Context, pg escalation.Page, channel, ts, id string) error {
	c := p.c
	refs, err := c.inc.ChatRefs(ctx, pg.Incident)
	if err != nil {
		return err
	}
	msg := channel + "/" + ts
	if err := c.st.rdb.HSet(ctx, c.st.bundleMsgs(), msg, id).Err(); err != nil {
		return err
	}
	if err := c.st.rdb.HSetNX(ctx, c.st.bundle(id), "m:"+msg, "?").Err(); err != nil {
		return err
	}
	return c.inc.SetChatRefs(ctx, pg.Incident, bundleRefs(refs, channel, ts, id))
}
