//go:build chaos

package chaos

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// startSlowSlack puts a reverse proxy in front of the fake's Web API that
// answers every call latency late, after the fake has run it: as on the
// real Slack, a message exists a moment before its sender hears so. This is
// what makes a replica killed mid-page likely to leave a page sent but not
// recorded, and a page job in flight at the kill. It returns the proxy's
// api_url.
func startSlowSlack(t *testing.T, apiURL string, latency time.Duration) string {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(*http.Response) error {
		time.Sleep(latency) // the network's latency, simulated: not a synchronisation
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/api/"
}
