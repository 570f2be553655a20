//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// slackProxy stands between one replica and the fake's Web API. It answers
// every call latency late, after the fake has run it: as on the real Slack,
// a message exists a moment before its sender hears so. While it holds back
// the answer to a page (a chat.postMessage whose text is a page lead), it
// tells pages, so that a fault can strike exactly then: the page is
// delivered and its sender has not recorded it yet.
type slackProxy struct {
	replica int
	url     string // the api_url to give the replica
}

type pageCtxKey struct{}

// startSlackProxy starts the proxy of one replica; pages gets the replica's
// id for each page held back (a full channel drops the news, never the call).
func startSlackProxy(t *testing.T, apiURL string, latency time.Duration, replica int, pages chan<- int) *slackProxy {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode == http.StatusOK && resp.Request.Context().Value(pageCtxKey{}) != nil {
			select {
			case pages <- replica:
			default:
			}
		}
		time.Sleep(latency) // the network's latency, simulated: not a synchronisation
		return nil
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil && pageReason(form.Get("text")) != "" {
				r = r.WithContext(context.WithValue(r.Context(), pageCtxKey{}, true))
			}
		}
		rp.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &slackProxy{replica: replica, url: "http://" + ln.Addr().String() + "/api/"}
}

// pageInFlight waits up to d for a page being held back and returns the
// replica sending it; news older than the call is dropped first. ok is
// false when no page came.
func pageInFlight(pages <-chan int, d time.Duration) (replica int, ok bool) {
	for {
		select {
		case <-pages:
			continue
		default:
		}
		break
	}
	select {
	case r := <-pages:
		return r, true
	case <-time.After(d):
		return 0, false
	}
}
