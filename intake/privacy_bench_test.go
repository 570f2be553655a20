package intake

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/privacy"
)

func benchRedactor(b *testing.B) *privacy.Redactor {
	b.Helper()
	r, err := privacy.New(privacy.Config{
		Rules:      []privacy.RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}},
		KeepFields: map[string][]string{"sumologic": {"TriggerType", "TriggerValue", "TriggerCondition"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRedact is the redaction stage's cost per alert (issue 17's
// target: at most 20 µs for a typical Sumo Logic payload): the monitor
// sample from testdata (nothing to redact, the common case) and the same
// shape holding patient data in its description, results and link.
func BenchmarkRedact(b *testing.B) {
	typical, err := os.ReadFile("testdata/sumologic-monitor-critical.json")
	if err != nil {
		b.Fatal(err)
	}
	r := benchRedactor(b)
	for _, c := range []struct {
		name string
		body []byte
	}{{"sumo-typical", typical}, {"sumo-patient-data", []byte(piiSumo)}} {
		a, err := ParseSumoLogic(c.body, testNow)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Redact(a)
			}
		})
	}
}

// BenchmarkSeal is sealing one typical Sumo Logic body (AES-256-GCM).
func BenchmarkSeal(b *testing.B) {
	body, err := os.ReadFile("testdata/sumologic-monitor-critical.json")
	if err != nil {
		b.Fatal(err)
	}
	keys, _ := privacy.ParseKeys([]string{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))})
	s, _ := privacy.NewSealer(keys)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(privacy.Raw{ReceivedAt: testNow, Source: "sumologic", Body: body}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerPrivacy is the whole intake path (auth, parse, route,
// redact, seal, the Lua script on a real redis-server) for unique Sumo
// Logic monitors, with redaction off, on, and on with sealing. Run with
// -count 3: each count runs the three in turn, so they interleave and
// share the machine's noise.
func BenchmarkHandlerPrivacy(b *testing.B) {
	typical, err := os.ReadFile("testdata/sumologic-monitor-critical.json")
	if err != nil {
		b.Fatal(err)
	}
	const id = `"Id": "0000000000A1B2C3"`
	if !bytes.Contains(typical, []byte(id)) {
		b.Fatal("the sample's Id changed")
	}
	keys, _ := privacy.ParseKeys([]string{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))})
	sealer, _ := privacy.NewSealer(keys)
	red := benchRedactor(b)
	for _, mode := range []struct {
		name   string
		red    *privacy.Redactor
		sealer *privacy.Sealer
	}{{"off", nil, nil}, {"redact", red, nil}, {"redact+seal", red, sealer}} {
		b.Run(mode.name, func(b *testing.B) {
			rs := redistest.Start(b)
			store := incident.NewStore(rs.Client(), "bench:", incident.WithSealTTL(720*60*60*1e9))
			b.Cleanup(store.Close)
			h := NewHandler(Config{
				Tokens: map[string]string{"sumologic": sumoToken}, Services: map[string]bool{"checkout": true},
				Redactor: mode.red, Sealer: mode.sealer,
			}, store, nil)
			mux := http.NewServeMux()
			h.Register(mux)
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := strings.Replace(string(typical), id, `"Id": "`+strconv.FormatInt(seq.Add(1), 16)+`"`, 1)
					req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/alerts/sumologic?service=checkout", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+sumoToken)
					w := httptest.NewRecorder()
					mux.ServeHTTP(w, req)
					if w.Code != http.StatusAccepted {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
