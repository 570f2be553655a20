package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/incident"
)

// The summary's length: a window that ran out reports its planned length,
// and says how late its end came when baton was down then; one ended by a
// person reports how long it ran.
func TestMaintenanceSummaryLength(t *testing.T) {
	from := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	name := func(id string) PersonRef { return PersonRef{ID: id, Name: strings.ToUpper(id[:1]) + id[1:]} }
	for _, tc := range []struct {
		name    string
		ended   time.Duration
		endedBy string
		want    string
	}{
		{"ran out on time", 2 * time.Minute, "", ") ran out after 2m. No alerts arrived."},
		{"ran out while baton was down", 2*time.Minute + 27*time.Second, "", ") ran out after 2m (ended 27s late: baton was not running at its end). No alerts arrived."},
		{"ended early", 90 * time.Second, "bob", ") was ended by Bob after 1m 30s. No alerts arrived."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := incident.MaintenanceSummary{Maintenance: incident.Maintenance{ID: "mw-1", Service: "db", From: from,
				Until: from.Add(2 * time.Minute), By: "dana"}, Ended: from.Add(tc.ended), EndedBy: tc.endedBy}
			if got := MaintenanceSummaryText(s, name); !strings.HasSuffix(got, tc.want) {
				t.Fatalf("%q, want it to end %q", got, tc.want)
			}
		})
	}
}
