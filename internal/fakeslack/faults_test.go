package fakeslack

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestFailNextSurfacesAsSlackGoErrors(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		status int
		check  func(t *testing.T, err error)
	}{
		{"429 with Retry-After", TooManyRequests(7 * time.Second), 429, func(t *testing.T, err error) {
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
				t.Fatalf("got %v (%T), want *slack.RateLimitedError{7s}", err, err)
			}
		}},
		{"429 Retry-After rounds up to whole seconds", TooManyRequests(1500 * time.Millisecond), 429, func(t *testing.T, err error) {
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
				t.Fatalf("got %v, want RetryAfter 2s", err)
			}
		}},
		{"429 without Retry-After", TooManyRequests(0), 429, func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if !errors.As(err, &sc) || sc.Code != 429 {
				t.Fatalf("got %v (%T), want slack.StatusCodeError{429}", err, err)
			}
		}},
		{"500", HTTPError(500), 500, func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if !errors.As(err, &sc) || sc.Code != 500 {
				t.Fatalf("got %v (%T), want StatusCodeError{500}", err, err)
			}
		}},
		{"503", HTTPError(503), 503, func(t *testing.T, err error) {
			var sc slack.StatusCodeError
			if !errors.As(err, &sc) || sc.Code != 503 || !sc.Retryable() {
				t.Fatalf("got %v (%T), want retryable StatusCodeError{503}", err, err)
			}
		}},
		{"ok:false", SlackError("fatal_error"), 200, func(t *testing.T, err error) {
			if got := slackErr(t, err); got != "fatal_error" {
				t.Fatalf("error %q, want fatal_error", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := newFake(t)
			_, _, alerts := seed(s)
			s.FailNext("chat.postMessage", 1, tt.fault)

			_, _, err := api.PostMessage(alerts.ID, slack.MsgOptionText("page alice", false))
			tt.check(t, err)
			if n := len(s.Messages(alerts.ID)); n != 0 {
				t.Fatalf("faulted post left %d messages", n)
			}
			if _, _, err := api.PostMessage(alerts.ID, slack.MsgOptionText("page alice", false)); err != nil {
				t.Fatalf("call after the fault: %v", err)
			}
			calls := s.Calls("chat.postMessage")
			if len(calls) != 2 || !calls[0].Fault || calls[0].OK || calls[0].Status != tt.status || !calls[1].OK {
				t.Fatalf("recorded %+v", calls)
			}
			if n := len(s.Messages(alerts.ID)); n != 1 {
				t.Fatalf("%d messages after one good post", n)
			}
		})
	}
}

func TestFaultQueuesAndHook(t *testing.T) {
	s, api := newFake(t)
	_, _, alerts := seed(s)
	s.FailNext("*", 1, HTTPError(503))
	s.FailNext("auth.test", 1, SlackError("first"))

	// The method's own queue is used before "*".
	if _, err := api.AuthTest(); slackErr(t, err) != "first" {
		t.Fatalf("auth.test: %v", err)
	}
	if _, err := api.GetUserInfo(s.BotUserID()); err == nil {
		t.Fatal("users.info passed; the * fault should have hit it")
	}
	if _, err := api.AuthTest(); err != nil {
		t.Fatalf("queues not empty: %v", err)
	}

	n := 0
	s.InjectFaults(func(method string, p url.Values) (Fault, bool) {
		if method != "chat.postMessage" {
			return Fault{}, false
		}
		n++
		return HTTPError(http.StatusInternalServerError), n%2 == 1
	})
	var failed int
	for range 4 {
		if _, _, err := api.PostMessage(alerts.ID, slack.MsgOptionText("x", false)); err != nil {
			failed++
		}
	}
	s.InjectFaults(nil)
	if failed != 2 || len(s.Messages(alerts.ID)) != 2 {
		t.Fatalf("%d failed, %d posted; want 2 and 2", failed, len(s.Messages(alerts.ID)))
	}
}

func TestRateLimitModel(t *testing.T) {
	clock := newClock()
	s, api := newFake(t, WithClock(clock.Now))
	_, _, alerts := seed(s)
	other := s.AddChannel(Channel{Name: "other"})
	s.UseSlackRateLimits()

	post := func(ch string) error {
		_, _, err := api.PostMessage(ch, slack.MsgOptionText("x", false))
		return err
	}
	for i := range 3 { // the burst
		if err := post(alerts.ID); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	var rl *slack.RateLimitedError
	if err := post(alerts.ID); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("4th post in a second: %v, want RateLimitedError{1s}", err)
	}
	if err := post(other.ID); err != nil {
		t.Fatalf("another channel has its own bucket: %v", err)
	}
	clock.Advance(time.Second)
	if err := post(alerts.ID); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	if n := len(s.Messages(alerts.ID)); n != 4 {
		t.Fatalf("%d messages, want 4 (the 429 posted nothing)", n)
	}

	// conversations.create is Tier 2: 20 a minute, so one every 3 s.
	names := []string{"a", "b", "c", "d"}
	for i, name := range names {
		_, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: name})
		if i < 3 && err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if i == 3 && (!errors.As(err, &rl) || rl.RetryAfter != 3*time.Second) {
			t.Fatalf("4th create: %v, want RateLimitedError{3s}", err)
		}
	}
	if _, ok := s.Channel("#d"); ok {
		t.Fatal("rate-limited create made the channel")
	}
	s.RateLimit("conversations.create", Limit{})
	if _, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "d"}); err != nil {
		t.Fatalf("limit removed: %v", err)
	}
}

// slack-go's own retry (OptionRetryConfig) waits Retry-After and succeeds.
func TestSDKRetryHonoursRetryAfter(t *testing.T) {
	s := StartTest(t)
	_, _, alerts := seed(s)
	api := newClient(s, slack.OptionRetryConfig(slack.RetryConfig{MaxRetries: 2}))
	s.FailNext("chat.postMessage", 1, TooManyRequests(time.Second))
	start := time.Now()
	if _, _, err := api.PostMessage(alerts.ID, slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("post with retry: %v", err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("retried after %v, before Retry-After", el)
	}
	if calls := s.Calls("chat.postMessage"); len(calls) != 2 || len(s.Messages(alerts.ID)) != 1 {
		t.Fatalf("%d calls, %d messages", len(calls), len(s.Messages(alerts.ID)))
	}
}
