package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"sync"
	"time"
)

// This file is the part of the sandbox page that the Slack and the Discord
// sandboxes share: the page itself (one index.html, the shared app.js, and
// a renderer per chat), its Server-Sent Events stream and the reading of an
// action. Each sandbox supplies its view and how to act.

//go:embed web
var webFS embed.FS

var indexTmpl = template.Must(template.ParseFS(webFS, "web/index.html"))

// pageInfo is what index.html says of one chat.
type pageInfo struct {
	// Chat names the renderer the page loads: web/<Chat>.js.
	Chat string
	// Title and Sub head the page; Help is the line under them.
	Title, Sub string
	Help       template.HTML
}

// pageLife ends a sandbox page's event streams: its context ends on Close,
// and Close waits for the streams.
type pageLife struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (l *pageLife) init() { l.ctx, l.cancel = context.WithCancel(context.Background()) }

// pageHooks are what a chat's sandbox gives its page: the fake's change
// feed, the view to render, how to act as a person and whether a bot is
// connected.
type pageHooks[E any] struct {
	info      pageInfo
	subscribe func() (<-chan E, func())
	view      func(ctx context.Context) any
	act       func(Action) (string, error)
	connected func() bool
}

// servePage serves the page of a chat on its fake's mux: the page at "/",
// its static files, GET /sandbox/state (the view as JSON), GET
// /sandbox/events (the view as Server-Sent Events) and POST /sandbox/act.
func servePage[E any](mux interface {
	Handle(pattern string, h http.Handler)
}, life *pageLife, h pageHooks[E]) {
	static, _ := fs.Sub(webFS, "web")
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := indexTmpl.Execute(&b, h.info); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b.Bytes())
	}))
	mux.Handle("GET /sandbox/static/", http.StripPrefix("/sandbox/static/", http.FileServerFS(static)))
	mux.Handle("GET /sandbox/state", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.view(r.Context()))
	}))
	mux.Handle("GET /sandbox/events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveEvents(w, r, life.ctx.Done(), &life.wg, h.subscribe, h.view)
	}))
	mux.Handle("POST /sandbox/act", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveAct(w, r, h.act, h.connected)
	}))
}

// batonView asks baton for its view of the incidents, within 2 s: the view,
// or the error's sentence.
func batonView(ctx context.Context, baton func(context.Context) (any, error)) (any, string) {
	if baton == nil {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := baton(ctx)
	if err != nil {
		return nil, err.Error()
	}
	return b, ""
}

// sseDebounce gathers a burst of changes (a card update is several calls)
// into one push.
const sseDebounce = 80 * time.Millisecond

// sseRefresh is how often the page's view is rebuilt without a change in
// the fake, for baton's view (incident state in Redis changes without a
// chat call while no bot is connected).
const sseRefresh = time.Second

// serveEvents streams view as Server-Sent Events: one "state" event at
// once, then one after every burst of changes the fake's feed tells of, and
// at most once a second when only baton's view changed. An event is sent
// only when the view differs from the last one sent. The stream ends with
// the request, when done is closed, or when the feed is.
func serveEvents[E any](w http.ResponseWriter, r *http.Request, done <-chan struct{}, wg *sync.WaitGroup,
	subscribe func() (<-chan E, func()), view func(context.Context) any) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	wg.Add(1)
	defer wg.Done()
	// The fake's server has no write timeout, but be explicit: a stream
	// lives as long as the page.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	feed, stop := subscribe()
	defer stop()
	ctx := r.Context()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var last []byte
	send := func() bool {
		b, err := json.Marshal(view(ctx))
		if err != nil || bytes.Equal(b, last) {
			return err == nil
		}
		last = b
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	if !send() {
		return
	}
	refresh := time.NewTicker(sseRefresh)
	defer refresh.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case _, ok := <-feed:
			if !ok {
				return
			}
			if debounce == nil {
				debounce = time.After(sseDebounce)
			}
		case <-debounce:
			debounce = nil
			if !send() {
				return
			}
		case <-refresh.C:
			if debounce == nil && !send() {
				return
			}
		}
	}
}

// maxActBytes bounds an action's JSON.
const maxActBytes = 16 << 10

// serveAct reads an action from POST /sandbox/act and performs it with act,
// which returns the interaction's id (Slack: the envelope). It answers
// {"ok":true,"envelope":…,"bot_connected":…} or {"ok":false,"error":…}.
func serveAct(w http.ResponseWriter, r *http.Request, act func(Action) (string, error), connected func() bool) {
	// JSON only: a cross-site form or text/plain POST from another page in
	// the visitor's browser cannot act in the sandbox (a JSON POST from
	// another origin needs a CORS preflight, which this server never grants).
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"ok": false, "error": "send the action as application/json"})
		return
	}
	var a Action
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActBytes))
	if err == nil {
		err = json.Unmarshal(body, &a)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "bad action: " + err.Error()})
		return
	}
	env, err := act(a)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "envelope": env, "bot_connected": connected()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
