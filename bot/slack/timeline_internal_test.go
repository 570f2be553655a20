package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/internal/text"
)

// TestTimelineTextDropsOldestLines covers what the card model never sends
// today (it keeps six lines): so many long lines that even short notes do not
// fit. The oldest lines go, behind a marker; the newest stay.
func TestTimelineTextDropsOldestLines(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		lines  int
		fill   string
		marker string
	}{
		{name: "fits whole", lines: 3, fill: "x", marker: ""},
		{name: "sixty lines of ampersands", lines: 60, fill: "&", marker: " earlier lines"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lines []bot.Line
			for i := range tc.lines {
				lines = append(lines, bot.Line{At: at, Text: fmt.Sprintf("LINE%02d %s", i, strings.Repeat(tc.fill, 300/tc.lines))})
			}
			got := timelineText(lines, maxText)
			if l := text.UTF16Len(got); l > maxText {
				t.Errorf("%d characters", l)
			}
			if !strings.Contains(got, fmt.Sprintf("LINE%02d", tc.lines-1)) {
				t.Errorf("the newest line is gone:\n%s", got)
			}
			if tc.marker == "" && strings.Contains(got, "…") {
				t.Errorf("a cut where all fits:\n%s", got)
			}
			if tc.marker != "" && (!strings.HasPrefix(got, "… ") || !strings.Contains(got, tc.marker) || strings.Contains(got, "LINE00")) {
				t.Errorf("the oldest lines were not dropped behind a marker:\n%s", got)
			}
		})
	}
}
