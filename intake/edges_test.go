package intake

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/openapitest"
	"github.com/batonhq/baton/internal/redistest"
)

var regexpAll = regexp.MustCompile(`.*`)

// When baton cannot reach what it needs (Redis, Amazon's certificate host,
// the SubscribeURL), the sender reads a fixed sentence: never an address,
// a port or a dial error, which are baton's business, not the sender's.
func TestFailuresShowNoInternalDetail(t *testing.T) {
	const detail = "dial tcp 10.9.8.7:3128: connect: connection refused"
	tests := []struct {
		name   string
		fetch  error // from the certificate fetch
		conf   error // from the subscription confirmation
		redis  bool  // stop Redis first
		sns    string
		body   string
		path   string
		token  string
		status int
		want   string
	}{
		{name: "certificate not fetched", fetch: errors.New(detail), sns: "sns-cloudwatch-alarm", path: "cloudwatch", token: cwToken,
			status: http.StatusBadGateway, want: "the SNS signature could not be checked"},
		{name: "subscription not confirmed", conf: errors.New(detail), sns: "sns-subscription-confirmation", path: "cloudwatch", token: cwToken,
			status: http.StatusBadGateway, want: "the SNS subscription could not be confirmed"},
		{name: "redis down", redis: true, body: `{"service":"database","summary":"x"}`, path: "generic", token: genericToken,
			status: http.StatusServiceUnavailable, want: "the incident store is unavailable; retry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			certs := &fakeCerts{pem: map[string][]byte{testCertURL: getPKI(t).certPEM}, err: tc.fetch}
			h := NewHandler(Config{
				Tokens:       map[string]string{"cloudwatch": cwToken, "generic": genericToken},
				MaxBodyBytes: 1 << 16,
				Services:     map[string]bool{"database": true, "checkout": true},
				Rules:        []Rule{{Match: regexpAll, Service: "checkout"}},
				SNS:          testVerifier(certs),
				Confirm:      func(context.Context, string) error { return tc.conf },
			}, incident.NewStore(rs.Client(), "t:"), slog.New(slog.DiscardHandler))
			h.Now = func() time.Time { return testNow }
			mux := http.NewServeMux()
			h.Register(mux)
			srv := httptest.NewServer(openapitest.Wrap(t, mux))
			defer srv.Close()
			body := tc.body
			if tc.sns != "" {
				body = signedSNS(t, tc.sns, nil)
			}
			if tc.redis {
				rs.Stop()
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/"+tc.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(raw), tc.want) {
				t.Fatalf("%d %s, want %d saying %q", resp.StatusCode, raw, tc.status, tc.want)
			}
			_, port, _ := strings.Cut(rs.Addr, ":")
			for _, leak := range []string{"dial", "10.9.8.7", "3128", "127.0.0.1", port, "refused"} {
				if strings.Contains(string(raw), leak) {
					t.Errorf("reply %s shows %q", raw, leak)
				}
			}
		})
	}
}
