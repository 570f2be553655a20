package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// wideRows is how many results the wide Sumo Logic payload carries: a
// scheduled search that matched everything, as seen in the field.
const wideRows = 50_000

// wideSumoBody is testdata's real monitor payload with a ResultsJson of rows
// small rows, escaped as Sumo Logic sends it (a string holding JSON): about
// 575 KiB for 50,000 rows, under intake's default 1 MiB body limit.
func wideSumoBody(t testing.TB, rows int) []byte {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(readTestdata(t, "sumologic-monitor-critical"), &obj); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"c":%d}`, i%10)
	}
	b.WriteByte(']')
	obj["ResultsJson"] = b.String()
	obj["NumQueryResults"] = fmt.Sprint(rows)
	body, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// BenchmarkWideSumoConcurrent posts 32 Sumo Logic payloads of 50,000 result
// rows each (about 490 KiB, under the 1 MiB body limit) at once through the
// whole handler, on a real redis-server, with the default limits. It reports
// the process's peak RSS (VmHWM from /proc/self/status: run one benchmark
// per process) and the slowest answer of a burst. See BENCHMARKS.md.
func BenchmarkWideSumoConcurrent(b *testing.B) {
	const senders = 32
	body := wideSumoBody(b, wideRows)
	rs := redistest.Start(b)
	store := incident.NewStore(rs.Client(), "bench:")
	h := NewHandler(Config{
		Tokens:   map[string]string{"sumologic": sumoToken},
		Services: map[string]bool{"checkout": true},
	}, store, nil)
	mux := http.NewServeMux()
	h.Register(mux)
	var worst []time.Duration
	refused := 0
	b.ResetTimer()
	for b.Loop() {
		lat := make([]time.Duration, senders)
		codes := make([]int, senders)
		var wg sync.WaitGroup
		for i := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest(http.MethodPost, "/v1/alerts/sumologic?service=checkout", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+sumoToken)
				w := httptest.NewRecorder()
				start := time.Now()
				mux.ServeHTTP(w, req)
				lat[i] = time.Since(start)
				codes[i] = w.Code
			}()
		}
		wg.Wait()
		for _, c := range codes {
			switch c {
			case http.StatusAccepted:
			case http.StatusServiceUnavailable:
				refused++
			default:
				b.Fatalf("status %d", c)
			}
		}
		worst = append(worst, slices.Max(lat))
	}
	b.StopTimer()
	b.ReportMetric(float64(slices.Max(worst).Milliseconds()), "slowest-ms")
	b.ReportMetric(float64(refused), "refused-503")
	b.ReportMetric(peakRSS(b), "peakRSS-MiB")
}

// peakRSS is the process's peak resident set (VmHWM), in MiB.
func peakRSS(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Skip("no VmHWM")
	return 0
}

// BenchmarkParseSumoWide parses one 50,000-row payload: the parser's own
// cost, without HTTP or Redis.
func BenchmarkParseSumoWide(b *testing.B) {
	body := wideSumoBody(b, wideRows)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseSumoLogic(body, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
