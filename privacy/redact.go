// Package privacy keeps patient data out of chat, logs and the incident
// store. Redact rewrites an alert after parsing and before the store, so
// everything downstream (chat, the API, analytics, the timeline, logs) sees
// only the redacted alert; Sealer encrypts the raw payload that may be kept
// beside it (seal.go). The package is pure: no I/O, no clock, no Redis.
//
// Go's regexp is RE2: no lookbehind and no backreferences. Rules therefore
// mark the part they replace with a submatch named "v" (the rest of the
// match is context that stays, such as the "dob=" before a date) and some
// built-in rules check a match in code (a Luhn sum, an SSN's reserved
// ranges) before replacing it.
package privacy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/text"
)

// RuleSpec is one redaction rule as configured (privacy.rules): text
// matching Pattern (a Go regular expression) is replaced by Replace. When
// the pattern has a submatch named v, (?P<v>…), only that part of each
// match is replaced and the rest stays.
type RuleSpec struct {
	Name    string
	Pattern string
	Replace string
}

// Config is what New builds a Redactor from.
type Config struct {
	// Off turns redaction off (privacy.redact: false): Redact returns the
	// alert as it is. The built-in rules are still compiled, so a bad
	// configured rule is refused either way.
	Off bool
	// Rules are added after the built-in ones.
	Rules []RuleSpec
	// KeepFields names, per source, the top-level detail keys shown as
	// they are. Keys match as Sumo Logic's do: in any case, with or
	// without underscores (TriggerValue keeps trigger_value).
	KeepFields map[string][]string
	// IPv4 adds the ipv4 rule (off by default: addresses in alerts are
	// usually hosts', not patients').
	IPv4 bool
	// MRNPattern replaces the pattern of the built-in mrn rule (medical
	// record numbers); "" keeps DefaultMRNPattern.
	MRNPattern string
}

// DefaultMRNPattern is the built-in mrn rule's pattern: a number of 5 to
// 12 letters and digits right after "MRN" or "medical record (number)".
// The label may end a camelCase key (patientMrn, patientMRN): after a
// lower-case letter or digit, its first letter must be upper case.
const DefaultMRNPattern = `(?i)(?:(?:^|[^\[\w]|\w\[|_)(?:mrn|medical[ _-]?record(?:[ _-]?(?:number|num|no))?)|(?-i:[a-z0-9])(?:(?-i:M)rn|(?-i:M)edical[ _-]?record(?:[ _-]?(?:number|num|no))?))(?:\b|_)["']?\s{0,2}[:=#]?\s{0,2}["']?(?P<v>[A-Z0-9][A-Z0-9-]{3,11}[0-9])\b`

// rule is one compiled rule. check, when set, must accept a match's
// replaced part for it to be replaced; need, when set, is a cheap test of
// the whole text that must pass before the regexp runs at all.
type rule struct {
	name    string
	re      *regexp.Regexp
	replace string
	group   int // submatch index replaced (0: the whole match)
	check   func(string) bool
	need    func(s string, f features) bool
}

// features are cheap facts about one text, computed in one pass, that
// tell which built-in rules can match at all: most text in an alert
// (timestamps, counts, hosts) needs no regular expression run on it.
type features struct {
	digits   int  // how many ASCII digits
	cardRun  bool // a run of 13+ digits (single spaces and dashes between) starting with 2–6, as cards do
	at       bool // has '@'
	pct40    bool // has "%40" (an escaped '@')
	plus     bool // has '+'
	paren    bool // has '('
	dash     bool // has '-'
	d3sep    bool // three digits then '.' or '-' then a digit (555-…, 555.…)
	labelled bool // has a word the labelled rules (dob, ssn, mrn) start from, in any case
	phoneish bool // has a word the labelled phone rule starts from (phone, tel, mobile, fax)
}

// labelWords are the words the labelled rules start from, lower case.
var labelWords = []string{"dob", "d.o.b", "birth", "born", "ssn", "social", "mrn", "medical"}

// phoneWords are the words the labelled phone rule starts from, lower case.
var phoneWords = []string{"phone", "tel", "mobile", "fax", "cell"}

// labelStart holds the first two bytes (lower case) of labelWords and
// phoneWords, as first<<8 | second: most letters start no label word.
var labelStart = func() (set [1 << 16]bool) {
	for _, w := range append(append([]string(nil), labelWords...), phoneWords...) {
		set[int(w[0])<<8|int(w[1])] = true
	}
	return set
}()

func scan(s string) features {
	var f features
	run, pure := 0, 0
	var first byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			f.digits++
			if run == 0 {
				first = c
			}
			run++
			pure++
			if run >= 13 && first >= '2' && first <= '6' {
				f.cardRun = true
			}
			continue
		case c == ' ' || c == '-':
			if c == '-' {
				f.dash = true
				if pure == 3 && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' {
					f.d3sep = true
				}
			}
			pure = 0
			if run > 0 && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' {
				continue // a card number's groups: the run goes on
			}
			run = 0
			continue
		case c == '.':
			if pure == 3 && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' {
				f.d3sep = true
			}
		case c == '@':
			f.at = true
		case c == '%':
			if i+2 < len(s) && s[i+1] == '4' && s[i+2] == '0' {
				f.pct40 = true
			}
		case c == 0xE2:
			// The first byte of U+2000–U+2FFF: Unicode hyphens and dashes
			// (U+2010–U+2015, U+2212) for the dashed SSN rule.
			f.dash = true
		case c == '+':
			f.plus = true
		case c == '(':
			f.paren = true
		case i+1 < len(s) && labelStart[int(c|0x20)<<8|int(s[i+1]|0x20)] && (!f.labelled || !f.phoneish):
			for _, w := range labelWords {
				if !f.labelled && w[0] == c|0x20 && len(s)-i >= len(w) && strings.EqualFold(s[i:i+len(w)], w) {
					f.labelled = true
					break
				}
			}
			for _, w := range phoneWords {
				if !f.phoneish && w[0] == c|0x20 && len(s)-i >= len(w) && strings.EqualFold(s[i:i+len(w)], w) {
					f.phoneish = true
					break
				}
			}
		}
		run, pure = 0, 0
	}
	return f
}

// The built-in rules. Each leaves timestamps, incident numbers, metric
// values, thresholds, hostnames and AWS ARNs alone: dates are redacted
// only next to a word that says they are a birth date, digit runs only
// when they look like a card (an issuer's prefix, 13–19 digits, a valid
// Luhn sum), phone numbers only with their separators.
var (
	// A dashed SSN (with the ASCII hyphen or a Unicode one) after a word
	// boundary or a percent-escape (q=SSN%3A%20219-09-9999 in a logged URL).
	ssnPattern = `(?:\b|%[0-9A-Fa-f]{2})(?P<v>\d{3}[` + hyphens + `]\d{2}[` + hyphens + `]\d{4})\b`
	// labelSep is what may stand between a label and its value: a quote,
	// any spaces, one of : = # ( - or the word "is" or "was", another
	// quote or parenthesis (SSN - 219099999, dob is …, DOB (…)).
	// A form's bracketed key (patient[dob]=) closes with a ].
	labelSep = `\]?["']?\s*(?:[:=#(-]\s*|(?:is|was)\s+)?["'(]?\s*`
	// hyphens are the ASCII one and the Unicode ones pasted from
	// documents (U+2010–U+2015, U+2212 minus).
	hyphens         = `\x{2010}-\x{2015}\x{2212}-`
	ssnLabelPattern = `(?i)` + ssnLabel + `(?:[ _-]?(?:number|num|no\.?|#))?` + labelSep + `(?P<v>\d{3}[ .` + hyphens + `]?\d{2}[ .` + hyphens + `]?\d{4})\b`
	// A date next to a word that makes it a birth date; the word may end
	// a longer key (patient_dob=, birthDate":") but not be inside a word.
	months      = `(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`
	datePattern = `(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-./ ]` + months + `[-./ ]\d{2,4}|\d{4}[-./ ]` + months + `[-./ ]\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}-\d{1,2}-\d{4}|\d{1,2}\.\d{1,2}\.\d{4}|\d{8}|` +
		`(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s\d{1,2}(?:st|nd|rd|th)?,?\s\d{4}|\d{1,2}(?:st|nd|rd|th)?\s(?:of\s)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s\d{4})`
	// A time of day after the date (a timestamp from an EHR, FHIR or a
	// database row: 1961-07-04T00:00:00Z) goes with it.
	timePattern = `(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?`
	dobPattern  = `(?i)` + dobLabel + labelSep + `(?P<v>` + datePattern + timePattern + `)\b`
	// An e-mail: @ or its escape %40 (a logged URL, a form body), a domain
	// ending in a dot-TLD, not followed by ':' (git@github.com:acme/x.git
	// is a git remote).
	emailPattern = `(?P<v>[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b(?:[^:]|$)`
	// US numbers with their usual separators (or an opening parenthesis),
	// and E.164: + and 10 to 15 digits, or + and 8 to 15 digits in groups
	// separated by spaces, dots or dashes (+44 7911 123456). The + must
	// not follow a word, a dot or a slash (v1.4.2+20261130 is a version),
	// and 8 or 9 bare digits after a + are a count (+25000000). A bare run
	// of 10 digits, or US digits in groups separated by spaces, is a phone
	// number only after a label (phoneLabelPattern): without one it is far
	// more often a count, an epoch or a list of values.
	phonePattern = `(?:^|[^\w.+/])(?P<v>(?:\+1[ .-]?)?(?:\(\d{3}\)\s?|\b\d{3}[.-])\d{3}[.-]\d{4}|\b\d{3}-\d{7}|\+1[ .-]\d{3}[ .-]\d{3}[ .-]\d{4}|\+[1-9]\d{9,14}|\+[1-9]\d{0,3}(?:[ .-]\d{2,8}){1,4})\b`
	// A phone number after a label (phone, tel, mobile, fax, cell phone),
	// in any grouping: 7 to 15 digits.
	phoneLabelPattern = `(?i)` + phoneLabel + `s?(?:[ _-]?(?:number|num|no\.?|#))?\]?["']?\s*[:=#-]?\s*["']?(?P<v>\+?\(?\d[\d ().-]{5,18}\d)\b`
	ipv4Pattern       = `\b(?P<v>(?:\d{1,3}\.){3}\d{1,3})\b`
	cardPattern       = `\b(?P<v>\d{13,19}|\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}|\d{4}[ -]\d{6}[ -]\d{4,5})\b`
)

// The labels the labelled rules start from: a word on its own or ending a
// snake_case key (patient_ssn), or ending a camelCase or PascalCase key
// (memberSsn, PatientDOB: after a lower-case letter or digit, the label's
// first letter must be upper case, so "classname" holds no "ssn").
var (
	ssnLabel   = label(`ssn`, `social[ _-]?security`)
	dobLabel   = label(`dob`, `d\.o\.b\.?`, `date[ _-]?of[ _-]?birth`, `birth[ _-]?(?:date|dt)`, `birthdate`, `birthday`, `born(?:[ _-]?on)?`)
	phoneLabel = label(`telephone`, `phone`, `tel`, `mobile`, `fax`, `cell[ _-]?phone`)
)

// label is a pattern matching one of alts (each starting with a lower-case
// ASCII letter) as a label: after a word boundary or _, or after a
// lower-case letter or digit with its first letter upper case. Patterns
// using it are case-insensitive ((?i)).
func label(alts ...string) string {
	camel := make([]string, len(alts))
	for i, a := range alts {
		camel[i] = `(?-i:` + strings.ToUpper(a[:1]) + `)` + a[1:]
	}
	words := strings.Join(alts, "|")
	return `(?:` + labelLead + `(?:` + words + `)|\w\[(?:` + words + `)\]["']?\s*[:=]|(?-i:[a-z0-9])(?:` + strings.Join(camel, "|") + `))`
}

// labelLead is what may stand before a label word: the start, a character
// that is neither a word's nor "[", or "_" (patient_ssn). A form's
// bracketed key (patient[dob]=) is a label only with its "]" and the ":"
// or "=" after it (label). A lone "[" is not: "[ssn]" is a replacement, and
// read as a label it would redact the number after it on a second pass
// (redaction must be stable: FuzzRedact found "[phone] 0000000000" →
// "[phone] [phone]", and "doB0000.00.00 00000000" → "doB[dob] 00000000" →
// "doB[dob] [dob]" while a word and "[" were a lead on their own).
const labelLead = `(?:^|[^\[\w]|_)`

// builtins returns the built-in rules for c.
func builtins(c Config) ([]rule, error) {
	mrn := c.MRNPattern
	if mrn == "" {
		mrn = DefaultMRNPattern
	}
	specs := []struct {
		name, pattern, replace string
		check                  func(string) bool
		need                   func(string, features) bool
	}{
		{"ssn", ssnLabelPattern, "[ssn]", nil, func(_ string, f features) bool { return f.digits >= 9 && f.labelled }},
		{"ssn", ssnPattern, "[ssn]", validSSN, func(_ string, f features) bool { return f.digits >= 9 && f.dash }},
		{"date-of-birth", dobPattern, "[dob]", nil, func(_ string, f features) bool { return f.digits >= 4 && f.labelled }},
		{"email", emailPattern, "[email]", nil, func(_ string, f features) bool { return f.at || f.pct40 }},
		{"card", cardPattern, "[card]", validCard, func(_ string, f features) bool { return f.cardRun }},
		{"phone", phoneLabelPattern, "[phone]", labelledPhone, func(_ string, f features) bool { return f.digits >= 7 && f.phoneish }},
		{"phone", phonePattern, "[phone]", validPhone, func(_ string, f features) bool {
			return f.digits >= 8 && (f.plus || f.paren || f.d3sep)
		}},
		{"mrn", mrn, "[mrn]", nil, nil},
	}
	if c.IPv4 {
		specs = append(specs, struct {
			name, pattern, replace string
			check                  func(string) bool
			need                   func(string, features) bool
		}{"ipv4", ipv4Pattern, "[ipv4]", validIPv4, func(_ string, f features) bool { return f.digits >= 4 }})
	}
	out := make([]rule, 0, len(specs))
	for _, s := range specs {
		r, err := compile(s.name, s.pattern, s.replace)
		if err != nil {
			return nil, err
		}
		r.check = s.check
		if s.need != nil {
			r.need = s.need
		}
		if s.name == "mrn" && c.MRNPattern == "" {
			r.need = func(_ string, f features) bool { return f.labelled }
		}
		out = append(out, r)
	}
	return out, nil
}

// compile checks one rule: a name, a pattern that compiles and cannot
// match empty text. The error is a sentence naming the rule.
func compile(name, pattern, replace string) (rule, error) {
	if name == "" {
		return rule{}, fmt.Errorf("a rule has no name (pattern %q)", pattern)
	}
	if pattern == "" {
		return rule{}, fmt.Errorf("rule %q has no pattern", name)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		for _, look := range []string{"(?<=", "(?<!", "(?=", "(?!"} {
			if strings.Contains(pattern, look) {
				return rule{}, fmt.Errorf("rule %q: the pattern uses %s…), a lookaround, which Go regular expressions (RE2) do not have; match the context too and put the part to replace in (?P<v>…)", name, look)
			}
		}
		return rule{}, fmt.Errorf("rule %q: the pattern is not a Go regular expression: %v", name, err)
	}
	if re.MatchString("") {
		return rule{}, fmt.Errorf("rule %q: the pattern %q matches empty text, so it would rewrite everything", name, pattern)
	}
	if replace == "" {
		replace = "[" + name + "]"
	}
	if re.MatchString(replace) {
		return rule{}, fmt.Errorf("rule %q: its replacement %q matches its own pattern", name, replace)
	}
	g := re.SubexpIndex("v")
	if g < 0 {
		g = 0
	}
	ru := rule{name: name, re: re, replace: replace, group: g}
	if set1, set2, ok := firstBytes(pattern); ok {
		// A match must start with one of a few bytes (followed by one of
		// a few more, when that is known too): text without them is not
		// searched, or a configured rule such as \bM[0-9]{8}\b would run
		// over every string of every alert.
		ru.need = func(s string, _ features) bool {
			for i := 0; i < len(s); i++ {
				if set1[s[i]] && (set2 == nil || i+1 < len(s) && set2[s[i+1]]) {
					return true
				}
			}
			return false
		}
	}
	return ru, nil
}

// byteSet is a set of ASCII bytes.
type byteSet = [256]bool

// firstBytes is the set of bytes a match of pattern can start with, when
// that is known and narrow (at most 16 ASCII bytes), and when the match's
// first element is one character, the set its second byte is in (nil when
// not known); ok is false when nothing is known.
func firstBytes(pattern string) (first, second *byteSet, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, nil, false
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	var seq []*syntax.Regexp
	if re.Op == syntax.OpConcat {
		seq = re.Sub
	} else {
		seq = []*syntax.Regexp{re}
	}
	for len(seq) > 0 && isEmptyWidth(seq[0]) {
		seq = seq[1:]
	}
	if len(seq) == 0 {
		return nil, nil, false
	}
	first, ok = startSet(seq[0])
	if !ok {
		return nil, nil, false
	}
	head := seq[0]
	for head.Op == syntax.OpCapture {
		head = head.Sub[0]
	}
	switch {
	case head.Op == syntax.OpLiteral && len(head.Rune) > 1:
		second, _ = startSet(&syntax.Regexp{Op: syntax.OpLiteral, Rune: head.Rune[1:], Flags: head.Flags})
	case (head.Op == syntax.OpLiteral || head.Op == syntax.OpCharClass) && len(seq) > 1:
		second, _ = startSet(seq[1])
	}
	return first, second, true
}

func isEmptyWidth(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpBeginLine, syntax.OpBeginText:
		return true
	}
	return false
}

// startSet is the set of bytes a match of re starts with, if narrow.
func startSet(re *syntax.Regexp) (*byteSet, bool) {
	var out byteSet
	n := 0
	add := func(lo, hi rune, fold bool) bool {
		for r := lo; r <= hi; r++ {
			if r >= utf8.RuneSelf || n >= 16 {
				return false
			}
			rs := []rune{r}
			if fold {
				rs = append(rs, unicode.SimpleFold(r))
			}
			for _, x := range rs {
				if x < utf8.RuneSelf && !out[x] {
					out[x] = true
					n++
				}
			}
		}
		return true
	}
	var walk func(re *syntax.Regexp) bool
	walk = func(re *syntax.Regexp) bool {
		switch re.Op {
		case syntax.OpLiteral:
			return len(re.Rune) > 0 && add(re.Rune[0], re.Rune[0], re.Flags&syntax.FoldCase != 0)
		case syntax.OpCharClass:
			for i := 0; i+1 < len(re.Rune); i += 2 {
				if !add(re.Rune[i], re.Rune[i+1], false) {
					return false
				}
			}
			return true
		case syntax.OpCapture, syntax.OpPlus:
			return walk(re.Sub[0])
		case syntax.OpRepeat:
			return re.Min > 0 && walk(re.Sub[0])
		case syntax.OpAlternate:
			for _, sub := range re.Sub {
				if !walk(sub) {
					return false
				}
			}
			return true
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				if isEmptyWidth(sub) {
					continue
				}
				return walk(sub)
			}
		}
		return false
	}
	if !walk(re) {
		return nil, false
	}
	return &out, true
}

// CheckRule reports, as a sentence naming the rule, what is wrong with a
// configured rule; nil when it is usable. check-config calls it.
func CheckRule(r RuleSpec) error {
	_, err := compile(r.Name, r.Pattern, r.Replace)
	return err
}

// Redactor applies the rules. Build it with New; it is safe for
// concurrent use.
type Redactor struct {
	off   bool
	rules []rule
	keep  map[string]map[string]bool // source -> normalised key
	// keyWords are the first words of keyAliases and of the configured
	// rules' names, for mayName.
	keyWords []string
}

// New compiles the built-in rules and c's; the error names every rule
// that is wrong (joined).
func New(c Config) (*Redactor, error) {
	rules, err := builtins(c)
	if err != nil {
		return nil, fmt.Errorf("privacy.mrn_pattern: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for i, s := range c.Rules {
		r, err := compile(s.Name, s.Pattern, s.Replace)
		if err != nil {
			errs = append(errs, fmt.Errorf("privacy.rules[%d]: %w", i, err))
			continue
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("privacy.rules[%d]: rule %q is named twice", i, s.Name))
		}
		seen[s.Name] = true
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	keep := map[string]map[string]bool{}
	for src, keys := range c.KeepFields {
		m := map[string]bool{}
		for _, k := range keys {
			m[normKey(k)] = true
		}
		keep[src] = m
	}
	var words []string
	for _, list := range keyAliases {
		for _, al := range list {
			words = append(words, al[0])
		}
	}
	for _, s := range c.Rules {
		if w := keyWords(s.Name); len(w) > 0 {
			words = append(words, w[0])
		}
	}
	return &Redactor{off: c.Off, rules: rules, keep: keep, keyWords: words}, nil
}

// keeps reports whether key k is in keep (normalised keys), without
// allocating for keys of up to 64 bytes.
func keeps(keep map[string]bool, k string) bool {
	var buf [64]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-' || c == ' ':
			continue
		case c >= utf8.RuneSelf:
			return keep[normKey(k)]
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(buf) {
			return keep[normKey(k)]
		}
		buf[n] = c
		n++
	}
	return keep[string(buf[:n])]
}

// normKey is a detail key lower-cased without underscores, dashes or spaces.
func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r == '_' || r == '-' || r == ' ' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Redact returns a with its summary, dedup key, details (every string at
// any depth, except the source's KeepFields at the top) and its links
// (every part but scheme and host: URL) rewritten by the rules. a's details map is not changed: a
// new one is made when anything in it changes. Routing fields (service,
// name, severity, status, times) are left alone.
func (r *Redactor) Redact(a incident.Alert) incident.Alert {
	if r == nil || r.off {
		return a
	}
	a.Summary = r.String(a.Summary)
	a.DedupKey = r.String(a.DedupKey)
	if len(a.Details) > 0 {
		if out, changed := r.object(a.Details, r.keep[a.Source]); changed {
			a.Details = out
		}
	}
	if len(a.Links) > 0 {
		var links []incident.Link
		for i, l := range a.Links {
			u := r.URL(l.URL)
			t := r.String(l.Text)
			if u == l.URL && t == l.Text {
				continue
			}
			if links == nil {
				links = append([]incident.Link(nil), a.Links...)
			}
			links[i] = incident.Link{Text: t, URL: u}
		}
		if links != nil {
			a.Links = links
		}
	}
	return a
}

// value redacts one detail value; changed is false when nothing changed
// (v is then returned as it is, not copied).
func (r *Redactor) value(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		if s := r.String(x); s != x {
			return s, true
		}
		return v, false
	case []any:
		var out []any
		for i, e := range x {
			ne, ch := r.value(e)
			if !ch {
				continue
			}
			if out == nil {
				out = append([]any(nil), x...)
			}
			out[i] = ne
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []string:
		// Parsers store some lists typed (details.dropped_links).
		var out []string
		for i, e := range x {
			ne := r.String(e)
			if ne == e {
				continue
			}
			if out == nil {
				out = append([]string(nil), x...)
			}
			out[i] = ne
		}
		if out == nil {
			return v, false
		}
		return out, true
	case map[string]any:
		if out, ch := r.object(x, nil); ch {
			return out, true
		}
		return v, false
	case map[string]string:
		var out map[string]string
		for k, e := range x {
			nk, ne := r.String(k), r.String(e)
			if nk == k && ne == e {
				continue
			}
			if out == nil {
				out = make(map[string]string, len(x))
				for k2, v2 := range x {
					out[k2] = v2
				}
			}
			delete(out, k)
			out[nk] = ne
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// object redacts a map's keys (an e-mail or an SSN as a key, an
// Alertmanager label name) and its values under them, except the keys in
// keep (normalised); changed is false when nothing changed (x is then not
// copied). Two keys redacted alike are both kept: the second gets " (2)",
// and so on.
func (r *Redactor) object(x map[string]any, keep map[string]bool) (map[string]any, bool) {
	var out map[string]any
	for k, e := range x {
		if len(keep) > 0 && keeps(keep, k) {
			continue
		}
		nk := r.String(k)
		ne, ch := r.field(k, e)
		if !ch && nk == k {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(x))
			for k2, v2 := range x {
				out[k2] = v2
			}
		}
		if nk != k {
			delete(out, k)
			base := nk
			for n := 2; ; n++ {
				if _, taken := out[nk]; !taken {
					break
				}
				nk = fmt.Sprintf("%s (%d)", base, n)
			}
		}
		out[nk] = ne
	}
	return out, out != nil
}

// numberText is a JSON number's text (details decoded with UseNumber hold
// json.Number, others float64 or an integer); ok is false for other values.
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return string(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	}
	return "", false
}

// isNumber reports whether v is a number numberText reads.
func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int64, int32, uint64, uint32:
		return true
	}
	return false
}

// longNumber reports whether number v has 13 digits or more, as a card
// number does.
func longNumber(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return len(x) >= 13
	case float64:
		return x >= 1e12 || x <= -1e12
	case int64:
		return x >= 1e12 || x <= -1e12
	case int:
		return x >= 1e12 || x <= -1e12
	case uint64:
		return x >= 1e12
	}
	return false
}

// keyAliases are, per built-in rule, the words of a detail key that say
// its value is that rule's kind of data (each a sequence of key words).
var keyAliases = map[string][][]string{
	"ssn":           {{"ssn"}, {"social", "security"}},
	"date-of-birth": {{"dob"}, {"birth"}, {"birthdate"}, {"birthday"}, {"born"}},
	"email":         {{"email"}, {"mail"}},
	"card":          {{"card"}, {"cardnumber"}, {"pan"}},
	"phone":         {{"phone"}, {"tel"}, {"telephone"}, {"mobile"}, {"fax"}, {"msisdn"}, {"phonenumber"}},
	"mrn":           {{"mrn"}, {"medical", "record"}},
}

// countWords end a key whose number is a count or a size, not the data
// its other words name (patient_ssn_count).
var countWords = map[string]bool{"count": true, "total": true, "len": true, "length": true, "size": true, "ms": true, "seconds": true}

// keyRule is the replacement for a number under key k when k names a
// rule: one of a built-in rule's keyAliases, or a configured rule's name
// (member-id names member_id and memberId; a key that is just its first
// word, member, too). ok is false when k names none.
func (r *Redactor) keyRule(k string) (string, bool) {
	if !r.mayName(k) {
		return "", false
	}
	words := keyWords(k)
	if len(words) == 0 || countWords[words[len(words)-1]] {
		return "", false
	}
	for i := range r.rules {
		ru := &r.rules[i]
		aliases, builtin := keyAliases[ru.name]
		if !builtin {
			if ru.name == "ipv4" {
				continue
			}
			name := keyWords(ru.name)
			if len(name) == 0 {
				continue
			}
			aliases = [][]string{name}
			if len(words) == 1 && words[0] == name[0] {
				return ru.replace, true
			}
		}
		for _, al := range aliases {
			if hasRun(words, al) {
				return ru.replace, true
			}
		}
	}
	return "", false
}

// mayName is a cheap test, without allocating, of whether key k holds
// (in any case) one of the words a key names a rule with; keyRule then
// reads its words exactly.
func (r *Redactor) mayName(k string) bool {
	for _, w := range r.keyWords {
		if len(w) > len(k) {
			continue
		}
		for i := 0; i+len(w) <= len(k); i++ {
			if strings.EqualFold(k[i:i+len(w)], w) {
				return true
			}
		}
	}
	return false
}

// keyWords splits a key into lower-case words at anything but a letter or
// digit and where camelCase turns (birthDate: birth, date).
func keyWords(k string) []string {
	var out []string
	var cur []rune
	prevLower := false
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, c := range k {
		switch {
		case unicode.IsUpper(c):
			if prevLower {
				flush()
			}
			cur = append(cur, c)
			prevLower = false
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			cur = append(cur, c)
			prevLower = unicode.IsLower(c)
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return out
}

// hasRun reports whether run appears in words, in order and together.
func hasRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		ok := true
		for j := range run {
			if words[i+j] != run[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// field redacts a value under key k inside the details: when the key holds
// a label ("dob", "ssn", "mrn", …) a string is read as "k=value", so the
// label applies to the value as it would in text (a Sumo Logic row
// {"dob":"1980-02-03"}); other values are redacted on their own.
func (r *Redactor) field(k string, v any) (any, bool) {
	if isNumber(v) && !r.mayName(k) && !longNumber(v) {
		return v, false // a count or a value: no rule reads it
	}
	if n, ok := numberText(v); ok {
		// A number: redacted when the rules catch its text under the key
		// (a card number, "dob=19610704"), or when the key names a rule
		// (ssn, mrn, phone, member_id, …); counts and values stay.
		if len(k) <= 64 {
			if out, ch := r.field(k, n); ch {
				return out, true
			}
			if rep, ok := r.keyRule(k); ok {
				return rep, true
			}
		}
		return v, false
	}
	if l, ok := v.([]any); ok && len(k) <= 64 {
		// A list under a labelled key (FHIR-like "phone": ["…"]): each
		// element is read under that key.
		var out []any
		for i, e := range l {
			ne, ch := r.field(k, e)
			if !ch {
				continue
			}
			if out == nil {
				out = append([]any(nil), l...)
			}
			out[i] = ne
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	s, ok := v.(string)
	if !ok || len(k) > 64 {
		return r.value(v)
	}
	if kf := scan(k); !kf.labelled && !kf.phoneish {
		if out := r.String(s); out != s {
			return out, true
		}
		return v, false
	}
	prefix := k + "="
	out := r.String(prefix + s)
	if strings.HasPrefix(out, prefix) {
		if out = out[len(prefix):]; out != s {
			return out, true
		}
		return v, false
	}
	// A rule took part of the key too: redact the value on its own.
	return r.value(v)
}

// Cut returns s redacted, then cut to at most n characters
// (text.Truncate): the whole text is redacted before the cut, so a value
// straddling the cut cannot leave its first part behind. A nil or off
// Redactor only cuts. Parsers cut their summaries with it.
func (r *Redactor) Cut(s string, n int) string {
	return text.Truncate(r.String(s), n)
}

// MaxFieldBytes is the longest string the rules run over: a longer one
// (a summary, a detail value, a link of up to the body limit) is cut to
// it first (capField), which bounds the cost of one field to about 20 ms
// of the worst text rather than 0.3 s a megabyte.
const MaxFieldBytes = 64 << 10

// String returns s with every rule applied in order; s longer than
// MaxFieldBytes is cut to it first (capField), and what was cut is gone.
func (r *Redactor) String(s string) string {
	if r == nil || r.off || s == "" {
		return s
	}
	if len(s) > MaxFieldBytes {
		s = capField(s)
	}
	f := scan(s)
	for i := range r.rules {
		ru := &r.rules[i]
		if ru.need != nil && !ru.need(s, f) {
			continue
		}
		ns := ru.apply(s)
		if ns != s {
			s = ns
			f = scan(s)
		}
	}
	return s
}

// capField cuts s to at most MaxFieldBytes before it is redacted, at a
// point that leaves no part of a value behind: back to the last line break
// in the last 512 bytes, or else to the last space after a letter (so
// "SSN 219 09 99" keeps "SSN", "for jane.roe@exa" keeps "for"), or else
// 512 bytes further back; text.Ellipsis marks the cut.
func capField(s string) string {
	t := text.FitBytes(s, MaxFieldBytes-len(text.Ellipsis))
	const back = 512
	lo := len(t) - back
	if i := strings.LastIndexByte(t[lo:], '\n'); i >= 0 {
		return t[:lo+i+1] + text.Ellipsis
	}
	for i := len(t) - 1; i > lo; i-- {
		if (t[i] == ' ' || t[i] == '\t') && isLetter(t[i-1]) {
			return t[:i+1] + text.Ellipsis
		}
	}
	return text.FitBytes(t, lo) + text.Ellipsis
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// apply replaces rule matches in s.
func (ru *rule) apply(s string) string {
	ms := ru.re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		lo, hi := m[2*ru.group], m[2*ru.group+1]
		if lo < 0 || lo < last {
			continue
		}
		if ru.check != nil && !ru.check(s[lo:hi]) {
			continue
		}
		b.WriteString(s[last:lo])
		b.WriteString(ru.replace)
		last = hi
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// URL redacts every part of a link that can hold patient data: its
// userinfo is dropped (a name and password), each path segment and each
// segment of the fragment is unescaped, redacted and escaped again (the
// segment before it reads as its label: /ssn/219099999), and the values of
// the query string, including one inside the fragment (Sumo Logic's links
// are https://…/ui/#/search/create?query=…), are redacted as detail values
// under their keys. The scheme and host are left alone (hostnames must
// survive). Parts are rewritten only when they change, so an untouched URL
// stays byte for byte as it was.
func (r *Redactor) URL(u string) string {
	if r == nil || r.off || u == "" {
		return u
	}
	rest, frag, hasFrag := strings.Cut(u, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	head, path := "", rest
	changed := false
	if i := strings.Index(rest, "://"); i >= 0 {
		head, path = rest, ""
		if j := strings.IndexByte(rest[i+3:], '/'); j >= 0 {
			head, path = rest[:i+3+j], rest[i+3+j:]
		}
		if at := strings.LastIndexByte(head[i+3:], '@'); at >= 0 {
			head = head[:i+3] + head[i+3+at+1:] // userinfo: never kept
			changed = true
		}
	}
	if np := r.segments(path); np != path {
		path, changed = np, true
	}
	if hasQuery {
		if nq := r.query(query); nq != query {
			query, changed = nq, true
		}
	}
	if hasFrag {
		fpath, fquery, fq := strings.Cut(frag, "?")
		np := r.segments(fpath)
		nq := fquery
		if fq {
			nq = r.query(fquery)
		}
		if np != fpath || nq != fquery {
			frag, changed = np, true
			if fq {
				frag += "?" + nq
			}
		}
	}
	if !changed {
		return u
	}
	out := head + path
	if hasQuery {
		out += "?" + query
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// segments redacts the '/'-separated segments of a URL path (or of a
// fragment such as CloudWatch's alarmsV2:alarm/<name>), each unescaped,
// redacted with the segment before it as its label, and escaped again when
// it changed.
func (r *Redactor) segments(p string) string {
	if p == "" || p == "/" {
		return p
	}
	var b strings.Builder // used once a segment changes
	done := 0             // p[:done] is in b
	prev := ""
	for start := 0; start <= len(p); {
		end := strings.IndexByte(p[start:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += start
		}
		seg := p[start:end]
		if seg != "" {
			dec := seg
			if strings.IndexByte(seg, '%') >= 0 {
				if d, err := url.PathUnescape(seg); err == nil {
					dec = d
				}
			}
			if nv, ch := r.field(prev, dec); ch {
				b.WriteString(p[done:start])
				b.WriteString(url.PathEscape(nv.(string)))
				done = end
			}
			prev = dec
		}
		start = end + 1
	}
	if done == 0 {
		return p
	}
	b.WriteString(p[done:])
	return b.String()
}

// query redacts the values of a query string (a=b&c=d), each unescaped,
// redacted under its key and escaped again when it changed; a part
// without '=' is redacted as a value on its own.
func (r *Redactor) query(q string) string {
	if q == "" {
		return q
	}
	// The whole query at once first: most links hold nothing to redact.
	whole := queryUnescape(q)
	if r.String(whole) == whole {
		return q
	}
	parts := strings.Split(q, "&")
	changed := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			k, v = "", p
		}
		dv := queryUnescape(v)
		key := queryUnescape(k)
		nv, ch := r.field(key, dv)
		if !ch {
			continue
		}
		if ok {
			parts[i] = k + "=" + url.QueryEscape(nv.(string))
		} else {
			parts[i] = url.QueryEscape(nv.(string))
		}
		changed = true
	}
	if !changed {
		return q
	}
	return strings.Join(parts, "&")
}

// queryUnescape is s query-unescaped, up to three times while it still
// holds a '%' (a value escaped twice: jane.roe%2540example.org); s as it
// is when it is not escaped text.
func queryUnescape(s string) string {
	for range 3 {
		if strings.IndexByte(s, '%') < 0 {
			break
		}
		d, err := url.QueryUnescape(s)
		if err != nil {
			break
		}
		s = d
	}
	return s
}

// validSSN rejects numbers the SSA never issues: area 000, 666 or 9xx,
// group 00, serial 0000.
func validSSN(s string) bool {
	d := onlyDigits(s)
	if len(d) != 9 {
		return false
	}
	area, group, serial := d[:3], d[3:5], d[5:]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validCard accepts 13 to 16 digits, or 19 written in groups, with a card
// issuer's prefix (Visa, Mastercard, American Express, Discover, Diners,
// JCB, UnionPay) and a valid Luhn sum. The prefix test is what keeps epoch
// milliseconds (13 digits starting with 1) and account ids safe; the
// length test keeps 17 to 19 bare digits, such as 63-bit trace ids (about
// 2% of which pass Luhn with an issuer's prefix), safe.
func validCard(s string) bool {
	d := onlyDigits(s)
	if len(d) < 13 || len(d) > 19 || len(d) > 16 && (len(d) != 19 || len(d) == len(s)) {
		return false
	}
	if !cardPrefix(d) {
		return false
	}
	return luhn(d)
}

func cardPrefix(d string) bool {
	p2 := (int(d[0]-'0'))*10 + int(d[1]-'0')
	p4 := p2*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
		return true
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return len(d) == 16
	case p2 == 34 || p2 == 37: // American Express
		return len(d) == 15
	case p4 == 6011, p2 == 65, p4/10 >= 644 && p4/10 <= 649: // Discover
		return len(d) >= 16
	case p2 == 36 || p2 == 38, p4/10 >= 300 && p4/10 <= 305: // Diners
		return len(d) >= 14
	case p4 >= 3528 && p4 <= 3589: // JCB
		return len(d) >= 16
	case p2 == 62: // UnionPay
		return len(d) >= 16
	}
	return false
}

// luhn reports whether the digits d pass the Luhn check.
func luhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// validPhone accepts a US number whose area code and exchange start with
// 2–9 and whose separators agree (555-123-4567, not 555.123-4567), or an
// E.164 number.
func validPhone(s string) bool {
	d := onlyDigits(s)
	if strings.HasPrefix(s, "+") && (len(d) < 8 || len(d) > 15 || strings.HasSuffix(d, "0000")) {
		return false // too short or long for E.164, or a round count (+25 000 000)
	}
	if strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "+1") {
		return true // E.164 outside North America
	}
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) != 10 {
		return strings.HasPrefix(s, "+") && len(d) >= 8
	}
	if d[0] < '2' || d[3] < '2' {
		return false
	}
	seps := map[byte]bool{}
	body := strings.TrimPrefix(s, "+1")
	for i := 0; i < len(body); i++ {
		if c := body[i]; c == '.' || c == '-' || c == ' ' {
			seps[c] = true
		}
	}
	if strings.Contains(body, ")") {
		delete(seps, ' ')
	}
	return len(seps) <= 1
}

// labelledPhone accepts 7 to 15 digits after a phone label.
func labelledPhone(s string) bool {
	n := len(onlyDigits(s))
	return n >= 7 && n <= 15
}

// validIPv4 accepts four octets of at most 255.
func validIPv4(s string) bool {
	for _, p := range strings.Split(s, ".") {
		n := 0
		for i := 0; i < len(p); i++ {
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 || (len(p) > 1 && p[0] == '0') {
			return false
		}
	}
	return true
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
