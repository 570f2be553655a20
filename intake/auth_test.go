package intake

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// post sends body to /v1/alerts/<path> with the Authorization header
// authorization (none when empty) and returns the status, the JSON reply and
// the WWW-Authenticate challenges.
func (e *intakeEnv) post(t *testing.T, path, authorization, body string) (int, map[string]any, []string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (int, map[string]any, []string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("reply is not JSON: %q", raw)
	}
	return resp.StatusCode, out, resp.Header.Values("WWW-Authenticate")
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

const (
	bearerChallenge = `Bearer realm="baton"`
	basicChallenge  = `Basic realm="baton"`
)

// The Authorization header is read as RFC 9110 §11 says: the scheme in any
// case, one or more spaces before the token, whitespace around the value
// trimmed. The token itself must match exactly. Every 401 carries the
// challenges of the route, says "wrong credentials" when a header was sent,
// and leaves Redis as it was.
func TestWebhookCredentials(t *testing.T) {
	e := newIntakeEnv(t)
	generic := string(readTestdata(t, "generic-alert"))
	n := 0
	alarm := func() string { // a fresh MessageId each time, so no delivery is a replay
		n++
		return signedSNS(t, "sns-cloudwatch-alarm", func(m *SNSMessage) { m.MessageId = fmt.Sprintf("auth-%d", n) })
	}
	bearerOnly := []string{bearerChallenge}
	cloudwatch := []string{basicChallenge, bearerChallenge}

	tests := []struct {
		name          string
		path          string
		authorization string
		body          string
		status        int      // 202 for an accepted alert
		says          string   // part of the refusal's sentence
		challenges    []string // WWW-Authenticate of a 401, in order
	}{
		{"Bearer", "generic", "Bearer " + genericToken, generic, 202, "", nil},
		{"bearer in lower case", "generic", "bearer " + genericToken, generic, 202, "", nil},
		{"BEARER in capitals", "generic", "BEARER " + genericToken, generic, 202, "", nil},
		{"bEaReR in mixed case", "sumologic", "bEaReR " + sumoToken, string(readTestdata(t, "sumologic-monitor-critical")), 202, "", nil},
		{"two spaces before the token", "generic", "Bearer  " + genericToken, generic, 202, "", nil},
		{"many spaces before the token", "generic", "bearer      " + genericToken, generic, 202, "", nil},
		{"whitespace around the value", "generic", " \tBearer " + genericToken + " \t", generic, 202, "", nil},
		{"lower-case bearer on cloudwatch", "cloudwatch", "bearer " + cwToken, alarm(), 202, "", nil},
		{"basic in lower case on cloudwatch", "cloudwatch", "basic " + strings.TrimPrefix(basic("baton", cwToken), "Basic "), alarm(), 202, "", nil},
		{"Basic with two spaces on cloudwatch", "cloudwatch", "Basic  " + strings.TrimPrefix(basic("baton", cwToken), "Basic "), alarm(), 202, "", nil},
		{"Basic with any user name on cloudwatch", "cloudwatch", basic("sns", cwToken), alarm(), 202, "", nil},

		{"no header", "generic", "", generic, 401,
			"missing credentials: send the header Authorization: Bearer <intake.tokens.generic>", bearerOnly},
		{"no header on cloudwatch", "cloudwatch", "", alarm(), 401,
			"missing credentials: send the header Authorization: Bearer <intake.tokens.cloudwatch>", cloudwatch},
		{"wrong token", "generic", "Bearer nope-nope-nope-nope", generic, 401,
			"wrong credentials: the token is not intake.tokens.generic", bearerOnly},
		{"wrong token in lower case", "generic", "bearer nope-nope-nope-nope", generic, 401,
			"wrong credentials: the token is not intake.tokens.generic", bearerOnly},
		{"another source's token", "sumologic", "Bearer " + genericToken, generic, 401,
			"wrong credentials: the token is not intake.tokens.sumologic", bearerOnly},
		{"the token in another case", "generic", "Bearer " + strings.ToUpper(genericToken), generic, 401,
			"wrong credentials: the token is not intake.tokens.generic", bearerOnly},
		{"the token with a prefix", "generic", "Bearer x" + genericToken, generic, 401,
			"wrong credentials: the token is not intake.tokens.generic", bearerOnly},
		{"the scheme without a token", "generic", "Bearer", generic, 401,
			"wrong credentials: the Authorization header has the scheme Bearer but no token", bearerOnly},
		{"the token without a scheme", "generic", genericToken, generic, 401,
			"wrong credentials: the Authorization header is one word; send the scheme Bearer, a space and the credentials", bearerOnly},
		{"scheme glued to the token", "generic", "Bearer" + genericToken, generic, 401,
			"wrong credentials: the Authorization header is one word", bearerOnly},
		{"a long unknown scheme is not repeated", "generic", "x" + genericToken + " " + genericToken, generic, 401,
			"wrong credentials: the Authorization scheme is not accepted here; use Bearer", bearerOnly},
		{"another scheme", "generic", "Token " + genericToken, generic, 401,
			`wrong credentials: the Authorization scheme "Token" is not accepted here`, bearerOnly},
		{"Basic where only Bearer is accepted", "generic", basic("baton", genericToken), generic, 401,
			`wrong credentials: the Authorization scheme "Basic" is not accepted here`, bearerOnly},
		{"Basic with a wrong password", "cloudwatch", basic("baton", "nope-nope-nope-nope"), alarm(), 401,
			"wrong credentials: the token is not intake.tokens.cloudwatch", cloudwatch},
		{"Basic that is not base64", "cloudwatch", "Basic %%%", alarm(), 401,
			"wrong credentials: the Basic credentials are not base64 of user:password", cloudwatch},
		{"Basic without a colon", "cloudwatch", "Basic " + base64.StdEncoding.EncodeToString([]byte(cwToken)), alarm(), 401,
			"wrong credentials: the Basic credentials are not base64 of user:password", cloudwatch},
		{"wrong token in the query", "cloudwatch?token=wrong", "", alarm(), 401,
			"wrong credentials: the token is not intake.tokens.cloudwatch", cloudwatch},
		{"the query is not read on a bearer route", "generic?token=" + genericToken, "", generic, 401,
			"missing credentials", bearerOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, e.rdb)
			code, out, challenges := e.post(t, tc.path, tc.authorization, tc.body)
			if code != tc.status {
				t.Fatalf("status %d, want %d; reply %v", code, tc.status, out)
			}
			if code != http.StatusUnauthorized {
				if len(challenges) != 0 {
					t.Errorf("a %d carries WWW-Authenticate %q", code, challenges)
				}
				return
			}
			if msg, _ := out["error"].(string); !strings.HasPrefix(msg, tc.says) {
				t.Errorf("error %q does not start with %q", msg, tc.says)
			}
			if !slices.Equal(challenges, tc.challenges) {
				t.Errorf("WWW-Authenticate %q, want %q", challenges, tc.challenges)
			}
			if after := snapshot(t, e.rdb); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("a refused request changed Redis: %d keys before, %d after", len(before), len(after))
			}
		})
	}
}

// A source without a token is closed, and says so with the challenge too.
func TestClosedSourceChallenges(t *testing.T) {
	rs := redistest.Start(t)
	h := NewHandler(Config{Services: map[string]bool{"checkout": true}}, incident.NewStore(rs.Client(), "t:"), nil)
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(openapitest.Wrap(t, mux))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, source string
		challenges   []string
	}{
		{"generic", "generic", []string{bearerChallenge}},
		{"sumologic", "sumologic", []string{bearerChallenge}},
		{"cloudwatch", "cloudwatch", []string{basicChallenge, bearerChallenge}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/"+tc.source, strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer anything-at-all-000")
			code, out, challenges := send(t, req)
			want := "the " + tc.source + " source is closed: set intake.tokens." + tc.source + " to open it"
			if code != http.StatusUnauthorized || out["error"] != want {
				t.Fatalf("%d %v, want 401 %q", code, out, want)
			}
			if !slices.Equal(challenges, tc.challenges) {
				t.Fatalf("WWW-Authenticate %q, want %q", challenges, tc.challenges)
			}
		})
	}
	if n, _ := rs.Client().DBSize(context.Background()).Result(); n != 0 {
		t.Fatalf("refused requests left %d keys", n)
	}
}

// SNS subscribed as https://baton:<token>@host/v1/alerts/cloudwatch sends
// its first request without credentials and sends them only after a 401
// that offers Basic. This replays that exchange through the real handler.
func TestSNSSubscriptionWithBasicAuth(t *testing.T) {
	e := newIntakeEnv(t)
	confirmation := signedSNS(t, "sns-subscription-confirmation", nil)
	subscribeURL := loadSNS(t, "sns-subscription-confirmation").SubscribeURL
	steps := []struct {
		name         string
		withPassword bool
		status       int
		challenges   []string
		confirmed    []string
	}{
		{"SNS asks without credentials", false, 401, []string{basicChallenge, bearerChallenge}, nil},
		{"SNS answers the Basic challenge", true, 200, nil, []string{subscribeURL}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before := snapshot(t, e.rdb)
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/cloudwatch", strings.NewReader(confirmation))
			req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
			req.Header.Set("x-amz-sns-message-type", "SubscriptionConfirmation")
			if step.withPassword {
				req.SetBasicAuth("baton", cwToken)
			}
			code, out, challenges := send(t, req)
			if code != step.status {
				t.Fatalf("status %d, want %d; reply %v", code, step.status, out)
			}
			if !slices.Equal(challenges, step.challenges) {
				t.Fatalf("WWW-Authenticate %q, want %q", challenges, step.challenges)
			}
			if code == 200 && out["outcome"] != "subscription_confirmed" {
				t.Fatalf("reply %v, want outcome subscription_confirmed", out)
			}
			e.mu.Lock()
			confirmed := slices.Clone(e.confirmed)
			e.mu.Unlock()
			if !slices.Equal(confirmed, step.confirmed) {
				t.Fatalf("SubscribeURLs visited %q, want %q", confirmed, step.confirmed)
			}
			if after := snapshot(t, e.rdb); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("Redis changed: %d keys before, %d after", len(before), len(after))
			}
		})
	}
	// What SNS does: pick the Basic challenge out of the 401.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/alerts/cloudwatch", strings.NewReader(confirmation))
	_, _, challenges := send(t, req)
	if !slices.ContainsFunc(challenges, func(c string) bool { return strings.HasPrefix(strings.ToLower(c), "basic ") }) {
		t.Fatalf("no Basic challenge among %q", challenges)
	}
}
