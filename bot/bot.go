package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
)

// Incidents is the slice of the incident store the chat side uses;
// *incident.Store implements it. Refusals are *incident.Error (tested with
// errors.Is against incident.ErrNotFound and its siblings); any other error
// is the store failing.
type Incidents interface {
	// Open stores an alert typed in chat (/incident new) as a new incident.
	Open(ctx context.Context, a incident.Alert) (incident.OpenResult, error)
	// Get returns incident n and its timeline; ErrNotFound when there is none.
	Get(ctx context.Context, n int64) (incident.Incident, []incident.Event, error)
	// List returns incidents matching f, at most limit of them.
	List(ctx context.Context, f incident.Filter, limit int) ([]incident.Incident, error)
	// ListNewest returns up to limit open incidents, newest first, and how
	// many are open in all.
	ListNewest(ctx context.Context, limit int) ([]incident.Incident, int64, error)
	// ListNewestWhere is ListNewest of the open incidents match keeps, and
	// how many it keeps in all.
	ListNewestWhere(ctx context.Context, limit int, match func(incident.Incident) bool) ([]incident.Incident, int64, error)
	// Ack makes by the owner of incident n and stops its pages, keeping note
	// on the acknowledged event; refused with ErrNotFound, ErrAlreadyResolved
	// or ErrAlreadyAcknowledged (naming the owner).
	Ack(ctx context.Context, n int64, by, note string) (incident.Incident, error)
	// Resolve resolves incident n; refused with ErrNotFound or ErrAlreadyResolved.
	Resolve(ctx context.Context, n int64, by, note string) (incident.Incident, error)
	// Escalate moves incident n up a level now, note going on the escalated
	// event; refused with ErrNotFound or ErrAlreadyResolved.
	Escalate(ctx context.Context, n int64, by, note string) (incident.Incident, error)
	// Assign makes to the owner of incident n and pages them; refused with
	// ErrNotFound, ErrAlreadyResolved or ErrSameOwner (naming to).
	Assign(ctx context.Context, n int64, to, by string) (incident.Incident, error)
	// Note appends text to incident n's timeline; refused with ErrNotFound.
	Note(ctx context.Context, n int64, by, text string) (incident.Incident, error)
	// SetChannel records incident n's chat channel reference.
	SetChannel(ctx context.Context, n int64, ref string) error
	// ChatRefs returns incident n's chat references (card, notice, pages).
	ChatRefs(ctx context.Context, n int64) (map[string]string, error)
	// SetChatRefs writes fields of incident n's chat references; "" deletes one.
	SetChatRefs(ctx context.Context, n int64, fields map[string]string) error
	// LinkChat links the chat reference ref (a channel or a message) to
	// incident n for ttl (0: for good).
	LinkChat(ctx context.Context, ref string, n int64, ttl time.Duration) error
	// ChatLink returns the incident ref is linked to; ErrNotFound when none.
	ChatLink(ctx context.Context, ref string) (int64, error)
}

var _ Incidents = (*incident.Store)(nil)

// Options configure a Bot. Chat, Incidents and Redis are required.
type Options struct {
	// Chat is the adapter (bot/slack).
	Chat Chat
	// Incidents is the incident store (*incident.Store).
	Incidents Incidents
	// People and Services come from config.
	People   []Person
	Services []Service
	// Board and Overrides answer /oncall; nil: the command says no rotations
	// are configured.
	Board     Board
	Overrides Overrides
	// Redis and Prefix hold the chat side's small state (see state.go).
	Redis  redis.UniversalClient
	Prefix string
	// ArchiveAfter is how long after resolve an incident's channel is
	// archived (0: at once).
	ArchiveAfter time.Duration
	// AckReactions are the reaction names that acknowledge. Default
	// white_check_mark and eyes.
	AckReactions []string
	// DefaultChannel takes the notices and fallback pages of a service that
	// has no alerts channel; "" drops notices and fails such fallback pages.
	DefaultChannel string
	// Wake, when set, is called after a command changed an incident, so the
	// runner redraws its card at once instead of at its next poll
	// (the engine's escalation.Wakeup.Notify).
	Wake func()
	// Log receives log lines; never an alert's title or body at info level.
	Log *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// PageMaxWait is how long a page may wait for a rate-limit slot in
	// process before it is deferred (escalation.Defer). Default 3s.
	PageMaxWait time.Duration
	// SyncMaxWait is the same for chat syncs. Default 250ms: cosmetic work
	// gives its worker back rather than wait.
	SyncMaxWait time.Duration
	// RepeatEvery is the least time between two thread replies about an
	// alert's repeats (and between two redraws for a new count alone).
	// Default 1m.
	RepeatEvery time.Duration
	// BundleWindow is the least time between two page messages to one
	// person (one target): the pages due within it after one go together in
	// the next (bundle.go). Set it to the chat's pace in one channel.
	// Default bot.BundleWindow (1 s, Slack's message a second).
	BundleWindow time.Duration
	// LinkTTL is how long a page or notice stays linked to its incident, so
	// that a reaction on it acknowledges. Default 30 days.
	LinkTTL time.Duration
	// ReactionPatience is how long an acknowledge reaction that the
	// incident store could not take (Redis unreachable) is retried in
	// process before the person who reacted is told it was not applied.
	// Default 2m.
	ReactionPatience time.Duration
	// Analytics answers /incident stats; nil: stats says analytics are not
	// set up.
	Analytics *Analytics
	// Metrics counts acknowledgements and incidents opened from chat; nil
	// counts nothing.
	Metrics Metrics
	// RefSpace namespaces this Bot's fields in each incident's chat
	// references (refspace.go), so that two Bots on one Redis (Slack and
	// Discord at once) keep their channel, card, notice and pages apart.
	// "" is the unprefixed layout Slack has always written.
	RefSpace string
	// Beside says another Bot runs on the same incidents and records their
	// channel (Incident.Channel); this one then leaves that field alone.
	Beside bool
}

// Metrics is what the chat side reports; *metrics.Metrics implements it.
type Metrics interface {
	// Acknowledged counts an acknowledgement by via: button, command or reaction.
	Acknowledged(via string)
	// ObserveAlert counts an incident opened from chat as an alert of
	// source "chat" with outcome "created".
	ObserveAlert(source, service, outcome string, elapsed time.Duration)
}

type noMetrics struct{}

func (noMetrics) Acknowledged(string)                                {}
func (noMetrics) ObserveAlert(string, string, string, time.Duration) {}

// Bot is the chat side of baton, built on one Chat: its People, an
// Executor, a Pager and a Syncer sharing it. It is safe for concurrent use.
type Bot struct {
	chat Chat
	// inc is the incident store with this Bot's RefSpace (refspace.go);
	// store is the store as given, for its optional interfaces.
	inc       Incidents
	store     Incidents
	people    *People
	st        *state
	log       *slog.Logger
	now       func() time.Time
	board     Board
	overrides Overrides
	wakeFn    func()
	analytics *Analytics
	metrics   Metrics

	services       map[string]Service
	serviceNames   []string
	ackReactions   []string
	archiveAfter   time.Duration
	defaultChannel string
	// channelIDs: channel as configured (a name) → id, as learnt from posts
	// (learnChannel); also in Redis, for other replicas and restarts.
	channelIDs  sync.Map
	pageMaxWait time.Duration
	syncMaxWait time.Duration
	repeatEvery time.Duration
	linkTTL     time.Duration
	// bundleWindow: Options.BundleWindow.
	bundleWindow time.Duration
	// reactionPatience bounds a reaction's retries while the store is
	// unavailable; waiting bounds how many reactions retry at once.
	reactionPatience time.Duration
	waiting          chan struct{}

	exec   *Executor
	pager  *Pager
	syncer *Syncer
	// shifts runs handoffs (Bot.Shifts); nil until set.
	shifts atomic.Pointer[Shifts]
}

// New checks o and builds a Bot.
func New(o Options) (*Bot, error) {
	if o.Chat == nil || o.Incidents == nil || o.Redis == nil {
		return nil, errors.New("bot: Chat, Incidents and Redis are required")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.AckReactions) == 0 {
		o.AckReactions = []string{"white_check_mark", "eyes"}
	}
	if o.PageMaxWait <= 0 {
		o.PageMaxWait = 3 * time.Second
	}
	if o.SyncMaxWait <= 0 {
		o.SyncMaxWait = 250 * time.Millisecond
	}
	if o.RepeatEvery <= 0 {
		o.RepeatEvery = time.Minute
	}
	if o.BundleWindow <= 0 {
		o.BundleWindow = BundleWindow
	}
	if o.LinkTTL <= 0 {
		o.LinkTTL = 30 * 24 * time.Hour
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	if o.ReactionPatience <= 0 {
		o.ReactionPatience = 2 * time.Minute
	}
	if strings.Contains(o.RefSpace, refSpaceSep) {
		return nil, fmt.Errorf("bot: RefSpace %q must not contain %q", o.RefSpace, refSpaceSep)
	}
	if o.ArchiveAfter < 0 {
		return nil, errors.New("bot: ArchiveAfter must not be negative")
	}
	c := &Bot{
		chat: o.Chat, inc: spacedIncidents{Incidents: o.Incidents, space: o.RefSpace, channel: !o.Beside}, store: o.Incidents, log: o.Log.With("component", "chat", "chat", o.Chat.Name()), now: o.Now,
		board: o.Board, overrides: o.Overrides, wakeFn: o.Wake, analytics: o.Analytics, metrics: o.Metrics,
		services: map[string]Service{}, archiveAfter: o.ArchiveAfter, defaultChannel: o.DefaultChannel,
		pageMaxWait: o.PageMaxWait, syncMaxWait: o.SyncMaxWait, repeatEvery: o.RepeatEvery, linkTTL: o.LinkTTL,
		reactionPatience: o.ReactionPatience, bundleWindow: o.BundleWindow, waiting: make(chan struct{}, reactionsWaiting),
	}
	for _, r := range o.AckReactions {
		c.ackReactions = append(c.ackReactions, trimColons(r))
	}
	for _, s := range o.Services {
		if _, dup := c.services[s.Name]; dup {
			return nil, fmt.Errorf("bot: service %s listed twice", s.Name)
		}
		c.services[s.Name] = s
		c.serviceNames = append(c.serviceNames, s.Name)
	}
	slices.Sort(c.serviceNames)
	if len(c.serviceNames) == 0 {
		c.serviceNames = []string{"(none configured)"}
	}
	c.st = newState(o.Redis, o.Prefix, o.Chat.Name())
	people, err := newPeople(o.Chat, c.st, o.People, c.log, o.Now)
	if err != nil {
		return nil, err
	}
	c.people = people
	c.exec = &Executor{c: c}
	c.pager = &Pager{c: c, dms: map[string]string{}}
	c.syncer = &Syncer{c: c}
	return c, nil
}

func trimColons(s string) string {
	for len(s) > 0 && s[0] == ':' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ':' {
		s = s[:len(s)-1]
	}
	return s
}

// Executor runs commands, buttons and reactions.
func (c *Bot) Executor() *Executor { return c.exec }

// Pager delivers escalation pages as direct messages.
func (c *Bot) Pager() *Pager { return c.pager }

// Syncer mirrors incidents in chat (escalation.ChatSync).
func (c *Bot) Syncer() *Syncer { return c.syncer }

// People maps people to chat users.
func (c *Bot) People() *People { return c.people }

// WarnUnreachable looks up every person's chat account once and logs a
// warning for each who cannot be reached: their pages would go to the
// fallback. It returns when all are checked or ctx ends; the answers it
// finds are kept, so later pages need not ask again.
func (c *Bot) WarnUnreachable(ctx context.Context) {
	for _, err := range c.people.Check(ctx) {
		if ctx.Err() == nil {
			c.log.Warn("a person cannot be paged in chat; their pages will go to the fallback", "err", err)
		}
	}
}

// ReactionPatience is how long Executor.Reaction may retry a reaction
// while the incident store is unavailable (Options.ReactionPatience); an
// adapter gives Reaction a context that lasts at least that long.
func (c *Bot) ReactionPatience() time.Duration { return c.reactionPatience }

// AckReactions are the reaction names that acknowledge.
func (c *Bot) AckReactions() []string { return slices.Clone(c.ackReactions) }

// FirstTime reports whether id (an event or envelope id) is seen for the
// first time by any replica in the last hour: true exactly once per id. The
// adapter calls it after acknowledging a delivery, so a redelivered event is
// acted on once.
func (c *Bot) FirstTime(ctx context.Context, id string) (bool, error) {
	return c.st.first(ctx, id)
}

// Seen reports whether FirstTime was asked about id (by any replica in the
// last hour), without recording it: an adapter that acknowledges a delivery
// only once it is handled checks it first, and calls FirstTime once the
// delivery is handled.
func (c *Bot) Seen(ctx context.Context, id string) (bool, error) {
	return c.st.seen(ctx, id)
}

func (c *Bot) wake() {
	if c.wakeFn != nil {
		c.wakeFn()
	}
}

// chanRef and msgRef name a channel and a message in the incident store's links.
func (c *Bot) chanRef(channel string) string { return c.chat.Name() + ":" + channel }
func (c *Bot) msgRef(channel, msg string) string {
	return c.chat.Name() + ":" + channel + "/" + msg
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
