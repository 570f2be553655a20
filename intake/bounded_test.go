package intake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// TestParseSumoLogicWideResultsBounded proves that parsing a payload with
// 50,000 result rows allocates a small multiple of the body, not a map per
// row: the bytes allocated (runtime.MemStats.TotalAlloc, averaged over runs)
// stay under a fixed bound. Decoding every row, as before, allocated about
// 50 times the body (24.8 MB for a 501 KB body; 1.8 MB after).
func TestParseSumoLogicWideResultsBounded(t *testing.T) {
	body := wideSumoBody(t, wideRows)
	if len(body) > 1<<20 {
		t.Fatalf("the wide payload is %d bytes, over the default body limit", len(body))
	}
	a, err := ParseSumoLogic(body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := a.Details["results"].([]any)
	if len(rows) == 0 || len(rows) > maxResultRows {
		t.Errorf("kept %d rows, want 1 to %d", len(rows), maxResultRows)
	}
	if got := a.Details["results_rows"]; got != wideRows {
		t.Errorf("results_rows = %v, want %d", got, wideRows)
	}
	const runs = 5
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := ParseSumoLogic(body, testNow); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	// The body is copied about twice (the raw field, then its unescaped
	// text); 5 bodies leaves room and is far below a map per row.
	bound := uint64(5 * len(body))
	t.Logf("body %d bytes; %d bytes allocated per parse (bound %d)", len(body), perRun, bound)
	if perRun > bound {
		t.Errorf("one parse of %d rows allocated %d bytes, more than %d (5× the body)", wideRows, perRun, bound)
	}
}

func TestDecodeBounded(t *testing.T) {
	long := strings.Repeat("x", maxResultBytes)
	cases := []struct {
		name string
		in   string
		want string // the kept value as JSON
		rows int
		cut  bool
	}{
		{"empty array", `[]`, `[]`, 0, false},
		{"few rows kept whole", `[{"a":"1"},{"a":"2"}]`, `[{"a":"1"},{"a":"2"}]`, 0, false},
		{"rows beyond the count are counted", `[1,2,3,4,5,6,7,8,9,10,11,12]`, `[1,2,3,4,5,6,7,8,9,10]`, 12, true},
		{"nested commas and brackets in strings are not rows", `[1,2,3,4,5,6,7,8,9,10,{"a":[1,2],"b":"x,]\",y"},[3,4],"]"]`, `[1,2,3,4,5,6,7,8,9,10]`, 13, true},
		{"a row over the byte budget stops the rows", `[1,"` + long + `",3]`, `[1]`, 3, true},
		{"a small object is kept", `{"a":1}`, `{"a":1}`, 0, false},
		{"a long object is a sentence", `{"a":"` + long + `"}`, `"a JSON object of 2056 bytes, not kept (limit 2048)"`, 0, true},
		{"large numbers survive", `[12345678901234567890]`, `[12345678901234567890]`, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeBounded([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(got.Value)
			if string(js) != c.want {
				t.Errorf("value = %s, want %s", js, c.want)
			}
			if c.cut && got.Rows != c.rows {
				t.Errorf("rows = %d, want %d", got.Rows, c.rows)
			}
			if got.Cut != c.cut {
				t.Errorf("cut = %v, want %v", got.Cut, c.cut)
			}
		})
	}
	for _, bad := range []string{`[1,`, `{"a":`, `[1] 2`} {
		if _, err := decodeBounded([]byte(bad)); err == nil {
			t.Errorf("decodeBounded(%q): no error", bad)
		}
	}
}

// TestParsingLimit: with every parsing slot taken, a request is answered
// 503 with Retry-After and a fixed sentence, at once (no wait) or after
// ParseWait, and nothing is stored; a request that finds a slot freed while
// it waits is accepted; once the slot is free, alerts are accepted again.
func TestParsingLimit(t *testing.T) {
	rs := redistest.Start(t)
	store := incident.NewStore(rs.Client(), "t:")
	cases := []struct {
		name     string
		wait     time.Duration
		freeWhen bool // free the slot while the request waits
		want     int
	}{
		{"full, no wait: refused at once", -1, false, http.StatusServiceUnavailable},
		{"full: refused after waiting", 20 * time.Millisecond, false, http.StatusServiceUnavailable},
		{"full, then freed while waiting: accepted", time.Minute, true, http.StatusAccepted},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHandler(Config{
				Tokens:     map[string]string{"generic": genericToken},
				Services:   map[string]bool{"database": true},
				MaxParsing: 1,
				ParseWait:  c.wait,
			}, store, nil)
			mux := http.NewServeMux()
			h.Register(mux)
			post := func(key string) *httptest.ResponseRecorder {
				body := fmt.Sprintf(`{"summary":"disk full","dedup_key":"%s-%d"}`, key, i)
				req := httptest.NewRequest(http.MethodPost, "/v1/alerts/generic?service=database", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+genericToken)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				return w
			}
			h.parsing <- struct{}{} // another request is parsing
			before := rs.Client().DBSize(t.Context()).Val()
			var w *httptest.ResponseRecorder
			if c.freeWhen {
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- post("busy") }()
				// Once the request is waiting for a slot, free it.
				deadline := time.Now().Add(10 * time.Second)
				for h.waiting.Load() == 0 {
					if time.Now().After(deadline) {
						t.Fatalf("the request never waited for the slot (answered %d)", (<-done).Code)
					}
					runtime.Gosched()
				}
				<-h.parsing
				w = <-done
			} else {
				w = post("busy")
				<-h.parsing
			}
			if w.Code != c.want {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, c.want)
			}
			if c.want == http.StatusServiceUnavailable {
				if got := w.Header().Get("Retry-After"); got != "1" {
					t.Errorf("Retry-After = %q, want 1", got)
				}
				if want := "this one was NOT accepted; retry"; !strings.Contains(w.Body.String(), want) {
					t.Errorf("body %s does not say %q", w.Body, want)
				}
				if after := rs.Client().DBSize(t.Context()).Val(); after != before {
					t.Errorf("a refused alert changed Redis: %d keys before, %d after", before, after)
				}
			}
			if w := post("after"); w.Code != http.StatusAccepted {
				t.Fatalf("with the slot free again: %d %s, want 202", w.Code, w.Body)
			}
		})
	}
}

// FuzzDecodeBounded: for any valid JSON array, the rows kept are the
// array's first rows and the count is its length; nothing panics on any
// input.
func FuzzDecodeBounded(f *testing.F) {
	for _, seed := range []string{`[]`, `[1,2,3,4,5,6,7,8,9,10,11]`, `[{"a":[1,",]"]},"\\"",[]]`, `{"a":1}`, `"x"`, `[1,`, `[` + strings.Repeat(`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",`, 40) + `1]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeBounded(b)
		if err != nil || firstByte(b) != '[' {
			return
		}
		full, err := decodeAny(b)
		if err != nil {
			t.Fatalf("decodeBounded accepted %q, which does not decode: %v", b, err)
		}
		all := full.([]any)
		kept := got.Value.([]any)
		if len(kept) > maxResultRows || len(kept) > len(all) {
			t.Fatalf("kept %d rows of %d", len(kept), len(all))
		}
		want, _ := json.Marshal(all[:len(kept)])
		have, _ := json.Marshal(kept)
		if string(want) != string(have) {
			t.Fatalf("kept %s, want the first rows %s", have, want)
		}
		if got.Cut != (len(kept) < len(all)) {
			t.Fatalf("cut = %v with %d of %d rows kept", got.Cut, len(kept), len(all))
		}
		if got.Cut && got.Rows != len(all) {
			t.Fatalf("rows = %d, want %d", got.Rows, len(all))
		}
	})
}

// allocatedPerRun is the bytes f allocates, averaged over runs
// (runtime.MemStats.TotalAlloc).
func allocatedPerRun(t *testing.T, runs int, f func()) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// Every parser decodes only what the incident keeps: a generic alert with a
// 50,000-key details object or 50,000 links, and a CloudWatch alarm with
// 20,000 metrics, allocate under 5 times their size (3.4–3.9×; before,
// decoding everything: 13×, 26× and 12×), and say what they left out; so do
// an Alertmanager alert with 50,000 labels (2.0×; read with a token stream:
// 20×) and a Grafana alert with 50,000 values (2.0×).
func TestParsersBoundWhatTheyDecode(t *testing.T) {
	const n = 50_000
	var details, links strings.Builder
	for i := range n {
		if i > 0 {
			details.WriteByte(',')
			links.WriteByte(',')
		}
		fmt.Fprintf(&details, `"k%d":%d`, i, i)
		fmt.Fprintf(&links, `{"url":"https://example.com/%d"}`, i)
	}
	metrics := make([]any, 20_000)
	for i := range metrics {
		metrics[i] = map[string]any{"Id": fmt.Sprint("m", i), "MetricStat": map[string]any{"Metric": map[string]any{
			"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
			"Dimensions": []any{map[string]any{"name": "QueueName", "value": "orders"}}}, "Stat": "Maximum"}}
	}
	cwMsg := alarmMessage(t, map[string]any{"Trigger": map[string]any{"Metrics": metrics}})
	wideDetails := []byte(`{"summary":"wide","details":{` + details.String() + `}}`)
	wideLinks := []byte(`{"summary":"wide","links":[` + links.String() + `]}`)
	var labels, values strings.Builder
	for i := range n {
		fmt.Fprintf(&labels, `"label%d":"value%d",`, i, i)
		fmt.Fprintf(&values, `"R%d":%d,`, i, i)
	}
	wideLabels := []byte(amBodyWith(amAlertJSON("fp", `"labels":{`+labels.String()+`"alertname":"Wide"}`, `"annotations":{"summary":"wide"}`)))
	wideValues := []byte(amBodyWith(amAlertJSON("fp", `"values":{`+values.String()+`"A":1}`)))
	first := func(alerts []incident.Alert, err error) (incident.Alert, error) {
		if err != nil {
			return incident.Alert{}, err
		}
		return alerts[0], nil
	}

	cases := []struct {
		name  string
		size  int
		parse func() (incident.Alert, error)
		check func(t *testing.T, a incident.Alert)
	}{
		{"generic details of 50,000 keys", len(wideDetails), func() (incident.Alert, error) {
			return ParseGeneric(wideDetails, testNow)
		}, func(t *testing.T, a incident.Alert) {
			if note, _ := a.Details["truncated"].(string); !strings.Contains(note, "were not kept (limit 16384)") || len(a.Details) != 1 {
				t.Errorf("details = %.200v", a.Details)
			}
		}},
		{"generic with 50,000 links", len(wideLinks), func() (incident.Alert, error) {
			return ParseGeneric(wideLinks, testNow)
		}, func(t *testing.T, a incident.Alert) {
			notes, _ := a.Details[droppedLinksKey].([]string)
			if len(a.Links) != maxGenericLinks || len(notes) != 1 || notes[0] != "links: 49980 more entries were not read (at most 20 are)" {
				t.Errorf("%d links, notes %q", len(a.Links), notes)
			}
		}},
		{"Alertmanager alert with 50,000 labels", len(wideLabels), func() (incident.Alert, error) {
			return first(ParseAlertmanager(wideLabels, testNow, DefaultSeverities))
		}, func(t *testing.T, a incident.Alert) {
			if kept, _ := a.Details["labels"].(map[string]any); a.Name != "Wide" || len(kept) > maxLabels || a.Details["labels_not_kept"] == nil {
				t.Errorf("name %q, %d labels kept, %v not kept", a.Name, len(kept), a.Details["labels_not_kept"])
			}
		}},
		{"Grafana alert with 50,000 values", len(wideValues), func() (incident.Alert, error) {
			return first(ParseGrafana(wideValues, testNow, DefaultSeverities))
		}, func(t *testing.T, a incident.Alert) {
			if note, _ := a.Details["values"].(string); !strings.Contains(note, "were not kept (limit 512)") {
				t.Errorf("values = %.200v", a.Details["values"])
			}
		}},
		{"CloudWatch alarm with 20,000 metrics", len(cwMsg.Message), func() (incident.Alert, error) {
			a, _, err := ParseCloudWatchAlarm(cwMsg, testNow)
			return a, err
		}, func(t *testing.T, a incident.Alert) {
			if ms, _ := a.Details["metrics"].([]any); len(ms) != maxCWListed || a.Details["metrics_total"] != 20_000 {
				t.Errorf("%d metrics, metrics_total %v", len(ms), a.Details["metrics_total"])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.parse()
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, a)
			got := allocatedPerRun(t, 3, func() { _, _ = c.parse() })
			bound := uint64(5 * c.size)
			t.Logf("%d bytes of input, %d allocated per parse (bound %d)", c.size, got, bound)
			if got > bound {
				t.Errorf("one parse allocated %d bytes, more than %d (5× the input)", got, bound)
			}
		})
	}
}

// A full batch, 1000 ordinary Alertmanager alerts (310 KB), allocates
// about 3.9 KB per alert, what its incident keeps (details, labels, links);
// the bound is 8 KiB an alert, so one request's parse stays under 8 MiB
// whatever the body (incident.MaxBatch alerts at most).
func TestAlertmanagerBatchParseBounded(t *testing.T) {
	var alerts []string
	for i := range incident.MaxBatch {
		alerts = append(alerts, amAlertJSON(fmt.Sprint("fp", i), `"labels":{"alertname":"InstanceDown","instance":"db-`+fmt.Sprint(i)+`.example.org:9100","job":"node","severity":"critical"}`))
	}
	body := []byte(amBodyWith(alerts...))
	got := allocatedPerRun(t, 3, func() { _, _ = ParseAlertmanager(body, testNow, DefaultSeverities) })
	t.Logf("%d alerts in %d bytes: %d allocated per parse, %d per alert", incident.MaxBatch, len(body), got, got/incident.MaxBatch)
	if got > 8<<10*incident.MaxBatch {
		t.Errorf("one parse allocated %d bytes, more than 8 KiB an alert", got)
	}
}
