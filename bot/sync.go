package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/coalesce"
)

// Fields of an incident's chat references (incident.Store.ChatRefs).
// Each is written the moment the chat returns what it names, so a job that
// runs again reuses it instead of creating a second channel or card.
const (
	refChannel       = "ch"   // the incident's channel id
	refChannelName   = "chn"  // its name, when short enough to keep (for /incident status)
	refNameTry       = "chk"  // next suffix to try after name_taken
	refCard          = "card" // the card's message id
	refPinned        = "pin"  // "1" once pinned
	refDigest        = "dig"  // Card.Digest of what the card shows
	refState         = "sdig" // Card.StateDigest of it
	refRepeatCount   = "rc"   // alert count when repeats were last reported
	refRepeatAt      = "ru"   // unix ms of that report
	refGrouped       = "rg"   // alerts grouped into the incident at that report (incident.Grouping)
	refNotice        = "ntc"  // "<channel id>/<message id>" of the notice
	refNoticeOff     = "nerr" // "1": the notice could not be posted and is not retried
	refNoticeState   = "nst"  // the status the notice shows (absent: triggered)
	refNoticeBundled = "nb"   // "1": the notice is a message naming several incidents (notices.go); not redrawn
	refNoticeNoLink  = "nnl"  // "1": the notice was drawn before the incident's channel existed, without its link
	refPage          = "p:"   // "p:<channel id>/<message id>" = the status the page shows, or pageUnsettled
	refBundle        = "b:"   // "b:<channel id>/<message id>" = the bundle id, then "<id>|<status>" once redrawn for that status
	refArchived      = "arch" // "1" once archived
	refMember        = "m:"   // "m:<chat user id>" = "1": invited
	// "Posting" marks, set before the chat call that creates the thing and
	// cleared with its id: one left behind means a run died (or lost Redis)
	// between the call and the record, and the next run looks for the thing
	// before creating it again.
	refPostChannel = "pchn"  // "<suffix>/<unix ms>": creating the channel of that suffix since then
	refPostCard    = "pcard" // "<unix ms>": posting the card since then
	refPostNotice  = "pntc"  // "<unix ms>": posting the notice since then
	refPostReply   = "prep"  // "<alert count>/<unix ms>": posting the repeat reply for that count since then
)

// postSkew is how far before a posting mark the chat is searched for what
// was posted: the replica's clock and the chat's may differ by that much.
const postSkew = time.Minute

// recentPosts is how many of a channel's newest messages since a posting
// mark (less postSkew) are searched for a card or a notice.
const recentPosts = 200

// pageUnsettled marks a page still showing its buttons.
const pageUnsettled = "-"

// Syncer mirrors incidents in chat; it implements escalation.ChatSync.
//
// Sync is idempotent reconciliation from the incident's current state:
// it ensures the notice is in the service's alerts channel once (first: it
// does not wait for the channel, see Sync), the channel inc-<n>-<slug>
// exists, the owner is in it, the card
// is posted, pinned and up to date (redrawn in place only when it changed),
// repeats get a thread
// reply at most once per RepeatEvery, and the channel is archived
// ArchiveAfter after resolve. It is safe for concurrent use; the runner's
// lease makes sure one replica at a time syncs one incident.
type Syncer struct {
	c *Bot

	noticesOnce sync.Once
	notices     *coalesce.Group[*noticeItem] // notices, by alerts channel: due together, one message (notices.go)
}

var _ escalation.ChatSync = (*Syncer)(nil)

// Sync implements escalation.ChatSync.
func (s *Syncer) Sync(ctx context.Context, n int64) (time.Time, error) {
	c := s.c
	ctx = WithPacing(ctx, Pacing{MaxWait: c.syncMaxWait, Ticket: "sync:" + itoa(n)})
	inc, timeline, err := c.inc.Get(ctx, n)
	if errors.Is(err, incident.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	if inc.Status == incident.StatusResolved {
		// Catch-up, not live work: a resolved incident's channel and
		// card (for the record) and its links take a chat method's slot
		// only while the limit keeps one free besides it (but not the
		// redraws that take buttons away from people: settleMsgs),
		// else are deferred without holding one, so live incidents'
		// channels, cards and redraws never queue behind them (the claim
		// also takes live incidents' jobs first: ClaimChatJobs).
		pc, _ := PacingFrom(ctx)
		pc.Yield = true
		ctx = WithPacing(ctx, pc)
	}
	if inc.Held != "" {
		// A maintenance window holds it: no channel, no card until it ends
		// (its end queues this job again).
		return time.Time{}, nil
	}
	refs, err := c.inc.ChatRefs(ctx, n)
	if err != nil {
		return time.Time{}, err
	}
	if refs[refArchived] == "1" {
		return time.Time{}, nil
	}
	set := func(kv ...string) error {
		m := make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
			if kv[i+1] == "" {
				delete(refs, kv[i]) // deleted in Redis too (SetChatRefs)
			} else {
				refs[kv[i]] = kv[i+1]
			}
		}
		return c.inc.SetChatRefs(ctx, n, m)
	}

	// 1. The notice in the alerts channel, once, before anything else: a
	// chat makes channels far slower than it takes messages (Slack's
	// conversations.create is Tier 2, about 20 a minute), so in a storm a
	// notice that waited for its incident's channel would go out one every
	// few seconds instead of in one bundle at once. A notice posted before
	// the channel exists names the incident without a link to it; a lone
	// one is redrawn with the link once the channel exists (settleNotice), a
	// bundled one is not redrawn (notices.go).
	// On a chat that bundles notices the post is handed over, and the job
	// comes back by noticeDue to take it over should its outcome go
	// unrecorded (the poster records it and brings the job forward).
	// A notice that could not be posted now (a rate limit, a chat error)
	// does not hold up the channel and the card either: its error is
	// returned once they are done, and the job runs again for it.
	var noticeDue time.Time
	var noticeErr error
	if refs[refNotice] == "" && refs[refNoticeOff] == "" {
		noticeDue, noticeErr = s.notice(ctx, inc, refs[refChannel], refs, set)
	}
	due, err := s.reconcile(ctx, inc, timeline, refs, set)
	if err == nil {
		err = noticeErr
	}
	if err != nil {
		return time.Time{}, err
	}
	return sooner(due, noticeDue), nil
}

// reconcile is the rest of Sync after the notice: the channel, the owner in
// it, the card, the notice and pages kept current, repeats and the archive.
// It returns when it is due again (zero: not until something changes).
func (s *Syncer) reconcile(ctx context.Context, inc incident.Incident, timeline []incident.Event, refs map[string]string, set func(...string) error) (time.Time, error) {
	c, n := s.c, inc.Number
	var err error
	now := c.now()

	// 2. The channel.
	ch := refs[refChannel]
	if ch == "" {
		if ch, err = s.createChannel(ctx, inc, refs, set); err != nil {
			return time.Time{}, err
		}
	}

	// 3. The owner in it.
	if inc.Owner != "" {
		uid, err := c.people.ChatID(ctx, inc.Owner)
		switch {
		case errors.Is(err, ErrUnreachable):
			// The page to them is dead-lettered and the fallback paged; no one to invite.
		case err != nil:
			return time.Time{}, err
		case refs[refMember+uid] == "":
			if err := c.chat.Invite(ctx, ch, uid); err != nil {
				return time.Time{}, fmt.Errorf("invite the owner of %s: %w", inc.Ref(), err)
			}
			if err := set(refMember+uid, "1"); err != nil {
				return time.Time{}, err
			}
		}
	}

	// 4. Every page, bundle and "still on it?" DM kept current: once the
	// incident is acknowledged or resolved their buttons go and they say
	// so; one drawn before the channel existed gets its link. Before the
	// card: a person's DM offering Acknowledge on what is taken is what
	// they may act on, and a resolved incident's card yields (catch-up),
	// which under a storm's live cards would hold these back for minutes.
	// Links alone wait for after the card (they yield: a deferral would
	// hold the card back).
	settleDue, err := s.settleMsgs(ctx, inc, ch, ownerRef(c, inc), refs, set, false)
	if err != nil {
		return time.Time{}, err
	}

	// 5. The card, drawn and pinned; redrawn at once when its state changed.
	card := BuildCard(inc, timeline, c.people.Ref)
	if inc.Open() {
		card.Maintenance = c.maintenanceOf(ctx, inc.Service)
	}
	full, st := card.Digest(), card.StateDigest()
	msg := Message{Text: card.Text(), Card: &card}
	if refs[refCard] == "" {
		msg.Key = cardKey(inc)
		ts, err := s.posted(ctx, inc, "card", ch, "", msg.Key, refs[refPostCard])
		if err != nil {
			return time.Time{}, err
		}
		if ts == "" {
			if err := set(refPostCard, itoa(c.now().UnixMilli())); err != nil {
				return time.Time{}, err
			}
			if _, ts, err = c.chat.Post(ctx, ch, msg); err != nil {
				return time.Time{}, fmt.Errorf("post the card of %s: %w", inc.Ref(), err)
			}
		}
		msg.Key = ""
		// Linked before its id is stored: a run that dies between the two
		// finds the mark, adopts the card and links it again.
		if err := c.inc.LinkChat(ctx, c.msgRef(ch, ts), n, 0); err != nil {
			return time.Time{}, err
		}
		if err := set(refCard, ts, refDigest, full, refState, st, refPostCard, "",
			refRepeatCount, itoa(inc.AlertCount), refRepeatAt, itoa(now.UnixMilli()), refGrouped, itoa(inc.Grouped)); err != nil {
			return time.Time{}, err
		}
	} else if st != refs[refState] {
		if err := c.chat.Update(ctx, ch, refs[refCard], msg); err != nil {
			return time.Time{}, fmt.Errorf("update the card of %s: %w", inc.Ref(), err)
		}
		if err := set(refDigest, full, refState, st); err != nil {
			return time.Time{}, err
		}
	}
	if refs[refPinned] == "" {
		if err := c.chat.Pin(ctx, ch, refs[refCard]); err != nil {
			return time.Time{}, fmt.Errorf("pin the card of %s: %w", inc.Ref(), err)
		}
		if err := set(refPinned, "1"); err != nil {
			return time.Time{}, err
		}
	}

	// 6. The notice kept current (its status, its link), and the links
	// to the channel added to messages drawn before it existed.
	if err := s.settleNotice(ctx, inc, ch, refs, set); err != nil {
		return time.Time{}, err
	}
	linkDue, err := s.settleMsgs(ctx, inc, ch, ownerRef(c, inc), refs, set, true)
	if err != nil {
		return time.Time{}, err
	}
	settleDue = sooner(settleDue, linkDue)

	// 7. Repeats: a thread reply and the new count, at most once per RepeatEvery.
	// A reply an earlier run posted without recording it is adopted first.
	if err := s.repeatPosted(ctx, inc, ch, refs, set); err != nil {
		return time.Time{}, err
	}
	var next time.Time
	count, _ := strconv.ParseInt(refs[refRepeatCount], 10, 64)
	lastMs, _ := strconv.ParseInt(refs[refRepeatAt], 10, 64)
	switch last := time.UnixMilli(lastMs); {
	case inc.AlertCount > count && now.Sub(last) >= c.repeatEvery:
		more := inc.AlertCount - count
		reported, _ := strconv.ParseInt(refs[refGrouped], 10, 64)
		text := repeatText(inc, more, inc.Grouped-reported)
		if err := set(refPostReply, itoa(inc.AlertCount)+"/"+itoa(c.now().UnixMilli())); err != nil {
			return time.Time{}, err
		}
		if _, _, err := c.chat.Post(ctx, ch, Message{Text: text, Thread: refs[refCard], Key: replyKey(inc, inc.AlertCount)}); err != nil {
			return time.Time{}, fmt.Errorf("thread reply on %s: %w", inc.Ref(), err)
		}
		// The interval runs from when the reply was posted, not from when
		// this sync began: the work before it (and rate-limit pacing) would
		// otherwise let two replies land closer together than RepeatEvery.
		if err := set(refRepeatCount, itoa(inc.AlertCount), refRepeatAt, itoa(c.now().UnixMilli()), refPostReply, "", refGrouped, itoa(inc.Grouped)); err != nil {
			return time.Time{}, err
		}
		fallthrough
	case inc.AlertCount <= count && full != refs[refDigest]:
		if full != refs[refDigest] {
			if err := c.chat.Update(ctx, ch, refs[refCard], msg); err != nil {
				return time.Time{}, fmt.Errorf("update the card of %s: %w", inc.Ref(), err)
			}
			if err := set(refDigest, full); err != nil {
				return time.Time{}, err
			}
		}
	case inc.AlertCount > count:
		next = last.Add(c.repeatEvery)
	}

	// 8. The archive, ArchiveAfter after resolve.
	if inc.Status == incident.StatusResolved {
		at := inc.Resolved.Add(c.archiveAfter)
		if now.Before(at) {
			return sooner(earliest(next, at), settleDue), nil
		}
		if !settleDue.IsZero() {
			// A bundle naming it waits to be redrawn: the archive (after
			// which this job does nothing) comes once it is.
			return settleDue, nil
		}
		if err := c.chat.Archive(ctx, ch); err != nil {
			if !escalation.IsPermanent(err) {
				return time.Time{}, fmt.Errorf("archive the channel of %s: %w", inc.Ref(), err)
			}
			c.log.Error("bot: the incident's channel could not be archived; leaving it", "incident", n, "err", err)
		}
		if err := set(refArchived, "1"); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, nil
	}
	return sooner(next, settleDue), nil
}

// sooner is the earlier of two due times, a zero one meaning none.
func sooner(a, b time.Time) time.Time {
	if b.IsZero() {
		return a
	}
	return earliest(a, b)
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// ownerRef is inc's owner as chat shows them, nil when it has none.
func ownerRef(c *Bot, inc incident.Incident) *PersonRef {
	if inc.Owner == "" {
		return nil
	}
	o := c.people.Ref(inc.Owner)
	return &o
}

// settleNotice redraws the notice when the incident's status changed since
// it was drawn or it was drawn before the incident's channel existed (a
// lone notice: a bundled one is never redrawn). A notice that is gone
// (deleted, its channel archived) is logged and left. The messages to
// people are settled by settleMsgs.
func (s *Syncer) settleNotice(ctx context.Context, inc incident.Incident, ch string, refs map[string]string, set func(...string) error) error {
	c := s.c
	shown := refs[refNoticeState]
	if shown == "" {
		shown = string(incident.StatusTriggered)
	}
	stale := shown != string(inc.Status) || refs[refNoticeNoLink] != ""
	nref := refs[refNotice]
	if nref == "" || !stale || refs[refNoticeBundled] != "" {
		return nil
	}
	nch, nts, _ := strings.Cut(nref, "/")
	nt := Notice{Number: inc.Number, Ref: inc.Ref(), Title: inc.Title, Service: inc.Service, Severity: inc.Severity,
		Channel: ch, Status: inc.Status, Owner: ownerRef(c, inc)}
	if err := c.chat.Update(ctx, nch, nts, Message{Text: nt.Text(), Notice: &nt}); err != nil {
		if !escalation.IsPermanent(err) {
			return fmt.Errorf("update the notice of %s: %w", inc.Ref(), err)
		}
		c.log.Warn("bot: could not redraw the notice; leaving it", "incident", inc.Number, "err", err)
	}
	return set(refNoticeState, string(inc.Status), refNoticeNoLink, "")
}

// settledLead is the sentence above a page once nobody needs to act on it.
func settledLead(inc incident.Incident, owner *PersonRef) string {
	if inc.Status == incident.StatusResolved {
		return fmt.Sprintf("%s is resolved; nothing more to do.", inc.Ref())
	}
	if owner != nil {
		return fmt.Sprintf("%s was acknowledged; %s owns it. The pages have stopped.", inc.Ref(), owner.Name)
	}
	return fmt.Sprintf("%s was acknowledged. The pages have stopped.", inc.Ref())
}

// maxNameTries bounds the suffixes tried after name_taken (-2 … -20).
const maxNameTries = 20

// createChannel makes the incident's channel, trying -2, -3, … after a
// name_taken, and records it (and the suffix reached) the moment it exists.
// Before each creation it marks the suffix as being created, with the time;
// a run that finds the mark (the run that created it died before recording
// it) and is told the name is taken asks the chat for the channel of that
// name, and adopts it when the bot created it since the mark (less
// postSkew): the runner's lease lets one replica at a time sync an
// incident, and the name carries the incident's number.
func (s *Syncer) createChannel(ctx context.Context, inc incident.Incident, refs map[string]string, set func(...string) error) (string, error) {
	c := s.c
	base := ChannelName(inc.Number, inc.Title)
	k, _ := strconv.Atoi(refs[refNameTry])
	k = max(k, 1)
	// An earlier run's creation of suffix pk, begun at pat, has no outcome.
	pks, pms, _ := strings.Cut(refs[refPostChannel], "/")
	pk, _ := strconv.Atoi(pks)
	pat, _ := strconv.ParseInt(pms, 10, 64)
	for ; k <= maxNameTries; k++ {
		name := base
		if k > 1 {
			name = WithSuffix(base, k)
		}
		if k != pk {
			if err := set(refPostChannel, strconv.Itoa(k)+"/"+itoa(c.now().UnixMilli())); err != nil {
				return "", err
			}
		}
		id, err := c.chat.CreateChannel(ctx, name)
		if errors.Is(err, ErrNameTaken) && k == pk {
			// Ours if the bot created it since that creation began.
			info, ferr := c.chat.FindChannel(ctx, name)
			switch {
			case ferr == nil && info.ByBot && !info.Created.Before(time.UnixMilli(pat).Add(-postSkew)):
				c.log.Info("bot: adopting the incident's channel an earlier run created", "incident", inc.Number, "channel", info.ID)
				id, err = info.ID, nil
			case escalation.IsPermanent(ferr):
				// Refused for good (a missing scope): a second channel rather than none.
				c.log.Warn("bot: could not look for the channel an earlier run may have created; trying the next name",
					"incident", inc.Number, "err", ferr)
			case ferr != nil && !errors.Is(ferr, ErrNoChannel):
				return "", fmt.Errorf("look for the channel of %s: %w", inc.Ref(), ferr)
			}
		}
		if errors.Is(err, ErrNameTaken) {
			if err := set(refNameTry, strconv.Itoa(k+1)); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create the channel of %s: %w", inc.Ref(), err)
		}
		kv := []string{refChannel, id, refNameTry, "", refPostChannel, ""}
		if len(name) <= incident.MaxChatRefBytes {
			kv = append(kv, refChannelName, name)
		}
		// The incident and the link first, the id last: a run that dies
		// in between finds the mark and adopts the channel, and writes
		// them again.
		if err := c.inc.SetChannel(ctx, inc.Number, id); err != nil {
			return "", err
		}
		if err := c.inc.LinkChat(ctx, c.chanRef(id), inc.Number, 0); err != nil {
			return "", err
		}
		if err := set(kv...); err != nil {
			return "", err
		}
		c.log.Info("incident channel created", "incident", inc.Number, "channel", id)
		return id, nil
	}
	return "", escalation.Permanent(fmt.Errorf("create the channel of %s: %s and its suffixes up to -%d are all taken", inc.Ref(), base, maxNameTries))
}

// notice posts the one-line announcement in the service's alerts channel,
// with a link to the incident's channel ch, or, when ch is "" (not made
// yet), without (settle redraws it with the link once it exists).
// A channel the bot cannot post in (not a member, no such channel) is logged
// loudly and not retried: the rest of the incident's chat still happens.
//
// Before the post it marks the notice as being posted; a run that finds
// the mark without the notice's id (the run that posted it died first)
// looks for it in the channel's messages since the mark, by its key, and
// adopts it instead of posting a second.
//
// On a Replayer (Discord), which cannot look a message up, a run that
// finds the mark posts the notice's bundle again under the bundle's key
// (replayNotice, notices.go), or the notice alone under its own, and the
// chat answers with the first post if it landed.
//
// On a chat that bundles notices (a KeysFinder or a Replayer) the post is handed to the
// notices' group and notice returns at once, without waiting for the
// bundle (notices.go): the mark then carries until when the notice is its
// poster's, and the due time it returns is that deadline, when the job
// runs again to take over a post that did not record its outcome. A run
// that finds such a mark before its deadline leaves the notice alone.
func (s *Syncer) notice(ctx context.Context, inc incident.Incident, ch string, refs map[string]string, set func(...string) error) (time.Time, error) {
	c := s.c
	target := c.services[inc.Service].AlertsChannel
	if target == "" {
		target = c.defaultChannel
	}
	if target == "" {
		return time.Time{}, set(refNoticeOff, "1")
	}
	at, until := noticeMark(refs[refPostNotice])
	if now := c.now(); !until.IsZero() && now.Before(until) {
		// Handed to the notices' group (here or on another replica),
		// which records it: look again when that hand-over ends.
		return until, nil
	}
	nt := Notice{Number: inc.Number, Ref: inc.Ref(), Title: inc.Title, Service: inc.Service, Severity: inc.Severity, Channel: ch,
		Status: inc.Status}
	if inc.Owner != "" {
		o := c.people.Ref(inc.Owner)
		nt.Owner = &o
	}
	key := noticeKey(inc)
	chID, ts, bundled, adopted, err := "", "", false, false, error(nil)
	r, replays := c.noticeReplayer()
	if at != "" && replays {
		// No look-up on this chat: its bundle, if one is recorded, is
		// posted again under its key (notices.go), else the notice alone
		// below, under its own.
		var ok bool
		chID, ts, bundled, ok, err = c.replayNotice(ctx, r, target, key)
		if ok || err != nil {
			return time.Time{}, s.noticePosted(ctx, inc.Number, target, chID, ts, inc.Status, bundled, false, err, set)
		}
	} else if at != "" {
		if chID, err = s.channelID(ctx, target); err != nil {
			return time.Time{}, fmt.Errorf("look for the notice of %s: %w", inc.Ref(), err)
		}
		if ts, err = s.posted(ctx, inc, "notice", chID, "", key, at); err != nil {
			return time.Time{}, err
		}
		if ts != "" {
			// Found by its key: alone, or in a bundle of notices
			// (another key is the message's own).
			p, err := c.chat.Lookup(ctx, chID, ts)
			if err != nil && !errors.Is(err, ErrNoMessage) && !escalation.IsPermanent(err) {
				return time.Time{}, fmt.Errorf("look at the notice of %s: %w", inc.Ref(), err)
			}
			bundled = err == nil && p.Key != "" && p.Key != key
			// Drawn by an earlier run, perhaps before the channel existed.
			adopted = true
		}
	}
	if ts == "" {
		// A notice to take over on a Replayer is posted alone, under its
		// own key, so the chat answers with its first post if it landed.
		if _, ok := c.chat.(KeysFinder); ok || (replays && at == "") {
			return s.handNotice(ctx, inc.Number, target, nt, key)
		}
		if err := set(refPostNotice, itoa(c.now().UnixMilli())); err != nil {
			return time.Time{}, err
		}
		chID, ts, err = c.chat.Post(ctx, target, Message{Text: nt.Text(), Notice: &nt, Key: key})
	}
	linked := ch != "" && !adopted
	return time.Time{}, s.noticePosted(ctx, inc.Number, target, chID, ts, inc.Status, bundled, linked, err, set)
}

// noticePosted records the outcome of incident n's notice, posted in
// target (as configured) as message ts of channel chID: linked to the
// incident and its id stored, or, when the message names several
// incidents (bundled), stored as such and linked to none; shown is the
// status the notice shows, linked whether it shows the link to the
// incident's channel (a lone notice without it is redrawn with it once the
// channel exists). A channel the bot
// cannot post in turns the notice off; another error is returned.
func (s *Syncer) noticePosted(ctx context.Context, n int64, target, chID, ts string, shown incident.Status, bundled, linked bool, err error, set func(...string) error) error {
	c := s.c
	ref := "INC-" + itoa(n)
	if escalation.IsPermanent(err) {
		c.log.Error("bot: the notice could not be posted in the service's alerts channel; is the bot a member?",
			"incident", n, "channel", target, "err", err)
		return set(refNoticeOff, "1", refPostNotice, "")
	}
	if err != nil {
		return fmt.Errorf("post the notice of %s: %w", ref, err)
	}
	c.learnChannel(ctx, target, chID)
	status := string(shown)
	if bundled {
		// Names several incidents: linked to none (a reaction on it does
		// nothing), never redrawn for one of them.
		return set(refNotice, chID+"/"+ts, refNoticeState, status, refNoticeBundled, "1", refPostNotice, "")
	}
	// Linked before its id is stored, as the card.
	if err := c.inc.LinkChat(ctx, c.msgRef(chID, ts), n, c.linkTTL); err != nil {
		return err
	}
	noLink := ""
	if !linked {
		noLink = "1"
	}
	return set(refNotice, chID+"/"+ts, refNoticeState, status, refNoticeNoLink, noLink, refPostNotice, "")
}

// cardKey and noticeKey are the Message.Key an incident's card and notice
// are posted with: its number and creation time (unix ms), which no other
// incident of this or another deployment sharing the chat has.
func cardKey(inc incident.Incident) string {
	return "card:" + itoa(inc.Number) + ":" + itoa(inc.Created.UnixMilli())
}

func noticeKey(inc incident.Incident) string {
	return "notice:" + itoa(inc.Number) + ":" + itoa(inc.Created.UnixMilli())
}

// posted looks for the message carrying key in channel ch (an id; in the
// thread of that message id when thread is set) when a
// posting mark at (unix ms) says an earlier run posted it without
// recording its id, and returns its id, or "" when there is no mark or no
// such message. A look-up the chat refuses for good (no history scope, no
// such channel) is logged and counts as not found: what is posted is
// posted again rather than never. Other errors are returned, so the job
// retries the look-up instead of risking a second message.
func (s *Syncer) posted(ctx context.Context, inc incident.Incident, what, ch, thread, key, at string) (string, error) {
	c := s.c
	if at == "" {
		return "", nil
	}
	ms, _ := strconv.ParseInt(at, 10, 64)
	// Cosmetic: the read yields to the pages' delivery checks.
	if pc, ok := PacingFrom(ctx); ok {
		pc.Yield = true
		ctx = WithPacing(ctx, pc)
	}
	ts, err := c.chat.FindKey(ctx, ch, thread, key, time.UnixMilli(ms).Add(-postSkew), recentPosts)
	if escalation.IsPermanent(err) {
		c.log.Warn("bot: could not look for the "+what+" an earlier run posted; posting it again", "incident", inc.Number, "err", err)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look for the %s of %s: %w", what, inc.Ref(), err)
	}
	if ts != "" {
		c.log.Info("bot: adopting the "+what+" an earlier run posted", "incident", inc.Number)
	} else {
		c.log.Info("bot: the "+what+" an earlier run began was not posted; posting it", "incident", inc.Number)
	}
	return ts, nil
}

// channelID is the id of a channel configured as target (an id or a
// name): the id learnt when the bot last posted there, else the chat's
// answer for the name; a target that is no known name is taken as an id.
func (s *Syncer) channelID(ctx context.Context, target string) (string, error) {
	c := s.c
	id, err := c.st.hget(ctx, c.st.channels(), target)
	if err != nil || id != "" {
		return id, err
	}
	info, err := c.chat.FindChannel(ctx, target)
	if errors.Is(err, ErrNoChannel) {
		return target, nil
	}
	if err != nil {
		return "", err
	}
	c.learnChannel(ctx, target, info.ID)
	return info.ID, nil
}

func replyKey(inc incident.Incident, count int64) string {
	return "reply:" + itoa(inc.Number) + ":" + itoa(inc.Created.UnixMilli()) + ":" + itoa(count)
}

// repeatText is the thread reply for more alerts since the last one: the
// same alert firing again, or, on an incident its service's grouping made
// (incident.Grouping), joined other alerts since the last report, and the
// repeats and recoveries of its alerts.
func repeatText(inc incident.Incident, more, joined int64) string {
	last := inc.LastSeen.UTC().Format("15:04:05 UTC")
	switch {
	case joined > 0:
		return fmt.Sprintf("%d more alert%s joined (%d grouped into this incident; %d alerts in all, repeats and recoveries included), the last at %s.",
			joined, plural(joined), inc.Grouped, inc.AlertCount, last)
	case inc.Grouped > 0:
		what := "repeat or recovery"
		if more != 1 {
			what = "repeats or recoveries"
		}
		return fmt.Sprintf("%d more %s of its alerts (%d in all), the last at %s.", more, what, inc.AlertCount, last)
	}
	return fmt.Sprintf("Fired %d more time%s (%d in all), the last at %s.", more, plural(more), inc.AlertCount, last)
}

// repeatPosted settles a repeat reply an earlier run began (a posting mark
// left): found in the card's thread, it is recorded as that run would have
// (the count it reported, its time from the mark), so no second reply
// reports the same repeats; not found, the mark is cleared and the reply
// is due as before.
func (s *Syncer) repeatPosted(ctx context.Context, inc incident.Incident, ch string, refs map[string]string, set func(...string) error) error {
	mark := refs[refPostReply]
	if mark == "" {
		return nil
	}
	cs, at, _ := strings.Cut(mark, "/")
	count, _ := strconv.ParseInt(cs, 10, 64)
	ts, err := s.posted(ctx, inc, "thread reply", ch, refs[refCard], replyKey(inc, count), at)
	if err != nil {
		return err
	}
	if ts == "" {
		return set(refPostReply, "")
	}
	return set(refRepeatCount, cs, refRepeatAt, at, refPostReply, "")
}
