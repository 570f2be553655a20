package intake

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
	"strings"
	"testing"

	"github.com/batonhq/baton/privacy"
)

// TestBreak2RefusalLogEscapedValue: the refusal's sentence quotes the sent
// value with Go's %q, so a control character before the patient data
// becomes a letter ("\n219-09-9999" → `\n219-09-9999`), the SSN loses its
// word boundary, and the redactor passes it into the debug log (seen with
// `baton demo`: reason="... (got \"crit\\n219-09-9999\")").
func TestBreak2RefusalLogEscapedValue(t *testing.T) {
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
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/generic", strings.NewReader(`{"service":"checkout","summary":"x","severity":"crit\n219-09-9999"}`))
	req.Header.Set("Authorization", "Bearer "+genericToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out := logs.String(); !strings.Contains(out, "intake refused") || strings.Contains(out, "219-09-9999") {
		t.Errorf("the log holds the SSN (or no refusal):\n%s", out)
	}
}

