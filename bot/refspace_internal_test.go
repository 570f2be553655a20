package bot

import (
	"errors"
	"maps"
	"testing"

	"github.com/batonhq/baton/escalation"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
)

// TestRefSpaces: two Bots' chat references for one incident live side by
// side in its one hash. The unprefixed layout (a Slack-only deployment's
// existing data) stays Slack's: the space "" reads it as before, and the
// space "discord" neither sees it nor is seen by it.
func TestRefSpaces(t *testing.T) {
	rs := redistest.Start(t)
	ctx := redistest.Ctx(t)
	store := incident.NewStore(rs.Client(), "t:")
	store.Unbatched = true
	if _, err := store.Open(ctx, incident.Alert{Source: "generic", Service: "db", DedupKey: "k", Summary: "disk full",
		Severity: incident.SevCritical, Status: incident.AlertFiring}); err != nil {
		t.Fatal(err)
	}
	// Written before spaces existed: a card Slack posted.
	if err := store.SetChatRefs(ctx, 1, map[string]string{"ch": "C1", "card": "1.0001", "p:D1/1.0002": "-"}); err != nil {
		t.Fatal(err)
	}
	slack := spacedIncidents{Incidents: store, space: "", channel: true}
	discord := spacedIncidents{Incidents: store, space: "discord", channel: false}
	if err := discord.SetChatRefs(ctx, 1, map[string]string{"ch": "1100000000000000009", "card": "1100000000000000010"}); err != nil {
		t.Fatal(err)
	}
	if err := discord.SetChannel(ctx, 1, "1100000000000000009"); err != nil {
		t.Fatal(err)
	}
	if err := slack.SetChannel(ctx, 1, "C1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		inc  Incidents
		want map[string]string
	}{
		{"slack reads the unprefixed layout as before", slack, map[string]string{"ch": "C1", "card": "1.0001", "p:D1/1.0002": "-"}},
		{"discord reads its own space only", discord, map[string]string{"ch": "1100000000000000009", "card": "1100000000000000010"}},
		{"the hash holds both", store, map[string]string{"ch": "C1", "card": "1.0001", "p:D1/1.0002": "-",
			"discord|ch": "1100000000000000009", "discord|card": "1100000000000000010"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.inc.ChatRefs(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("refs %v, want %v", got, tc.want)
			}
		})
	}
	// A field deleted in one space stays in the other.
	if err := discord.SetChatRefs(ctx, 1, map[string]string{"card": ""}); err != nil {
		t.Fatal(err)
	}
	if got, _ := slack.ChatRefs(ctx, 1); got["card"] != "1.0001" {
		t.Fatalf("Slack's card gone with Discord's: %v", got)
	}
	// The incident's channel is the one chat's that records it.
	inc, _, err := store.Get(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Channel != "C1" {
		t.Fatalf("incident channel %q, want Slack's C1", inc.Channel)
	}
}

// TestPick: of several chats' errors, the one that decides the runner's
// retry. An unknown outcome wins (its retry checks delivery), then a
// refusal that certainly did not deliver, then a deferral; a permanent
// refusal only when it is all there is.
func TestPick(t *testing.T) {
	unknown := errors.New("timeout")
	unsent := escalation.Unsent(errors.New("no DM"))
	ra := escalation.RetryAfter(errors.New("429"), 1)
	deferred := escalation.Defer(1)
	permanent := escalation.Permanent(errors.New("gone"))
	for _, tc := range []struct {
		name string
		errs []error
		want error
	}{
		{"unknown over refused", []error{unsent, unknown}, unknown},
		{"unknown over permanent", []error{permanent, unknown}, unknown},
		{"refused over deferred", []error{deferred, ra}, ra},
		{"unsent over permanent", []error{permanent, unsent}, unsent},
		{"deferred over permanent", []error{permanent, deferred}, deferred},
		{"permanent alone", []error{permanent, permanent}, permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pick(tc.errs); got != tc.want {
				t.Fatalf("pick = %v, want %v", got, tc.want)
			}
		})
	}
}
