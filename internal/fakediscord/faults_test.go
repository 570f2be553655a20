package fakediscord

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestFaultsSurfaceAsDiscordgoErrors(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		status int
		check  func(t *testing.T, err error)
	}{
		{"429 per route", TooManyRequests(1500 * time.Millisecond), 429, func(t *testing.T, err error) {
			var rl *discordgo.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 1500*time.Millisecond {
				t.Fatalf("got %v (%T), want *discordgo.RateLimitError{1.5s}", err, err)
			}
		}},
		{"429 global", GlobalRateLimit(2 * time.Second), 429, func(t *testing.T, err error) {
			var rl *discordgo.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
				t.Fatalf("got %v (%T), want *discordgo.RateLimitError{2s}", err, err)
			}
		}},
		{"500", HTTPError(500), 500, func(t *testing.T, err error) {
			if re := restErr(t, err); re.Response.StatusCode != 500 {
				t.Fatalf("status %d", re.Response.StatusCode)
			}
		}},
		{"503", HTTPError(503), 503, func(t *testing.T, err error) {
			if re := restErr(t, err); re.Response.StatusCode != 503 {
				t.Fatalf("status %d", re.Response.StatusCode)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StartTest(t)
			ch := s.AddChannel(Channel{Name: "alerts"})
			dg := newSession(t, s)
			s.FailNext(RouteMessagePost, 1, tt.fault)

			_, err := dg.ChannelMessageSend(ch.ID, "page dana")
			tt.check(t, err)
			if n := len(s.Messages(ch.ID)); n != 0 {
				t.Fatalf("faulted post left %d messages", n)
			}
			if _, err := dg.ChannelMessageSend(ch.ID, "page dana"); err != nil {
				t.Fatalf("call after the fault: %v", err)
			}
			calls := s.Calls(RouteMessagePost)
			if len(calls) != 2 || !calls[0].Fault || calls[0].OK() || calls[0].Status != tt.status || !calls[1].OK() {
				t.Fatalf("recorded %+v", calls)
			}
		})
	}
}

func TestRateLimitWireShape(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	for _, f := range []Fault{TooManyRequests(1234 * time.Millisecond), GlobalRateLimit(1234 * time.Millisecond)} {
		s.FailNext(RouteMessagePost, 1, f)
		req, _ := http.NewRequest("POST", s.APIURL()+"channels/"+ch.ID+"/messages", strings.NewReader(`{"content":"x"}`))
		req.Header.Set("Authorization", "Bot "+s.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 429 || h.Get("Retry-After") != "2" {
			t.Fatalf("status %d Retry-After %q", resp.StatusCode, h.Get("Retry-After"))
		}
		if f.Global {
			if h.Get("X-RateLimit-Global") != "true" || h.Get("X-RateLimit-Scope") != "global" {
				t.Fatalf("global headers %v", h)
			}
		} else if h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset-After") != "1.234" || h.Get("X-RateLimit-Global") != "" {
			t.Fatalf("bucket headers %v", h)
		}
	}
	body := s.Calls(RouteMessagePost)[1].Response
	if string(body) != `{"global":true,"message":"You are being rate limited.","retry_after":1.234}` {
		t.Fatalf("body %s", body)
	}
}

// A 429 that discordgo retries itself delays the post and never doubles it.
func TestRetriedRateLimitPostsOnce(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	dg.ShouldRetryOnRateLimit = true
	s.FailNext(RouteMessagePost, 2, TooManyRequests(50*time.Millisecond))
	if _, err := dg.ChannelMessageSend(ch.ID, "page dana"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages(ch.ID)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	if n := len(s.Calls(RouteMessagePost)); n != 3 {
		t.Fatalf("%d calls, want 3 (two 429s, one post)", n)
	}
}

func TestInjectFaultsEveryThirdPost(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	n := 0
	s.InjectFaults(func(route, path string) (Fault, bool) {
		if route != RouteMessagePost {
			return Fault{}, false
		}
		n++
		return TooManyRequests(time.Second), n%3 == 0
	})
	failed := 0
	for range 9 {
		if _, err := dg.ChannelMessageSend(ch.ID, "x"); err != nil {
			failed++
		}
	}
	if failed != 3 || len(s.Messages(ch.ID)) != 6 {
		t.Fatalf("%d failed, %d posted; want 3 and 6", failed, len(s.Messages(ch.ID)))
	}
}

func TestBucketModel(t *testing.T) {
	clock := newClock()
	s := StartTest(t, WithClock(clock.Now))
	a := s.AddChannel(Channel{Name: "a"})
	b := s.AddChannel(Channel{Name: "b"})
	// discordgo honours X-RateLimit-Remaining 0 by sleeping (real time)
	// until the reset it was told: a short window keeps the test quick.
	const window = 300 * time.Millisecond
	s.SetLimit(RouteMessagePost, Limit{Requests: 2, Window: window})
	dg := newSession(t, s)
	for i := range 2 {
		if _, err := dg.ChannelMessageSend(a.ID, "x"); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	_, err := dg.ChannelMessageSend(a.ID, "x")
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != window {
		t.Fatalf("third post: %v, want a 429 with the window", err)
	}
	if _, err := dg.ChannelMessageSend(b.ID, "x"); err != nil {
		t.Fatalf("another channel has its own bucket: %v", err)
	}
	clock.Advance(window)
	if _, err := dg.ChannelMessageSend(a.ID, "x"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if n := len(s.Messages(a.ID)); n != 3 {
		t.Fatalf("%d messages in a, want 3", n)
	}
}

// An applied fault does the work and loses the answer.
func TestAppliedFaultTakesEffect(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	s.FailNext(RouteMessagePost, 1, AppliedError(500))
	_, err := dg.ChannelMessageSend(ch.ID, "page dana")
	if re := restErr(t, err); re.Response.StatusCode != 500 {
		t.Fatalf("status %d", re.Response.StatusCode)
	}
	if n := len(s.Messages(ch.ID)); n != 1 {
		t.Fatalf("%d messages, want the one the lost answer was about", n)
	}
}

// InjectCallFaults picks calls by their body: here the posts whose content
// says "bundle", whose answer is lost after they took effect.
func TestInjectCallFaultsByBody(t *testing.T) {
	s := StartTest(t)
	ch := s.AddChannel(Channel{Name: "alerts"})
	dg := newSession(t, s)
	s.InjectCallFaults(func(c FaultCall) (Fault, bool) {
		var content string
		return AppliedError(502), c.Route == RouteMessagePost && c.Field("content", &content) && strings.Contains(content, "bundle")
	})
	for _, text := range []string{"page", "bundle of 3", "page"} {
		_, err := dg.ChannelMessageSend(ch.ID, text)
		if (err != nil) != (text != "page") {
			t.Fatalf("post %q: %v", text, err)
		}
	}
	if n := len(s.Messages(ch.ID)); n != 3 {
		t.Fatalf("%d messages; want 3 (the faulted post applied)", n)
	}
}
