package incident_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// A replayed delivery changes nothing and reports the incident the first
// delivery reached as it is now: number, alert count and status.
func TestReplayedDeliveryReportsTheIncident(t *testing.T) {
	s, _, ctx := newService(t)
	at := 0
	deliver := func(key string, status incident.AlertStatus) incident.Alert {
		at++
		a := alert(key)
		a.Status = status
		a.ReceivedAt = t0.Add(time.Duration(at) * time.Second)
		return a
	}
	steps := []struct {
		name     string
		alert    incident.Alert
		delivery string
		want     incident.OpenResult
	}{
		{"first delivery", deliver("k", incident.AlertFiring), "m1",
			incident.OpenResult{Number: 1, Created: true, AlertCount: 1, Status: incident.StatusTriggered, Outcome: incident.OutcomeCreated}},
		{"replay", deliver("k", incident.AlertFiring), "m1",
			incident.OpenResult{Number: 1, AlertCount: 1, Status: incident.StatusTriggered, Outcome: incident.OutcomeDuplicate}},
		{"a new delivery of the same alert", deliver("k", incident.AlertFiring), "m2",
			incident.OpenResult{Number: 1, AlertCount: 2, Status: incident.StatusTriggered, Outcome: incident.OutcomeRepeated}},
		{"the first delivery again sees the count now", deliver("k", incident.AlertFiring), "m1",
			incident.OpenResult{Number: 1, AlertCount: 2, Status: incident.StatusTriggered, Outcome: incident.OutcomeDuplicate}},
		{"another incident", deliver("other", incident.AlertFiring), "m3",
			incident.OpenResult{Number: 2, Created: true, AlertCount: 1, Status: incident.StatusTriggered, Outcome: incident.OutcomeCreated}},
		{"the recovery", deliver("k", incident.AlertResolved), "m4",
			incident.OpenResult{Number: 1, AlertCount: 3, Status: incident.StatusResolved, Outcome: incident.OutcomeResolved}},
		{"the recovery replayed", deliver("k", incident.AlertResolved), "m4",
			incident.OpenResult{Number: 1, AlertCount: 3, Status: incident.StatusResolved, Outcome: incident.OutcomeDuplicate}},
		{"the first delivery replayed after the recovery", deliver("k", incident.AlertFiring), "m1",
			incident.OpenResult{Number: 1, AlertCount: 3, Status: incident.StatusResolved, Outcome: incident.OutcomeDuplicate}},
		{"a recovery with nothing open", deliver("k", incident.AlertResolved), "m5",
			incident.OpenResult{Outcome: incident.OutcomeNoOpenIncident}},
		{"that recovery replayed", deliver("k", incident.AlertResolved), "m5",
			incident.OpenResult{Outcome: incident.OutcomeDuplicate}},
		{"the second incident's delivery replayed", deliver("other", incident.AlertFiring), "m3",
			incident.OpenResult{Number: 2, AlertCount: 1, Status: incident.StatusTriggered, Outcome: incident.OutcomeDuplicate}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			got, err := s.OpenDelivery(ctx, step.alert, step.delivery)
			if err != nil {
				t.Fatal(err)
			}
			if got != step.want {
				t.Fatalf("OpenDelivery = %+v, want %+v", got, step.want)
			}
		})
	}
}
