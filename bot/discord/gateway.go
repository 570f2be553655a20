package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/internal/text"
)

// GatewayOptions configure a Gateway. AppID is required.
type GatewayOptions struct {
	// AppID is the application's id; the guild's commands are registered
	// under it (bulk overwrite).
	AppID string
	// AckReactions are the emoji that acknowledge ("✅"); others are none
	// of baton's business. Default: the bot's (bot.Options.AckReactions).
	AckReactions []string
	// Handlers bounds how many events are handled at once. Default 32.
	Handlers int
	// Authenticated, when set, runs on its own goroutine after the first
	// READY (the wiring checks people's accounts then); Run waits for it
	// before returning.
	Authenticated func(ctx context.Context)
	// Connected, when set, is told whether the gateway socket is up: true
	// once connected, false when it drops (discordgo reconnects) and when
	// Run stops (the wiring's baton_chat_socket_connected gauge).
	Connected func(up bool)
	Log       *slog.Logger
	// Backoff is the first wait before registering the commands or opening
	// the gateway again after a failure; it doubles up to a minute.
	// Default 1s.
	Backoff time.Duration
}

// Gateway is baton's gateway connection to Discord: it registers /incident
// and /oncall, answers every interaction at once (a deferred, ephemeral
// answer: Discord wants one within 3 s) and then hands it to the bot's
// Executor, whose reply follows up; acknowledge reactions by people go to
// the Executor too. discordgo reconnects (op 7, op 9, a dropped socket) on
// its own, resuming the session; events after a reconnect are handled.
type Gateway struct {
	chat  *Chat
	bot   *bot.Bot
	appID string
	acks  []string
	log   *slog.Logger
	sem   chan struct{}

	authenticated func(ctx context.Context)
	authOnce      sync.Once
	connected     func(up bool)
	backoff       time.Duration

	mu      sync.Mutex
	self    string
	ctx     context.Context
	closing bool // set before wg.Wait: no wg.Add after it
	wg      sync.WaitGroup
}

// NewGateway builds a Gateway on chat's session; Run connects.
func NewGateway(chat *Chat, b *bot.Bot, o GatewayOptions) (*Gateway, error) {
	if chat == nil || b == nil || o.AppID == "" {
		return nil, errors.New("discord: a chat, a bot and the application id are required")
	}
	if len(o.AckReactions) == 0 {
		o.AckReactions = b.AckReactions()
	}
	if o.Handlers <= 0 {
		o.Handlers = 32
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Connected == nil {
		o.Connected = func(bool) {}
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	return &Gateway{chat: chat, bot: b, appID: o.AppID, acks: o.AckReactions, authenticated: o.Authenticated,
		connected: o.Connected, backoff: o.Backoff,
		log: o.Log.With("component", "discord"), sem: make(chan struct{}, o.Handlers)}, nil
}

// Intents are the gateway intents baton asks for: guilds, reactions in
// guild channels and DMs, and guild messages (MESSAGE_CREATE: who wrote in
// an incident's channel renews their ack lease). Interactions need none;
// message content (a privileged intent) is not asked for and not read.
const Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessageReactions | discordgo.IntentsDirectMessageReactions |
	discordgo.IntentsGuildMessages

// Run registers the commands, connects and handles events until ctx ends;
// it returns ctx's error then. Registering and connecting are retried with
// backoff (logged at ERROR) until they succeed or ctx ends, as Slack's
// socket is: a Discord outage at start delays the chat side, it does not
// stop it. Once connected, discordgo reconnects on its own.
func (g *Gateway) Run(ctx context.Context) error {
	g.connected(false)
	defer g.connected(false)
	s := g.chat.Session()
	if !g.retry(ctx, "register the commands", func() error {
		_, err := s.ApplicationCommandBulkOverwrite(g.appID, g.chat.guild, Commands(), discordgo.WithContext(ctx))
		return translate("register commands", err)
	}) {
		return ctx.Err()
	}
	g.mu.Lock()
	g.ctx = ctx
	g.mu.Unlock()
	s.Identify.Intents = Intents
	s.StateEnabled = false
	remove := []func(){
		s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { g.connected(true); g.ready(r) }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { g.connected(true) }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { g.connected(false) }),
		s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { g.interaction(i) }),
		s.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionAdd) { g.handle(func() { g.reaction(r) }) }),
		s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { g.handle(func() { g.message(m) }) }),
	}
	opened := g.retry(ctx, "open the gateway", func() error {
		if err := s.Open(); err != nil {
			return fmt.Errorf("open the gateway: %w", err)
		}
		return nil
	})
	var err error
	if opened {
		<-ctx.Done()
		err = s.Close()
	}
	for _, r := range remove {
		r()
	}
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	g.wg.Wait()
	if err != nil {
		return fmt.Errorf("close the gateway: %w", err)
	}
	return ctx.Err()
}

// retry runs fn until it succeeds (true) or ctx ends (false), waiting
// g.backoff after the first failure, doubling to a minute.
func (g *Gateway) retry(ctx context.Context, what string, fn func() error) bool {
	backoff := g.backoff
	for {
		err := fn()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		g.log.Error("discord: could not "+what+"; trying again", "in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// ready records the bot's own id and, the first time, runs Authenticated.
func (g *Gateway) ready(r *discordgo.Ready) {
	if r.User == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.self = r.User.ID
	if g.authenticated == nil || g.ctx == nil || g.closing {
		return
	}
	ctx := g.ctx
	g.authOnce.Do(func() {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.authenticated(ctx)
		}()
	})
}

func (g *Gateway) selfID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.self
}

// handle runs fn on its own goroutine within the handlers' bound.
func (g *Gateway) handle(fn func()) {
	g.mu.Lock()
	ctx := g.ctx
	if ctx == nil || ctx.Err() != nil || g.closing {
		g.mu.Unlock()
		return
	}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		select {
		case g.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-g.sem }()
		fn()
	}()
}

func (g *Gateway) context() context.Context {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ctx
}

// user is who acted: the member in a guild, the user in a DM.
func user(i *discordgo.Interaction) string {
	switch {
	case i.Member != nil && i.Member.User != nil:
		return i.Member.User.ID
	case i.User != nil:
		return i.User.ID
	}
	return ""
}

// interaction answers first (deferred, ephemeral), on discordgo's own
// goroutine for the event, so a busy handler pool (reactions retrying while
// Redis is down) never makes an interaction miss Discord's 3 s; the command
// or button then runs within the handlers' bound and follows up.
func (g *Gateway) interaction(i *discordgo.InteractionCreate) {
	if i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionMessageComponent {
		return
	}
	ctx := g.context()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	answer := &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}
	if redraws(i.Interaction) {
		// "Acknowledge all" (and Take it, and the still-on-it buttons)
		// redraws the message pressed: a deferred update
		// lets the follow-up edit it through the interaction (outside the
		// channel's rate limit), as Slack's response_url replaces it.
		answer = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
	}
	err := g.chat.Session().InteractionRespond(i.Interaction, answer, discordgo.WithContext(ctx))
	if err != nil {
		g.log.Warn("discord: could not answer an interaction in time", "err", translate("interaction callback", err))
		return
	}
	g.handle(func() { g.run(i) })
}

// redraws reports whether an interaction is a button whose reply redraws
// the message it is on: a bundle's "Acknowledge all", a handoff's Take it
// and a "still on it?" DM's two buttons (their message loses the button
// pressed and says what happened, as on Slack).
func redraws(i *discordgo.Interaction) bool {
	if i.Type != discordgo.InteractionMessageComponent || i.Message == nil {
		return false
	}
	id := i.MessageComponentData().CustomID
	if _, ok := ParseAckAllID(id); ok {
		return true
	}
	a, _, ok := ParseCustomID(id)
	return ok && (a == bot.ActionTakePager || a == bot.ActionStillOn || a == bot.ActionHandBack)
}

// run does what an answered interaction asks and follows up with the reply.
func (g *Gateway) run(i *discordgo.InteractionCreate) {
	ctx := g.context()
	s := g.chat.Session()
	var reply bot.Reply
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		d := i.ApplicationCommandData()
		text, given := commandText(d.Name, d.Options)
		reply = g.bot.Executor().Command(ctx, bot.Request{Command: d.Name, Text: text, Given: given,
			User: user(i.Interaction), Channel: i.ChannelID})
	case discordgo.InteractionMessageComponent:
		if id, ok := ParseAckAllID(i.MessageComponentData().CustomID); ok {
			reply = g.bot.Executor().AckAll(ctx, user(i.Interaction), id)
			break
		}
		a, n, ok := ParseCustomID(i.MessageComponentData().CustomID)
		if !ok {
			reply = bot.Reply{Text: "baton does not know that button."}
			break
		}
		reply = g.bot.Executor().Action(ctx, user(i.Interaction), a, n)
	}
	if reply.Text == "" {
		reply.Text = "Done."
	}
	if reply.Redraw != nil && redraws(i.Interaction) {
		out := renderIn(*reply.Redraw, i.GuildID == "") // no guild: a DM
		_, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &out.Content, Embeds: &out.Embeds,
			Components: &out.Components, AllowedMentions: out.AllowedMentions}, discordgo.WithContext(ctx))
		if err != nil {
			g.log.Warn("discord: could not redraw the message pressed; it keeps its buttons (pressing them says the incidents are taken)", "err", translate("redraw", err))
		}
	}
	_, err := s.FollowupMessageCreate(i.Interaction, false, &discordgo.WebhookParams{
		Content:         text.Truncate(escape(reply.Text), maxContent),
		Flags:           discordgo.MessageFlagsEphemeral,
		AllowedMentions: &discordgo.MessageAllowedMentions{},
	}, discordgo.WithContext(ctx))
	if err != nil {
		g.log.Warn("discord: could not send an interaction's reply", "err", translate("follow-up", err))
	}
}

// commandText flattens Discord's typed options into the text bot's grammar
// reads: the sub-command, the incident number first (as #n; Discord lists
// required options first, bot's grammar wants the number first), then each
// other option's value in order (a user as a mention, "service=S" for a
// service, maintenance's long as --long). /oncall show is bot's bare
// "/oncall". The options typed as free text, the other options of the
// commands that take free text, and every service and duration typed as
// a string are not in text: they come back apart, as typed, for
// bot.Request's Given (Note, Title, Service, Duration, Reason; see
// givenOption), so that nothing in them is read as anything else: a note
// "19" or "#19" is not the incident (only the incident option names one),
// a title "db sev=warning down" is that title, a reason "--long",
// "service=x" or "2h" is that reason, a service "db 30d" or a duration
// "2h rotation=x" is refused, never read as a period or a rotation.
func commandText(command string, opts []*discordgo.ApplicationCommandInteractionDataOption) (text string, given bot.Given) {
	var parts []string
	for _, o := range opts {
		if o.Type != discordgo.ApplicationCommandOptionSubCommand {
			continue
		}
		if command == "oncall" && o.Name == "show" {
			for _, v := range o.Options {
				if apart := givenOption(command, o.Name, v.Name, &given); apart != nil && v.Type == discordgo.ApplicationCommandOptionString {
					*apart = v.StringValue()
					continue
				}
				parts = append(parts, fmt.Sprint(v.Value))
			}
			continue
		}
		parts = append(parts, o.Name)
		for _, v := range o.Options {
			if v.Name == "incident" && v.Type == discordgo.ApplicationCommandOptionInteger {
				parts = append(parts, "#"+strconv.FormatInt(v.IntValue(), 10))
			}
		}
		for _, v := range o.Options {
			if apart := givenOption(command, o.Name, v.Name, &given); apart != nil && v.Type == discordgo.ApplicationCommandOptionString {
				*apart = v.StringValue()
				continue
			}
			switch {
			case v.Name == "incident" && v.Type == discordgo.ApplicationCommandOptionInteger:
			case v.Type == discordgo.ApplicationCommandOptionUser:
				parts = append(parts, "<@"+fmt.Sprint(v.Value)+">")
			case v.Name == "service" || v.Name == "rotation":
				parts = append(parts, v.Name+"="+fmt.Sprint(v.Value))
			case v.Type == discordgo.ApplicationCommandOptionBoolean:
				if v.BoolValue() {
					parts = append(parts, "--"+v.Name) // maintenance's --long
				}
			default:
				parts = append(parts, fmt.Sprint(v.Value))
			}
		}
	}
	return strings.Join(parts, " "), given
}

// givenOption is where in g commandText gives option name of /command sub
// apart, or nil when it goes into the text: the note of ack, resolve,
// escalate and page (page's reason), the text of note, new's title and
// service, maintenance's service, duration and reason, stats' service,
// and /oncall show's service and /oncall override's duration and service.
func givenOption(command, sub, name string, g *bot.Given) *string {
	if command == "oncall" {
		switch {
		case (sub == "show" || sub == string(bot.VerbOverride)) && name == "service":
			return &g.Service
		case sub == string(bot.VerbOverride) && name == "duration":
			return &g.Duration
		}
		return nil
	}
	if command != "incident" {
		return nil
	}
	switch {
	case sub == string(bot.VerbStats) && name == "service":
		return &g.Service
	case name == "note" || (sub == string(bot.VerbNote) && name == "text"):
		return &g.Note
	case sub == string(bot.VerbNew) && name == "title":
		return &g.Title
	case (sub == string(bot.VerbNew) || sub == string(bot.VerbMaintenance)) && name == "service":
		return &g.Service
	case sub == string(bot.VerbMaintenance) && name == "duration":
		return &g.Duration
	case sub == string(bot.VerbMaintenance) && name == "reason":
		return &g.Reason
	}
	return nil
}

// reaction hands an acknowledge reaction by a person to the Executor; the
// bot's own reactions (Discord echoes them) and other emoji are ignored.
func (g *Gateway) reaction(r *discordgo.MessageReactionAdd) {
	if r.UserID == "" || r.UserID == g.selfID() || (r.Member != nil && r.Member.User != nil && r.Member.User.Bot) {
		return
	}
	// A server emoji is configured as name:id (check-config), a unicode
	// emoji as itself; Discord sends the two apart.
	emoji := r.Emoji.Name
	if r.Emoji.ID != "" {
		emoji = r.Emoji.Name + ":" + r.Emoji.ID
	}
	if !slices.Contains(g.acks, emoji) {
		return
	}
	ctx := g.context()
	reply, show := g.bot.Executor().Reaction(ctx, r.UserID, r.ChannelID, r.MessageID, emoji)
	if !show || reply.Text == "" {
		return
	}
	if err := g.chat.Ephemeral(ctx, r.ChannelID, r.UserID, bot.Message{Text: reply.Text}); err != nil {
		g.log.Warn("discord: could not tell a reactor", "err", err)
	}
}

// message hands a person's new message in a guild channel to the Executor,
// which renews the ack lease of its incident's owner (bot.Executor.Message);
// the bot's own messages, other bots', webhooks' and system messages are
// ignored (DMs are not delivered: no DM-message intent; nor would a DM be
// an incident's channel), and the content is never read.
func (g *Gateway) message(m *discordgo.MessageCreate) {
	if m.Message == nil || m.Author == nil || m.Author.Bot || m.Author.ID == g.selfID() || m.WebhookID != "" ||
		(m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply) {
		return
	}
	g.bot.Executor().Message(g.context(), m.Author.ID, m.ChannelID)
}

// Commands are /incident and /oncall as registered (names lowercase, at most
// 32 characters; descriptions at most 100).
func Commands() []*discordgo.ApplicationCommand {
	num := func(required bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "incident",
			Description: "The incident's number (default: this channel's)", Required: required, MinValue: ptr(1.0)}
	}
	note := func(desc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "note", Description: desc, MaxLength: 500}
	}
	sub := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
	}
	str := func(name, desc string, required bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: desc, Required: required}
	}
	who := func(desc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionUser, Name: "person", Description: desc, Required: true}
	}
	period := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "period", Description: "How far back",
		Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "7 days", Value: "7d"}, {Name: "30 days", Value: "30d"}, {Name: "90 days", Value: "90d"}}}
	return []*discordgo.ApplicationCommand{
		{Name: "incident", Description: "Incidents: open, acknowledge, resolve, hand over", Options: []*discordgo.ApplicationCommandOption{
			sub("new", "Open an incident", str("title", "What is wrong", true), str("service", "The service", false)),
			sub("ack", "Acknowledge: you own it, pages stop", num(false), note("Why, or what you are doing")),
			sub("resolve", "Resolve it", num(false), note("What fixed it")),
			sub("assign", "Give it to someone", who("The new owner"), num(false)),
			sub("escalate", "Page the next level", num(false), note("Why")),
			sub("note", "Add a note to the timeline", str("text", "The note", true), num(false)),
			sub("page", "Page someone into it until they acknowledge their page", who("Whom to page in"), num(false), note("Why")),
			sub("status", "Show an incident", num(false)),
			sub("list", fmt.Sprintf("Open incidents, the %d newest", bot.ListShown), &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "show",
				Description: "Only yours, only those not yet acknowledged, or both",
				Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "mine", Value: "mine"}, {Name: "triggered", Value: "triggered"},
					{Name: "mine triggered", Value: "mine triggered"}}}),
			sub("stats", "MTTA, MTTR and counts with a chart", period, str("service", "Only this service", false)),
			sub("maintenance", "Hold a service's pages for a while (none: list the windows)", str("service", "The service", false),
				str("duration", "For how long, such as 2h (at most 24h unless long)", false), str("reason", "Why", false),
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "long", Description: "Allow more than 24 hours"}),
			sub("help", "How to use /incident"),
		}},
		{Name: "oncall", Description: "Who is on call, and overrides", Options: []*discordgo.ApplicationCommandOption{
			sub("show", "Who is on call now and next", str("service", "Only this service", false)),
			sub("override", "Put someone on call for a while", who("Who takes over"),
				str("duration", "For how long, such as 4h", true), str("service", "The service's rotation", false)),
		}},
	}
}

func ptr[T any](v T) *T { return &v }
