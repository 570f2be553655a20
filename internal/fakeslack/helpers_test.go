package fakeslack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// newFake starts a fake and a real slack-go client configured against it the
// way baton's adapter will be.
func newFake(t *testing.T, opts ...Option) (*Server, *slack.Client) {
	t.Helper()
	s := StartTest(t, opts...)
	return s, newClient(s)
}

func newClient(s *Server, extra ...slack.Option) *slack.Client {
	opts := append([]slack.Option{
		slack.OptionAPIURL(s.APIURL()),
		slack.OptionAppLevelToken(s.AppToken()),
	}, extra...)
	return slack.New(s.BotToken(), opts...)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// slackErr returns the Slack error code of err, or fails the test.
func slackErr(t *testing.T, err error) string {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a slack.SlackErrorResponse", err, err)
	}
	return se.Err
}

// rawCall posts to a Web API method without slack-go, for what the SDK cannot
// send (bad JSON, wrong tokens in odd places).
func rawCall(t *testing.T, s *Server, method, contentType, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// seed adds alice and bob and an #alerts channel with alice and the bot.
func seed(s *Server) (alice, bob User, alerts Channel) {
	alice = s.AddUser(User{Name: "alice", RealName: "Alice Liddell", Email: "alice@example.com"})
	bob = s.AddUser(User{Name: "bob", Email: "bob@example.com"})
	alerts = s.AddChannel(Channel{Name: "alerts", Members: []string{alice.ID}})
	return alice, bob, alerts
}

// cardBlocks is an incident card: a section and an actions block with two buttons.
func cardBlocks() []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*INC-1* db down", false, false), nil, nil),
		slack.NewActionBlock("card-actions",
			slack.NewButtonBlockElement("ack", "INC-1", slack.NewTextBlockObject(slack.PlainTextType, "Acknowledge", false, false)),
			slack.NewButtonBlockElement("resolve", "INC-1", slack.NewTextBlockObject(slack.PlainTextType, "Resolve", false, false)),
		),
	}
}

// fakeClock is a settable clock for the rate-limit model and timestamps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 11, 24, 15, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
