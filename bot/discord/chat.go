// Package discord is baton's Discord adapter: a bot.Chat over Discord's REST
// API through github.com/bwmarrin/discordgo.
//
// It supplies what bot/slack does: Chat (REST) and Gateway, the event loop
// that registers /incident and /oncall and turns interactions and
// reactions into bot.Executor calls. `baton serve` runs both (chat.go)
// when discord.token is set and Slack is not.
//
// How Discord differs from Slack, and what this adapter does about it:
//
//   - No message metadata. A bot.Message.Key is posted as the message's
//     nonce (hashed to 25 characters) with enforce_nonce, so a retried post
//     within Discord's nonce window returns the first message instead of a
//     second. FindKey cannot look a key up afterwards and says so with an
//     escalation.Permanent error; bot then posts again (logged at WARN), and
//     the nonce de-duplicates a post retried within that window. The Chat
//     is a bot.Replayer: bot's Pager checks a page's delivery by posting
//     its message again under the same key (a bundle of pages under the
//     bundle's id), so pages are bundled on Discord as on Slack.
//   - Channel names are not unique on Discord. CreateChannel lists the
//     guild's channels first and answers bot.ErrNameTaken when the name is
//     there, so bot's Syncer asks FindChannel and adopts the channel its own
//     earlier, unrecorded create made (ByBot: the topic baton gives its
//     channels) instead of making a second one.
//   - No archive, no invitations (guild members see public channels), no
//     email look-up for bots: Archive and Invite do nothing, LookupEmail is
//     bot.ErrNoUser, UserEmail "".
//   - Ephemeral messages exist only as interaction answers: outside one,
//     Ephemeral sends the message as a DM to the user.
package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
)

// DefaultAPIURL is Discord's REST base.
const DefaultAPIURL = "https://discord.com/api/v10/"

// channelTopic marks the channels baton creates (FindChannel's ByBot).
const channelTopic = "Incident channel managed by baton"

// discordEpoch is 2015-01-01T00:00:00Z in Unix milliseconds.
const discordEpoch = 1420070400000

// Chat implements bot.Chat with discordgo's REST client. Errors are
// translated on the way out:
//
//	429 (route or global)        escalation.RetryAfter(retry_after)
//	5xx, network errors          plain errors: the runner retries with backoff
//	404 10003/10008, 403, 400    escalation.Permanent (unknown channel or message, missing access, invalid form)
//	400 50033 on a DM            bot.ErrNoUser (escalation.Permanent)
//
// discordgo's own retrying of 429s is off: a job is rescheduled instead of
// holding a worker asleep.
type Chat struct {
	s               *discordgo.Session
	guild, category string
	mu              sync.Mutex
	self            string
	// dms remembers whether a channel id is a DM (true) or a guild
	// channel (false): a card in a DM mentions nobody (renderIn).
	dms sync.Map
}

var (
	_ bot.Chat          = (*Chat)(nil)
	_ bot.Replayer      = (*Chat)(nil)
	_ bot.UploadAdvisor = (*Chat)(nil)
	_ bot.EmailLooker   = (*Chat)(nil)
)

// replayWindow is how long after a post Discord answers a post with the
// same nonce (enforce_nonce) with the first message: "the past few
// minutes", Discord says; two is well inside it.
const replayWindow = 2 * time.Minute

// ReplayWindow implements bot.Replayer: a post repeated with the same
// bot.Message.Key (the same nonce, enforce_nonce) within it is answered
// with the first message.
func (c *Chat) ReplayWindow() time.Duration { return replayWindow }

// ChatOptions configure a Chat. Token and GuildID are required.
type ChatOptions struct {
	Token   string // the bot token alone, without "Bot "
	GuildID string
	// CategoryID, when set, is the parent of the incident channels.
	CategoryID string
	// APIURL is the REST base ending in "/"; default DefaultAPIURL.
	APIURL string
	// Transport carries the HTTP requests; default http.DefaultTransport.
	Transport http.RoundTripper
	// Timeout bounds one REST call; default 30s.
	Timeout time.Duration
}

// NewChat builds the Discord Chat; it makes no network call.
func NewChat(o ChatOptions) (*Chat, error) {
	if o.Token == "" || o.GuildID == "" {
		return nil, errors.New("discord: a token and a guild id are required")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	base, err := url.Parse(o.APIURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || !strings.HasSuffix(o.APIURL, "/") {
		return nil, fmt.Errorf("discord: api_url %q must be an http(s) URL ending with /", o.APIURL)
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	s, err := discordgo.New("Bot " + o.Token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	s.Client = &http.Client{Transport: Rebase(o.APIURL, o.Transport), Timeout: o.Timeout}
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.LogLevel = -1
	return &Chat{s: s, guild: o.GuildID, category: o.CategoryID}, nil
}

// Session is the discordgo session the Chat calls through (the gateway
// loop opens its websocket on the same one).
func (c *Chat) Session() *discordgo.Session { return c.s }

// rebase sends discordgo's requests, which address https://discord.com/api/v9/…
// (its endpoint variables are fixed at init and shared by every session), to
// the configured base. Anything else is refused: nothing leaves for an
// address nobody configured.
type rebase struct {
	base string
	next http.RoundTripper
}

// Rebase returns a RoundTripper that rewrites discordgo's
// "https://discord.com/api/v9/<route>" to base+"<route>" (base ends in "/",
// e.g. https://discord.com/api/v10/ or a fake's) and refuses other URLs.
func Rebase(base string, next http.RoundTripper) http.RoundTripper {
	return rebase{base: base, next: next}
}

// RoundTrip implements http.RoundTripper.
func (rw rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v"+discordgo.APIVersion+"/")
	if !ok || r.URL.Host != "discord.com" {
		return nil, fmt.Errorf("discord: refusing a request to %s", r.URL.Redacted())
	}
	u, err := url.Parse(rw.base + rest)
	if err != nil {
		return nil, err
	}
	u.RawQuery = r.URL.RawQuery
	r2 := r.Clone(r.Context())
	r2.URL, r2.Host = u, ""
	return rw.next.RoundTrip(r2)
}

// Name implements bot.Chat.
func (c *Chat) Name() string { return "discord" }

// translate turns a discordgo error into what bot and the runner expect.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	var re *discordgo.RESTError
	switch {
	case errors.As(err, &rl):
		return escalation.RetryAfter(fmt.Errorf("%s: %w", op, err), max(rl.RetryAfter, 100*time.Millisecond))
	case errors.As(err, &re) && re.Response != nil:
		code := 0
		if re.Message != nil {
			code = re.Message.Code
		}
		switch st := re.Response.StatusCode; {
		case st == http.StatusTooManyRequests:
			return escalation.RetryAfter(fmt.Errorf("%s: %w", op, err), 2*time.Second)
		case st >= 500:
			return fmt.Errorf("%s: %w", op, err)
		case code == discordgo.ErrCodeInvalidRecipients:
			return escalation.Permanent(fmt.Errorf("%s: %w: %w", op, bot.ErrNoUser, err))
		case st == http.StatusNotFound && code == discordgo.ErrCodeUnknownMessage:
			return escalation.Permanent(fmt.Errorf("%s: %w: %w", op, bot.ErrNoMessage, err))
		case st == http.StatusNotFound && code == discordgo.ErrCodeUnknownChannel:
			return escalation.Permanent(fmt.Errorf("%s: %w: %w", op, bot.ErrNoChannel, err))
		case st >= 400:
			return escalation.Permanent(fmt.Errorf("%s: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func opts(ctx context.Context) discordgo.RequestOption { return discordgo.WithContext(ctx) }

// paced keeps a job from sleeping in discordgo's rate limiter: discordgo
// honours X-RateLimit-Remaining 0 (and the global limit) by sleeping until
// the bucket resets, whatever the context. A call made for a job (a
// bot.Pacing on ctx) whose bucket would make it wait longer than the job's
// MaxWait returns escalation.Defer with the wait instead, so the runner
// reschedules the job and its worker stays free. A call without Pacing (a
// person is waiting for it) waits as discordgo does.
func (c *Chat) paced(ctx context.Context, bucket string) error {
	p, job := bot.PacingFrom(ctx)
	if !job {
		return nil
	}
	b := c.s.Ratelimiter.GetBucket(bucket)
	b.Lock()
	wait := c.s.Ratelimiter.GetWaitTime(b, 1)
	b.Unlock()
	if wait > p.MaxWait {
		return escalation.Defer(wait)
	}
	return nil
}

// LookupEmail implements bot.Chat: a bot cannot see Discord users' emails.
func (c *Chat) LookupEmail(context.Context, string) (string, error) {
	return "", fmt.Errorf("discord: no email look-up for bots: %w", bot.ErrNoUser)
}

// LooksUpEmail implements bot.EmailLooker: it cannot.
func (c *Chat) LooksUpEmail() bool { return false }

// UserEmail implements bot.Chat: Discord hides emails from bots.
func (c *Chat) UserEmail(context.Context, string) (string, error) { return "", nil }

// OpenDM implements bot.Chat (POST users/@me/channels; Discord returns the
// existing DM channel when there is one).
func (c *Chat) OpenDM(ctx context.Context, userID string) (string, error) {
	ch, err := c.s.UserChannelCreate(userID, opts(ctx))
	if err != nil {
		return "", translate("open DM", err)
	}
	c.dms.Store(ch.ID, true)
	return ch.ID, nil
}

// isDM reports whether channelID is a DM channel: remembered, or in the
// gateway's state, or asked once (GET channels/{id}) and remembered.
func (c *Chat) isDM(ctx context.Context, channelID string) (bool, error) {
	if v, ok := c.dms.Load(channelID); ok {
		return v.(bool), nil
	}
	if c.s.State != nil {
		if ch, err := c.s.State.Channel(channelID); err == nil {
			dm := ch.Type == discordgo.ChannelTypeDM
			c.dms.Store(channelID, dm)
			return dm, nil
		}
	}
	endpoint := discordgo.EndpointChannel(channelID)
	if err := c.paced(ctx, endpoint); err != nil {
		return false, err
	}
	raw, err := c.s.RequestWithBucketID(http.MethodGet, endpoint, nil, endpoint, opts(ctx))
	if err != nil {
		return false, translate("get channel", err)
	}
	var ch discordgo.Channel
	if err := json.Unmarshal(raw, &ch); err != nil {
		return false, fmt.Errorf("get channel: decode: %w", err)
	}
	dm := ch.Type == discordgo.ChannelTypeDM
	c.dms.Store(channelID, dm)
	return dm, nil
}

// Post implements bot.Chat. channel must be an id (Discord has no names to
// post to). A Thread becomes a reply (message_reference) to that message.
func (c *Chat) Post(ctx context.Context, channel string, m bot.Message) (string, string, error) {
	dm, err := c.isDM(ctx, channel)
	if err != nil {
		return "", "", err
	}
	body := struct {
		outgoing
		Reference *discordgo.MessageReference `json:"message_reference,omitempty"`
	}{outgoing: renderIn(m, dm)}
	if m.Thread != "" {
		body.Reference = &discordgo.MessageReference{MessageID: m.Thread, ChannelID: channel}
	}
	endpoint := discordgo.EndpointChannelMessages(channel)
	if err := c.paced(ctx, endpoint); err != nil {
		return "", "", err
	}
	raw, err := c.s.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint, opts(ctx))
	if err != nil {
		return "", "", translate("post", err)
	}
	var msg discordgo.Message
	if err := json.Unmarshal(raw, &msg); err != nil {
		return "", "", fmt.Errorf("post: decode: %w", err)
	}
	return msg.ChannelID, msg.ID, nil
}

// Update implements bot.Chat: content, embed and buttons replaced, mentions
// as the new rendering allows.
func (c *Chat) Update(ctx context.Context, channelID, msgID string, m bot.Message) error {
	if err := c.paced(ctx, discordgo.EndpointChannelMessage(channelID, "")); err != nil {
		return err
	}
	dm, err := c.isDM(ctx, channelID)
	if err != nil {
		return err
	}
	out := renderIn(m, dm)
	edit := discordgo.NewMessageEdit(channelID, msgID).SetContent(out.Content)
	edit.Embeds = &out.Embeds
	edit.Components = &out.Components
	edit.AllowedMentions = out.AllowedMentions
	_, err = c.s.ChannelMessageEditComplex(edit, opts(ctx))
	return translate("update", err)
}

// CreateChannel implements bot.Chat: a text channel under the category,
// parent_id given in the create call. Discord allows duplicate names, so the
// guild's channels are listed first and a name in use is bot.ErrNameTaken.
func (c *Chat) CreateChannel(ctx context.Context, name string) (string, error) {
	chans, err := c.s.GuildChannels(c.guild, opts(ctx))
	if err != nil {
		return "", translate("list channels", err)
	}
	for _, ch := range chans {
		c.dms.Store(ch.ID, false) // a guild's channels are no DMs
		if ch.Name == name && ch.Type == discordgo.ChannelTypeGuildText {
			return "", fmt.Errorf("create channel %s: %w", name, bot.ErrNameTaken)
		}
	}
	ch, err := c.s.GuildChannelCreateComplex(c.guild, discordgo.GuildChannelCreateData{
		Name: name, Type: discordgo.ChannelTypeGuildText, ParentID: c.category, Topic: channelTopic}, opts(ctx))
	if err != nil {
		return "", translate("create channel", err)
	}
	c.dms.Store(ch.ID, false)
	return ch.ID, nil
}

// Invite implements bot.Chat: guild members see the incident channels
// already; nothing to do.
func (c *Chat) Invite(context.Context, string, ...string) error { return nil }

// Pin implements bot.Chat; pinning a pinned message is no error on Discord.
func (c *Chat) Pin(ctx context.Context, channelID, msgID string) error {
	return translate("pin", c.s.ChannelMessagePin(channelID, msgID, opts(ctx)))
}

// Archive implements bot.Chat: Discord text channels have no archive; the
// channel stays as it is.
func (c *Chat) Archive(context.Context, string) error { return nil }

// Ephemeral implements bot.Chat. Outside an interaction Discord has no
// message shown to one user only, so it goes to the user as a DM.
func (c *Chat) Ephemeral(ctx context.Context, _ string, userID string, m bot.Message) error {
	dm, err := c.OpenDM(ctx, userID)
	if err != nil {
		return err
	}
	m.Key, m.Keys, m.Thread = "", nil, ""
	_, _, err = c.Post(ctx, dm, m)
	return err
}

// Upload implements bot.Chat: one message with the file attached.
func (c *Chat) Upload(ctx context.Context, channelID string, f bot.File) error {
	_, err := c.s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
		Content:         escape(f.Title),
		Files:           []*discordgo.File{{Name: f.Name, ContentType: contentType(f.Name), Reader: bytes.NewReader(f.Data)}},
		AllowedMentions: &discordgo.MessageAllowedMentions{},
	}, opts(ctx))
	return translate("upload", err)
}

// contentType is a file's type from its extension (application/octet-stream
// when unknown).
func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// ErrNoKeys says FindKey cannot work on Discord: messages carry no metadata.
var ErrNoKeys = errors.New("discord messages carry no metadata to find a key by; the post's nonce de-duplicates a retry instead")

// FindKey implements bot.Chat: always an escalation.Permanent ErrNoKeys
// (see the package comment).
func (c *Chat) FindKey(context.Context, string, string, string, time.Time, int) (string, error) {
	return "", escalation.Permanent(ErrNoKeys)
}

// FindChannel implements bot.Chat: the guild's text channel named name
// (a leading # dropped); ByBot when its topic is the one baton gives its
// channels; Created from its snowflake.
func (c *Chat) FindChannel(ctx context.Context, name string) (bot.ChannelInfo, error) {
	name = strings.TrimPrefix(name, "#")
	chans, err := c.s.GuildChannels(c.guild, opts(ctx))
	if err != nil {
		return bot.ChannelInfo{}, translate("list channels", err)
	}
	for _, ch := range chans {
		if ch.Name == name && ch.Type == discordgo.ChannelTypeGuildText {
			return bot.ChannelInfo{ID: ch.ID, ByBot: ch.Topic == channelTopic, Created: snowflakeTime(ch.ID)}, nil
		}
	}
	return bot.ChannelInfo{}, fmt.Errorf("find channel %s: %w", name, bot.ErrNoChannel)
}

// snowflakeTime is when a snowflake was made (zero when id is not one).
func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n>>22 + discordEpoch)
}

// Lookup implements bot.Chat: the message's author and content as baton
// wrote it (escape undone, so bot finds the INC-<n> in it); Discord keeps
// no key with it (Key is "").
func (c *Chat) Lookup(ctx context.Context, channelID, msgID string) (bot.Posted, error) {
	self, err := c.selfID(ctx)
	if err != nil {
		return bot.Posted{}, err
	}
	m, err := c.s.ChannelMessage(channelID, msgID, opts(ctx))
	if err != nil {
		return bot.Posted{}, translate("lookup", err)
	}
	return bot.Posted{ByBot: m.Author != nil && m.Author.ID == self, Text: unescape(m.Content)}, nil
}

// selfID is the bot's user id, asked of users/@me once.
func (c *Chat) selfID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.self
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	u, err := c.s.User("@me", opts(ctx))
	if err != nil {
		return "", translate("users/@me", err)
	}
	c.mu.Lock()
	c.self = u.ID
	c.mu.Unlock()
	return u.ID, nil
}

// UploadAdvice implements bot.UploadAdvisor.
func (c *Chat) UploadAdvice() string {
	return "check that baton's Discord role may attach files in the channel (the Attach Files permission)"
}
