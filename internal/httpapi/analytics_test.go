package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/analytics"
	"github.com/batonhq/baton/analytics/analyticstest"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/internal/openapitest"
)

const token = "test-token-0123456789"

type failingSource struct{}

func (failingSource) Scan(context.Context, time.Time, time.Time, analytics.Sink) error {
	return errors.New("dial tcp 127.0.0.1:1: connection refused")
}

func server(t *testing.T, src analytics.Source) (*httptest.Server, *analyticstest.Fixture) {
	t.Helper()
	fx := analyticstest.Load(t)
	api := httpapi.New(httpapi.Options{Token: token})
	api.RegisterAnalytics(httpapi.AnalyticsOptions{
		Source:       src,
		Zone:         fx.Zone,
		PersonZone:   fx.PersonZone,
		KnownService: func(s string) bool { return s == "api" || s == "web" },
		Now:          func() time.Time { return time.Date(2026, 4, 6, 0, 0, 0, 0, fx.Zone) },
	})
	srv := httptest.NewServer(openapitest.Wrap(t, api))
	t.Cleanup(srv.Close)
	return srv, fx
}

func get(t *testing.T, url string, auth bool) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// The API answers the fixture's report: the same document as
// `baton report --format json` (analytics/testdata/report.json), whose
// figures analytics' tests check by hand.
func TestAnalyticsReport(t *testing.T) {
	srv, _ := server(t, analyticstest.Load(t).Facts())
	for _, url := range []string{
		"/v1/analytics?from=2026-03-16&to=2026-04-06&by=week",
		"/v1/analytics?from=3w",  // to defaults to now, Monday 6 April 00:00 in Berlin; by to week
		"/v1/analytics?from=21d", // 21 calendar days: 503 hours across the DST change
	} {
		t.Run(url, func(t *testing.T) {
			resp, body := get(t, srv.URL+url, true)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			want, err := os.ReadFile("../../analytics/testdata/report.json")
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(body, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("report differs from analytics/testdata/report.json:\n%s", body)
			}
		})
	}
}

func TestAnalyticsServiceFilter(t *testing.T) {
	srv, _ := server(t, analyticstest.Load(t).Facts())
	resp, body := get(t, srv.URL+"/v1/analytics?from=2026-03-16&to=2026-04-06&service=web&by=day", true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	var doc struct {
		Service string            `json:"service"`
		By      string            `json:"by"`
		Buckets []json.RawMessage `json:"buckets"`
		Totals  struct {
			Opened int `json:"opened"`
			Pages  int `json:"pages"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	// 21 days; web's 13 incidents and 11 pages (counted by hand in analytics' TestServiceFilter).
	if doc.Service != "web" || doc.By != "day" || len(doc.Buckets) != 21 || doc.Totals.Opened != 13 || doc.Totals.Pages != 11 {
		t.Errorf("service %q by %q: %d buckets, %d opened, %d pages; want web, day, 21, 13, 11", doc.Service, doc.By, len(doc.Buckets), doc.Totals.Opened, doc.Totals.Pages)
	}
}

func TestAnalyticsBadRequests(t *testing.T) {
	srv, _ := server(t, analyticstest.Load(t).Facts())
	tests := []struct {
		name, url string
		status    int
		want      string
	}{
		{"bad from", "/v1/analytics?from=yesterday", 400, `from: "yesterday" is neither an RFC 3339 time`},
		{"bad to", "/v1/analytics?to=2026-13-01", 400, `to: "2026-13-01" is neither`},
		{"backwards", "/v1/analytics?from=2026-04-01&to=2026-03-01", 400, "the period must end after it starts"},
		{"too long", "/v1/analytics?from=2024-01-01&to=2026-01-01", 400, "the longest is 400 days"},
		{"bad by", "/v1/analytics?by=month", 400, `by must be day or week (got "month")`},
		{"unknown service", "/v1/analytics?service=db", 400, `service "db" is not in services`},
		{"unknown parameter", "/v1/analytics?form=7d", 400, `unknown parameter "form": use from, to, service, by`},
		{"chart: bad width", "/v1/analytics/chart.png?width=5", 400, "width must be a number of pixels from 200 to 2000"},
		{"chart: bad from", "/v1/analytics/chart.png?from=0d", 400, "is not a length such as 7d"},
		{"report parameters do not take width", "/v1/analytics?width=300", 400, `unknown parameter "width"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+tc.url, true)
			var e struct{ Error string }
			_ = json.Unmarshal(body, &e)
			if resp.StatusCode != tc.status || !strings.Contains(e.Error, tc.want) {
				t.Errorf("%s %s, want %d with an error containing %q", resp.Status, body, tc.status, tc.want)
			}
		})
	}
}

func TestAnalyticsNeedsToken(t *testing.T) {
	srv, _ := server(t, analyticstest.Load(t).Facts())
	for _, url := range []string{"/v1/analytics", "/v1/analytics/chart.png"} {
		if resp, body := get(t, srv.URL+url, false); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a token: %s %s", url, resp.Status, body)
		}
	}
}

func TestAnalyticsStoreDown(t *testing.T) {
	srv, _ := server(t, failingSource{})
	for _, url := range []string{"/v1/analytics", "/v1/analytics/chart.png"} {
		resp, body := get(t, srv.URL+url, true)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "Retry in a moment") {
			t.Errorf("%s with Redis down: %s %s", url, resp.Status, body)
		}
	}
}

func TestAnalyticsChart(t *testing.T) {
	srv, _ := server(t, analyticstest.Load(t).Facts())
	tests := []struct {
		url  string
		w, h int
	}{
		{"/v1/analytics/chart.png?from=2026-03-16&to=2026-04-06", 800, 400},
		{"/v1/analytics/chart.png?from=2026-03-16&to=2026-04-06&by=day&service=api&width=640&height=300", 640, 300},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			resp, body := get(t, srv.URL+tc.url, true)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "image/png" {
				t.Errorf("Content-Type = %q", ct)
			}
			img, err := png.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
		})
	}
}
