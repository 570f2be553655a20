package intake

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/incident"
	"github.com/batonhq/baton/internal/redistest"
	"github.com/batonhq/baton/privacy"
)

// The fake patient data of a Sumo Logic search result.
const piiSumo = `{
  "Id": "0000000000C0FFEE",
  "Name": "Eligibility check failures",
  "TriggerType": "Critical",
  "TriggerCondition": "Greater than or equal to 1.0 within 5 minutes",
  "TriggerValue": "3.0",
  "TriggerTime": "11/24/2025 02:03:10 PM UTC",
  "Description": "Member M12345678 (jane.roe@example-health.org) failed eligibility",
  "QueryURL": "https://service.sumologic.com/ui/#/search/create?query=member%3DM12345678&startTime=1763992690000",
  "ResultsJson": "[{\"member_id\":\"M12345678\",\"ssn\":\"123-45-6789\",\"dob\":\"1980-02-03\",\"email\":\"jane.roe@example-health.org\",\"host\":\"elig-7.prod\"}]",
  "service": "checkout"
}`

var piiValues = []string{"M12345678", "123-45-6789", "1980-02-03", "jane.roe@example-health.org"}

// dumpRedis is every key and value in a Redis, as text, to look for
// values that must not be there.
func dumpRedis(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "%s ", k)
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			b.WriteString(rdb.Get(ctx, k).Val())
		case "hash":
			fmt.Fprint(&b, rdb.HGetAll(ctx, k).Val())
		case "list":
			fmt.Fprint(&b, rdb.LRange(ctx, k, 0, -1).Val())
		case "zset":
			fmt.Fprint(&b, rdb.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "set":
			fmt.Fprint(&b, rdb.SMembers(ctx, k).Val())
		case "stream":
			fmt.Fprint(&b, rdb.XRange(ctx, k, "-", "+").Val())
		default:
			t.Fatalf("key %s of type %s not dumped", k, typ)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestIntakeRedactsBeforeTheStore: a Sumo Logic alert holding a member
// id, an SSN, a date of birth and an e-mail is stored with none of them
// anywhere in Redis (hash, static, timeline, audit stream, dedup, jobs);
// its raw body is there only sealed, and opens with the key. Without the
// redactor the same alert leaves them in Redis (the test can fail).
func TestIntakeRedactsBeforeTheStore(t *testing.T) {
	red, err := privacy.New(privacy.Config{
		Rules:      []privacy.RuleSpec{{Name: "member-id", Pattern: `\bM[0-9]{8}\b`, Replace: "[member-id]"}},
		KeepFields: map[string][]string{"sumologic": {"TriggerType", "TriggerValue", "TriggerCondition"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := privacy.ParseKeys([]string{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := privacy.NewSealer(keys)

	for _, tt := range []struct {
		name   string
		red    *privacy.Redactor
		sealer *privacy.Sealer
		leaks  bool
	}{
		{"redacted and sealed", red, sealer, false},
		{"redacted, nothing sealed", red, nil, false},
		{"no redactor: the values reach Redis", nil, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := redistest.Start(t)
			rdb := rs.Client()
			store := incident.NewStore(rdb, "t:", incident.WithSealTTL(time.Hour))
			t.Cleanup(store.Close)
			store.Now = func() time.Time { return testNow }
			h := NewHandler(Config{
				Tokens:   map[string]string{"sumologic": sumoToken},
				Services: map[string]bool{"checkout": true},
				Redactor: tt.red, Sealer: tt.sealer,
			}, store, nil)
			h.Now = func() time.Time { return testNow }
			mux := http.NewServeMux()
			h.Register(mux)
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/sumologic", strings.NewReader(piiSumo))
			req.Header.Set("Authorization", "Bearer "+sumoToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %s", resp.Status)
			}
			dump := dumpRedis(t, rdb)
			for _, v := range piiValues {
				if strings.Contains(dump, v) != tt.leaks {
					t.Errorf("%q in Redis: %v, want %v\n%s", v, !tt.leaks, tt.leaks, dump)
				}
			}
			if tt.leaks {
				return
			}
			// What survives: host, times, threshold, value.
			for _, keep := range []string{"elig-7.prod", "3.0", "Greater than or equal to 1.0 within 5 minutes", "1763992690000", "[member-id]", "[ssn]", "[dob]", "[email]"} {
				if !strings.Contains(dump, keep) {
					t.Errorf("%q is not in Redis:\n%s", keep, dump)
				}
			}
			ctx := context.Background()
			got, err := store.SealedPayloads(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			inc, _, _ := store.Get(ctx, 1)
			if tt.sealer == nil {
				if len(got) != 0 || inc.Sealed {
					t.Fatalf("sealed without a key: %v %v", got, inc.Sealed)
				}
				return
			}
			if len(got) != 1 || !inc.Sealed {
				t.Fatalf("sealed payloads %v, incident sealed %v", got, inc.Sealed)
			}
			raw, err := tt.sealer.Open(got[0].Envelope)
			if err != nil {
				t.Fatal(err)
			}
			if string(raw.Body) != piiSumo || raw.Source != "sumologic" || !raw.ReceivedAt.Equal(testNow) {
				t.Fatalf("opened %q from %s at %s", raw.Body, raw.Source, raw.ReceivedAt)
			}
		})
	}
}

// TestIntakeRedactsABatch: an Alertmanager batch whose annotations and
// labels hold patient data is stored redacted, alert by alert, and each
// alert's incident keeps the body sealed with only that alert in "alerts".
func TestIntakeRedactsABatch(t *testing.T) {
	red, err := privacy.New(privacy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := privacy.ParseKeys([]string{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))})
	sealer, _ := privacy.NewSealer(keys)
	rs := redistest.Start(t)
	rdb := rs.Client()
	store := incident.NewStore(rdb, "t:", incident.WithSealTTL(time.Hour))
	t.Cleanup(store.Close)
	store.Now = func() time.Time { return testNow }
	const token = "am-token-0123456789"
	h := NewHandler(Config{Tokens: map[string]string{"alertmanager": token}, Services: map[string]bool{"checkout": true},
		Redactor: red, Sealer: sealer}, store, nil)
	h.Now = func() time.Time { return testNow }
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	body := `{"version":"4","status":"firing","receiver":"baton","groupKey":"g","alerts":[
	  {"status":"firing","labels":{"alertname":"EligibilityFailed","patient_email":"jane.roe@example-health.org","severity":"critical"},
	   "annotations":{"summary":"eligibility failed for SSN 123-45-6789","description":"dob=1980-02-03"},
	   "startsAt":"2025-11-24T14:01:15Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aaaa0001"},
	  {"status":"firing","labels":{"alertname":"EligibilityFailed","severity":"warning"},
	   "annotations":{"summary":"call back 555-867-5309"},
	   "startsAt":"2025-11-24T14:01:15Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aaaa0002"}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/alerts/alertmanager?service=checkout", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %s", resp.Status)
	}
	dump := dumpRedis(t, rdb)
	for _, v := range []string{"jane.roe@example-health.org", "123-45-6789", "1980-02-03", "555-867-5309"} {
		if strings.Contains(dump, v) {
			t.Errorf("%q is in Redis:\n%s", v, dump)
		}
	}
	// Each incident's sealed body is the batch with only its own alert:
	// opening INC-1's raw payload never shows INC-2's alert.
	for n, tt := range []struct{ has, hasNot string }{{"aaaa0001", "aaaa0002"}, {"aaaa0002", "aaaa0001"}} {
		ps, err := store.SealedPayloads(context.Background(), int64(n+1))
		if err != nil || len(ps) != 1 {
			t.Fatalf("INC-%d sealed %v %v", n+1, ps, err)
		}
		raw, err := sealer.Open(ps[0].Envelope)
		if err != nil || raw.Source != "alertmanager" {
			t.Fatalf("INC-%d opened %q %v", n+1, raw.Body, err)
		}
		var got struct {
			Version  string            `json:"version"`
			GroupKey string            `json:"groupKey"`
			Alerts   []json.RawMessage `json:"alerts"`
		}
		if err := json.Unmarshal(raw.Body, &got); err != nil {
			t.Fatalf("INC-%d's sealed body is not JSON: %v\n%s", n+1, err, raw.Body)
		}
		if len(got.Alerts) != 1 || !strings.Contains(string(got.Alerts[0]), tt.has) || strings.Contains(string(raw.Body), tt.hasNot) ||
			got.Version != "4" || got.GroupKey != "g" {
			t.Fatalf("INC-%d's sealed body:\n%s", n+1, raw.Body)
		}
	}
}
