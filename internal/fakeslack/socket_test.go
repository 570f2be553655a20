package fakeslack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// runClient runs a real socketmode client against the fake until the test ends.
func runClient(t *testing.T, s *Server, opts ...socketmode.Option) *socketmode.Client {
	t.Helper()
	client := socketmode.New(newClient(s), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.RunContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("socketmode client did not stop")
		}
	})
	return client
}

// next returns the client's next event of type want, skipping connection
// life-cycle events (a reconnect shows up as incoming_error: the read on the
// old connection fails when the client closes it).
func next(t *testing.T, c *socketmode.Client, want socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.Events:
			if e.Type == want {
				return e
			}
			switch e.Type {
			case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello,
				socketmode.EventTypeIncomingError, socketmode.EventTypeConnectionError:
			default:
				t.Fatalf("event %s (%+v) while waiting for %s", e.Type, e.Data, want)
			}
		case <-timeout:
			t.Fatalf("no %s event within 5s", want)
		}
	}
}

// quiet fails if the client gets a request envelope within d.
func quiet(t *testing.T, c *socketmode.Client, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e := <-c.Events:
			if e.Request != nil && e.Request.EnvelopeID != "" {
				t.Fatalf("unexpected %s envelope %s (retry %d)", e.Type, e.Request.EnvelopeID, e.Request.RetryAttempt)
			}
		case <-timeout:
			return
		}
	}
}

func TestSocketModeSlashCommandActionReaction(t *testing.T) {
	s, api := newFake(t, WithAckTimeout(0, 0))
	alice, _, alerts := seed(s)
	client := runClient(t, s)
	next(t, client, socketmode.EventTypeHello)

	// Slash command, acked with a response payload.
	envID, err := s.SendSlashCommand(alice.ID, "#alerts", "/incident", "status")
	if err != nil {
		t.Fatal(err)
	}
	evt := next(t, client, socketmode.EventTypeSlashCommand)
	cmd := evt.Data.(slack.SlashCommand)
	if evt.Request.EnvelopeID != envID || !evt.Request.AcceptsResponsePayload || evt.Request.RetryAttempt != 0 {
		t.Fatalf("envelope %+v", evt.Request)
	}
	if cmd.Command != "/incident" || cmd.Text != "status" || cmd.UserID != alice.ID || cmd.UserName != "alice" ||
		cmd.ChannelID != alerts.ID || cmd.ChannelName != "alerts" || cmd.TeamID != s.TeamID() ||
		!strings.HasPrefix(cmd.ResponseURL, s.URL()+"/response/") || cmd.TriggerID == "" {
		t.Fatalf("slash command %+v", cmd)
	}
	if err := client.Ack(*evt.Request, map[string]any{"text": "No open incidents."}); err != nil {
		t.Fatal(err)
	}
	env, err := s.WaitAcked(testCtx(t), envID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env.AckPayload), "No open incidents.") || !s.Acked(envID) {
		t.Fatalf("ack payload %s", env.AckPayload)
	}
	if e := s.Ephemerals(alice.ID); len(e) != 1 || e[0].Text != "No open incidents." || e[0].Source != "ack" {
		t.Fatalf("ack response not shown to alice: %+v", e)
	}

	// A button on the incident card.
	_, cardTS, err := api.PostMessage(alerts.ID, slack.MsgOptionText("INC-1", false), slack.MsgOptionBlocks(cardBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	actID, err := s.SendBlockAction(alice.ID, alerts.ID, cardTS, "ack", "")
	if err != nil {
		t.Fatal(err)
	}
	evt = next(t, client, socketmode.EventTypeInteractive)
	cb := evt.Data.(slack.InteractionCallback)
	if evt.Request.EnvelopeID != actID || cb.Type != slack.InteractionTypeBlockActions {
		t.Fatalf("interactive envelope %+v type %s", evt.Request, cb.Type)
	}
	acts := cb.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0].ActionID != "ack" || acts[0].BlockID != "card-actions" || acts[0].Value != "INC-1" {
		t.Fatalf("actions %+v", acts)
	}
	if cb.User.ID != alice.ID || cb.Channel.ID != alerts.ID || cb.Container.MessageTs != cardTS ||
		cb.Message.Timestamp != cardTS || len(cb.Message.Blocks.BlockSet) != 2 {
		t.Fatalf("callback user %s channel %s container %+v message ts %s", cb.User.ID, cb.Channel.ID, cb.Container, cb.Message.Timestamp)
	}
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	// Reply through the response_url: replace the card, then an ephemeral note.
	if _, _, err := api.PostMessage("", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("INC-1 acked by alice", false)); err != nil {
		t.Fatalf("response_url replace: %v", err)
	}
	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(cb.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("You own INC-1.", false)); err != nil {
		t.Fatalf("response_url ephemeral: %v", err)
	}
	if posts := s.ResponsePosts(actID); len(posts) != 2 || !posts[0].ReplaceOriginal || posts[1].Text != "You own INC-1." {
		t.Fatalf("response posts %+v", posts)
	}
	if m, _ := s.Message(alerts.ID, cardTS); m.Text != "INC-1 acked by alice" || m.EditedTS == "" {
		t.Fatalf("replace_original did not update the card: %+v", m)
	}
	if e := s.Ephemerals(alice.ID); len(e) != 2 || e[1].Source != "response_url" {
		t.Fatalf("ephemerals %+v", e)
	}

	// A reaction on the card.
	reactID, err := s.AddReaction(alice.ID, alerts.ID, cardTS, ":white_check_mark:")
	if err != nil {
		t.Fatal(err)
	}
	evt = next(t, client, socketmode.EventTypeEventsAPI)
	outer := evt.Data.(slackevents.EventsAPIEvent)
	ra, ok := outer.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
	if !ok {
		t.Fatalf("inner event %T", outer.InnerEvent.Data)
	}
	if ra.User != alice.ID || ra.Reaction != "white_check_mark" || ra.Item.Type != "message" ||
		ra.Item.Channel != alerts.ID || ra.Item.Timestamp != cardTS || ra.ItemUser != s.BotUserID() {
		t.Fatalf("reaction_added %+v", ra)
	}
	renv, _ := s.Envelope(reactID)
	cbe, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cbe.EventID == "" || cbe.EventID != renv.EventID || evt.Request.EnvelopeID != reactID {
		t.Fatalf("callback %+v, envelope %+v", outer.Data, renv)
	}
	if err := client.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAcked(testCtx(t), reactID); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(alerts.ID, cardTS); len(m.Reactions) != 1 || m.Reactions[0].Users[0] != alice.ID {
		t.Fatalf("reaction not recorded: %+v", m.Reactions)
	}

	// The bot's own reactions.add reaches the app too, as on Slack.
	if err := api.AddReaction("eyes", slack.NewRefToMessage(alerts.ID, cardTS)); err != nil {
		t.Fatal(err)
	}
	evt = next(t, client, socketmode.EventTypeEventsAPI)
	if ra := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.ReactionAddedEvent); ra.User != s.BotUserID() {
		t.Fatalf("bot reaction event from %s", ra.User)
	}
	_ = client.Ack(*evt.Request)
}

func TestInjectionErrors(t *testing.T) {
	s := StartTest(t)
	alice, _, alerts := seed(s)
	tests := []struct {
		name string
		call func() (string, error)
	}{
		{"slash from unknown user", func() (string, error) { return s.SendSlashCommand("U77777777", alerts.ID, "/incident", "") }},
		{"slash in unknown channel", func() (string, error) { return s.SendSlashCommand(alice.ID, "#nope", "/incident", "") }},
		{"slash without slash", func() (string, error) { return s.SendSlashCommand(alice.ID, alerts.ID, "incident", "") }},
		{"action on missing message", func() (string, error) { return s.SendBlockAction(alice.ID, alerts.ID, "1.000001", "ack", "") }},
		{"reaction on missing message", func() (string, error) { return s.AddReaction(alice.ID, alerts.ID, "1.000001", "eyes") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, err := tt.call(); err == nil {
				t.Fatalf("no error; envelope %s", id)
			}
		})
	}
	if n := len(s.Envelopes()); n != 0 {
		t.Fatalf("%d envelopes after failed injections", n)
	}
}

func TestUnackedEnvelopesAreRedelivered(t *testing.T) {
	s := StartTest(t, WithAckTimeout(150*time.Millisecond, 2))
	alice, _, alerts := seed(s)
	client := runClient(t, s)
	next(t, client, socketmode.EventTypeHello)

	// Acked on the first retry: delivered twice, then never again.
	id, _ := s.SendSlashCommand(alice.ID, alerts.ID, "/incident", "list")
	first := next(t, client, socketmode.EventTypeSlashCommand)
	retry := next(t, client, socketmode.EventTypeSlashCommand)
	if first.Request.EnvelopeID != id || retry.Request.EnvelopeID != id {
		t.Fatalf("envelope ids %s, %s; want %s", first.Request.EnvelopeID, retry.Request.EnvelopeID, id)
	}
	if retry.Request.RetryAttempt != 1 || retry.Request.RetryReason != "timeout" {
		t.Fatalf("retry attempt %d reason %q", retry.Request.RetryAttempt, retry.Request.RetryReason)
	}
	_ = client.Ack(*retry.Request)
	quiet(t, client, 400*time.Millisecond)
	if e, _ := s.Envelope(id); e.Deliveries != 2 || !e.Acked || e.Acks != 1 {
		t.Fatalf("envelope %+v", e)
	}

	// Never acked: the first delivery and maxRetries (2) more.
	_, cardTS, _ := newClient(s).PostMessage(alerts.ID, slack.MsgOptionBlocks(cardBlocks()...))
	id, _ = s.AddReaction(alice.ID, alerts.ID, cardTS, "eyes")
	for want := range 3 {
		evt := next(t, client, socketmode.EventTypeEventsAPI)
		if evt.Request.RetryAttempt != want {
			t.Fatalf("delivery %d has retry_attempt %d", want, evt.Request.RetryAttempt)
		}
	}
	quiet(t, client, 400*time.Millisecond)
	if e, _ := s.Envelope(id); e.Deliveries != 3 || e.Acked {
		t.Fatalf("envelope %+v", e)
	}

	// Redeliver works on an acked envelope: the app must not act twice.
	sc, _ := s.SendSlashCommand(alice.ID, alerts.ID, "/incident", "ack")
	evt := next(t, client, socketmode.EventTypeSlashCommand)
	_ = client.Ack(*evt.Request)
	if _, err := s.WaitAcked(testCtx(t), sc); err != nil {
		t.Fatal(err)
	}
	if err := s.Redeliver(sc); err != nil {
		t.Fatal(err)
	}
	evt = next(t, client, socketmode.EventTypeSlashCommand)
	if evt.Request.EnvelopeID != sc || evt.Request.RetryAttempt != 1 {
		t.Fatalf("redelivered %+v", evt.Request)
	}
	_ = client.Ack(*evt.Request)
	if err := s.Redeliver("no-such-envelope"); err == nil {
		t.Fatal("Redeliver of an unknown envelope succeeded")
	}
}

func TestDisconnectMakesClientReconnect(t *testing.T) {
	s := StartTest(t, WithAckTimeout(0, 0))
	alice, _, alerts := seed(s)
	client := runClient(t, s)
	next(t, client, socketmode.EventTypeHello)

	s.Disconnect()
	// slack-go handles the disconnect request itself (no event) and redials.
	evt := next(t, client, socketmode.EventTypeConnected)
	if got := evt.Data.(*socketmode.ConnectedEvent).ConnectionCount; got != 1 {
		t.Fatalf("connection count %d, want 1 (the second connection)", got)
	}
	if err := s.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	id, _ := s.SendSlashCommand(alice.ID, alerts.ID, "/oncall", "")
	evt = next(t, client, socketmode.EventTypeSlashCommand)
	_ = client.Ack(*evt.Request)
	if e, err := s.WaitAcked(testCtx(t), id); err != nil || e.Conn != 2 {
		t.Fatalf("envelope went to connection %d, want 2 (%v)", e.Conn, err)
	}

	// A dropped connection (no disconnect message) is redialled too, and
	// what was sent meanwhile waits for it.
	s.DropConnections()
	id, _ = s.SendSlashCommand(alice.ID, alerts.ID, "/oncall", "later")
	evt = next(t, client, socketmode.EventTypeSlashCommand)
	if evt.Request.EnvelopeID != id {
		t.Fatalf("got %s, want %s", evt.Request.EnvelopeID, id)
	}
	_ = client.Ack(*evt.Request)
}

func TestEnvelopeWaitsForFirstConnection(t *testing.T) {
	s := StartTest(t, WithAckTimeout(0, 0))
	alice, _, alerts := seed(s)
	id, err := s.SendSlashCommand(alice.ID, alerts.ID, "/incident", "list")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Envelope(id); e.Deliveries != 0 {
		t.Fatalf("delivered %d times with no client", e.Deliveries)
	}
	client := runClient(t, s)
	if evt := next(t, client, socketmode.EventTypeSlashCommand); evt.Request.EnvelopeID != id {
		t.Fatalf("got %s", evt.Request.EnvelopeID)
	}
}

func TestEachEnvelopeGoesToOneConnection(t *testing.T) {
	s, api := newFake(t, WithAckTimeout(0, 0))
	alice, _, alerts := seed(s)
	a, b := runClient(t, s), runClient(t, s)
	if err := s.WaitConnections(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	_, ts, _ := api.PostMessage(alerts.ID, slack.MsgOptionText("card", false))
	reactions := []string{"eyes", "white_check_mark", "fire", "tada", "+1", "rocket"}
	for _, r := range reactions {
		if _, err := s.AddReaction(alice.ID, alerts.ID, ts, r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	perConn := map[int]int{}
	deadline := time.After(5 * time.Second)
	for len(got) < len(reactions) {
		var e socketmode.Event
		var c *socketmode.Client
		select {
		case e = <-a.Events:
			c = a
		case e = <-b.Events:
			c = b
		case <-deadline:
			t.Fatalf("received %d of %d envelopes", len(got), len(reactions))
		}
		if e.Type != socketmode.EventTypeEventsAPI {
			continue
		}
		got[e.Request.EnvelopeID]++
		_ = c.Ack(*e.Request)
	}
	for _, env := range s.Envelopes() {
		if env.Deliveries != 1 || got[env.ID] != 1 {
			t.Fatalf("envelope %s delivered %d times, received %d times", env.ID, env.Deliveries, got[env.ID])
		}
		perConn[env.Conn]++
	}
	if perConn[1] != 3 || perConn[2] != 3 {
		t.Fatalf("per connection %v, want 3 and 3", perConn)
	}
}

func TestSocketModeInvalidAppToken(t *testing.T) {
	s := StartTest(t)
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken("xapp-wrong"))
	client := socketmode.New(api)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	go func() { // the client blocks on a full Events channel
		for {
			select {
			case <-client.Events:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := client.RunContext(ctx)
	if err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("RunContext = %v, want invalid_auth", err)
	}
}

func TestPings(t *testing.T) {
	tests := []struct {
		name          string
		serverPing    time.Duration
		wantReconnect bool
	}{
		{"pings keep the client connected", 100 * time.Millisecond, false},
		{"no pings make it reconnect", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := StartTest(t, WithPingInterval(tt.serverPing))
			feed, cancel := s.Subscribe()
			defer cancel()
			runClient(t, s, socketmode.OptionPingInterval(300*time.Millisecond))
			connects := 0
			timeout := time.After(1200 * time.Millisecond)
		loop:
			for {
				select {
				case e := <-feed:
					if e.Kind == EventConnected {
						connects++
					}
				case <-timeout:
					break loop
				}
			}
			if got := connects > 1; got != tt.wantReconnect {
				t.Fatalf("%d connections in 1.2s; reconnect %v, want %v", connects, got, tt.wantReconnect)
			}
		})
	}
}
