package demo

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/intake"
)

//go:embed samples
var samplesFS embed.FS

// sample returns a built-in sample alert with {{now}} and {{n}} filled in.
func sample(name string, now time.Time, n int) []byte {
	b, err := samplesFS.ReadFile("samples/" + name)
	if err != nil {
		panic("demo: missing sample " + name) // embedded at build time
	}
	s := strings.ReplaceAll(string(b), "{{now}}", now.UTC().Format(time.RFC3339))
	return []byte(strings.ReplaceAll(s, "{{n}}", strconv.Itoa(n)))
}

// SNSSigner signs SNS notifications with a key and certificate the demo
// generates at start, and serves that certificate to the demo's SNS
// verifier in place of Amazon's (which the demo cannot fetch offline). The
// CloudWatch source is thus run with its signature check on: a sample
// altered in transit, or signed with another key, is refused as it would be
// in production.
type SNSSigner struct {
	// CertURL is the SigningCertURL the notifications carry; it has the
	// shape baton accepts (https on sns.<region>.amazonaws.com, .pem).
	CertURL string

	key     *rsa.PrivateKey
	certPEM []byte
}

// DemoCertURL is the signing certificate URL of the demo's notifications.
const DemoCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-baton-demo.pem"

// NewSNSSigner generates a 2048-bit RSA key and a self-signed certificate
// valid from an hour before now for thirty days.
func NewSNSSigner(now time.Time) (*SNSSigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sns signer: key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com (baton demo, not Amazon)"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sns signer: certificate: %w", err)
	}
	return &SNSSigner{
		CertURL: DemoCertURL,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// FetchCert is intake.SNSVerifier.FetchCert for the demo: it knows only the
// demo's own certificate, and fetches nothing.
func (s *SNSSigner) FetchCert(_ context.Context, u string) ([]byte, error) {
	if u != s.CertURL {
		return nil, fmt.Errorf("the demo trusts only its own SNS signing certificate (%s), not %s; run `baton serve` for real SNS deliveries", s.CertURL, u)
	}
	return s.certPEM, nil
}

// Notification returns a signed SNS Notification (SignatureVersion 2,
// SHA256withRSA) carrying message on topic.
func (s *SNSSigner) Notification(topic, subject, message string, now time.Time) ([]byte, error) {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	n := intake.SNSMessage{
		Type:             "Notification",
		MessageId:        fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16]),
		TopicArn:         topic,
		Subject:          subject,
		Message:          message,
		Timestamp:        now.UTC().Format("2006-01-02T15:04:05.000Z"),
		SignatureVersion: "2",
		SigningCertURL:   s.CertURL,
		UnsubscribeURL:   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":demo",
	}
	digest := sha256.Sum256([]byte(n.StringToSign()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("sign sns notification: %w", err)
	}
	n.Signature = base64.StdEncoding.EncodeToString(sig)
	return json.MarshalIndent(n, "", "  ")
}

// Scenario fires the built-in sample alerts at baton's webhook over
// loopback, as the monitoring sources would.
type Scenario struct {
	// BaseURL is baton's webhook, "http://127.0.0.1:8080".
	BaseURL string
	// Tokens are the intake tokens by source (sumologic, cloudwatch,
	// generic, heartbeat).
	Tokens map[string]string
	// APIToken guards the API the full scenario uses as people would
	// (an acknowledgement, a page-in, a maintenance window).
	APIToken string
	// Press, when set, presses as a demo person (baton id) the newest
	// button of baton's action (a bot.Action name, "ackpage"; each chat
	// spells its button ids its own way) carrying value (unless "") in
	// their DM, as the sandbox page would (Sandbox.Press on Slack,
	// DiscordSandbox.Press on Discord); false when there is none.
	Press func(person, actionID, value string) (bool, error)
	// SNS signs the CloudWatch notifications; TopicARN is the topic they
	// come from (one of intake.cloudwatch.topic_arns).
	SNS      *SNSSigner
	TopicARN string
	// Full fires the whole scenario; otherwise only the first alert.
	Full bool
	// Story, when set, is told when a step cannot be sent at all.
	Story *Story
	// Client sends the requests. Default: a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// incidents are the incident numbers baton answered, by the step
	// that remembered them (the CloudWatch alarm's: "payments").
	incidents map[string]int64
}

// Step is one timed action of the scenario.
type Step struct {
	// At is the time from the scenario's start.
	At time.Duration
	// Name says what the step sends, for the terminal.
	Name string
	fire func(ctx context.Context, sc *Scenario) error
}

// StormSize is how many notifications the scheduled-search storm sends.
const StormSize = 12

// IncidentStormSize is how many distinct Sumo Logic monitors (Redis nodes
// cache-10…, service database) fire within a second at IncidentStormAt:
// a storm of new incidents for one person (alice), recovered at
// IncidentStormRecoverAt.
const IncidentStormSize = 12

// The times of the incident storm and of its recoveries, from the start.
const (
	IncidentStormAt        = 30 * time.Second
	IncidentStormRecoverAt = 140 * time.Second
)

// The times of the full scenario's steps that show issue 18's features,
// from the start (docs/demo.md has the whole timeline).
const (
	// HeartbeatBeats are the beats of heartbeat nightly-export; it is
	// missed interval + grace (20 s in demo.yaml) after the last, and
	// HeartbeatBackAt beats again, which resolves its incident.
	HeartbeatBackAt = 110 * time.Second
	// MaintenanceAt starts a one-minute maintenance window on batch (the
	// least a window lasts); BacklogAt fires a batch alert inside it (held,
	// nobody paged), which the window's end releases; BacklogRecoverAt
	// recovers it.
	MaintenanceAt    = 2 * time.Second
	BacklogAt        = 16 * time.Second
	BacklogRecoverAt = 150 * time.Second
	// AckAt is when carol acknowledges the payments incident through the
	// API: its ack lease (1m in demo.yaml) asks her "Still working on it?"
	// 50 s later. PageInAt is when she pages bob into it; PageAckAt when
	// bob acknowledges his page (after two reminders), if nobody did.
	AckAt     = 12 * time.Second
	PageInAt  = 14 * time.Second
	PageAckAt = 45 * time.Second
)

// HeartbeatBeats are the times of heartbeat nightly-export's beats before
// it goes quiet.
var HeartbeatBeats = []time.Duration{1 * time.Second, 15 * time.Second, 30 * time.Second, 45 * time.Second}

// incidentStormGap spaces the incident storm's alerts: all of them within a second.
const incidentStormGap = 80 * time.Millisecond

// Steps returns the scenario's steps in order: the Sumo Logic monitor at
// once; with Full, the CloudWatch alarm through SNS, a storm of one
// scheduled search that deduplicates into one incident, a storm of
// IncidentStormSize distinct monitors for one service (as many incidents,
// all for the same person), then the recoveries.
func (sc *Scenario) Steps() []Step {
	steps := []Step{{At: 0, Name: "Sumo Logic monitor: Postgres primary replication lag (critical)", fire: fireSumo("sumologic-monitor.json", 0)}}
	if !sc.Full {
		return steps
	}
	steps = append(steps,
		Step{At: 5 * time.Second, Name: "CloudWatch alarm via SNS: payments-api-5xx-high (ALARM)", fire: fireCloudWatch("cloudwatch-alarm.json", `ALARM: "payments-api-5xx-high" in US East (N. Virginia)`, "payments")},
	)
	for i, at := range HeartbeatBeats {
		steps = append(steps, Step{At: at, Name: fmt.Sprintf("heartbeat nightly-export: beat %d/%d, then it goes quiet", i+1, len(HeartbeatBeats)), fire: fireBeat("nightly-export")})
	}
	steps = append(steps,
		Step{At: MaintenanceAt, Name: "API: dave starts a 1-minute maintenance window on batch", fire: fireAPI("/v1/maintenance",
			`{"service":"batch","duration":"1m","reason":"queue migration","by":"dave"}`)},
		Step{At: AckAt, Name: "API: carol acknowledges the payments incident (its ack lease starts)", fire: fireAPI("/v1/incidents/{payments}/ack", `{"by":"carol"}`)},
		Step{At: PageInAt, Name: "API: carol pages bob into the payments incident", fire: fireAPI("/v1/incidents/{payments}/page",
			`{"person":"bob","by":"carol","reason":"second pair of eyes on the API"}`)},
		Step{At: BacklogAt, Name: "generic alert: Batch queue backlog (batch is in maintenance)", fire: fireGeneric("firing")},
		Step{At: PageAckAt, Name: "bob presses Acknowledge my page in his DM", fire: firePress("bob", "ackpage", "{payments}")},
	)
	for i := range StormSize {
		steps = append(steps, Step{At: 8*time.Second + time.Duration(i)*300*time.Millisecond,
			Name: fmt.Sprintf("Sumo Logic scheduled search %d/%d: Payment webhook retries above threshold", i+1, StormSize),
			fire: fireSumo("sumologic-search.json", 100+i*7)})
	}
	steps = append(steps, incidentStorm(IncidentStormAt, "sumologic-monitor-storm.json", "unreachable (critical)")...)
	steps = append(steps,
		Step{At: 100 * time.Second, Name: "CloudWatch alarm via SNS: payments-api-5xx-high back to OK", fire: fireCloudWatch("cloudwatch-ok.json", `OK: "payments-api-5xx-high" in US East (N. Virginia)`, "")},
		Step{At: HeartbeatBackAt, Name: "heartbeat nightly-export: beats again", fire: fireBeat("nightly-export")},
		Step{At: 120 * time.Second, Name: "Sumo Logic monitor: Postgres primary replication lag recovered", fire: fireSumo("sumologic-monitor-resolved.json", 0)},
	)
	steps = append(steps, incidentStorm(IncidentStormRecoverAt, "sumologic-monitor-storm-resolved.json", "recovered")...)
	steps = append(steps, Step{At: BacklogRecoverAt, Name: "generic alert: Batch queue backlog recovered", fire: fireGeneric("resolved")})
	slices.SortStableFunc(steps, func(a, b Step) int { return cmp.Compare(a.At, b.At) })
	return steps
}

// incidentStorm is one step a monitor of the incident storm, from at,
// incidentStormGap apart; the monitors are cache-10, cache-11, ….
func incidentStorm(at time.Duration, sample, what string) []Step {
	var steps []Step
	for i := range IncidentStormSize {
		n := 10 + i
		steps = append(steps, Step{At: at + time.Duration(i)*incidentStormGap,
			Name: fmt.Sprintf("Sumo Logic monitor %d/%d: Redis node cache-%d %s", i+1, IncidentStormSize, n, what),
			fire: fireSumo(sample, n)})
	}
	return steps
}

func fireSumo(name string, n int) func(context.Context, *Scenario) error {
	return func(ctx context.Context, sc *Scenario) error {
		_, err := sc.post(ctx, "/v1/alerts/sumologic", "application/json", sample(name, sc.now(), n), true, "sumologic")
		return err
	}
}

// fireBeat sends a beat of heartbeat name.
func fireBeat(name string) func(context.Context, *Scenario) error {
	return func(ctx context.Context, sc *Scenario) error {
		_, err := sc.post(ctx, "/v1/heartbeats/"+name, "application/json", []byte("{}"), true, "heartbeat")
		return err
	}
}

// fireGeneric sends the batch backlog alert in baton's generic format,
// firing or resolved.
func fireGeneric(status string) func(context.Context, *Scenario) error {
	return func(ctx context.Context, sc *Scenario) error {
		body := fmt.Sprintf(`{"service":"batch","dedup_key":"demo:batch-queue-backlog","summary":"Batch queue backlog above 10k jobs","severity":"critical","status":%q}`, status)
		_, err := sc.post(ctx, "/v1/alerts/generic", "application/json", []byte(body), true, "generic")
		return err
	}
}

// fill replaces {name} in s with the incident number a step remembered.
func (sc *Scenario) fill(s string) (string, error) {
	for name, n := range sc.incidents {
		s = strings.ReplaceAll(s, "{"+name+"}", strconv.FormatInt(n, 10))
	}
	if m := placeholderRE.FindString(s); m != "" {
		return "", fmt.Errorf("the incident %s is not known (its alert was not taken)", m)
	}
	return s, nil
}

var placeholderRE = regexp.MustCompile(`\{[a-z]+\}`)

// fireAPI POSTs body to baton's API at path ({payments} is the payments
// incident's number), as a person's script would.
func fireAPI(path, body string) func(context.Context, *Scenario) error {
	return func(ctx context.Context, sc *Scenario) error {
		p, err := sc.fill(path)
		if err != nil {
			return err
		}
		_, err = sc.post(ctx, p, "application/json", []byte(body), true, "api")
		return err
	}
}

// firePress presses a button in person's DM as they would on the page;
// nothing when it is not there (a visitor pressed it first).
func firePress(person, actionID, value string) func(context.Context, *Scenario) error {
	return func(ctx context.Context, sc *Scenario) error {
		if sc.Press == nil {
			return nil
		}
		v, err := sc.fill(value)
		if err != nil {
			return err
		}
		_, err = sc.Press(person, actionID, v)
		return err
	}
}

func fireCloudWatch(name, subject, remember string) func(context.Context, *Scenario) error {
	return func(ctx context.Context, sc *Scenario) error {
		if sc.SNS == nil {
			return fmt.Errorf("no SNS signer")
		}
		body, err := sc.SNS.Notification(sc.TopicARN, subject, string(sample(name, sc.now(), 0)), sc.now())
		if err != nil {
			return err
		}
		// SNS cannot set headers: the token rides in the query, as a real
		// subscription's URL would carry it.
		reply, err := sc.post(ctx, "/v1/alerts/cloudwatch?token="+url.QueryEscape(sc.Tokens["cloudwatch"]), "text/plain; charset=UTF-8", body, false, "cloudwatch")
		if err == nil && remember != "" {
			var r struct {
				Incident int64 `json:"incident"`
			}
			if json.Unmarshal(reply, &r) == nil && r.Incident > 0 {
				if sc.incidents == nil {
					sc.incidents = map[string]int64{}
				}
				sc.incidents[remember] = r.Incident
			}
		}
		return err
	}
}

func (sc *Scenario) now() time.Time {
	if sc.Now != nil {
		return sc.Now()
	}
	return time.Now()
}

// post sends body to baton and returns its answer (the first 64 KiB).
// source names the token: an intake source's, or "api" for APIToken.
func (sc *Scenario) post(ctx context.Context, path, contentType string, body []byte, bearer bool, source string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(sc.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	switch {
	case bearer && source == "api":
		req.Header.Set("Authorization", "Bearer "+sc.APIToken)
	case bearer:
		req.Header.Set("Authorization", "Bearer "+sc.Tokens[source])
	default:
		req.Header.Set("x-amz-sns-message-type", "Notification")
	}
	c := sc.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(reply, &e) == nil && e.Error != "" {
			return reply, fmt.Errorf("baton answered %s: %s", resp.Status, e.Error)
		}
		return reply, fmt.Errorf("baton answered %s", resp.Status)
	}
	return reply, nil
}

// Run fires the steps at their times until the last one or until ctx ends.
// A step that fails is told to the story and the scenario goes on.
func (sc *Scenario) Run(ctx context.Context) error {
	start := time.Now()
	for _, st := range sc.Steps() {
		wait := time.Until(start.Add(st.At))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if err := st.fire(ctx, sc); err != nil && ctx.Err() == nil && sc.Story != nil {
			sc.Story.Line("scenario: %s could not be sent: %v", st.Name, err)
		}
	}
	return nil
}
