package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/httpjson"
	"github.com/batonhq/baton/internal/text"
)

// maxSummary is the longest summary, in characters, that becomes an incident
// title. Longer text from a source is cut; the generic API refuses it instead.
const maxSummary = 1024

// firstByte returns the first byte of b that is not JSON whitespace, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// kindOf names the JSON type of raw for error messages ("a number").
func kindOf(raw []byte) string {
	switch c := firstByte(raw); {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || ('0' <= c && c <= '9'):
		return "a number"
	case c == 0:
		return "nothing"
	}
	return "plain text"
}

// requireObject refuses a body whose top-level value is not a JSON object,
// before decoding: json.Unmarshal accepts null into a map or struct silently.
func requireObject(body []byte) *InputError {
	switch c := firstByte(body); c {
	case '{':
		return nil
	case 0:
		return bodyErr("body is empty; send a JSON object")
	case '"', '[', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if !json.Valid(body) {
			return nil // "nope", "-x": not JSON at all, which the decoder says with where
		}
		return bodyErr("body must be a JSON object, not %s", kindOf(body))
	}
	return nil // not JSON at all: let the decoder report where it breaks
}

// article turns an UnmarshalTypeError.Value ("number", "number 1e999",
// "object") into a phrase ("a number 1e999", "an object").
func article(v string) string {
	switch {
	case v == "":
		return "something else"
	case v == "array" || v == "object":
		return "an " + v
	case v == "bool":
		return "a boolean"
	}
	return "a " + v
}

// jsonInputError translates an encoding/json error into an *InputError.
// field is the path of the value being decoded ("" for the request body,
// "Message" for the JSON inside an SNS envelope); size is the length of the
// input, the offset of an unexpected end.
func jsonInputError(err error, field string, size int) *InputError {
	what := "body " // "body is not valid JSON", but `field "Message": is not valid JSON`
	if field != "" {
		what = ""
	}
	mk := func(msg string) *InputError { return &InputError{Field: field, Msg: msg} }
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		msg := syn.Error()
		if msg == "unexpected end of JSON input" {
			msg = "unexpected end of input"
		}
		return mk(what + "is not valid JSON: " + msg + " at byte " + itoa(syn.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return mk(what + "is not valid JSON: unexpected end of input at byte " + itoa(int64(size)))
	case errors.Is(err, io.EOF):
		return mk(what + "is empty; send a JSON object")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return mk(what + "must be " + httpjson.Want(typ.Type) + ", not " + article(typ.Value))
		}
		path := typ.Field
		if field != "" {
			path = field + "." + path
		}
		return &InputError{Field: path, Msg: "must be " + httpjson.Want(typ.Type) + ", not " + article(typ.Value) + " (at byte " + itoa(typ.Offset) + ")"}
	}
	return mk(what + "could not be decoded as JSON: " + err.Error())
}

// itoa formats an offset for an error message.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// decodeAny decodes one JSON value, keeping numbers as json.Number so that
// large identifiers in details survive unchanged. Trailing data is an error.
func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// rawString decodes a JSON string value. Sumo Logic values rarely contain
// escapes, so the common case copies the bytes once instead of running the
// decoder.
func rawString(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		in := raw[1 : n-1]
		plain := true
		for _, c := range in {
			if c == '\\' || c == '"' || c < 0x20 {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(in) {
			return string(in), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// oneLine trims s and folds every run of whitespace or control characters
// into one space, so that a value can serve as a one-line title.
func oneLine(s string) string {
	if isOneLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isOneLine reports whether oneLine would return s unchanged, without
// allocating: no leading, trailing or doubled spaces, no other whitespace.
func isOneLine(s string) bool {
	prevSpace := true // a space at the start would be leading
	for _, r := range s {
		if r == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
		prevSpace = false
	}
	return s == "" || !prevSpace
}

// httpURL reports whether s may be shown to responders as a link: the one
// rule of incident.CheckLinkURL (absolute http or https, no whitespace,
// control characters, <, > or |).
func httpURL(s string) bool { return incident.CheckLinkURL(s) == nil }

// linkProblem completes the sentence about a URL that is not a link:
// "must be an absolute http or https URL (got \"…\")".
func linkProblem(s string) string {
	err := incident.CheckLinkURL(s)
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%s (got %q)", err, text.Truncate(s, maxQuoted))
}

// maxQuoted is how much of a refused value an error or note quotes.
const maxQuoted = 200

// droppedLinksKey is the details key that lists the links an alert carried
// but baton left out, one sentence each ("links[0].url: must be …").
const droppedLinksKey = "dropped_links"

// putDroppedLinks records notes under droppedLinksKey in d, or under
// "baton_dropped_links" when the sender already uses that key. It returns d,
// made when nil.
func putDroppedLinks(d map[string]any, notes []string) map[string]any {
	if len(notes) == 0 {
		return d
	}
	if d == nil {
		d = make(map[string]any, 1)
	}
	k := droppedLinksKey
	if _, taken := d[k]; taken {
		k = "baton_" + k
	}
	d[k] = notes
	return d
}

// checkOneLine refuses a value that will be a key or a name (dedup keys,
// service names) when it holds a control character (NUL, CR, LF, tab, DEL,
// C1) or a Unicode line or paragraph separator: such a value would be
// stored, logged and shown with the break in it.
func checkOneLine(field, v string) *InputError {
	for i, r := range []rune(v) {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fieldErr(field, "must not contain control characters such as NUL, CR or LF (found %U at character %d); send one line of printable text", r, i+1)
		}
	}
	return nil
}

// What a results field (Sumo Logic's ResultsJson, RawResultsJson,
// AggregateResultsJson) keeps: the first rows, as many as fit both limits.
// The incident keeps at most 4 KiB of details (incident.Store), so decoding
// more than this would only be thrown away; a search that matched 50,000
// rows is decoded as a handful and counted, not built as 50,000 maps.
const (
	maxResultRows  = 10
	maxResultBytes = 2048
)

// boundedJSON is a results field cut to size by decodeBounded.
type boundedJSON struct {
	// Value is what is kept: the first rows of an array, or a small value
	// decoded whole; nil when nothing is kept.
	Value any
	// Rows is the number of rows an array held, all of them, counted
	// without decoding the ones not kept; 0 for a value that is not an array.
	Rows int
	// Cut is true when rows or bytes were left out.
	Cut bool
}

// decodeBounded decodes b, one JSON value, keeping numbers as json.Number
// (as decodeAny). An array keeps its first rows within maxResultRows and
// maxResultBytes and counts the rest by scanning, without decoding them; any
// other value is decoded when it is at most maxResultBytes long and
// otherwise replaced by a sentence saying how long it was. Its memory is
// bounded by those limits whatever the length of b, beyond b itself. A b
// that is not one valid JSON value is an error (json.Valid checks it
// without allocating).
func decodeBounded(b []byte) (boundedJSON, error) {
	if !json.Valid(b) {
		return boundedJSON{}, errors.New("not valid JSON")
	}
	if firstByte(b) != '[' {
		if len(b) > maxResultBytes {
			return boundedJSON{Value: fmt.Sprintf("a JSON %s of %d bytes, not kept (limit %d)", strings.TrimPrefix(strings.TrimPrefix(kindOf(b), "a "), "an "), len(b), maxResultBytes), Cut: true}, nil
		}
		v, err := decodeAny(b)
		return boundedJSON{Value: v}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // [
		return boundedJSON{}, err
	}
	rows := []any{}
	size := 0
	seen := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return boundedJSON{}, err
		}
		seen++
		size += len(raw)
		if len(rows) == maxResultRows || size > maxResultBytes {
			break
		}
		v, err := decodeAny(raw)
		if err != nil {
			return boundedJSON{}, err
		}
		rows = append(rows, v)
	}
	seen += countElements(b[dec.InputOffset():])
	return boundedJSON{Value: rows, Rows: seen, Cut: seen > len(rows)}, nil
}

// countElements counts the array elements that follow in rest, the valid
// JSON after one element of an array (a comma before each further element,
// then the closing bracket): the commas outside strings and nested values.
// It does not allocate.
func countElements(rest []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '"':
			for i++; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return n
			}
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		}
	}
	return n
}
