package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// seedReport opens three incidents in the week of 2 March 2026 (UTC)
// through the incident store: one acknowledged after 4 minutes and
// resolved after 30, one resolved at the source after 10 without an ack,
// one still open.
func seedReport(t *testing.T, rs *redistest.Server) {
	t.Helper()
	ctx := redistest.Ctx(t)
	svc := incident.NewStore(rs.Client(), "baton:")
	svc.Unbatched = true
	t.Cleanup(svc.Close)
	base := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	open := func(key, service string, at time.Time) int64 {
		res, err := svc.Open(ctx, incident.Alert{Source: "generic", Service: service, DedupKey: key, Summary: key,
			Severity: incident.SevCritical, Status: incident.AlertFiring, ReceivedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return res.Number
	}
	at := func(d time.Duration) { svc.Now = func() time.Time { return base.Add(d) } }
	a := open("a", "database", base)
	b := open("b", "payments", base.Add(time.Hour))
	open("c", "database", base.Add(2*time.Hour))
	at(4 * time.Minute)
	if _, err := svc.Ack(ctx, a, "alice", ""); err != nil {
		t.Fatal(err)
	}
	at(30 * time.Minute)
	if _, err := svc.Resolve(ctx, a, "alice", ""); err != nil {
		t.Fatal(err)
	}
	at(time.Hour + 10*time.Minute)
	if _, err := svc.Resolve(ctx, b, "bob", ""); err != nil {
		t.Fatal(err)
	}
}

func TestCmdReport(t *testing.T) {
	rs := redistest.Start(t)
	seedReport(t, rs)
	env := []string{"BATON_REDIS_ADDR=" + rs.Addr}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cmdReport(context.Background(), append([]string{"--config", "config.yaml"}, args...), &out, &errOut, env, time.Now)
		return code, out.String(), errOut.String()
	}
	period := []string{"--from", "2026-03-02", "--to", "2026-03-09"}

	code, out, errOut := run(append(period, "--format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Totals struct {
			Opened    int `json:"opened"`
			OpenAtEnd int `json:"open_at_end"`
			MTTA      struct {
				Count       int     `json:"count"`
				MeanSeconds float64 `json:"mean_seconds"`
			} `json:"mtta"`
			MTTR struct {
				Count       int     `json:"count"`
				MeanSeconds float64 `json:"mean_seconds"`
			} `json:"mttr"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// By hand: 3 opened, 1 still open; MTTA over one ack, 4m; MTTR over 30m and 10m, mean 20m.
	tt := doc.Totals
	if tt.Opened != 3 || tt.OpenAtEnd != 1 || tt.MTTA.Count != 1 || tt.MTTA.MeanSeconds != 240 || tt.MTTR.Count != 2 || tt.MTTR.MeanSeconds != 1200 {
		t.Errorf("totals %+v", tt)
	}

	code, out, errOut = run(append(period, "--format", "csv", "--by", "day", "--service", "payments")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// header, 7 days, total, previous
	if len(rows) != 10 || rows[8][0] != "total" || rows[8][3] != "1" || rows[2][3] != "1" {
		t.Errorf("csv:\n%s", out)
	}

	code, out, errOut = run(period...)
	if code != 0 || !strings.Contains(out, "3 incidents opened") || !strings.Contains(out, "MTTA 4m (p50 4m, p90 4m, 1 acknowledged)") {
		t.Errorf("table: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCmdReportRefusals(t *testing.T) {
	env := []string{"BATON_REDIS_ADDR=127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad format", []string{"--format", "xml"}, 2, "--format must be table, json or csv"},
		{"bad from", []string{"--from", "last tuesday"}, 2, `--from: "last tuesday" is neither`},
		{"bad by", []string{"--by", "month"}, 2, "--by must be day or week"},
		{"unknown service", []string{"--service", "nope"}, 2, `--service "nope" is not in services`},
		{"bad zone", []string{"--timezone", "Mars/Olympus"}, 2, "is not an IANA time zone"},
		{"backwards", []string{"--from", "2026-03-09", "--to", "2026-03-02"}, 2, "must end after it starts"},
		{"redis down", []string{"--from", "7d"}, 1, "cannot read Redis at 127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := cmdReport(context.Background(), append([]string{"--config", "config.yaml"}, tc.args...), &out, &errOut, env, time.Now)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.want)
			}
		})
	}
}
