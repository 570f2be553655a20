package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// dmChat is a chat that opens DMs, takes posts (failing the next failNext
// of them) and finds a post by its key; any other method panics.
type dmChat struct {
	Chat
	name string

	mu       sync.Mutex
	posts    map[string][]string // channel → keys posted there
	failNext int
	// openErr, postErr: every OpenDM, every Post fails with it.
	openErr, postErr error
}

func (c *dmChat) Name() string { return c.name }

func (c *dmChat) OpenDM(_ context.Context, uid string) (string, error) {
	if c.openErr != nil {
		return "", c.openErr
	}
	return "D-" + uid, nil
}

func (c *dmChat) Post(_ context.Context, channel string, m Message) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.postErr != nil {
		return "", "", c.postErr
	}
	if c.failNext > 0 {
		c.failNext--
		return "", "", errors.New("connection reset") // outcome unknown
	}
	c.posts[channel] = append(c.posts[channel], m.Key)
	return channel, itoa(int64(len(c.posts[channel]))), nil
}

func (c *dmChat) FindKey(_ context.Context, channel, _, key string, _ time.Time, _ int) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.posts[channel], key); i >= 0 {
		return itoa(int64(i + 1)), nil
	}
	return "", nil
}

func (c *dmChat) keys(channel string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.posts[channel])
}

// TestMultiPages: one page decision goes to each chat the person has an
// account in; a chat that failed is retried alone (the other is not paged
// twice); a person in one chat only is paged there; a person in none is
// Permanent (the runner pages the fallback).
func TestMultiPages(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	slack := &dmChat{name: "slack", posts: map[string][]string{}}
	discord := &dmChat{name: "discord", posts: map[string][]string{}}
	newBot := func(c *dmChat, space string, people []Person) *Bot {
		b, err := New(Options{Chat: c, Incidents: store, Redis: rs.Client(), Prefix: "t:", Log: slog.New(slog.DiscardHandler),
			People: people, Services: []Service{{Name: "db"}}, RefSpace: space, Beside: space != ""})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m, err := NewMulti(
		newBot(slack, "", []Person{{ID: "dana", ChatID: "UDANA"}, {ID: "erin", ChatID: "UERIN"}, {ID: "finn"}}),
		newBot(discord, "discord", []Person{{ID: "dana", ChatID: "1100000000000000001"}, {ID: "erin"}, {ID: "finn"}}))
	if err != nil {
		t.Fatal(err)
	}
	page := func(person string) escalation.Page {
		return escalation.Page{Incident: 1, Person: person, Level: 1, Reason: escalation.ReasonFirst, Key: "INC-1/1/first/" + person}
	}

	// dana: Discord fails, Slack delivers; the retry pages Discord only.
	discord.failNext = 1
	if _, err := m.PageBundled(ctx, page("dana")); err == nil || escalation.IsPermanent(err) || escalation.IsUnsent(err) {
		t.Fatalf("Discord failing: err %v, want a retryable error of unknown outcome", err)
	}
	if got := slack.keys("D-UDANA"); len(got) != 1 {
		t.Fatalf("Slack DMs %v after the first try, want one", got)
	}
	if ok, err := m.Delivered(ctx, page("dana")); err != nil || ok {
		t.Fatalf("Delivered = %v, %v: Discord does not have it", ok, err)
	}
	b, err := m.PageBundled(ctx, page("dana"))
	if err != nil {
		t.Fatal(err)
	}
	if got := slack.keys("D-UDANA"); len(got) != 1 {
		t.Fatalf("Slack DMs %v after the retry, want still one", got)
	}
	if got := discord.keys("D-1100000000000000001"); len(got) != 1 {
		t.Fatalf("Discord DMs %v after the retry, want one", got)
	}
	if !slices.Equal(b.Chats, []string{"slack", "discord"}) {
		t.Fatalf("chats %v", b.Chats)
	}
	if ok, err := m.Delivered(ctx, page("dana")); err != nil || !ok {
		t.Fatalf("Delivered = %v, %v after both have it", ok, err)
	}

	// erin: Slack only.
	if b, err := m.PageBundled(ctx, page("erin")); err != nil || !slices.Equal(b.Chats, []string{"slack"}) {
		t.Fatalf("erin: %v, %v", b.Chats, err)
	}
	if len(discord.posts) != 1 {
		t.Fatalf("Discord posts %v: erin has no Discord id", discord.posts)
	}

	// finn: in neither chat.
	if _, err := m.PageBundled(ctx, page("finn")); !escalation.IsPermanent(err) {
		t.Fatalf("finn: err %v, want Permanent", err)
	}

	// Each chat's pages were recorded in its own space.
	refs, err := store.ChatRefs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if refs["p:D-UDANA/1"] == "" || refs["discord|p:D-1100000000000000001/1"] == "" {
		t.Fatalf("chat refs %v: want Slack's page unprefixed and Discord's under discord|", refs)
	}
}

// TestMultiOutcome: what one page decision comes to when the chats answer
// differently, and what escalation does with it. A person Slack does not
// know (user_not_found on opening the DM: bot.ErrNoUser, which the Slack
// adapter leaves unmarked) is a permanent failure in that chat: with the
// page delivered in the other it is delivered, and with the other refusing
// for good too it is given up at once (fallback paged), not retried for
// seconds while escalation waits.
func TestMultiOutcome(t *testing.T) {
	slackNoUser := fmt.Errorf("conversations.open: %w", ErrNoUser) // as bot/slack returns it
	discordNoUser := escalation.Permanent(fmt.Errorf("create DM: %w", ErrNoUser))
	reset := errors.New("connection reset") // outcome unknown
	tests := []struct {
		name             string
		slackOpen        error
		slackPost        error
		discordPost      error
		wantChats        []string
		wantAction       escalation.FailureAction // "" delivered
		wantPermanentErr bool
		noDiscord        bool   // dana has no discord id
		wantWords        string // the error's text, when set
	}{
		{name: "delivered in both", wantChats: []string{"slack", "discord"}},
		{name: "delivered+permanent (Slack does not know the person)", slackOpen: slackNoUser, wantChats: []string{"discord"}},
		{name: "delivered+permanent (Discord refuses for good)", discordPost: discordNoUser, wantChats: []string{"slack"}},
		{name: "delivered+transient", discordPost: reset, wantChats: []string{"slack"}, wantAction: escalation.FailureRetry},
		{name: "transient+permanent", slackOpen: slackNoUser, discordPost: reset, wantAction: escalation.FailureRetry},
		{name: "deferred+permanent", slackOpen: slackNoUser, discordPost: escalation.Defer(time.Second), wantAction: escalation.FailureDeferred},
		{name: "permanent+permanent", slackOpen: slackNoUser, discordPost: discordNoUser, wantAction: escalation.FailureDeadLetter, wantPermanentErr: true,
			wantWords: "dana cannot be reached in Slack or Discord"},
		{name: "unknown in Slack, no discord id", slackOpen: slackNoUser, noDiscord: true, wantAction: escalation.FailureDeadLetter, wantPermanentErr: true,
			wantWords: "dana cannot be reached in Slack or Discord"},
		{name: "unknown in Slack, Discord refuses otherwise", slackOpen: slackNoUser, discordPost: escalation.Permanent(errors.New("post: 403 missing access")),
			wantAction: escalation.FailureDeadLetter, wantPermanentErr: true, wantWords: "post: 403 missing access"},
		{name: "transient+transient", slackPost: reset, discordPost: reset, wantAction: escalation.FailureRetry},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			ctx := redistest.Ctx(t)
			store := incident.NewStore(rs.Client(), "t:")
			store.Unbatched = true
			if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "disk full",
				Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
				t.Fatal(err)
			}
			slack := &dmChat{name: "slack", posts: map[string][]string{}, openErr: tc.slackOpen, postErr: tc.slackPost}
			discord := &dmChat{name: "discord", posts: map[string][]string{}, postErr: tc.discordPost}
			newBot := func(c *dmChat, space string, id string) *Bot {
				b, err := New(Options{Chat: c, Incidents: store, Redis: rs.Client(), Prefix: "t:", Log: slog.New(slog.DiscardHandler),
					People: []Person{{ID: "dana", ChatID: id}}, Services: []Service{{Name: "db"}}, RefSpace: space, Beside: space != ""})
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			discordID := "1100000000000000001"
			if tc.noDiscord {
				discordID = ""
			}
			m, err := NewMulti(newBot(slack, "", "UDANA"), newBot(discord, "discord", discordID))
			if err != nil {
				t.Fatal(err)
			}
			pg := escalation.Page{Incident: 1, Person: "dana", Level: 1, Reason: escalation.ReasonFirst, Key: fmt.Sprintf("INC-1/1/first/dana/%d", i)}
			b, err := m.PageBundled(ctx, pg)
			if tc.wantAction == "" {
				if err != nil {
					t.Fatalf("err %v, want the page delivered", err)
				}
				if !slices.Equal(b.Chats, tc.wantChats) {
					t.Fatalf("chats %v, want %v", b.Chats, tc.wantChats)
				}
				return
			}
			if err == nil {
				t.Fatalf("delivered in %v, want a failure (%s)", b.Chats, tc.wantAction)
			}
			if tc.wantWords != "" && (!strings.Contains(err.Error(), tc.wantWords) || strings.Contains(tc.wantWords, "cannot be reached") && strings.Contains(err.Error(), "conversations.open")) {
				t.Errorf("err %q, want %q in plain words", err, tc.wantWords)
			}
			if escalation.IsPermanent(err) != tc.wantPermanentErr {
				t.Fatalf("err %v: permanent %v, want %v", err, escalation.IsPermanent(err), tc.wantPermanentErr)
			}
			f := escalation.DecidePageFailure(pg, incident.EscalationState{}, err, time.Now(), escalation.RetryPolicy{MaxAttempts: 5, Min: time.Second, Max: time.Minute, Jitter: func(d time.Duration) time.Duration { return d }})
			if f.Action != tc.wantAction {
				t.Fatalf("err %v: escalation does %s, want %s", err, f.Action, tc.wantAction)
			}
			if tc.wantAction == escalation.FailureDeadLetter && !f.PageFallback {
				t.Fatal("given up without paging the fallback")
			}
			// The chats that had it are skipped by the retry: not paged twice.
			for _, c := range tc.wantChats {
				ch := map[string]*dmChat{"slack": slack, "discord": discord}[c]
				if got := ch.keys(map[string]string{"slack": "D-UDANA", "discord": "D-1100000000000000001"}[c]); len(got) != 1 {
					t.Fatalf("%s has %v", c, got)
				}
			}
		})
	}
}
