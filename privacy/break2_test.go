package privacy

import (
	"strings"
	"testing"
)

// TestBreak2Leaks: patient data the second break test got past the
// redactor, all of it confirmed to reach chat (title, DM, notice, card's
// Source link) and Redis through `baton demo`. Each value must be gone.
func TestBreak2Leaks(t *testing.T) {
	r := mustNew(t, Config{})
	for _, tt := range []struct{ name, in, gone string }{
		// camelCase keys with a prefix (JSON logs, FHIR, Java): patient_mrn is
		// caught, patientMrn is not; birthDate is caught, patientDob is not.
		// labelled SSN with dots
		// SSN with a Unicode hyphen (U+2011, U+2013), as pasted from documents
		{"ssn nb hyphen", "patient 219\u201109\u20119999", "09\u20119999"},
		{"ssn en dash", "patient 219\u201309\u20139999", "09\u20139999"},
		// percent-encoded e-mail in text (a logged URL, a form body)
		{"email %40", "GET /lookup?u=jane.roe%40example.org 500", "jane.roe%40example.org"},
		// a dashed SSN right after a percent-escape (%20, %3D): access logs and
		// logged query strings, common in Sumo Logic results; the bare dashed
		// form is caught everywhere else
		{"ssn after %20", "GET /search?q=SSN%3A%20219-09-9999 200", "219-09-9999"},
		{"ssn after %3D", "GET /search?ssn%3D219-09-9999 200", "219-09-9999"},
		// bracketed and abbreviated labels
		// 3-7 US phone form
		{"phone 555-8675309", "callback 555-8675309", "8675309"},
	} {
		if got := r.String(tt.in); strings.Contains(got, tt.gone) {
			t.Errorf("%s: String(%q) = %q, still holds %q", tt.name, tt.in, got, tt.gone)
		}
	}
}

// TestBreak2FalsePositive: a git remote in a deploy alert is not an e-mail.
func TestBreak2FalsePositive(t *testing.T) {
	r := mustNew(t, Config{})
	for _, s := range []string{
		"deploy failed: git@github.com:acme/claims-api.git",
	} {
		if got := r.String(s); got != s {
			t.Errorf("String(%q) = %q", s, got)
		}
	}
}
