package intake

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// BenchmarkHandler runs the whole intake path in-process (auth, parse, route,
// Lua script on a real redis-server) without the network, so a profile of it
// shows baton's own cost per alert. "duplicate/uncoalesced" is duplicate
// with the store's batches sent one script call per alert, as before
// duplicates were coalesced (incident.Store.Uncoalesced).
func BenchmarkHandler(b *testing.B) {
	for _, name := range []string{"unique", "duplicate", "duplicate/uncoalesced"} {
		mode, _, _ := strings.Cut(name, "/")
		b.Run(name, func(b *testing.B) {
			rs := redistest.Start(b)
			store := incident.NewStore(rs.Client(), "bench:")
			store.Uncoalesced = strings.HasSuffix(name, "/uncoalesced")
			h := NewHandler(Config{
				Tokens:   map[string]string{"generic": genericToken},
				Services: map[string]bool{"database": true},
			}, store, nil)
			mux := http.NewServeMux()
			h.Register(mux)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := "same"
					if mode == "unique" {
						key = "k" + strconv.FormatInt(seq.Add(1), 10)
					}
					body := `{"dedup_key":"` + key + `","summary":"load test alert","severity":"warning"}`
					req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/alerts/generic?service=database", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+genericToken)
					w := httptest.NewRecorder()
					mux.ServeHTTP(w, req)
					if w.Code != http.StatusAccepted {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// BenchmarkBatchIntake measures intake throughput in alerts per second for
// an Alertmanager notification of 10 alerts (one request, one script call)
// against the generic source (one request and one script call per alert),
// over the whole handler on a real redis-server, each alert a new incident.
func BenchmarkBatchIntake(b *testing.B) {
	const batch = 10
	for _, source := range []string{"alertmanager-10", "generic"} {
		b.Run(source, func(b *testing.B) {
			rs := redistest.Start(b)
			store := incident.NewStore(rs.Client(), "bench:")
			h := NewHandler(Config{
				Tokens:   map[string]string{"generic": genericToken, "alertmanager": amToken},
				Services: map[string]bool{"database": true},
			}, store, nil)
			mux := http.NewServeMux()
			h.Register(mux)
			var seq atomic.Int64
			per := 1
			if source != "generic" {
				per = batch
			}
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				alerts := make([]string, batch)
				for pb.Next() {
					var req *http.Request
					if source == "generic" {
						body := `{"dedup_key":"k` + strconv.FormatInt(seq.Add(1), 10) + `","summary":"load test alert","severity":"warning"}`
						req = httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/alerts/generic?service=database", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+genericToken)
					} else {
						for i := range alerts {
							alerts[i] = amAlertJSON("fp"+strconv.FormatInt(seq.Add(1), 10),
								`"labels":{"alertname":"InstanceDown","instance":"db-`+strconv.Itoa(i)+`:9100","job":"node","severity":"warning"}`)
						}
						req = httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/alerts/alertmanager?service=database", strings.NewReader(amBodyWith(alerts...)))
						req.Header.Set("Authorization", "Bearer "+amToken)
					}
					w := httptest.NewRecorder()
					mux.ServeHTTP(w, req)
					if w.Code != http.StatusAccepted {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
