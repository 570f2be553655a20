package discord

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/fakediscord"
)

func newChat(t *testing.T, opts ...fakediscord.Option) (*fakediscord.Server, *Chat, fakediscord.Channel) {
	t.Helper()
	f := fakediscord.StartTest(t, opts...)
	cat := f.AddChannel(fakediscord.Channel{Name: "incidents", Type: fakediscord.ChannelCategory})
	c, err := NewChat(ChatOptions{Token: f.Token(), GuildID: f.GuildID(), CategoryID: cat.ID, APIURL: f.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	return f, c, cat
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func card(owner *bot.PersonRef, title string) *bot.Card {
	return &bot.Card{Number: 12, Ref: "INC-12", Title: title, Service: "payments", Severity: incident.SevCritical,
		Status: incident.StatusTriggered, Owner: owner, AlertCount: 1, Source: "sumologic",
		Opened:  time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC),
		Actions: []bot.Action{bot.ActionAck, bot.ActionResolve, bot.ActionEscalate}}
}

func TestNewChatRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    ChatOptions
	}{
		{"no token", ChatOptions{GuildID: "1100000000000000002"}},
		{"no guild", ChatOptions{Token: "t"}},
		{"api_url without slash", ChatOptions{Token: "t", GuildID: "1", APIURL: "http://127.0.0.1:1/api/v10"}},
		{"api_url not http", ChatOptions{Token: "t", GuildID: "1", APIURL: "ftp://x/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewChat(tc.o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// The incident's channel is created under the category in the create call,
// with its number as its own digit group; a retried create finds the name
// taken and FindChannel adopts the bot's channel instead of a second one.
func TestCreateChannelIsIdempotentWithFindChannel(t *testing.T) {
	f, c, cat := newChat(t)
	name := bot.ChannelName(12, "Payments DOWN")
	id, err := c.CreateChannel(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	calls := f.Calls(fakediscord.RouteChannelCreate)
	var parent string
	if len(calls) != 1 || !calls[0].Field("parent_id", &parent) || parent != cat.ID || name != "inc-12-payments-down" {
		t.Fatalf("create calls %+v, name %q", calls, name)
	}
	_, err = c.CreateChannel(ctx(t), name)
	if !errors.Is(err, bot.ErrNameTaken) {
		t.Fatalf("second create: %v, want ErrNameTaken", err)
	}
	info, err := c.FindChannel(ctx(t), name)
	if err != nil || info.ID != id || !info.ByBot || time.Since(info.Created) > time.Minute {
		t.Fatalf("find = %+v, %v", info, err)
	}
	if n := len(f.ChannelsNamed(name)); n != 1 {
		t.Fatalf("%d channels named %s", n, name)
	}
	// A person's channel of the same name is not the bot's.
	f.AddChannel(fakediscord.Channel{Name: "inc-13-db"})
	if info, err := c.FindChannel(ctx(t), "#inc-13-db"); err != nil || info.ByBot {
		t.Fatalf("person's channel = %+v, %v", info, err)
	}
	if _, err := c.FindChannel(ctx(t), "nope"); !errors.Is(err, bot.ErrNoChannel) {
		t.Fatalf("missing channel: %v", err)
	}
}

// The card: an embed and three buttons, pinned; allowed_mentions names
// exactly the owner; an alert's @everyone and role mention notify nobody.
func TestCardMentionsExactlyTheOwner(t *testing.T) {
	f, c, _ := newChat(t)
	dana := f.AddUser(fakediscord.User{Username: "dana"})
	eve := f.AddUser(fakediscord.User{Username: "eve"})
	ch, err := c.CreateChannel(ctx(t), "inc-12-x")
	if err != nil {
		t.Fatal(err)
	}
	hostile := "@everyone <@&1100000000000000777> <@" + eve.ID + "> **bold** [x](https://evil.example)"
	cd := card(&bot.PersonRef{ID: "dana", Name: "Dana", ChatID: dana.ID}, hostile)
	cd.Timeline = []bot.Line{{At: cd.Opened, Text: "opened by " + hostile}}
	chID, msgID, err := c.Post(ctx(t), ch, bot.Message{Text: cd.Text(), Card: cd, Key: "card:12:1"})
	if err != nil || chID != ch {
		t.Fatalf("post: %v (channel %s)", err, chID)
	}
	if err := c.Pin(ctx(t), ch, msgID); err != nil {
		t.Fatal(err)
	}
	m, _ := f.Message(msgID)
	if !m.Pinned || strings.Join(m.Buttons(), ",") != "baton:ack:12,baton:resolve:12,baton:escalate:12" {
		t.Fatalf("card %+v buttons %v", m, m.Buttons())
	}
	if len(m.MentionUsers) != 1 || m.MentionUsers[0] != dana.ID || m.MentionEveryone || len(m.MentionRoles) != 0 {
		t.Fatalf("mentions users %v roles %v everyone %v", m.MentionUsers, m.MentionRoles, m.MentionEveryone)
	}
	e := m.EmbedList()
	if len(e) != 1 || strings.Contains(e[0].Title, "**bold**") || strings.Contains(e[0].Description, "<@&") ||
		strings.Contains(e[0].Description, "](https") {
		t.Fatalf("alert text not escaped: %+v", e)
	}
	if strings.Contains(m.Content, "@everyone") && !strings.Contains(m.Content, `\@everyone`) {
		t.Fatalf("content %q", m.Content)
	}

	// Acknowledged: the card is edited in place, buttons follow the state.
	cd.Status = incident.StatusAcknowledged
	cd.Actions = []bot.Action{bot.ActionResolve, bot.ActionEscalate}
	if err := c.Update(ctx(t), ch, msgID, bot.Message{Text: cd.Text(), Card: cd}); err != nil {
		t.Fatal(err)
	}
	m, _ = f.Message(msgID)
	if m.Edits != 1 || strings.Join(m.Buttons(), ",") != "baton:resolve:12,baton:escalate:12" || len(f.Messages(ch)) != 1 {
		t.Fatalf("after update %+v", m)
	}
}

// A message with a key is posted with enforce_nonce: a retry whose first
// post went through returns the same message, never a second.
func TestRetriedPostWithAKeyPostsOnce(t *testing.T) {
	f, c, _ := newChat(t)
	dana := f.AddUser(fakediscord.User{Username: "dana"})
	dm, err := c.OpenDM(ctx(t), dana.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := bot.Message{Text: "You are paged for INC-12", Card: card(nil, "db down"), Key: "page:12:3:first:dana"}
	_, first, err := c.Post(ctx(t), dm, page)
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := c.Post(ctx(t), dm, page)
	if err != nil || second != first || len(f.Messages(dm)) != 1 {
		t.Fatalf("retry: %s vs %s, %v; %d messages", second, first, err, len(f.Messages(dm)))
	}
	other := page
	other.Key = "page:12:4:repage:dana"
	if _, third, err := c.Post(ctx(t), dm, other); err != nil || third == first {
		t.Fatalf("another key must post: %v", err)
	}
	if _, err := c.FindKey(ctx(t), dm, "", page.Key, time.Time{}, 100); !escalation.IsPermanent(err) || !errors.Is(err, ErrNoKeys) {
		t.Fatalf("FindKey: %v", err)
	}
}

func TestErrorsTranslate(t *testing.T) {
	tests := []struct {
		name  string
		fault *fakediscord.Fault
		check func(t *testing.T, err error)
	}{
		{"429 route", &fakediscord.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, func(t *testing.T, err error) {
			var ra escalation.RetryAfterError
			if !errors.As(err, &ra) || ra.RetryAfter() != 1500*time.Millisecond || escalation.IsPermanent(err) {
				t.Fatalf("got %v, want RetryAfter 1.5s", err)
			}
		}},
		{"429 global", &fakediscord.Fault{Status: 429, RetryAfter: 3 * time.Second, Global: true}, func(t *testing.T, err error) {
			var ra escalation.RetryAfterError
			if !errors.As(err, &ra) || ra.RetryAfter() != 3*time.Second {
				t.Fatalf("got %v, want RetryAfter 3s", err)
			}
		}},
		{"503 retried by the runner", &fakediscord.Fault{Status: 503}, func(t *testing.T, err error) {
			var ra escalation.RetryAfterError
			if err == nil || escalation.IsPermanent(err) || errors.As(err, &ra) {
				t.Fatalf("got %v, want a plain error", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, _ := newChat(t)
			ch := f.AddChannel(fakediscord.Channel{Name: "alerts"})
			f.FailNext(fakediscord.RouteMessagePost, 1, *tt.fault)
			_, _, err := c.Post(ctx(t), ch.ID, bot.Message{Text: "page", Key: "page:1"})
			tt.check(t, err)
			if n := len(f.Messages(ch.ID)); n != 0 {
				t.Fatalf("%d messages after a fault", n)
			}
			if _, _, err := c.Post(ctx(t), ch.ID, bot.Message{Text: "page", Key: "page:1"}); err != nil || len(f.Messages(ch.ID)) != 1 {
				t.Fatalf("after the fault: %v, %d messages", err, len(f.Messages(ch.ID)))
			}
		})
	}
	t.Run("unknown channel is permanent", func(t *testing.T) {
		_, c, _ := newChat(t)
		_, _, err := c.Post(ctx(t), "1100000000000000999", bot.Message{Text: "x"})
		if !escalation.IsPermanent(err) || !errors.Is(err, bot.ErrNoChannel) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("DM to a stranger is ErrNoUser", func(t *testing.T) {
		_, c, _ := newChat(t)
		_, err := c.OpenDM(ctx(t), "1100000000000000998")
		if !escalation.IsPermanent(err) || !errors.Is(err, bot.ErrNoUser) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("over-long text is cut, not refused", func(t *testing.T) {
		f, c, _ := newChat(t)
		ch := f.AddChannel(fakediscord.Channel{Name: "alerts"})
		long := strings.Repeat("y", 5000)
		cd := card(nil, long)
		cd.Lead = long
		if _, _, err := c.Post(ctx(t), ch.ID, bot.Message{Text: long, Card: cd}); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
}

func TestLookupUploadAndEphemeral(t *testing.T) {
	f, c, _ := newChat(t)
	dana := f.AddUser(fakediscord.User{Username: "dana"})
	ch := f.AddChannel(fakediscord.Channel{Name: "alerts"})
	_, id, err := c.Post(ctx(t), ch.ID, bot.Message{Text: "INC-3 db down"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Lookup(ctx(t), ch.ID, id)
	if err != nil || !p.ByBot || p.Text != "INC-3 db down" {
		t.Fatalf("lookup = %+v, %v", p, err)
	}
	theirs, _ := f.Post(dana.ID, ch.ID, "hi")
	if p, err := c.Lookup(ctx(t), ch.ID, theirs.ID); err != nil || p.ByBot {
		t.Fatalf("a person's message = %+v, %v", p, err)
	}
	if _, err := c.Lookup(ctx(t), ch.ID, "1100000000000000997"); !errors.Is(err, bot.ErrNoMessage) {
		t.Fatalf("missing message: %v", err)
	}
	png := []byte("\x89PNG\r\n\x1a\n")
	if err := c.Upload(ctx(t), ch.ID, bot.File{Name: "stats.png", Title: "MTTA", Data: png}); err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages(ch.ID)
	if last := msgs[len(msgs)-1]; len(last.Files) != 1 || string(last.Files[0].Data) != string(png) {
		t.Fatalf("upload %+v", last)
	}
	if err := c.Ephemeral(ctx(t), ch.ID, dana.ID, bot.Message{Text: "usage: /incident ack <n>"}); err != nil {
		t.Fatal(err)
	}
	if dm := f.DMChannel(dana.ID); dm == "" || len(f.Messages(dm)) != 1 {
		t.Fatalf("ephemeral as a DM: %v", f.Messages(dm))
	}
}

func TestCustomIDRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in string
		a  bot.Action
		n  int64
		ok bool
	}{
		{CustomID(bot.ActionAck, 42), bot.ActionAck, 42, true},
		{CustomID(bot.ActionEscalate, 1), bot.ActionEscalate, 1, true},
		{CustomID(bot.ActionTakePager, 1798707600), bot.ActionTakePager, 1798707600, true},
		{"baton:nope:1", "", 0, false},
		{"baton:ack:-1", "", 0, false},
		{"baton:ack:", "", 0, false},
		{"other:ack:1", "", 0, false},
		{"baton:ack:1:2", "", 0, false},
	} {
		a, n, ok := ParseCustomID(tc.in)
		if a != tc.a || n != tc.n || ok != tc.ok {
			t.Errorf("ParseCustomID(%q) = %q %d %v", tc.in, a, n, ok)
		}
	}
}

func TestRebaseRefusesOtherHosts(t *testing.T) {
	f, c, _ := newChat(t)
	_ = f
	_, err := c.Session().Client.Get("https://example.com/api/v9/users/@me")
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("got %v", err)
	}
}

// A post whose answer was lost (Discord posted it, then a 5xx) retried with
// the same key returns the first message: the nonce, not a second post.
func TestLostAnswerRetriedPostsOnce(t *testing.T) {
	f, c, _ := newChat(t)
	ch := f.AddChannel(fakediscord.Channel{Name: "alerts"})
	f.FailNext(fakediscord.RouteMessagePost, 1, fakediscord.AppliedError(503))
	m := bot.Message{Text: "INC-4 db down", Key: "notice:4:1"}
	if _, _, err := c.Post(ctx(t), ch.ID, m); err == nil || escalation.IsPermanent(err) {
		t.Fatalf("lost answer: %v, want a retryable error", err)
	}
	_, id, err := c.Post(ctx(t), ch.ID, m)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := f.Messages(ch.ID); len(msgs) != 1 || msgs[0].ID != id {
		t.Fatalf("%d messages after the retry, want the first one", len(msgs))
	}
}

// A job's post whose bucket is exhausted is deferred, not slept on: the
// worker is free and nothing is sent; a person's call waits its turn.
func TestExhaustedBucketDefersAJob(t *testing.T) {
	f, c, _ := newChat(t)
	ch := f.AddChannel(fakediscord.Channel{Name: "alerts"})
	f.SetLimit(fakediscord.RouteMessagePost, fakediscord.Limit{Requests: 1, Window: 400 * time.Millisecond})
	job := bot.WithPacing(ctx(t), bot.Pacing{MaxWait: 50 * time.Millisecond, Ticket: "page:1"})
	if _, _, err := c.Post(job, ch.ID, bot.Message{Text: "one"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err := c.Post(job, ch.ID, bot.Message{Text: "two"})
	d, deferred := escalation.IsDeferred(err)
	if !deferred || d <= 50*time.Millisecond || d > 400*time.Millisecond || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("got %v (deferred %v by %v) after %v; want a deferral without waiting", err, deferred, d, time.Since(start))
	}
	if n := len(f.Calls(fakediscord.RouteMessagePost)); n != 1 {
		t.Fatalf("%d calls: the deferred post was sent", n)
	}
	// Without Pacing (a person waits) discordgo waits for the reset and posts.
	if _, _, err := c.Post(ctx(t), ch.ID, bot.Message{Text: "two"}); err != nil {
		t.Fatalf("interactive post: %v", err)
	}
	if n := len(f.Messages(ch.ID)); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

// A plain message with buttons (a handoff's question) gets one row of them.
func TestRenderPlainButtons(t *testing.T) {
	out := render(bot.Message{Text: "take the pager", Buttons: []bot.Button{{Action: bot.ActionTakePager, Value: 1798707600}}})
	if len(out.Components) != 1 {
		t.Fatalf("components: %+v", out.Components)
	}
	row, ok := out.Components[0].(discordgo.ActionsRow)
	if !ok || len(row.Components) != 1 {
		t.Fatalf("row: %+v", out.Components[0])
	}
	if b := row.Components[0].(discordgo.Button); b.Label != "Take it" || b.CustomID != CustomID(bot.ActionTakePager, 1798707600) {
		t.Fatalf("button: %+v", b)
	}
}

// TestDMCardMentionsNobody: a card posted to a DM (a page-in to bob of
// carol's incident, a notify page) neither starts with the owner's mention
// nor lets anyone's mention through; in a guild channel the owner is
// mentioned, exactly. The DM is known from OpenDM, or asked once of
// Discord (a DM channel id cached in Redis by an earlier process).
func TestDMCardMentionsNobody(t *testing.T) {
	f, c, _ := newChat(t)
	carol := f.AddUser(fakediscord.User{Username: "carol"})
	bob := f.AddUser(fakediscord.User{Username: "bob"})
	guild, err := c.CreateChannel(ctx(t), "inc-12-x")
	if err != nil {
		t.Fatal(err)
	}
	dm, err := c.OpenDM(ctx(t), bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := NewChat(ChatOptions{Token: f.Token(), GuildID: f.GuildID(), APIURL: f.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		chat     *Chat
		channel  string
		mentions []string
	}{
		{"DM opened by this chat", c, dm, nil},
		{"DM known only by its id", fresh, dm, nil},
		{"guild channel", c, guild, []string{carol.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cd := card(&bot.PersonRef{ID: "carol", Name: "Carol", ChatID: carol.ID}, "db down")
			cd.Lead = "Carol paged you into INC-12; Carol owns it."
			_, msgID, err := tc.chat.Post(ctx(t), tc.channel, bot.Message{Text: cd.Text(), Card: cd})
			if err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				m, _ := f.Message(msgID)
				var am struct {
					Users []string `json:"users"`
				}
				if err := json.Unmarshal(m.AllowedMentions, &am); err != nil {
					t.Fatalf("%s: allowed_mentions %s: %v", when, m.AllowedMentions, err)
				}
				if !slices.Equal(am.Users, tc.mentions) || !slices.Equal(m.MentionUsers, tc.mentions) {
					t.Errorf("%s: allowed_mentions users %v, mentioned %v; want %v", when, am.Users, m.MentionUsers, tc.mentions)
				}
				if starts := strings.HasPrefix(m.Content, "<@"+carol.ID+">"); starts != (tc.mentions != nil) {
					t.Errorf("%s: content %q", when, m.Content)
				}
			}
			check("posted")
			cd.Status = incident.StatusAcknowledged
			if err := tc.chat.Update(ctx(t), tc.channel, msgID, bot.Message{Text: cd.Text(), Card: cd}); err != nil {
				t.Fatal(err)
			}
			check("updated")
		})
	}
}
