package main

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

const (
	rulesFile     = "deploy/prometheus/baton-rules.yaml"
	rulesTestFile = "deploy/prometheus/baton-rules.test.yaml"
	dashboardFile = "deploy/grafana/baton-dashboard.json"
)

// metricName is a baton series in a PromQL expression.
var metricName = regexp.MustCompile(`\bbaton_[a-z0-9_]+\b`)

// exportedMetrics scrapes a served App after making every labelled
// collector hold a series (a vector without one is not in the scrape),
// and returns the names it exports, histograms with their _bucket, _sum
// and _count series.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	rs := redistest.Start(t)
	cfg, err := LoadConfig("config.yaml", []string{"BATON_REDIS_ADDR=" + rs.Addr, "BATON_REDIS_ALLOW_VOLATILE=true"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	url := serveApp(t, app)
	m := app.Metrics
	m.ObserveAlert("generic", "database", "created", time.Millisecond)
	m.Acknowledged("api")
	m.ChatAPIError("slack", "chat.postMessage")
	m.SocketConnected("slack", true)
	m.StoreFailed("intake")
	m.JobStarted("page", time.Second)
	m.PageSent(escalation.ReasonFirst)
	m.PageFailed(escalation.ReasonFirst)
	m.Escalated()
	m.DeadLettered()
	created := time.Now().Add(-time.Minute)
	m.Transitioned("ack", incident.Incident{Service: "database", Created: created, Acknowledged: time.Now()})
	m.Transitioned("resolve", incident.Incident{Service: "database", Created: created, Resolved: time.Now()})

	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(scrape(t, url)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		if f[3] == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f[2]+s] = true
			}
		}
	}
	return names
}

// rulesExprs returns each alerting rule's name and expression.
func rulesExprs(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	out := map[string]string{}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Expr
		}
	}
	return out
}

// dashboardExprs returns each panel's queries, by panel title, after
// checking the dashboard is the JSON Grafana imports: a title, a uid,
// panels with unique ids, each on the datasource variable.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: title %q, uid %q, %d panels", dashboardFile, dash.Title, dash.UID, len(dash.Panels))
	}
	ids := map[int]bool{}
	out := map[string][]string{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("%s: panel id %d twice", dashboardFile, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: panel %q does not query the datasource variable", dashboardFile, p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
		}
		for _, q := range p.Targets {
			out[p.Title] = append(out[p.Title], q.Expr)
		}
	}
	return out
}

// TestRulesAndDashboardQueryExportedMetrics: every baton_* series the
// alerting rules and the dashboard query is one baton exports, so neither
// can watch a metric that was renamed or never existed; and the rules
// cover what the issue asks to watch.
func TestRulesAndDashboardQueryExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	check := func(where, expr string) {
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 && !strings.Contains(expr, `up{job="baton"}`) {
			t.Errorf("%s queries no baton metric: %s", where, expr)
		}
		for _, n := range names {
			if !exported[n] {
				t.Errorf("%s queries %s, which baton does not export", where, n)
			}
		}
	}
	rules := rulesExprs(t)
	for _, want := range []string{"BatonJobLagHigh", "BatonPagesFailing", "BatonDeadLettersGrowing", "BatonChatAPIErrors", "BatonRedisDown",
		"BatonStoreFailing", "BatonSocketModeDown", "BatonDown", "BatonAbsent", "BatonRunnerStuck"} {
		if rules[want] == "" {
			t.Errorf("%s has no alert %s", rulesFile, want)
		}
	}
	for name, expr := range rules {
		check(rulesFile+" "+name, expr)
	}
	panels := dashboardExprs(t)
	for _, want := range []string{"Incidents opened", "MTTA", "MTTR", "Pages sent", "Job lag", "Chat API errors"} {
		if len(panels[want]) == 0 {
			t.Errorf("%s has no panel %q", dashboardFile, want)
		}
	}
	for title, exprs := range panels {
		for _, e := range exprs {
			check(dashboardFile+" panel "+title, e)
		}
	}
	if t.Failed() {
		var list []string
		for n := range exported {
			if strings.HasPrefix(n, "baton_") {
				list = append(list, n)
			}
		}
		sort.Strings(list)
		t.Logf("baton exports: %s", strings.Join(list, " "))
	}
}

// TestRulesPassPromtool: promtool (Debian's prometheus package; .ci/run
// installs it) accepts the rules and their unit tests pass: each alert
// fires on the series that should fire it. Every *.test.yaml under
// deploy/prometheus runs, so a test file added there cannot be forgotten.
func TestRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not on PATH (apt-get install prometheus, as .ci/run does): the alerting rules are not checked here")
	}
	tests, err := filepath.Glob("deploy/prometheus/*.test.yaml")
	if err != nil || !slices.Contains(tests, rulesTestFile) {
		t.Fatalf("deploy/prometheus/*.test.yaml = %v, %v; want %s among them", tests, err, rulesTestFile)
	}
	runs := [][]string{{"check", "rules", rulesFile}}
	for _, f := range tests {
		runs = append(runs, []string{"test", "rules", f})
	}
	for _, args := range runs {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDashboardReadable: the health stats read at a glance (0 is red,
// with a word for each value), no panel mixes a rate of errors into a
// seconds axis, and every ${DS_…} input the dashboard uses is declared in
// __inputs and every declared one is used (Grafana's import asks for
// each).
func TestDashboardReadable(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		Color string   `json:"color"`
		Value *float64 `json:"value"`
	}
	var dash struct {
		Inputs []struct {
			Name string `json:"name"`
		} `json:"__inputs"`
		Panels []struct {
			Type        string `json:"type"`
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit       string            `json:"unit"`
					Mappings   []json.RawMessage `json:"mappings"`
					Thresholds struct {
						Steps []step `json:"steps"`
					} `json:"thresholds"`
				} `json:"defaults"`
			} `json:"fieldConfig"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	upDown := map[string]bool{"Redis answers": false, "Socket Mode connected": false}
	for _, p := range dash.Panels {
		d := p.FieldConfig.Defaults
		if _, ok := upDown[p.Title]; ok {
			upDown[p.Title] = true
			steps := d.Thresholds.Steps
			if len(steps) < 2 || steps[0].Color != "red" || steps[0].Value != nil || steps[1].Color != "green" || steps[1].Value == nil || *steps[1].Value != 1 {
				t.Errorf("%s: stat %q: thresholds %+v, want red below 1 and green at 1", dashboardFile, p.Title, steps)
			}
			if len(d.Mappings) == 0 {
				t.Errorf("%s: stat %q has no value mappings (0 and 1 shown as numbers)", dashboardFile, p.Title)
			}
		}
		if d.Unit == "s" {
			for _, q := range p.Targets {
				if strings.Contains(q.Expr, "_total") {
					t.Errorf("%s: panel %q has a seconds axis but plots a counter's rate: %s", dashboardFile, p.Title, q.Expr)
				}
			}
		}
	}
	for title, found := range upDown {
		if !found {
			t.Errorf("%s has no stat %q", dashboardFile, title)
		}
	}
	declared := map[string]bool{}
	for _, in := range dash.Inputs {
		declared[in.Name] = true
		if !strings.Contains(string(raw), "${"+in.Name+"}") {
			t.Errorf("%s: __inputs declares %s, which no panel uses", dashboardFile, in.Name)
		}
	}
	for _, m := range regexp.MustCompile(`\$\{(DS_[A-Z0-9_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		if !declared[m[1]] {
			t.Errorf("%s uses ${%s}, which __inputs does not declare", dashboardFile, m[1])
		}
	}
}
