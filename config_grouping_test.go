package main

import (
	"bytes"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// TestGroupingConfig: services[].grouping reaches the incident store's
// Grouping, and check-config refuses a bad one with one "path: problem" line.
func TestGroupingConfig(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const anchor = `    alerts_channel: "#payments-alerts"` + "\n"
	if !bytes.Contains(example, []byte(anchor)) {
		t.Fatal("config.yaml changed: the payments service's alerts_channel line is the anchor of this test")
	}
	tests := []struct {
		name    string
		yaml    string // under the payments service
		want    incident.Grouping
		problem string // the one check-config line expected
	}{
		{name: "none: off", want: incident.Grouping{}},
		{name: "window and fields", yaml: "    grouping:\n      window: 5m\n      by: [details.host, source]\n",
			want: incident.Grouping{Window: 5 * time.Minute, By: []string{"details.host", "source"}}},
		{name: "a window alone groups every alert", yaml: "    grouping: {window: 24h}\n",
			want: incident.Grouping{Window: 24 * time.Hour}},
		{name: "nested details key", yaml: "    grouping: {window: 1m, by: [details.labels.host]}\n",
			want: incident.Grouping{Window: time.Minute, By: []string{"details.labels.host"}}},
		{name: "fields without a window", yaml: "    grouping: {by: [details.host]}\n",
			problem: "services[1].grouping.window: must be set with by: how long after an incident opens it takes the service's new alerts, such as 5m"},
		{name: "a window without a unit", yaml: "    grouping: {window: 5}\n",
			problem: "services[1].grouping.window: must be at least 1s (got 5ns: a number without a unit is nanoseconds; write it with one, such as 5m)"},
		{name: "a negative window", yaml: "    grouping: {window: -5m}\n",
			problem: "services[1].grouping.window: must be a positive duration such as 5m"},
		{name: "a window over a day", yaml: "    grouping: {window: 25h}\n",
			problem: "services[1].grouping.window: must be at most 24h: a longer window would hide new problems in an old incident (got 25h0m0s)"},
		{name: "a field an alert does not have", yaml: "    grouping: {window: 5m, by: [host]}\n",
			problem: `services[1].grouping.by[0]: is not a field of an alert (got "host"): use source, name, severity, summary or details.<key>`},
		{name: "details without a key", yaml: "    grouping: {window: 5m, by: [details.]}\n",
			problem: `services[1].grouping.by[0]: has an empty key in "details." (write details.<key>, e.g. details.host)`},
		{name: "a field twice", yaml: "    grouping: {window: 5m, by: [details.host, details.host]}\n",
			problem: `services[1].grouping.by[1]: names "details.host" twice`},
		{name: "a misspelt key", yaml: "    grouping: {windw: 5m}\n",
			problem: `services[1].grouping.windw: unknown key (did you mean "window"?)`},
		{name: "a window that does not parse", yaml: "    grouping: {window: soon}\n",
			problem: "services[1].grouping.window: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := checkConfigOne(t, strings.Replace(string(example), anchor, anchor+tc.yaml, 1), tc.problem)
			if cfg == nil {
				return
			}
			d, err := cfg.domain()
			if err != nil {
				t.Fatal(err)
			}
			got := d.grouping("payments")
			if got.Window != tc.want.Window || !slices.Equal(got.By, tc.want.By) {
				t.Fatalf("grouping = %+v, want %+v", got, tc.want)
			}
			if g := d.grouping("database"); g.Window != 0 {
				t.Fatalf("database has grouping %+v; only payments asked for it", g)
			}
			// A label a grouping reads is kept in an Alertmanager or
			// Grafana alert's details ahead of the others.
			var labels []string
			for name := range cfg.intakeConfig(nil).GroupingLabels {
				labels = append(labels, name)
			}
			var want []string
			for _, by := range tc.want.By {
				if name, ok := strings.CutPrefix(by, "details.labels."); ok {
					want = append(want, name)
				}
			}
			if !slices.Equal(labels, want) {
				t.Fatalf("intake grouping labels %v, want %v", labels, want)
			}
		})
	}
}

// TestGroupingFromConfigToWebhook: a service's grouping in the config file
// reaches the store the serving App builds (store.go): through the real
// webhook, a second payments alert with another dedup key joins INC-1,
// while database, without grouping, opens one per key.
func TestGroupingFromConfigToWebhook(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const anchor = `    alerts_channel: "#payments-alerts"` + "\n"
	path := writeConfig(t, strings.Replace(string(example), anchor, anchor+"    grouping: {window: 5m}\n", 1))
	rs := redistest.Start(t)
	cfg, err := LoadConfig(path, []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{url: serveApp(t, app), redis: rs}
	steps := []struct {
		service, key string
		outcome      string
		number       float64
	}{
		{"payments", "p1", "created", 1},
		{"payments", "p2", "grouped", 1},
		{"database", "d1", "created", 2},
		{"database", "d2", "created", 3},
	}
	for _, st := range steps {
		code, out := a.call(t, "POST", "/v1/alerts/generic", genToken,
			`{"service":"`+st.service+`","dedup_key":"`+st.key+`","summary":"s","severity":"critical"}`)
		if code != 202 || out["outcome"] != st.outcome || out["incident"] != st.number {
			t.Fatalf("%s %s: %d %v; want 202 %s INC-%v", st.service, st.key, code, out, st.outcome, st.number)
		}
	}
}

// TestGroupingWindowProblems: the exact check-config line for a window that
// is 0, too short or unit-less (issue 14's break test: `window: 500ms` was
// told "a number without a unit is nanoseconds"; `window: 0s` alone was
// taken as "off" while `window: 0s` with `by` was refused). A window written
// in the file must be one; grouping is off only when window and by are both
// left out. Heartbeats share the 1s floor and its message.
func TestGroupingWindowProblems(t *testing.T) {
	example, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const anchor = `    alerts_channel: "#payments-alerts"` + "\n"
	const unitless = ": a number without a unit is nanoseconds; write it with one, such as 5m)"
	const zero = "must be a positive duration such as 5m: how long after an incident opens it takes the service's new alerts; to leave grouping off, leave out window and by (got 0s)"
	tests := []struct {
		name    string
		yaml    string // under the payments service
		heart   string // replaces config.yaml's heartbeats block when set
		problem string // the one problem, whole; "" none
	}{
		{name: "under a second, with its unit", yaml: "    grouping: {window: 500ms}\n",
			problem: "services[1].grouping.window: must be at least 1s (got 500ms)"},
		{name: "without a unit", yaml: "    grouping: {window: 5}\n",
			problem: "services[1].grouping.window: must be at least 1s (got 5ns" + unitless},
		{name: "a large number without a unit", yaml: "    grouping: {window: 300000}\n",
			problem: "services[1].grouping.window: must be at least 1s (got 300µs" + unitless},
		{name: "0s alone", yaml: "    grouping: {window: 0s}\n",
			problem: "services[1].grouping.window: " + zero},
		{name: "0s with by", yaml: "    grouping: {window: 0s, by: [details.host]}\n",
			problem: "services[1].grouping.window: " + zero},
		{name: "a bare 0", yaml: "    grouping: {window: 0}\n",
			problem: "services[1].grouping.window: " + zero},
		{name: "by without a window", yaml: "    grouping: {by: [details.host]}\n",
			problem: "services[1].grouping.window: must be set with by: how long after an incident opens it takes the service's new alerts, such as 5m"},
		{name: "an empty grouping: off", yaml: "    grouping: {}\n"},
		{name: "a null grouping: off", yaml: "    grouping:\n"},
		{name: "heartbeat grace under a second", heart: "heartbeats:\n  - {name: a, service: database, interval: 1h, grace: 500ms}\n",
			problem: "heartbeats[0].grace: must be at least 1s (got 500ms)"},
		{name: "heartbeat interval without a unit", heart: "heartbeats:\n  - {name: a, service: database, interval: 300, grace: 5m}\n",
			problem: "heartbeats[0].interval: must be at least 1s (got 300ns" + unitless},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := string(example)
			if tc.heart != "" {
				body = withHeartbeats(t, tc.heart)
			}
			body = strings.Replace(body, anchor, anchor+tc.yaml, 1)
			_, err := LoadConfig(writeConfig(t, body), nil)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.problem {
				t.Fatalf("problems:\n%s\nwant:\n%s", got, tc.problem)
			}
		})
	}
}
