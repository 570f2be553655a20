package slack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/bot"
	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/intake"
	"github.com/batonhq/baton/internal/httpapi"
	"github.com/batonhq/baton/privacy"
)

// A Sumo Logic monitor whose results hold fake patient data: an SSN, an
// e-mail, a date of birth and a member id (a configured rule), in the
// description, the results and the query link.
const privacySumo = `{
  "Id": "0000000000C0FFEE",
  "Name": "Eligibility check failures",
  "Description": "Eligibility failed for member M12345678 (jane.roe@example-health.org)",
  "TriggerType": "Critical",
  "TriggerCondition": "Greater than or equal to 1.0 within 5 minutes",
  "TriggerValue": "3.0",
  "TriggerTime": "11/24/2025 02:03:10 PM UTC",
  "QueryURL": "https://service.sumologic.com/ui/#/search/create?query=member_id%3DM12345678%20dob%3D1980-02-03&startTime=1763992690000",
  "NumQueryResults": "1",
  "ResultsJson": "[{\"member_id\":\"M12345678\",\"ssn\":\"123-45-6789\",\"dob\":\"1980-02-03\",\"email\":\"jane.roe@example-health.org\",\"host\":\"elig-7.prod\"}]"
}`

var patientData = []string{"M12345678", "123-45-6789", "1980-02-03", "jane.roe@example-health.org",
	"jane.roe%40example-health.org", "M12345678%20", "1980-02-03&"}

// TestPatientDataNeverReachesChat is issue 17's whole story: a Sumo Logic
// alert with fake patient data goes through the real intake (redaction and
// sealing configured as in production), the store, the escalation runner
// and the Slack bot to fakeslack: channel, card, notice, page DM, a thread
// reply for its repeat, /incident status, the API's incident and list
// views, the audit stream, and the whole log at every level. The values
// appear nowhere but through GET /v1/incidents/{n}/raw, and that read is
// in the timeline. The same story without the redactor leaks them into
// chat, which proves the scan can see a leak.
func TestPatientDataNeverReachesChat(t *testing.T) {
	t.Run("redacted", func(t *testing.T) { privacyStory(t, true) })
	t.Run("not redacted: the scan sees the leak", func(t *testing.T) { privacyStory(t, false) })
}

func privacyStory(t *testing.T, redact bool) {
	cfg := defaults()
	cfg.repeatEvery = time.Millisecond // a repeat replies in the thread at once
	cfg.storeOpts = []incident.StoreOption{incident.WithSealTTL(time.Hour)}
	e := newEnv(t, cfg)

	red, err := privacy.New(privacy.Config{
		Off:        !redact,
		Rules:      []privacy.RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}},
		KeepFields: map[string][]string{"sumologic": {"TriggerType", "TriggerValue", "TriggerCondition"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := privacy.ParseKeys([]string{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := privacy.NewSealer(keys)
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in := intake.NewHandler(intake.Config{
		Tokens: map[string]string{"sumologic": sumoToken}, MaxBodyBytes: 1 << 20,
		Services: map[string]bool{"payments": true}, Redactor: red, Sealer: sealer,
	}, e.svc, log)
	api := httpapi.New(httpapi.Options{Token: "api-token-0123456789", Incidents: e.svc, Log: log})
	api.RegisterRaw(httpapi.RawOptions{Store: e.svc, Sealer: sealer, TTL: time.Hour})
	in.Register(api)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	post := func() int64 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/sumologic?service=payments", strings.NewReader(privacySumo))
		req.Header.Set("Authorization", "Bearer "+sumoToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var reply struct {
			Incident int64 `json:"incident"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("intake answered %d, %v", resp.StatusCode, err)
		}
		return reply.Incident
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer api-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	n := post()
	ch, _ := e.announced(n)
	e.waitFor("the page to alice", func() bool { return e.dmsAbout(e.alice, n, "You are on call") == 1 })
	if post() != n {
		t.Fatal("the repeat opened another incident")
	}
	e.waitFor("the thread reply", func() bool { return threadReplies(e, n) > 0 })
	id, err := e.fake.SendSlashCommand(e.alice.ID, ch, "/incident", "status")
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("the reply to /incident status", func() bool { return len(e.fake.ResponsePosts(id)) > 0 })
	e.waitFor("the card to say the payload is sealed", func() bool { return strings.Contains(blocksText(e.card(n)), bot.SealedLine) })

	// Everything chat received: every call's parameters (channel names,
	// texts, blocks, metadata), every message as stored, the replies to
	// commands.
	var chat strings.Builder
	for _, c := range e.fake.Calls("") {
		fmt.Fprintln(&chat, c.Method, c.Params.Encode(), jsonUnescape(c.Params.Get("blocks")), c.Params.Get("text"))
	}
	for _, c := range e.fake.Channels() {
		fmt.Fprintln(&chat, c.Name)
		for _, m := range e.fake.Messages(c.ID) {
			b, _ := json.Marshal(m)
			fmt.Fprintln(&chat, string(b), jsonUnescape(string(m.Blocks)), m.Text)
		}
	}
	for _, u := range []string{e.alice.ID, e.bob.ID} {
		if im, ok := e.fake.IM(u); ok {
			for _, m := range e.fake.Messages(im.ID) {
				b, _ := json.Marshal(m)
				fmt.Fprintln(&chat, string(b), jsonUnescape(string(m.Blocks)), m.Text)
			}
		}
	}
	for _, p := range e.fake.ResponsePosts(id) {
		b, _ := json.Marshal(p)
		fmt.Fprintln(&chat, string(b))
	}
	if !redact {
		if !strings.Contains(chat.String(), "M12345678") && !strings.Contains(chat.String(), "jane.roe") {
			t.Fatal("without the redactor no patient data reached chat: the scan below cannot see a leak")
		}
		return
	}
	_, incView := get(fmt.Sprintf("/v1/incidents/%d", n))
	_, listView := get("/v1/incidents")
	redis := dumpRedis(t, e)
	for where, text := range map[string]string{"chat": chat.String(), "the API's incident view": incView,
		"the API's list": listView, "Redis (hash, timeline, audit stream, jobs, chat refs)": redis} {
		for _, v := range patientData {
			if strings.Contains(text, v) {
				t.Errorf("%q is in %s:\n%s", v, where, text)
			}
		}
	}
	// What a responder needs survives: the monitor, its condition and value, the host is in the raw only.
	for _, want := range []string{"Eligibility check failures", "Greater than or equal to 1.0 within 5 minutes"} {
		if !strings.Contains(chat.String(), want) {
			t.Errorf("chat lost %q", want)
		}
	}

	// The raw payloads, through the API only, and the read is recorded.
	status, raw := get(fmt.Sprintf("/v1/incidents/%d/raw?by=alice", n))
	if status != 200 || !strings.Contains(raw, "123-45-6789") || !strings.Contains(raw, "jane.roe@example-health.org") {
		t.Fatalf("/raw: %d %s", status, raw)
	}
	var view struct {
		Alerts []struct {
			Source string `json:"source"`
			Body   string `json:"body"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(raw), &view); err != nil || len(view.Alerts) != 2 || view.Alerts[0].Body != privacySumo {
		t.Fatalf("/raw: %v %s", err, raw)
	}
	_, tl, err := e.svc.Get(e.ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if last := tl[len(tl)-1]; last.Type != incident.EventRawViewed || last.By != "alice" {
		t.Fatalf("the read is not in the timeline: %+v", tl)
	}

	// The log, at every level, after the whole story (the /raw read included).
	logText := e.log.String()
	for _, v := range append(patientData, "api-token-0123456789", sumoToken, "b1.k1.") {
		if strings.Contains(logText, v) {
			t.Errorf("the log holds %q:\n%s", v, logText)
		}
	}
	if !strings.Contains(logText, "raw payloads viewed") {
		t.Errorf("the /raw read is not logged")
	}
}

// dumpRedis is every key and value of the test's Redis as text.
func dumpRedis(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, k := range e.rdb.Keys(ctx, "*").Val() {
		fmt.Fprintf(&b, "%s ", k)
		switch typ := e.rdb.Type(ctx, k).Val(); typ {
		case "string":
			b.WriteString(e.rdb.Get(ctx, k).Val())
		case "hash":
			fmt.Fprint(&b, e.rdb.HGetAll(ctx, k).Val())
		case "list":
			fmt.Fprint(&b, e.rdb.LRange(ctx, k, 0, -1).Val())
		case "zset":
			fmt.Fprint(&b, e.rdb.ZRange(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&b, e.rdb.SMembers(ctx, k).Val())
		case "stream":
			fmt.Fprint(&b, e.rdb.XRange(ctx, k, "-", "+").Val())
		default:
			t.Fatalf("key %s of type %s not dumped", k, typ)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
