package intake

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const (
	testTopic   = "arn:aws:sns:us-east-1:123456789012:baton-cloudwatch-alarms"
	testCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-6aad65c2f9911b05cd53efda11f913f9.pem"
)

// Certificates made at test time. The signing certificate is valid for 2025,
// testNow falls inside it.
var (
	certNotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	certNotAfter  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

type testPKI struct {
	key, otherKey *rsa.PrivateKey
	certPEM       []byte // self-signed, holds key's public half
	ecdsaCertPEM  []byte // a certificate without an RSA key
}

var pki = sync.OnceValues(func() (*testPKI, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    certNotBefore,
		NotAfter:     certNotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ecDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	if err != nil {
		return nil, err
	}
	return &testPKI{
		key:          key,
		otherKey:     other,
		certPEM:      pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		ecdsaCertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ecDER}),
	}, nil
})

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	p, err := pki()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signSNS signs m as SNS would, with SignatureVersion version ("1" or "2").
func signSNS(t testing.TB, m *SNSMessage, key *rsa.PrivateKey, version string) {
	t.Helper()
	m.SignatureVersion = version
	hash := crypto.SHA1
	var digest []byte
	if version == "2" {
		hash = crypto.SHA256
		d := sha256.Sum256([]byte(m.StringToSign()))
		digest = d[:]
	} else {
		d := sha1.Sum([]byte(m.StringToSign()))
		digest = d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, hash, digest)
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

// loadSNS parses testdata/<name>.json.
func loadSNS(t testing.TB, name string) SNSMessage {
	t.Helper()
	m, err := ParseSNS(readTestdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeCerts serves PEM certificates by URL and counts fetches.
type fakeCerts struct {
	fetches atomic.Int32
	pem     map[string][]byte
	err     error
}

func (f *fakeCerts) fetch(_ context.Context, url string) ([]byte, error) {
	f.fetches.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	b, ok := f.pem[url]
	if !ok {
		return nil, fmt.Errorf("404 for %s", url)
	}
	return b, nil
}

func testVerifier(certs *fakeCerts) *SNSVerifier {
	return &SNSVerifier{
		AllowedTopics: []string{"arn:aws:sns:eu-west-1:123456789012:other", testTopic},
		FetchCert:     certs.fetch,
		Now:           func() time.Time { return testNow },
	}
}

var snsSentinels = []error{ErrBadSignature, ErrCertHost, ErrUnknownTopic, ErrUnsupportedSignatureVersion}

func TestSNSVerify(t *testing.T) {
	p := getPKI(t)
	const cnURL = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3242f3f2f5a8a0b1.pem"
	errFetch := errors.New("fetch failed") // stands for "not a sentinel"
	cases := []struct {
		name    string
		file    string
		version string
		pre     func(m *SNSMessage) // before signing
		post    func(m *SNSMessage) // after signing
		key     func(p *testPKI) *rsa.PrivateKey
		setup   func(v *SNSVerifier, c *fakeCerts)
		want    error // nil, a sentinel, or errFetch
		fetches int32
	}{
		{name: "alarm v1", file: "sns-cloudwatch-alarm", version: "1", fetches: 1},
		{name: "alarm v2", file: "sns-cloudwatch-alarm", version: "2", fetches: 1},
		{name: "ok v2", file: "sns-cloudwatch-ok", version: "2", fetches: 1},
		{name: "insufficient data v1", file: "sns-cloudwatch-insufficient-data", version: "1", fetches: 1},
		{name: "subscription confirmation v1", file: "sns-subscription-confirmation", version: "1", fetches: 1},
		{name: "subscription confirmation v2", file: "sns-subscription-confirmation", version: "2", fetches: 1},
		{name: "notification without subject", file: "sns-cloudwatch-alarm", version: "2", fetches: 1,
			pre: func(m *SNSMessage) { m.Subject = "" }},
		{name: "china partition host", file: "sns-cloudwatch-alarm", version: "2", fetches: 1,
			pre: func(m *SNSMessage) { m.SigningCertURL = cnURL }},

		{name: "signed by another key", file: "sns-cloudwatch-alarm", version: "1", want: ErrBadSignature, fetches: 1,
			key: func(p *testPKI) *rsa.PrivateKey { return p.otherKey }},
		{name: "tampered message", file: "sns-cloudwatch-alarm", version: "2", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) {
				m.Message = strings.Replace(m.Message, `"NewStateValue":"ALARM"`, `"NewStateValue":"OK"`, 1)
			}},
		{name: "tampered subject", file: "sns-cloudwatch-alarm", version: "1", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) { m.Subject = "OK: all good" }},
		{name: "subject dropped", file: "sns-cloudwatch-alarm", version: "1", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) { m.Subject = "" }},
		{name: "tampered timestamp", file: "sns-cloudwatch-alarm", version: "2", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) { m.Timestamp = "2025-11-24T15:00:00.000Z" }},
		{name: "tampered subscribe URL", file: "sns-subscription-confirmation", version: "2", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) {
				m.SubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y"
			}},
		{name: "tampered token", file: "sns-subscription-confirmation", version: "1", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) { m.Token = "00" + m.Token[2:] }},
		{name: "type changed after signing", file: "sns-subscription-confirmation", version: "1", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) { m.Type = "UnsubscribeConfirmation" }},
		{name: "version changed after signing", file: "sns-cloudwatch-alarm", version: "1", want: ErrBadSignature, fetches: 1,
			post: func(m *SNSMessage) { m.SignatureVersion = "2" }},
		{name: "signature not base64", file: "sns-cloudwatch-alarm", version: "2", want: ErrBadSignature, fetches: 0,
			post: func(m *SNSMessage) { m.Signature = "not*base64!" }},
		{name: "testdata placeholder signature", file: "sns-cloudwatch-alarm", want: ErrBadSignature, fetches: 1},

		{name: "foreign host", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) { m.SigningCertURL = "https://evil.example.com/SimpleNotificationService-abc.pem" }},
		{name: "SNS host as a subdomain", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) {
				m.SigningCertURL = "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-abc.pem"
			}},
		{name: "lookalike domain", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) {
				m.SigningCertURL = "https://sns.us-east-1.amazonaws.co/SimpleNotificationService-abc.pem"
			}},
		{name: "region too short", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) {
				m.SigningCertURL = "https://sns.x.amazonaws.com/SimpleNotificationService-abc.pem"
			}},
		{name: "http scheme", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) { m.SigningCertURL = strings.Replace(testCertURL, "https://", "http://", 1) }},
		{name: "not a .pem", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) { m.SigningCertURL = strings.TrimSuffix(testCertURL, ".pem") + ".crt" }},
		{name: ".pem only in the query", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) { m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/cert?name=x.pem" }},
		{name: "explicit port", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) {
				m.SigningCertURL = "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-abc.pem"
			}},
		{name: "user info", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) {
				m.SigningCertURL = "https://evil.example@sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
			}},
		{name: "URL that does not parse", file: "sns-cloudwatch-alarm", version: "1", want: ErrCertHost,
			post: func(m *SNSMessage) { m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/%zz.pem" }},

		{name: "unknown topic", file: "sns-cloudwatch-alarm", version: "1", want: ErrUnknownTopic,
			post: func(m *SNSMessage) { m.TopicArn = "arn:aws:sns:us-east-1:999999999999:someone-else" }},
		{name: "empty allow-list", file: "sns-cloudwatch-alarm", version: "1", want: ErrUnknownTopic,
			setup: func(v *SNSVerifier, _ *fakeCerts) { v.AllowedTopics = nil }},
		{name: "unsupported version", file: "sns-cloudwatch-alarm", version: "1", want: ErrUnsupportedSignatureVersion,
			post: func(m *SNSMessage) { m.SignatureVersion = "3" }},
		{name: "empty version", file: "sns-cloudwatch-alarm", version: "1", want: ErrUnsupportedSignatureVersion,
			post: func(m *SNSMessage) { m.SignatureVersion = "" }},

		{name: "expired certificate", file: "sns-cloudwatch-alarm", version: "2", want: ErrBadSignature, fetches: 1,
			setup: func(v *SNSVerifier, _ *fakeCerts) { v.Now = func() time.Time { return certNotAfter.Add(time.Second) } }},
		{name: "certificate not yet valid", file: "sns-cloudwatch-alarm", version: "2", want: ErrBadSignature, fetches: 1,
			setup: func(v *SNSVerifier, _ *fakeCerts) {
				v.Now = func() time.Time { return certNotBefore.Add(-time.Second) }
			}},
		{name: "certificate without an RSA key", file: "sns-cloudwatch-alarm", version: "2", want: ErrBadSignature, fetches: 1,
			setup: func(_ *SNSVerifier, c *fakeCerts) { c.pem[testCertURL] = getPKI(t).ecdsaCertPEM }},
		{name: "certificate fetch fails", file: "sns-cloudwatch-alarm", version: "2", want: errFetch, fetches: 1,
			setup: func(_ *SNSVerifier, c *fakeCerts) { c.err = errors.New("connection refused") }},
		{name: "certificate is not PEM", file: "sns-cloudwatch-alarm", version: "2", want: errFetch, fetches: 1,
			setup: func(_ *SNSVerifier, c *fakeCerts) { c.pem[testCertURL] = []byte("<html>Access denied</html>") }},
		{name: "PEM that is not a certificate", file: "sns-cloudwatch-alarm", version: "2", want: errFetch, fetches: 1,
			setup: func(_ *SNSVerifier, c *fakeCerts) {
				c.pem[testCertURL] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := loadSNS(t, tc.file)
			if tc.pre != nil {
				tc.pre(&m)
			}
			if tc.version != "" {
				key := p.key
				if tc.key != nil {
					key = tc.key(p)
				}
				signSNS(t, &m, key, tc.version)
			}
			if tc.post != nil {
				tc.post(&m)
			}
			certs := &fakeCerts{pem: map[string][]byte{testCertURL: p.certPEM, cnURL: p.certPEM}}
			v := testVerifier(certs)
			if tc.setup != nil {
				tc.setup(v, certs)
			}
			err := v.Verify(context.Background(), m)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want == nil:
			case err == nil:
				t.Fatalf("Verify accepted the message, want %v", tc.want)
			case tc.want == errFetch:
				for _, s := range snsSentinels {
					if errors.Is(err, s) {
						t.Errorf("error %q matches %v; a fetch problem must not look like a refusal", err, s)
					}
				}
			default:
				for _, s := range snsSentinels {
					if got, want := errors.Is(err, s), s == tc.want; got != want {
						t.Errorf("errors.Is(%q, %v) = %v, want %v", err, s, got, want)
					}
				}
			}
			if got := certs.fetches.Load(); got != tc.fetches {
				t.Errorf("%d certificate fetches, want %d", got, tc.fetches)
			}
		})
	}
}

func TestSNSVerifyErrorsAreSentences(t *testing.T) {
	v := &SNSVerifier{}
	err := v.Verify(context.Background(), SNSMessage{TopicArn: testTopic})
	if !errors.Is(err, ErrUnknownTopic) || !strings.Contains(err.Error(), "(it is empty)") || !strings.Contains(err.Error(), testTopic) {
		t.Errorf("empty allow-list: %v", err)
	}
	v.AllowedTopics = []string{testTopic}
	err = v.Verify(context.Background(), SNSMessage{TopicArn: testTopic, SignatureVersion: "1", SigningCertURL: "http://example.com/x.pem"})
	if !errors.Is(err, ErrCertHost) || !strings.Contains(err.Error(), "http://example.com/x.pem") {
		t.Errorf("bad URL: %v", err)
	}
}

// TestSNSVerifierCache checks that a certificate is fetched once per URL,
// and that a failed fetch is tried again rather than remembered.
func TestSNSVerifierCache(t *testing.T) {
	p := getPKI(t)
	const westURL = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"
	certs := &fakeCerts{pem: map[string][]byte{testCertURL: p.certPEM, westURL: p.certPEM}}
	v := testVerifier(certs)
	ctx := context.Background()

	for _, name := range []string{"sns-cloudwatch-alarm", "sns-cloudwatch-ok", "sns-cloudwatch-alarm"} {
		m := loadSNS(t, name)
		signSNS(t, &m, p.key, "2")
		if err := v.Verify(ctx, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if got := certs.fetches.Load(); got != 1 {
		t.Fatalf("three messages, one certificate URL: %d fetches, want 1", got)
	}

	m := loadSNS(t, "sns-cloudwatch-insufficient-data")
	m.SigningCertURL = westURL
	signSNS(t, &m, p.key, "1")
	if err := v.Verify(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := certs.fetches.Load(); got != 2 {
		t.Fatalf("a second URL: %d fetches in all, want 2", got)
	}

	// A failing fetch is not cached: once the host answers, it verifies.
	fresh := testVerifier(certs)
	certs.err = errors.New("timeout")
	if err := fresh.Verify(ctx, m); err == nil {
		t.Fatal("Verify succeeded without a certificate")
	}
	certs.err = nil
	if err := fresh.Verify(ctx, m); err != nil {
		t.Fatalf("after the fetch recovered: %v", err)
	}
	if got := certs.fetches.Load(); got != 4 {
		t.Fatalf("%d fetches in all, want 4 (the failure was cached?)", got)
	}
}

// TestSNSVerifierConcurrentMiss checks that many deliveries arriving together
// with a cold cache cause one fetch, and that a waiter whose request is
// cancelled stops waiting.
func TestSNSVerifierConcurrentMiss(t *testing.T) {
	p := getPKI(t)
	m := loadSNS(t, "sns-cloudwatch-alarm")
	signSNS(t, &m, p.key, "2")
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var fetches atomic.Int32
		v := &SNSVerifier{
			AllowedTopics: []string{testTopic},
			Now:           func() time.Time { return testNow },
			FetchCert: func(ctx context.Context, url string) ([]byte, error) {
				fetches.Add(1)
				<-release
				return p.certPEM, nil
			},
		}
		const n = 16
		errs := make(chan error, n)
		go func() { errs <- v.Verify(context.Background(), m) }()
		synctest.Wait() // the first delivery is in FetchCert
		for range n - 1 {
			go func() { errs <- v.Verify(context.Background(), m) }()
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancelled := make(chan error, 1)
		go func() { cancelled <- v.Verify(ctx, m) }()
		synctest.Wait() // the others wait for that fetch
		cancel()
		if err := <-cancelled; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter: %v, want context.Canceled", err)
		}
		close(release)
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if got := fetches.Load(); got != 1 {
			t.Errorf("%d fetches for %d concurrent messages, want 1", got, n)
		}
	})
}

func TestSNSVerifierCacheBound(t *testing.T) {
	p := getPKI(t)
	certs := &fakeCerts{pem: map[string][]byte{}}
	v := testVerifier(certs)
	for i := range maxCachedCerts + 10 {
		url := fmt.Sprintf("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-%04d.pem", i)
		certs.pem[url] = p.certPEM
		m := loadSNS(t, "sns-cloudwatch-alarm")
		m.SigningCertURL = url
		signSNS(t, &m, p.key, "2")
		if err := v.Verify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	v.mu.Lock()
	n := len(v.certs)
	v.mu.Unlock()
	if n > maxCachedCerts {
		t.Errorf("cache holds %d certificates, bound is %d", n, maxCachedCerts)
	}
}

// TestFetchCert runs the default fetch against a local TLS server.
func TestFetchCert(t *testing.T) {
	p := getPKI(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.pem", func(w http.ResponseWriter, _ *http.Request) { w.Write(p.certPEM) })
	mux.HandleFunc("/limit.pem", func(w http.ResponseWriter, _ *http.Request) { w.Write(make([]byte, maxCertBytes)) })
	mux.HandleFunc("/huge.pem", func(w http.ResponseWriter, _ *http.Request) { w.Write(make([]byte, maxCertBytes+1)) })
	mux.HandleFunc("/missing.pem", http.NotFound)
	mux.HandleFunc("/moved.pem", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok.pem", http.StatusFound) })
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client := &http.Client{Transport: srv.Client().Transport, Timeout: certClient.Timeout, CheckRedirect: certClient.CheckRedirect}

	cases := []struct {
		path    string
		wantLen int
		wantErr string
	}{
		{"/ok.pem", len(p.certPEM), ""},
		{"/limit.pem", maxCertBytes, ""},
		{"/huge.pem", 0, "larger than 65536 bytes"},
		{"/missing.pem", 0, "404 Not Found"},
		{"/moved.pem", 0, "redirects are not followed"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			b, err := fetchCert(context.Background(), client, srv.URL+tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.wantLen {
				t.Errorf("%d bytes, want %d", len(b), tc.wantLen)
			}
		})
	}
}

func TestParseSNSErrors(t *testing.T) {
	full := func(mod string) string {
		return `{"Type": "Notification", "MessageId": "m1", "TopicArn": "` + testTopic + `", "Message": "{}",
			"Timestamp": "2025-11-24T14:03:12.401Z", "SignatureVersion": "1", "Signature": "c2ln",
			"SigningCertURL": "` + testCertURL + `"` + mod + `}`
	}
	confirm := func(drop string) string {
		fields := map[string]string{
			"Type": "SubscriptionConfirmation", "MessageId": "m1", "TopicArn": testTopic, "Message": "confirm",
			"Timestamp": "2025-11-24T14:03:12.401Z", "SignatureVersion": "1", "Signature": "c2ln",
			"SigningCertURL": testCertURL, "Token": "t0k", "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
		}
		delete(fields, drop)
		var b strings.Builder
		b.WriteString("{")
		sep := ""
		for k, v := range fields {
			fmt.Fprintf(&b, "%s%q: %q", sep, k, v)
			sep = ", "
		}
		b.WriteString("}")
		return b.String()
	}
	cases := []struct {
		name, body, field, msg string
	}{
		{"not JSON", `Type=Notification`, "", "body is not valid JSON"},
		{"array", `[]`, "", "body must be a JSON object, not an array"},
		{"missing type", `{"MessageId": "m1"}`, "Type", "is required; this is not an Amazon SNS message"},
		{"unknown type", full(`, "Type": "Alarm"`), "Type", `must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation (got "Alarm")`},
		{"message as object", full(`, "Message": {"AlarmName": "x"}`), "Message", "must be a string, not an object"},
		{"timestamp as number", full(`, "Timestamp": 1732457000`), "Timestamp", "must be a string, not a number"},
		{"missing signature", full(`, "Signature": ""`), "Signature", "is required in an SNS Notification"},
		{"missing cert URL", full(`, "SigningCertURL": ""`), "SigningCertURL", "is required"},
		{"missing topic", full(`, "TopicArn": ""`), "TopicArn", "is required"},
		{"missing message", full(`, "Message": ""`), "Message", "is required"},
		{"missing version", full(`, "SignatureVersion": ""`), "SignatureVersion", "is required"},
		{"confirmation without token", confirm("Token"), "Token", "is required in an SNS SubscriptionConfirmation"},
		{"confirmation without subscribe URL", confirm("SubscribeURL"), "SubscribeURL", "is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseSNS([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			wantInputError(t, err, tc.field, tc.msg)
		})
	}
	if _, err := ParseSNS([]byte(full(`, "Subject": null`))); err != nil {
		t.Errorf("a null Subject was refused: %v", err)
	}
	if _, err := ParseSNS([]byte(confirm(""))); err != nil {
		t.Errorf("a complete confirmation was refused: %v", err)
	}
}

func TestStringToSign(t *testing.T) {
	cases := []struct {
		name string
		m    SNSMessage
		want string
	}{
		{"notification with subject", SNSMessage{Type: "Notification", MessageId: "id", TopicArn: "arn", Subject: "s", Message: "m", Timestamp: "ts", Token: "ignored", SubscribeURL: "ignored"},
			"Message\nm\nMessageId\nid\nSubject\ns\nTimestamp\nts\nTopicArn\narn\nType\nNotification\n"},
		{"notification without subject", SNSMessage{Type: "Notification", MessageId: "id", TopicArn: "arn", Message: "m", Timestamp: "ts"},
			"Message\nm\nMessageId\nid\nTimestamp\nts\nTopicArn\narn\nType\nNotification\n"},
		{"confirmation", SNSMessage{Type: "SubscriptionConfirmation", MessageId: "id", TopicArn: "arn", Subject: "ignored", Message: "m", Timestamp: "ts", Token: "tok", SubscribeURL: "u"},
			"Message\nm\nMessageId\nid\nSubscribeURL\nu\nTimestamp\nts\nToken\ntok\nTopicArn\narn\nType\nSubscriptionConfirmation\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.StringToSign(); got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
