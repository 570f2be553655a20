package intake

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/privacy"
)

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedactRefusalLog: the "intake refused" line quotes what the sender
// sent (a service, a field's value) redacted, at every level, debug too
// (found by breakpriv: it quoted the raw alert name and service).
func TestRedactRefusalLog(t *testing.T) {
	red, err := privacy.New(privacy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	store := incident.NewStore(rs.Client(), "t:")
	t.Cleanup(store.Close)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := NewHandler(Config{Tokens: map[string]string{"generic": genericToken}, Services: map[string]bool{"checkout": true}, Redactor: red}, store, log)
	h.Now = func() time.Time { return testNow }
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, query, body string
	}{
		{"unknown service", "", `{"service":"jane.roe@example.org","summary":"lab feed stuck"}`},
		{"unknown service in the query", "?service=219-09-9999", `{"summary":"lab feed stuck"}`},
		{"bad severity", "", `{"service":"checkout","summary":"x","severity":"jane.roe@example.org"}`},
		// %q made "\n219-09-9999" `\n219-09-9999`: no word boundary (breakpriv2)
		{"control character before the value", "", `{"service":"checkout","summary":"x","severity":"crit\n219-09-9999"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/generic"+tt.query, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+genericToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("status %s, want a refusal", resp.Status)
			}
		})
	}
	out := logs.String()
	if !strings.Contains(out, "intake refused") {
		t.Fatalf("no refusal logged:\n%s", out)
	}
	for _, v := range []string{"jane.roe@example.org", "219-09-9999"} {
		if strings.Contains(out, v) {
			t.Errorf("the log holds %s:\n%s", v, out)
		}
	}
}
