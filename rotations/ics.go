package rotations

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"
)

// ProdID is the PRODID of baton's iCalendar feeds.
const ProdID = "-//baton//rotations//EN"

const icsUTC = "20060102T150405Z"

// ICS renders r's on-call pieces overlapping [from, to), overrides in ov
// applied, as an iCalendar feed (RFC 5545) that calendar apps subscribe to.
// One VEVENT per piece (as Shifts returns them, not clipped to the range):
//
//   - UID "<rotation>-<start UTC>@baton": stable across regenerations as
//     long as the schedule is, so a client updates events instead of
//     duplicating them;
//   - DTSTART and DTEND in UTC, so no client needs our zone rules;
//   - SUMMARY "On call: Alice Martin (db-primary)", the name taken from
//     people (id → display name), the id itself when it is missing there;
//   - DTSTAMP = from, so the same inputs give the same bytes.
//
// A range with no shift gives a calendar with no event. Lines are folded at
// 75 octets.
func ICS(r *Rotation, ov *OverrideSet, from, to time.Time, people map[string]string) ([]byte, error) {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, ProdID)
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText("X-WR-CALNAME", "On call: "+r.spec.Name)

	stamp := from.UTC().Truncate(time.Second)
	for _, p := range Shifts(r, ov, from, to) {
		name := people[p.Person]
		if name == "" {
			name = p.Person
		}
		ev := ical.NewEvent()
		ev.Props.SetText(ical.PropUID, fmt.Sprintf("%s-%s@baton", r.spec.Name, p.Start.UTC().Format(icsUTC)))
		ev.Props.SetDateTime(ical.PropDateTimeStamp, stamp)
		ev.Props.SetDateTime(ical.PropDateTimeStart, p.Start.UTC())
		ev.Props.SetDateTime(ical.PropDateTimeEnd, p.End.UTC())
		ev.Props.SetText(ical.PropSummary, fmt.Sprintf("On call: %s (%s)", name, r.spec.Name))
		ev.Props.SetText(ical.PropTransparency, "TRANSPARENT") // on call is not busy
		cal.Children = append(cal.Children, ev.Component)
	}

	var buf bytes.Buffer
	if len(cal.Children) == 0 {
		// go-ical refuses to encode a calendar without components (RFC 5545
		// wants at least one), but an empty feed is what a subscriber should
		// see for an empty range, and every client we know accepts it.
		buf.WriteString("BEGIN:VCALENDAR\r\n")
		for _, name := range []string{ical.PropCalendarScale, ical.PropProductID, ical.PropVersion, "X-WR-CALNAME"} {
			fmt.Fprintf(&buf, "%s:%s\r\n", name, cal.Props.Get(name).Value)
		}
		buf.WriteString("END:VCALENDAR\r\n")
		return fold(buf.Bytes()), nil
	}
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("encode calendar %s: %w", r.spec.Name, err)
	}
	return fold(buf.Bytes()), nil
}

// fold breaks content lines longer than 75 octets as RFC 5545 §3.1 asks
// (CRLF followed by a space), never inside a UTF-8 sequence. go-ical writes
// lines unfolded.
func fold(b []byte) []byte {
	const limit = 75
	var out bytes.Buffer
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\r\n"))
		b = rest
		first := true
		for {
			max := limit
			if !first {
				max = limit - 1 // the leading space counts
				out.WriteByte(' ')
			}
			if len(line) <= max {
				out.Write(line)
				out.WriteString("\r\n")
				break
			}
			cut := max
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			out.Write(line[:cut])
			out.WriteString("\r\n")
			line = line[cut:]
			first = false
		}
	}
	return out.Bytes()
}
