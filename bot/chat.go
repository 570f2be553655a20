// Package bot is baton's chat side, independent of any chat: the command
// grammar (/incident, /oncall), the incident card as a model, the executor
// that runs commands, button clicks and reactions against the incident
// store, the escalation.Pager that delivers pages as direct messages, and
// the escalation.ChatSync that mirrors each incident in its own channel.
//
// It speaks to a chat through the small Chat interface below; bot/slack
// implements it with slack-go (a Discord adapter would too). Nothing here
// knows Slack ids, Block Kit or mrkdwn: a chat's ids are opaque strings, and
// messages are models (Card, Notice, plain text) that the adapter renders.
package bot

import (
	"context"
	"errors"
	"time"
)

// Chat is what bot needs from a chat platform. Implementations translate
// their SDK's errors at the boundary: a rate limit becomes an error carrying
// escalation.RetryAfter (or escalation.Defer when the adapter's own pacing
// held the call back), a failure that retrying cannot fix becomes
// escalation.Permanent, and the sentinel errors below are returned (wrapped)
// where named. Every method is safe for concurrent use.
type Chat interface {
	// Name is a short, stable name ("slack") used in stored references.
	Name() string
	// LookupEmail returns the id of the chat user with that email, or ErrNoUser.
	LookupEmail(ctx context.Context, email string) (string, error)
	// UserEmail returns a chat user's email ("" when the chat hides it), or ErrNoUser.
	UserEmail(ctx context.Context, userID string) (string, error)
	// OpenDM returns the id of the bot's direct-message channel with a user.
	OpenDM(ctx context.Context, userID string) (string, error)
	// Post posts m in a channel (an id, or a name as configured) and returns
	// the channel's id and the new message's id.
	Post(ctx context.Context, channel string, m Message) (channelID, msgID string, err error)
	// Update replaces a message the bot posted, in place.
	Update(ctx context.Context, channelID, msgID string, m Message) error
	// CreateChannel creates a public channel and returns its id; ErrNameTaken
	// when the name is in use.
	CreateChannel(ctx context.Context, name string) (string, error)
	// Invite adds users to a channel; users already in it are not an error.
	Invite(ctx context.Context, channelID string, userIDs ...string) error
	// Pin pins a message in its channel; an already pinned one is not an error.
	Pin(ctx context.Context, channelID, msgID string) error
	// Archive archives a channel; an archived one is not an error.
	Archive(ctx context.Context, channelID string) error
	// Ephemeral shows m to one user in a channel, to no one else.
	Ephemeral(ctx context.Context, channelID, userID string, m Message) error
	// Upload shares a file in a channel (by id), as a message of its own.
	Upload(ctx context.Context, channelID string, f File) error
	// FindKey returns the id of a message that carries key (its Message.Key
	// or one of its Message.Keys)
	// among the newest recent top-level messages in a channel (by id), or,
	// with thread set, among the first recent replies to that message; ""
	// when none does. A non-zero since leaves out messages posted before it.
	// The Pager asks it before sending a page again whose earlier send has
	// no recorded outcome, and the Syncer before posting again a card, a
	// notice or a thread reply whose earlier post has none.
	FindKey(ctx context.Context, channelID, thread, key string, since time.Time, recent int) (msgID string, err error)
	// FindChannel returns the channel (not archived) named name, or
	// ErrNoChannel. The Syncer asks it when creating an incident's channel
	// answered ErrNameTaken after an earlier creation of that name has no
	// recorded outcome: a channel the bot created since is the incident's.
	FindChannel(ctx context.Context, name string) (ChannelInfo, error)
	// Lookup returns what the chat holds of the top-level message msgID in
	// a channel (by id), or ErrNoMessage when there is none. The Executor
	// asks it about a message reacted to that no incident is linked to.
	Lookup(ctx context.Context, channelID, msgID string) (Posted, error)
}

// EmailLooker is what a Chat may add to say whether LookupEmail can find
// anyone at all. A chat that cannot look users up by email (Discord, whose
// bots see no emails) answers false: a person is found there only by the
// chat id in config, and what baton says names that id, not an email. A
// Chat without it looks users up by email.
type EmailLooker interface {
	// LooksUpEmail reports whether LookupEmail can find users.
	LooksUpEmail() bool
}

// looksUpEmail reports whether c can find users by email.
func looksUpEmail(c Chat) bool {
	if e, ok := c.(EmailLooker); ok {
		return e.LooksUpEmail()
	}
	return true
}

// KeysFinder is what a Chat may add to FindKey: one read of a channel's
// newest recent top-level messages that answers for several keys at once.
// The Pager uses it when many pages to one person wait to be checked (after
// a chat outage, each page whose send has no recorded outcome), so that one
// rate-limited history read answers them all instead of one read each.
type KeysFinder interface {
	// FindKeys returns, for each of keys carried by one of the newest
	// recent top-level messages in a channel (by id), that message's id;
	// a key no message carries is absent from the map. With no keys (nil),
	// every key those messages carry. Errors are the chat's, as FindKey's.
	FindKeys(ctx context.Context, channelID string, keys []string, recent int) (map[string]string, error)
}

// ChannelInfo is what FindChannel tells of a channel.
type ChannelInfo struct {
	// ID is the channel's id.
	ID string
	// ByBot: the bot itself created it.
	ByBot bool
	// Created is when, to the chat's precision (Slack: whole seconds).
	Created time.Time
}

// Posted is a message as Chat.Lookup finds it.
type Posted struct {
	// Key is the Message.Key it was posted with; "" when none.
	Key string
	// Keys are the Message.Keys it was posted with.
	Keys []string
	// ByBot: the bot posted it (so its text is baton's own).
	ByBot bool
	// Text is its plain text (Message.Text as posted, or as last updated).
	Text string
}

// File is a file to share in a channel: a chart.
type File struct {
	// Name is the file name with its extension ("stats.png").
	Name string
	// Title is shown above it; AltText describes it to screen readers.
	Title, AltText string
	Data           []byte
}

// Outcomes a Chat reports with errors.Is.
var (
	// ErrNameTaken: a channel with that name exists.
	ErrNameTaken = errors.New("channel name taken")
	// ErrNoUser: no chat user matches.
	ErrNoUser = errors.New("no such chat user")
	// ErrNoChannel: no channel has that name.
	ErrNoChannel = errors.New("no such channel")
	// ErrNoMessage: no such message in that channel (Chat.Lookup).
	ErrNoMessage = errors.New("no such message")
)

// Message is one message as bot wants it shown. Text is always set: the
// plain-text notification line, and the whole message when neither Card nor
// Notice is.
type Message struct {
	Text    string
	Card    *Card
	Notice  *Notice
	Summary *Summary
	// Bundle, when set, is a page about several incidents at once.
	Bundle *Bundle
	// Notices, when set, are the notices of several new incidents in one
	// message of an alerts channel (notices.go), in the order they came.
	Notices []Notice
	// Thread, when set, posts the message as a reply to that message id.
	Thread string
	// Key, when set, is stored with a posted message as machine-readable
	// data that people do not see (on Slack, message metadata), so that
	// Chat.FindKey can find the message: a page's escalation.Page.Key.
	// Update leaves a message's key as it was.
	Key string
	// Keys are more keys the message carries besides Key, when it stands
	// for several things at once (a bundle of pages or notices: one key
	// per page or notice in it, Key among them); Chat.FindKey finds the
	// message by any of them. Like Key, stored once with the post.
	Keys []string
	// Buttons are shown under a message that has no Card (a handoff's
	// question); each carries its Action and Value back to
	// Executor.Action.
	Buttons []Button
}

// Button is a button on a plain message: its Action, and the number it
// carries back (an incident number, or a handoff's unix second).
type Button struct {
	Action Action
	Value  int64
}

// Pacing says how the caller of a Chat method wants the adapter's rate-limit
// pacing to treat it; it travels on the context (WithPacing). Without it, a
// call waits for its slot as long as its context allows (a reply to a
// person who is waiting).
type Pacing struct {
	// MaxWait is how long the call may wait for a slot; a longer wait returns
	// escalation.Defer with the wait instead, so a job runner reschedules the
	// job rather than hold a worker.
	MaxWait time.Duration
	// Ticket names the job across its runs (an escalation.Page's Key, an
	// incident's chat job). A slot the adapter set aside for a deferred call
	// is kept for the same ticket, so deferred jobs come back in order
	// instead of racing for the next free slot.
	Ticket string
	// Yield marks a call that only tidies chat up (a look-up of a card or
	// notice an earlier run may have posted): under a method limit that
	// pages share (conversations.history, which delivery checks read), it
	// takes a slot only while the limit has a free slot besides it, and is
	// otherwise deferred without booking or holding one (MaxWait aside),
	// so it never delays a page's check: pages first.
	Yield bool
}

type pacingKey struct{}

// WithPacing returns ctx carrying p.
func WithPacing(ctx context.Context, p Pacing) context.Context {
	return context.WithValue(ctx, pacingKey{}, p)
}

// PacingFrom returns the Pacing on ctx, if any.
func PacingFrom(ctx context.Context) (Pacing, bool) {
	p, ok := ctx.Value(pacingKey{}).(Pacing)
	return p, ok
}
