package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Chat implements bot.Chat with slack-go's Web API client. Every call goes
// through the pacer first and has its error translated on the way out:
//
//	429 with Retry-After      escalation.RetryAfter (the pacer blocks the method meanwhile)
//	429 without it            escalation.RetryAfter(2s)
//	5xx, network errors       plain errors: the runner retries with backoff
//	ok:false, benign          nil (already_in_channel, already_pinned, already_archived)
//	ok:false, name_taken      bot.ErrNameTaken
//	ok:false, user(s)_not_found  bot.ErrNoUser, escalation.Permanent
//	ok:false, transient       plain errors (internal_error, fatal_error, request_timeout, ratelimited)
//	ok:false, anything else   escalation.Permanent (channel_not_found, not_in_channel, invalid_auth,
//	                          user_disabled, cannot_dm_bot, …)
type Chat struct {
	api     *slack.Client
	pace    *pacer
	metrics Metrics
	// What Socket needs to open its own client with the app-level token.
	botToken, apiURL string
	httpClient       *http.Client

	mu      sync.Mutex
	botUser string // the bot's user id, once auth.test told it
}

// setSelf records the bot's user id, as the Socket learnt it at auth.test.
func (c *Chat) setSelf(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.botUser = id
}

var (
	_ bot.Chat       = (*Chat)(nil)
	_ bot.KeysFinder = (*Chat)(nil)
)

// ChatOptions configure a Chat. BotToken is required.
type ChatOptions struct {
	BotToken string // xoxb-…
	// APIURL is the Web API base, ending in "/"; default DefaultAPIURL.
	// Tests and the demo point it at internal/fakeslack.
	APIURL string
	// Limits pace the Web API calls; nil means SlackLimits (Slack's tiers).
	// An empty, non-nil map paces nothing (only 429s hold calls back).
	Limits map[string]Limit
	// HTTPClient is the Web API's client; default one with a 30s timeout.
	HTTPClient *http.Client
	// Metrics counts failed Web API calls by method; nil counts nothing.
	Metrics Metrics
	// Now is the clock the pacer reads. Default time.Now.
	Now func() time.Time
	// Budget, when set, shares the pacing with every replica through Redis
	// (one Slack budget for the deployment); nil paces this process alone.
	Budget *Budget
}

// NewChat builds the Slack Chat; it makes no network call. It fails when
// the bot token is missing or the API URL does not end in "/".
func NewChat(o ChatOptions) (*Chat, error) {
	if o.BotToken == "" {
		return nil, errors.New("slack: a bot token is required")
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(o.APIURL, "/") {
		return nil, fmt.Errorf("slack: api_url %q must end with /", o.APIURL)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Limits == nil {
		o.Limits = SlackLimits()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	api := slack.New(o.BotToken, slack.OptionAPIURL(o.APIURL), slack.OptionHTTPClient(o.HTTPClient))
	return &Chat{api: api, pace: newPacer(o.Limits, o.Now, o.Budget), metrics: o.Metrics,
		botToken: o.BotToken, apiURL: o.APIURL, httpClient: o.HTTPClient}, nil
}

// Name implements bot.Chat.
func (c *Chat) Name() string { return "slack" }

// noRetryAfter is the wait after a 429 that gave no Retry-After.
const noRetryAfter = 2 * time.Second

// interactiveAttempts is how many times a call made for a person who is
// waiting (no bot.Pacing on its context: a reply, a lookup while handling a
// click) is tried. Calls made by jobs are tried once: the runner retries the
// job, with its backoff, without holding a worker.
const interactiveAttempts = 4

// call paces, runs and translates one Web API call; for an interactive
// caller it retries what is worth retrying (429s after their Retry-After,
// which the pacer enforces; 5xx and network errors after a short backoff).
func (c *Chat) call(ctx context.Context, method, channel string, fn func(ctx context.Context) error) error {
	if _, job := bot.PacingFrom(ctx); job {
		return c.once(ctx, method, channel, fn)
	}
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, method, channel, fn)
		var ra escalation.RetryAfterError
		switch {
		case err == nil, attempt == interactiveAttempts, ctx.Err() != nil, escalation.IsPermanent(err),
			errors.Is(err, bot.ErrNameTaken), errors.Is(err, bot.ErrNoUser):
			return err
		case errors.As(err, &ra):
			continue // the pacer holds the next attempt until Retry-After has passed
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// once paces, runs and translates one attempt.
func (c *Chat) once(ctx context.Context, method, channel string, fn func(ctx context.Context) error) error {
	if err := c.pace.wait(ctx, method, channel); err != nil {
		return err
	}
	err := fn(ctx)
	if err == nil {
		return nil
	}
	c.metrics.ChatAPIError("slack", method)
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		d := max(rl.RetryAfter, time.Second)
		c.pace.block(ctx, method, channel, d)
		return escalation.RetryAfter(fmt.Errorf("%s: %w", method, err), d)
	case errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests:
		c.pace.block(ctx, method, channel, noRetryAfter)
		return escalation.RetryAfter(fmt.Errorf("%s: %w", method, err), noRetryAfter)
	case errors.As(err, &sc):
		return fmt.Errorf("%s: %w", method, err)
	case errors.As(err, &se):
		switch se.Err {
		case "already_in_channel", "already_pinned", "already_archived", "cant_invite_self":
			return nil
		case "name_taken":
			return fmt.Errorf("%s: %w", method, bot.ErrNameTaken)
		case "users_not_found", "user_not_found":
			// No such person: no retry finds them, so a page to them is
			// given up at once (its fallback paged) on one chat or several.
			return escalation.Permanent(fmt.Errorf("%s: %w", method, bot.ErrNoUser))
		case "ratelimited":
			c.pace.block(ctx, method, channel, noRetryAfter)
			return escalation.RetryAfter(fmt.Errorf("%s: %w", method, err), noRetryAfter)
		case "internal_error", "fatal_error", "request_timeout", "service_unavailable":
			return fmt.Errorf("%s: %w", method, err)
		}
		return escalation.Permanent(fmt.Errorf("%s: %w", method, err))
	}
	return fmt.Errorf("%s: %w", method, err)
}

// LookupEmail implements bot.Chat.
func (c *Chat) LookupEmail(ctx context.Context, email string) (string, error) {
	var id string
	err := c.call(ctx, "users.lookupByEmail", "", func(ctx context.Context) error {
		u, err := c.api.GetUserByEmailContext(ctx, email)
		if err == nil {
			id = u.ID
		}
		return err
	})
	return id, err
}

// UserEmail implements bot.Chat.
func (c *Chat) UserEmail(ctx context.Context, userID string) (string, error) {
	var email string
	err := c.call(ctx, "users.info", "", func(ctx context.Context) error {
		u, err := c.api.GetUserInfoContext(ctx, userID)
		if err == nil {
			email = u.Profile.Email
		}
		return err
	})
	return email, err
}

// OpenDM implements bot.Chat.
func (c *Chat) OpenDM(ctx context.Context, userID string) (string, error) {
	var id string
	err := c.call(ctx, "conversations.open", "", func(ctx context.Context) error {
		ch, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}})
		if err == nil {
			id = ch.ID
		}
		return err
	})
	return id, err
}

// Post implements bot.Chat.
func (c *Chat) Post(ctx context.Context, channel string, m bot.Message) (string, string, error) {
	var chID, ts string
	err := c.call(ctx, "chat.postMessage", channel, func(ctx context.Context) error {
		var err error
		chID, ts, err = c.api.PostMessageContext(ctx, channel, msgOptions(m)...)
		return err
	})
	return chID, ts, err
}

// Update implements bot.Chat. A plain message (text, no blocks) clears the
// blocks drawn before: Slack keeps a message's blocks when an update
// carries none, so a question's buttons would stay.
func (c *Chat) Update(ctx context.Context, channelID, msgID string, m bot.Message) error {
	opts := msgOptions(m)
	if m.Card == nil && m.Notice == nil && m.Summary == nil && m.Bundle == nil && len(m.Notices) == 0 && len(m.Buttons) == 0 {
		opts = append(opts, slack.MsgOptionBlocks())
	}
	return c.call(ctx, "chat.update", channelID, func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channelID, msgID, opts...)
		return err
	})
}

// CreateChannel implements bot.Chat.
func (c *Chat) CreateChannel(ctx context.Context, name string) (string, error) {
	var id string
	err := c.call(ctx, "conversations.create", "", func(ctx context.Context) error {
		ch, err := c.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
		if err == nil {
			id = ch.ID
		}
		return err
	})
	return id, err
}

// Invite implements bot.Chat.
func (c *Chat) Invite(ctx context.Context, channelID string, userIDs ...string) error {
	return c.call(ctx, "conversations.invite", channelID, func(ctx context.Context) error {
		_, err := c.api.InviteUsersToConversationContext(ctx, channelID, userIDs...)
		return err
	})
}

// Pin implements bot.Chat.
func (c *Chat) Pin(ctx context.Context, channelID, msgID string) error {
	return c.call(ctx, "pins.add", channelID, func(ctx context.Context) error {
		return c.api.AddPinContext(ctx, channelID, slack.ItemRef{Channel: channelID, Timestamp: msgID})
	})
}

// Archive implements bot.Chat.
func (c *Chat) Archive(ctx context.Context, channelID string) error {
	return c.call(ctx, "conversations.archive", channelID, func(ctx context.Context) error {
		return c.api.ArchiveConversationContext(ctx, channelID)
	})
}

// Ephemeral implements bot.Chat.
func (c *Chat) Ephemeral(ctx context.Context, channelID, userID string, m bot.Message) error {
	return c.call(ctx, "chat.postEphemeral", channelID, func(ctx context.Context) error {
		_, err := c.api.PostEphemeralContext(ctx, channelID, userID, msgOptions(m)...)
		return err
	})
}

// FindKey implements bot.Chat: one conversations.history call for the
// channel's newest recent messages (thread replies are not among them), or
// with thread one conversations.replies call for the thread's first
// recent messages, since a non-zero since (oldest=), with
// include_all_metadata, looking for a message whose metadata is a
// bot.Message.Key equal to key; its ts is the message id.
func (c *Chat) FindKey(ctx context.Context, channelID, thread, key string, since time.Time, recent int) (string, error) {
	found := ""
	oldest := ""
	if !since.IsZero() {
		oldest = fmt.Sprintf("%d.%06d", since.Unix(), since.Nanosecond()/1000)
	}
	match := func(msgs []slack.Message) {
		for _, m := range msgs {
			if carries(m.Metadata, key) {
				found = m.Timestamp
				return
			}
		}
	}
	if thread != "" {
		return found, c.call(ctx, "conversations.replies", channelID, func(ctx context.Context) error {
			msgs, _, _, err := c.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channelID, Timestamp: thread, Limit: recent, Oldest: oldest, IncludeAllMetadata: true})
			match(msgs)
			return err
		})
	}
	err := c.call(ctx, "conversations.history", channelID, func(ctx context.Context) error {
		h, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Limit: recent, Oldest: oldest, IncludeAllMetadata: true})
		if err != nil {
			return err
		}
		match(h.Messages)
		return nil
	})
	return found, err
}

// FindKeys is bot.KeysFinder: one conversations.history read of the
// channel's newest recent messages, answering for every key (for every
// key they carry when keys is nil).
func (c *Chat) FindKeys(ctx context.Context, channelID string, keys []string, recent int) (map[string]string, error) {
	found := map[string]string{}
	err := c.call(ctx, "conversations.history", channelID, func(ctx context.Context) error {
		h, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Limit: recent, IncludeAllMetadata: true})
		if err != nil {
			return err
		}
		for _, m := range h.Messages {
			if len(keys) == 0 {
				for _, k := range carried(m.Metadata) {
					if _, ok := found[k]; !ok {
						found[k] = m.Timestamp
					}
				}
				continue
			}
			for _, k := range keys {
				if _, ok := found[k]; !ok && carries(m.Metadata, k) {
					found[k] = m.Timestamp
				}
			}
		}
		return nil
	})
	return found, err
}

// carried is every key message metadata written for a bot.Message
// carries: its "key" and, for a bundle, its "keys".
func carried(md slack.SlackMetadata) []string {
	k, _ := md.EventPayload["key"].(string)
	if k == "" || md.EventType != eventType(k) {
		return nil
	}
	return append([]string{k}, metadataKeys(md)...)
}

// carries reports whether message metadata written for a bot.Message
// carries key: as its "key", or among its "keys" (a bundle's).
func carries(md slack.SlackMetadata, key string) bool {
	k, _ := md.EventPayload["key"].(string)
	if k == "" || md.EventType != eventType(k) {
		return false
	}
	return k == key || slices.Contains(metadataKeys(md), key)
}

// metadataKeys returns the "keys" of message metadata written for a
// bot.Message with Keys (JSON decodes the list as []any).
func metadataKeys(md slack.SlackMetadata) []string {
	raw, _ := md.EventPayload["keys"].([]any)
	var keys []string
	for _, v := range raw {
		if s, ok := v.(string); ok {
			keys = append(keys, s)
		}
	}
	return keys
}

// FindChannel implements bot.Chat: conversations.list of the public
// channels (scope channels:read; incident channels are public), not
// archived, page by page until one is named name (a leading # is
// dropped); ByBot compares its creator with the bot's own user id, which
// auth.test tells once.
func (c *Chat) FindChannel(ctx context.Context, name string) (bot.ChannelInfo, error) {
	self, err := c.self(ctx)
	if err != nil {
		return bot.ChannelInfo{}, err
	}
	name = strings.TrimPrefix(name, "#")
	cursor := ""
	for {
		var page []slack.Channel
		err := c.call(ctx, "conversations.list", "", func(ctx context.Context) error {
			var err error
			page, cursor, err = c.api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
				Cursor: cursor, ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel"}})
			return err
		})
		if err != nil {
			return bot.ChannelInfo{}, err
		}
		for _, ch := range page {
			if ch.Name == name {
				return bot.ChannelInfo{ID: ch.ID, ByBot: ch.Creator == self, Created: ch.Created.Time()}, nil
			}
		}
		if cursor == "" {
			return bot.ChannelInfo{}, fmt.Errorf("find channel %s: %w", name, bot.ErrNoChannel)
		}
	}
}

// AuthCheck implements bot.ChatAuth: auth.test now (never the cached
// answer), so a revoked token or an unreachable Slack is an error.
func (c *Chat) AuthCheck(ctx context.Context) error {
	return c.call(ctx, "auth.test", "", func(ctx context.Context) error {
		_, err := c.api.AuthTestContext(ctx)
		return err
	})
}

// self returns the bot's user id, asking auth.test the first time.
func (c *Chat) self(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.botUser
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	err := c.call(ctx, "auth.test", "", func(ctx context.Context) error {
		res, err := c.api.AuthTestContext(ctx)
		if err == nil {
			id = res.UserID
		}
		return err
	})
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.botUser = id
	c.mu.Unlock()
	return id, nil
}

// Lookup implements bot.Chat: one conversations.history call for exactly
// that message (latest and oldest its ts, inclusive, limit 1) with
// include_all_metadata. A thread reply is not in a channel's history, so it
// is ErrNoMessage like a deleted message. A message is the bot's when its
// author is the bot's user (Chat.self).
func (c *Chat) Lookup(ctx context.Context, channelID, msgID string) (bot.Posted, error) {
	self, err := c.self(ctx)
	if err != nil {
		return bot.Posted{}, err
	}
	var p bot.Posted
	found := false
	err = c.call(ctx, "conversations.history", channelID, func(ctx context.Context) error {
		h, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channelID, Latest: msgID, Oldest: msgID, Inclusive: true, Limit: 1, IncludeAllMetadata: true})
		if err != nil {
			return err
		}
		for _, m := range h.Messages {
			if m.Timestamp != msgID {
				continue
			}
			found = true
			p.Text = m.Text
			p.ByBot = self != "" && m.User == self
			if k, _ := m.Metadata.EventPayload["key"].(string); k != "" && m.Metadata.EventType == eventType(k) {
				p.Key, p.Keys = k, metadataKeys(m.Metadata)
			}
		}
		return nil
	})
	if err != nil {
		return bot.Posted{}, err
	}
	if !found {
		return bot.Posted{}, fmt.Errorf("conversations.history %s/%s: %w", channelID, msgID, bot.ErrNoMessage)
	}
	return p, nil
}

// UploadAdvice implements bot.UploadAdvisor.
func (c *Chat) UploadAdvice() string {
	return "check that the Slack app has the files:write scope"
}

// Upload implements bot.Chat with the upload flow Slack has instead of
// files.upload: files.getUploadURLExternal, the bytes to that URL, then
// files.completeUploadExternal to share the file in the channel. Each
// step is paced and retried on its own, so a failed share does not
// upload the bytes again.
func (c *Chat) Upload(ctx context.Context, channelID string, f bot.File) error {
	var u *slack.GetUploadURLExternalResponse
	err := c.call(ctx, "files.getUploadURLExternal", "", func(ctx context.Context) error {
		var err error
		u, err = c.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{
			FileName: f.Name, FileSize: len(f.Data), AltTxt: f.AltText})
		return err
	})
	if err != nil {
		return err
	}
	err = c.call(ctx, "files.upload", "", func(ctx context.Context) error {
		return c.api.UploadToURL(ctx, slack.UploadToURLParameters{
			UploadURL: u.UploadURL, Reader: bytes.NewReader(f.Data), Filename: f.Name})
	})
	if err != nil {
		return err
	}
	return c.call(ctx, "files.completeUploadExternal", channelID, func(ctx context.Context) error {
		_, err := c.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
			Files: []slack.FileSummary{{ID: u.FileID, Title: f.Title}}, Channel: channelID})
		return err
	})
}
