package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

// dump is every key in Redis with its serialized value.
func dump(t *testing.T, c *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v, err := c.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%q\n", k, v)
	}
	return b.String()
}

// The API reads the Authorization header as RFC 9110 §11 says (the scheme
// in any case, one or more spaces, whitespace trimmed), compares the token
// exactly, and answers every 401 with a Bearer challenge, "wrong
// credentials" when a header was sent, and no change in Redis.
func TestAPICredentials(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	rdb := rs.Client()
	store := incident.NewStore(rdb, "t:")
	store.Unbatched = true
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "a", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Token: token, Incidents: store})
	api.RegisterOnCall(nil, nil, nil) // only refused requests reach these routes here
	srv := httptest.NewServer(openapitest.Wrap(t, api))
	t.Cleanup(srv.Close)

	tests := []struct {
		name          string
		method, path  string
		authorization string
		status        int
		says          string // the start of the refusal's sentence
	}{
		{"Bearer", "GET", "/v1/incidents/1", "Bearer " + token, 200, ""},
		{"bearer in lower case", "GET", "/v1/incidents/1", "bearer " + token, 200, ""},
		{"BEARER in capitals", "GET", "/v1/incidents", "BEARER " + token, 200, ""},
		{"two spaces before the token", "GET", "/v1/incidents/1", "Bearer  " + token, 200, ""},
		{"whitespace around the value", "GET", "/v1/incidents/1", "\t Bearer " + token + "  ", 200, ""},

		{"no header", "GET", "/v1/incidents/1", "", 401,
			"missing credentials: send the header Authorization: Bearer <api.token>"},
		{"wrong token", "GET", "/v1/incidents/1", "Bearer nope-nope-nope-nope", 401,
			"wrong credentials: the token is not api.token"},
		{"wrong token in lower case", "POST", "/v1/incidents/1/ack", "bearer nope-nope-nope-nope", 401,
			"wrong credentials: the token is not api.token"},
		{"the token in another case", "POST", "/v1/incidents/1/resolve", "Bearer " + strings.ToUpper(token), 401,
			"wrong credentials: the token is not api.token"},
		{"the scheme without a token", "POST", "/v1/incidents/1/ack", "Bearer   ", 401,
			"wrong credentials: the Authorization header has the scheme Bearer but no token"},
		{"another scheme", "GET", "/v1/incidents/1", "Token " + token, 401,
			`wrong credentials: the Authorization scheme "Token" is not accepted here`},
		{"Basic is not accepted", "GET", "/v1/incidents/1", "Basic " + base64.StdEncoding.EncodeToString([]byte("baton:"+token)), 401,
			`wrong credentials: the Authorization scheme "Basic" is not accepted here`},
		{"the query is not read for incidents", "GET", "/v1/incidents/1?token=" + token, "", 401,
			"missing credentials"},
		{"calendar feed without a token", "GET", "/v1/rotations/db.ics", "", 401,
			"missing credentials"},
		{"calendar feed with a wrong query token", "GET", "/v1/rotations/db.ics?token=wrong", "", 401,
			"wrong credentials: the token is not api.token"},
		{"calendar feed with a lower-case wrong bearer", "GET", "/v1/rotations/db.ics", "bearer wrong", 401,
			"wrong credentials: the token is not api.token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := dump(t, rdb)
			var body *strings.Reader
			if tc.method == "POST" {
				body = strings.NewReader(`{"by":"alice"}`)
			} else {
				body = strings.NewReader("")
			}
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("%s: body not JSON: %v", resp.Status, err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %v, want %d", resp.StatusCode, out, tc.status)
			}
			challenges := resp.Header.Values("WWW-Authenticate")
			if tc.status != http.StatusUnauthorized {
				if len(challenges) != 0 {
					t.Errorf("a %d carries WWW-Authenticate %q", resp.StatusCode, challenges)
				}
				return
			}
			if msg, _ := out["error"].(string); !strings.HasPrefix(msg, tc.says) {
				t.Errorf("error %q does not start with %q", msg, tc.says)
			}
			if want := []string{`Bearer realm="baton"`}; !slices.Equal(challenges, want) {
				t.Errorf("WWW-Authenticate %q, want %q", challenges, want)
			}
			if after := dump(t, rdb); after != before {
				t.Errorf("a refused request changed Redis:\n%s\nbecame\n%s", before, after)
			}
		})
	}
}

// With no api.token the API is closed; the 401 still carries its challenge.
func TestClosedAPIChallenges(t *testing.T) {
	srv := httptest.NewServer(openapitest.Wrap(t, httpapi.New(httpapi.Options{})))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", srv.URL+"/v1/incidents", nil)
	req.Header.Set("Authorization", "Bearer anything-at-all-000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if want := "the API is closed: set api.token to open it"; resp.StatusCode != 401 || out["error"] != want {
		t.Fatalf("%s %v, want 401 %q", resp.Status, out, want)
	}
	if got, want := resp.Header.Values("WWW-Authenticate"), []string{`Bearer realm="baton"`}; !slices.Equal(got, want) {
		t.Fatalf("WWW-Authenticate %q, want %q", got, want)
	}
}
