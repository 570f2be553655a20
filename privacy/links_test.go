package privacy

import (
	"testing"

	"github.com/batonhq/baton/incident"
)

// TestRedactLinkParts: every part of a link that can hold patient data is
// redacted (path segments, userinfo, fragment, query), because the first
// link becomes the card's "Source" in chat; a link holding none stays byte
// for byte (found by breakpriv: only the query string was redacted).
func TestRedactLinkParts(t *testing.T) {
	r := mustNew(t, Config{})
	tests := []struct {
		name, in, want string
	}{
		{"ssn in a path", "https://ehr.example.org/patients/219-09-9999/chart?view=1",
			"https://ehr.example.org/patients/%5Bssn%5D/chart?view=1"},
		{"grafana panel url", "https://grafana.example.org/d/abc/patients/219-09-9999?viewPanel=2",
			"https://grafana.example.org/d/abc/patients/%5Bssn%5D?viewPanel=2"},
		{"runbook url labelled by the segment before", "https://runbooks.example.org/ssn/219099999",
			"https://runbooks.example.org/ssn/%5Bssn%5D"},
		{"email in a path", "https://ehr.example.org/p/jane.roe@example.org",
			"https://ehr.example.org/p/%5Bemail%5D"},
		{"escaped email in a path", "https://ehr.example.org/p/jane.roe%40example.org/x",
			"https://ehr.example.org/p/%5Bemail%5D/x"},
		{"userinfo dropped", "https://jane.roe:Secret123@ehr.example.org/chart",
			"https://ehr.example.org/chart"},
		{"cloudwatch console fragment", "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/db-errors%20jane.roe@example.org",
			"https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/db-errors%20%5Bemail%5D"},
		{"query inside a fragment", "https://service.sumologic.com/ui/#/search/create?query=ssn%3D219099999&startTime=1763992690000",
			"https://service.sumologic.com/ui/#/search/create?query=ssn%3D%5Bssn%5D&startTime=1763992690000"},
		{"query value", "https://x.example.org/a?email=jane%40example.org&b=1",
			"https://x.example.org/a?email=%5Bemail%5D&b=1"},
		// labelled query values like other labelled values (breakpriv2)
		{"phone query value", "https://ehr.example/x?phone=5558675309&b=1", "https://ehr.example/x?phone=%5Bphone%5D&b=1"},
		{"camelCase query key", "https://ehr.example/x?patientMrn=00123456", "https://ehr.example/x?patientMrn=%5Bmrn%5D"},
		{"dob with a month name", "https://ehr.example/x?dob=04-Jul-1961", "https://ehr.example/x?dob=%5Bdob%5D"},
		{"email escaped twice", "https://ehr.example/x?email=jane.roe%2540example.org", "https://ehr.example/x?email=%5Bemail%5D"},

		// untouched: byte for byte
		{"plain", "https://grafana.example.org/d/abc/checkout?orgId=1&viewPanel=2", ""},
		{"odd escapes kept", "https://x.example.org/a%2Fb/c%7e?q=a+b&r=%41#frag%20x", ""},
		{"sumo monitor", "https://service.sumologic.com/ui/#/library/monitors/0000000000A1B2C3", ""},
		{"host with digits", "https://ip-10-0-12-34.ec2.internal:8443/metrics", ""},
		{"cloudwatch console", "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/checkout-5xx%20high", ""},
		{"not a url", "not a url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got := r.URL(tt.in); got != want {
				t.Errorf("URL(%q)\n got %q\nwant %q", tt.in, got, want)
			}
			a := r.Redact(incident.Alert{Links: []incident.Link{{Text: "source", URL: tt.in}}})
			if a.Links[0].URL != want {
				t.Errorf("Redact's link %q, want %q", a.Links[0].URL, want)
			}
		})
	}
}
