//go:build chaos

package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// maxTrailLines bounds the replica log lines a trail quotes per replica.
const maxTrailLines = 40

// trail is the post-mortem of incident n's announcement, for a run that
// failed to announce it: every Slack call that made (or tried to make) its
// channel, notice, card and pin, with its time since start and its answer,
// and the lines of the replicas' logs that name it (logDir/baton-<i>.log,
// the last maxTrailLines of each). The CI output then says what happened
// without the work directory, which a machine's reset may take.
func trail(calls []fakeslack.Call, start time.Time, n int64, logDir string, replicas int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INC-%d, Slack calls:\n", n)
	ref := fmt.Sprintf("INC-%d ", n)
	chans := map[string]bool{}
	for _, id := range channelsCreated(calls)[n] {
		chans[id] = true
	}
	prefix := fmt.Sprintf("inc-%d-", n)
	for _, c := range calls {
		what := ""
		switch {
		case c.Method == "conversations.create" && strings.HasPrefix(c.Param("name"), prefix):
			what = "create " + c.Param("name")
		case chans[c.Param("channel")] && c.Method != "chat.update":
			what = c.Method
			if c.Method == "chat.postMessage" && c.Param("thread_ts") == "" && strings.HasPrefix(c.Param("text"), ref) {
				what = "card"
			}
		case c.Method == "chat.postMessage" && strings.Contains(c.Param("metadata"), fmt.Sprintf("notice:%d:", n)):
			what = "notice in " + c.Param("channel")
		}
		if what == "" {
			continue
		}
		answer := fmt.Sprint(c.Status)
		if c.Error != "" {
			answer += " " + c.Error
		}
		fmt.Fprintf(&b, "  %7.1fs %s: %s\n", c.At.Sub(start).Seconds(), what, answer)
	}
	re := regexp.MustCompile(fmt.Sprintf(`incident=%d\b|INC-%d\b`, n, n))
	for i := range replicas {
		path := filepath.Join(logDir, fmt.Sprintf("baton-%d.log", i))
		lines, err := grepLast(path, re, maxTrailLines)
		if err != nil {
			fmt.Fprintf(&b, "replica %d log: %v\n", i, err)
			continue
		}
		fmt.Fprintf(&b, "replica %d log, lines naming INC-%d (last %d):\n", i, n, maxTrailLines)
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// grepLast returns the last max lines of the file at path that re matches.
func grepLast(path string, re *regexp.Regexp, max int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if re.MatchString(sc.Text()) {
			out = append(out, sc.Text())
			if len(out) > max {
				out = out[1:]
			}
		}
	}
	return out, sc.Err()
}

func TestTrail(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	call := func(sec float64, method string, status int, errCode string, resp map[string]any, params ...string) fakeslack.Call {
		p := url.Values{}
		for i := 0; i+1 < len(params); i += 2 {
			p.Set(params[i], params[i+1])
		}
		b, _ := json.Marshal(resp)
		return fakeslack.Call{Method: method, At: at(sec), Status: status, OK: status == 200 && errCode == "", Error: errCode, Params: p, Response: b}
	}
	ok := map[string]any{"ok": true}
	created := func(id, name string) map[string]any {
		return map[string]any{"ok": true, "channel": map[string]string{"id": id, "name": name}}
	}
	calls := []fakeslack.Call{
		call(1, "chat.postMessage", 200, "", ok, "channel", "#alerts", "text", "INC-12 [critical] x", "metadata", `{"event_type":"baton_notice","event_payload":{"key":"notice:12:99"}}`),
		call(2, "conversations.create", 503, "", nil, "name", "inc-12-disk"),
		call(3, "conversations.create", 200, "", created("C12", "inc-12-disk"), "name", "inc-12-disk"),
		call(3.2, "conversations.create", 200, "", created("C1", "inc-1-cpu"), "name", "inc-1-cpu"),
		call(4, "conversations.invite", 200, "", ok, "channel", "C12"),
		call(5, "chat.postMessage", 200, "", ok, "channel", "C1", "text", "INC-1 [critical] cpu"),
		call(6, "chat.update", 200, "", ok, "channel", "C12"),
		call(7, "pins.add", 429, "ratelimited", nil, "channel", "C12"),
		call(8, "chat.postMessage", 200, "", ok, "channel", "C12", "text", "INC-12 [critical] disk"),
	}
	dir := t.TempDir()
	logs := []string{
		"level=WARN msg=\"chat update failed\" incident=12 err=boom\nlevel=INFO msg=other incident=120\nlevel=INFO msg=x incident=1\n",
		"level=INFO msg=\"adopting the card of INC-12\"\n",
	}
	for i, l := range logs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("baton-%d.log", i)), []byte(l), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := trail(calls, t0, 12, dir, 3)
	for _, tc := range []struct {
		name, want string
		present    bool
	}{
		{"the notice, found by its key", "1.0s notice in #alerts: 200", true},
		{"a failed creation with its status", "2.0s create inc-12-disk: 503", true},
		{"the creation that made the channel", "3.0s create inc-12-disk: 200", true},
		{"another incident's channel is not its", "inc-1-cpu", false},
		{"the invite in its channel", "4.0s conversations.invite: 200", true},
		{"another channel's card is not its", "5.0s", false},
		{"redraws are left out", "chat.update", false},
		{"a refused pin with its error", "7.0s pins.add: 429 ratelimited", true},
		{"the card", "8.0s card: 200", true},
		{"a log line naming it by number", "incident=12 err=boom", true},
		{"another incident's number that begins the same", "incident=120", false},
		{"a log line naming it by reference", "adopting the card of INC-12", true},
		{"a missing log is said", "replica 2 log: open ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(got, tc.want) != tc.present {
				t.Errorf("trail contains %q: %v, want %v; trail:\n%s", tc.want, !tc.present, tc.present, got)
			}
		})
	}
}
