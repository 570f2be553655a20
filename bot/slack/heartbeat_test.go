package slack_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
)

const heartbeatToken = "heartbeat-token-0123456789"

// beatOver sends a beat of name through the real heartbeat route, as a cron
// job would, and returns the reply's state and last beat.
func beatOver(t *testing.T, url, name string) (string, time.Time) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/heartbeats/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+heartbeatToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Name, State string
		LastBeat    time.Time `json:"last_beat"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != http.StatusAccepted || reply.Name != name {
		t.Fatalf("beat answered %d %+v, %v", resp.StatusCode, reply, err)
	}
	return reply.State, reply.LastBeat
}

// A heartbeat's whole story through slack-go and fakeslack: the beat, then
// silence past interval + grace → an incident announced in Slack and its
// owner paged in a DM → the next beat resolves it and the card says so.
func TestHeartbeatStory(t *testing.T) {
	cfg := defaults()
	hb := incident.Heartbeat{Name: "cron", Service: "payments", Interval: 150 * time.Millisecond, Grace: 50 * time.Millisecond}
	cfg.heartbeats = []incident.Heartbeat{hb}
	e := newEnv(t, cfg)
	mux := http.NewServeMux()
	intake.RegisterHeartbeats(mux, intake.HeartbeatOptions{Token: heartbeatToken, Heartbeats: map[string]incident.Heartbeat{hb.Name: hb},
		Store: e.svc, Log: slog.New(slog.NewTextHandler(e.log, nil))})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	st, beatAt := beatOver(t, srv.URL, hb.Name)
	if st != "up" {
		t.Fatalf("first beat: %s", st)
	}
	// Missed: INC-1 opens, is announced, and alice is paged.
	e.waitFor("alice's page about the heartbeat", func() bool { return e.dmsAbout(e.alice, 1, "You are on call") == 1 })
	inc := e.incident(1)
	if inc.DedupKey != "heartbeat:cron" || inc.Created.Sub(beatAt) < hb.Window()-time.Millisecond {
		t.Fatalf("INC-1 %+v opened %s after the beat, window %s", inc, inc.Created.Sub(beatAt), hb.Window())
	}
	e.announced(1)
	if card := blocksText(e.card(1)); !strings.Contains(card, "Heartbeat cron missed") || !strings.Contains(card, "last seen") {
		t.Fatalf("the card does not name the heartbeat:\n%s", card)
	}

	// The next beat resolves it; the card shows the source's recovery.
	if st, _ := beatOver(t, srv.URL, hb.Name); st != "up" {
		t.Fatalf("beat after the miss: %s", st)
	}
	if inc := e.incident(1); inc.Status != incident.StatusResolved {
		t.Fatalf("INC-1 is %s after the beat", inc.Status)
	}
	e.waitFor("the resolved card", func() bool {
		b := blocksText(e.card(1))
		return strings.Contains(b, "Resolved") && !strings.Contains(b, "baton_ack")
	})
}
