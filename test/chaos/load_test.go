//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/fakeslack"
)

// send is one planned webhook delivery.
type send struct {
	at      time.Duration
	alert   int  // index of the alert (its dedup key)
	repeat  bool // a repeat of an alert sent before
	replay  bool // with repeat, on SNS: the very same signed message again
	first   int  // replica tried first
	ackVia  string
	ackWait time.Duration
}

// load sends the plan's alerts to random replicas, as the sources would
// (retrying on another replica when one does not answer), and acknowledges
// a share of the incidents at random times through the API or a ✅ reaction
// on the page.
type load struct {
	t     *testing.T
	p     plan
	reps  []*replica
	fake  *fakeslack.Server
	sns   *snsCA
	w     world
	sends []send
	sumo  map[string]any // the Sumo Logic template
	cwMsg map[string]any // the CloudWatch alarm template (the SNS Message)
	isSNS []bool         // by alert
	svc   []int          // by alert

	mu     sync.Mutex
	signed map[int][]byte // by alert: the last SNS message signed for it
	out    []delivery
	asks   []ackRequest
	maxN   int64
	ackWG  sync.WaitGroup
}

func newLoad(t *testing.T, p plan, rng *rand.Rand, reps []*replica, fake *fakeslack.Server, sns *snsCA, w world) *load {
	l := &load{t: t, p: p, reps: reps, fake: fake, sns: sns, w: w, signed: map[int][]byte{}}
	_, file, _, _ := runtime.Caller(0)
	td := filepath.Join(filepath.Dir(file), "..", "..", "intake", "testdata")
	l.sumo = readJSON(t, filepath.Join(td, "sumologic-monitor-critical.json"))
	env := readJSON(t, filepath.Join(td, "sns-cloudwatch-alarm.json"))
	if err := json.Unmarshal([]byte(env["Message"].(string)), &l.cwMsg); err != nil {
		t.Fatal(err)
	}
	for i := range p.incidents {
		l.isSNS = append(l.isSNS, rng.Float64() < p.snsFrac)
		l.svc = append(l.svc, rng.IntN(len(w.services)))
		s := send{at: time.Duration(float64(p.load) * (float64(i) + rng.Float64()) / float64(p.incidents)), alert: i, first: rng.IntN(len(reps))}
		if rng.Float64() < p.ackFrac {
			s.ackVia = "api"
			if rng.IntN(2) == 0 {
				s.ackVia = "reaction"
			}
			s.ackWait = p.ackAfter[0] + time.Duration(rng.Float64()*float64(p.ackAfter[1]-p.ackAfter[0]))
		}
		l.sends = append(l.sends, s)
	}
	news := len(l.sends)
	for range int(float64(p.incidents) * p.dupFrac) {
		at := time.Duration(rng.Float64() * float64(p.load))
		// Repeat an alert planned before this time.
		var earlier []int
		for _, s := range l.sends[:news] {
			if s.at < at {
				earlier = append(earlier, s.alert)
			}
		}
		if len(earlier) == 0 {
			continue
		}
		a := earlier[rng.IntN(len(earlier))]
		l.sends = append(l.sends, send{at: at + time.Second, alert: a, repeat: true, replay: l.isSNS[a] && rng.IntN(2) == 0, first: rng.IntN(len(reps))})
	}
	sort.SliceStable(l.sends, func(i, j int) bool { return l.sends[i].at < l.sends[j].at })
	return l
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (l *load) key(alert int) string {
	if l.isSNS[alert] {
		return "cloudwatch:" + l.alarmARN(alert)
	}
	return "sumologic:monitor:" + sumoID(alert)
}

func sumoID(alert int) string { return fmt.Sprintf("00000000C4A0%04X", alert) }
func (l *load) alarmARN(a int) string {
	return fmt.Sprintf("arn:aws:cloudwatch:us-east-1:123456789012:alarm:chaos-%d", a)
}

// body builds the request body of a send: a Sumo Logic monitor payload, or
// an SNS notification signed now (a replay reuses the last one signed).
func (l *load) body(s send) (path, token string, body []byte, err error) {
	svc := l.w.services[l.svc[s.alert]]
	if !l.isSNS[s.alert] {
		m := map[string]any{}
		for k, v := range l.sumo {
			m[k] = v
		}
		m["Id"] = sumoID(s.alert)
		m["Name"] = fmt.Sprintf("Chaos monitor %d", s.alert)
		body, err = json.Marshal(m)
		return "/v1/alerts/sumologic?service=" + svc, sumoToken, body, err
	}
	path, token = "/v1/alerts/cloudwatch?service="+svc, cwToken
	l.mu.Lock()
	prev := l.signed[s.alert]
	l.mu.Unlock()
	if s.replay && prev != nil {
		return path, token, prev, nil
	}
	m := map[string]any{}
	for k, v := range l.cwMsg {
		m[k] = v
	}
	name := fmt.Sprintf("chaos-%d", s.alert)
	m["AlarmName"], m["AlarmArn"] = name, l.alarmARN(s.alert)
	m["StateChangeTime"] = time.Now().UTC().Format("2006-01-02T15:04:05.000+0000")
	msg, _ := json.Marshal(m)
	body, err = l.sns.Signer.Notification(snsTopicARN, `ALARM: "`+name+`" in US East (N. Virginia)`, string(msg), time.Now())
	if err == nil {
		l.mu.Lock()
		l.signed[s.alert] = body
		l.mu.Unlock()
	}
	return path, token, body, err
}

// run sends everything at its time and returns when every send has an answer.
func (l *load) run(ctx context.Context, t0 time.Time) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, s := range l.sends {
		select {
		case <-time.After(time.Until(t0.Add(s.at))):
		case <-ctx.Done():
			return
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d := l.deliver(ctx, s)
			l.mu.Lock()
			l.out = append(l.out, d)
			l.maxN = max(l.maxN, d.Incident)
			l.mu.Unlock()
			if s.ackVia != "" && d.accepted() && !s.repeat {
				l.ackWG.Go(func() { l.ack(ctx, d, s) })
			}
		})
	}
	wg.Wait()
}

var hookHTTP = &http.Client{Timeout: 10 * time.Second}

// deliver posts one send, moving on to the next replica after a transport
// error or a 5xx, for up to a minute (Sumo Logic and SNS retry too).
func (l *load) deliver(ctx context.Context, s send) delivery {
	d := delivery{Key: l.key(s.alert), Source: "sumologic", At: time.Now()}
	if l.isSNS[s.alert] {
		d.Source = "cloudwatch"
	}
	path, token, body, err := l.body(s)
	if err != nil {
		l.t.Errorf("build alert %d: %v", s.alert, err)
		return d
	}
	deadline := time.Now().Add(time.Minute)
	for i := s.first; ; i++ {
		d.Attempts++
		r := l.reps[i%len(l.reps)]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.URL()+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		if l.isSNS[s.alert] {
			req.Header.Set("x-amz-sns-message-type", "Notification")
		}
		resp, err := hookHTTP.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			d.Status, d.Answered = resp.StatusCode, time.Now()
			if resp.StatusCode < 500 {
				var a struct {
					Incident int64  `json:"incident"`
					Outcome  string `json:"outcome"`
				}
				_ = json.Unmarshal(b, &a)
				d.Incident, d.Outcome = a.Incident, a.Outcome
				if !d.accepted() {
					l.t.Errorf("alert %d refused by replica %d: %d %s", s.alert, r.id, resp.StatusCode, strings.TrimSpace(string(b)))
				}
				return d
			}
		} else {
			d.Status = 0
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return d
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return d
		}
	}
}

// ack acknowledges the incident of d after s.ackWait: with a ✅ reaction on
// the latest page to it when s.ackVia is "reaction" and a page exists,
// otherwise through the API.
func (l *load) ack(ctx context.Context, d delivery, s send) {
	select {
	case <-time.After(s.ackWait):
	case <-ctx.Done():
		return
	}
	a := ackRequest{Incident: d.Incident, At: time.Now(), Via: s.ackVia}
	if s.ackVia == "reaction" {
		if ch, ts, user, ok := l.latestPage(d.Incident); ok {
			if _, err := l.fake.AddReaction(user, ch, ts, "white_check_mark"); err == nil {
				a.OK = true
			}
		}
		if !a.OK {
			a.Via = "api"
		}
	}
	if !a.OK {
		api := &apiClient{reps: l.reps}
		body := fmt.Sprintf(`{"by":%q,"note":"chaos ack"}`, l.w.people[l.svc[s.alert]%len(l.w.people)])
		code, _, err := api.do(ctx, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/ack", d.Incident), []byte(body))
		a.OK = err == nil && (code == http.StatusOK || code == http.StatusConflict)
	}
	l.mu.Lock()
	l.asks = append(l.asks, a)
	l.mu.Unlock()
}

// latestPage finds the newest page posted to a DM for incident n.
func (l *load) latestPage(n int64) (channel, ts, user string, ok bool) {
	want := fmt.Sprintf("INC-%d", n)
	posts := postsOf(l.fake.Calls("chat.postMessage"))
	for i := len(posts) - 1; i >= 0; i-- {
		p := posts[i]
		if !strings.HasPrefix(p.Channel, "D") || p.Thread != "" || pageReason(p.Text) == "" {
			continue
		}
		m := incRE.FindStringSubmatch(p.Text)
		if m == nil || m[0] != want {
			continue
		}
		c, found := l.fake.Channel(p.Channel)
		if !found || c.User == "" {
			continue
		}
		return p.Channel, p.TS, c.User, true
	}
	return "", "", "", false
}

func (l *load) waitAcks() { l.ackWG.Wait() }

func (l *load) deliveries() []delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]delivery(nil), l.out...)
}

func (l *load) acks() []ackRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ackRequest(nil), l.asks...)
}

func (l *load) maxIncident() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxN
}
