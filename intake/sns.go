package intake

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// SNSMessage is the envelope Amazon SNS POSTs to an HTTPS subscription. Which
// fields are set depends on Type.
type SNSMessage struct {
	Type             string `json:"Type"`
	MessageId        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
}

// SNS message types.
const (
	snsNotification        = "Notification"
	snsSubscriptionConfirm = "SubscriptionConfirmation"
	snsUnsubscribeConfirm  = "UnsubscribeConfirmation"
)

// ParseSNS decodes an SNS envelope and checks that it has a known Type and
// the fields its signature covers. It does not check the signature: call
// SNSVerifier.Verify before trusting anything in it. Problems are *InputError.
func ParseSNS(body []byte) (SNSMessage, error) {
	var m SNSMessage
	if err := requireObject(body); err != nil {
		return m, err
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return SNSMessage{}, jsonInputError(err, "", len(body))
	}
	type field struct{ name, v string }
	required := [9]field{
		{"MessageId", m.MessageId}, {"TopicArn", m.TopicArn}, {"Message", m.Message},
		{"Timestamp", m.Timestamp}, {"SignatureVersion", m.SignatureVersion},
		{"Signature", m.Signature}, {"SigningCertURL", m.SigningCertURL},
		{"Token", m.Token}, {"SubscribeURL", m.SubscribeURL},
	}
	n := 7 // a Notification needs the first seven
	switch m.Type {
	case snsNotification:
	case snsSubscriptionConfirm, snsUnsubscribeConfirm:
		n = 9
	case "":
		return SNSMessage{}, fieldErr("Type", "is required; this is not an Amazon SNS message (if it is the alarm itself, turn off raw message delivery on the subscription)")
	default:
		return SNSMessage{}, fieldErr("Type", "must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation (got %q)", m.Type)
	}
	for _, f := range required[:n] {
		if f.v == "" {
			return SNSMessage{}, fieldErr(f.name, "is required in an SNS %s", m.Type)
		}
	}
	return m, nil
}

// StringToSign returns the text SNS signs for m: "Key\nValue\n" for each
// signed field in byte order of the key names. Notifications cover Message,
// MessageId, Subject (only when present), Timestamp, TopicArn and Type;
// confirmations cover Message, MessageId, SubscribeURL, Timestamp, Token,
// TopicArn and Type. SNSVerifier.Verify checks the signature over it, and
// the demo signs its own notifications with it.
func (m SNSMessage) StringToSign() string {
	var b strings.Builder
	b.Grow(len(m.Message) + len(m.Subject) + len(m.SubscribeURL) + len(m.Token) + 256)
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	add("Message", m.Message)
	add("MessageId", m.MessageId)
	if m.Type == snsNotification {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
		return b.String()
	}
	add("SubscribeURL", m.SubscribeURL)
	add("Timestamp", m.Timestamp)
	add("Token", m.Token)
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// snsHostRE is the host a SigningCertURL (or SubscribeURL) must name: Amazon
// SNS in some region, the .cn partition included. It matches a host without
// a port.
var snsHostRE = regexp.MustCompile(`^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$`)

// checkCertURL refuses a SigningCertURL baton must not fetch: it must be
// https, on an SNS host with no port or user info, and name a .pem file.
func checkCertURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %q does not parse as a URL", ErrCertHost, raw)
	case u.Scheme != "https":
		return fmt.Errorf("%w: %q is not https", ErrCertHost, raw)
	case u.User != nil || !snsHostRE.MatchString(u.Host):
		return fmt.Errorf("%w: host %q of %q is not sns.<region>.amazonaws.com", ErrCertHost, u.Host, raw)
	case !strings.HasSuffix(u.Path, ".pem"):
		return fmt.Errorf("%w: %q does not name a .pem file", ErrCertHost, raw)
	}
	return nil
}

// Limits of the default certificate fetch.
const (
	certFetchTimeout = 10 * time.Second
	maxCertBytes     = 64 << 10
	// maxCachedCerts bounds the cache. SNS signs with one certificate per
	// region at a time, rotated rarely, so a handful of entries are live.
	maxCachedCerts = 64
)

// SNSVerifier checks that an SNS message was sent by Amazon SNS for a topic
// baton subscribed to. Configure it, then share one *SNSVerifier between
// goroutines: Verify is safe for concurrent use. Do not copy it after first
// use.
type SNSVerifier struct {
	// AllowedTopics lists the topic ARNs baton accepts messages from, compared
	// exactly. An empty list allows none: every message fails with
	// ErrUnknownTopic, so a verifier cannot be left open by mistake.
	AllowedTopics []string

	// FetchCert returns the PEM certificate at url. It is called only for URLs
	// that passed the https / SNS host / .pem checks, at most once per URL
	// while the answer stays cached. Nil means an HTTPS GET with a 10s
	// timeout, no redirects and a 64 KiB limit. Tests inject their own.
	FetchCert func(ctx context.Context, url string) ([]byte, error)

	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	certs map[string]*certEntry // by SigningCertURL; guarded by mu
}

// certEntry is one cached certificate. ready is closed once cert or err is
// set; both are read-only afterwards, so waiters read them without mu.
type certEntry struct {
	ready chan struct{}
	cert  *x509.Certificate
	key   *rsa.PublicKey
	err   error
}

// Verify checks m against the allow-list, the certificate URL rules and the
// signature, in that order, so that nothing is fetched for a message that
// fails the cheap checks. Errors match ErrUnknownTopic, ErrCertHost,
// ErrUnsupportedSignatureVersion or ErrBadSignature with errors.Is; any other
// error means the certificate could not be fetched or read, which may pass
// (answer 5xx so that SNS retries).
func (v *SNSVerifier) Verify(ctx context.Context, m SNSMessage) error {
	if !slices.Contains(v.AllowedTopics, m.TopicArn) {
		if len(v.AllowedTopics) == 0 {
			return fmt.Errorf("%w (it is empty): %s", ErrUnknownTopic, m.TopicArn)
		}
		return fmt.Errorf("%w: %s", ErrUnknownTopic, m.TopicArn)
	}
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return fmt.Errorf("%w: got %q", ErrUnsupportedSignatureVersion, m.SignatureVersion)
	}
	if err := checkCertURL(m.SigningCertURL); err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("%w: Signature is not base64", ErrBadSignature)
	}
	e, err := v.cert(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if t := now(); t.After(e.cert.NotAfter) || t.Before(e.cert.NotBefore) {
		return fmt.Errorf("%w: signing certificate %s is valid only from %s to %s, not now (%s)",
			ErrBadSignature, m.SigningCertURL, e.cert.NotBefore.UTC().Format(time.RFC3339),
			e.cert.NotAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	var digest []byte
	if hash == crypto.SHA1 {
		d := sha1.Sum([]byte(m.StringToSign()))
		digest = d[:]
	} else {
		d := sha256.Sum256([]byte(m.StringToSign()))
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(e.key, hash, digest, sig); err != nil {
		return fmt.Errorf("%w: it does not match message %s of topic %s, which was altered or not signed by Amazon SNS",
			ErrBadSignature, m.MessageId, m.TopicArn)
	}
	return nil
}

// cert returns the certificate at url from the cache, fetching it on a miss.
// Concurrent misses for one URL share a single fetch; a failed fetch is not
// cached, so the next message tries again. Callers waiting on another's fetch
// get its outcome, or their own context's error if that ends first.
func (v *SNSVerifier) cert(ctx context.Context, url string) (*certEntry, error) {
	v.mu.Lock()
	e, ok := v.certs[url]
	if !ok {
		if v.certs == nil {
			v.certs = make(map[string]*certEntry)
		}
		if len(v.certs) >= maxCachedCerts {
			// Forget an arbitrary entry; a live one is fetched again.
			for k := range v.certs {
				delete(v.certs, k)
				break
			}
		}
		e = &certEntry{ready: make(chan struct{})}
		v.certs[url] = e
	}
	v.mu.Unlock()

	if ok {
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return e, e.err
	}
	e.cert, e.key, e.err = v.load(ctx, url)
	if e.err != nil {
		v.mu.Lock()
		if v.certs[url] == e {
			delete(v.certs, url)
		}
		v.mu.Unlock()
	}
	close(e.ready)
	return e, e.err
}

// load fetches and parses one signing certificate.
func (v *SNSVerifier) load(ctx context.Context, url string) (*x509.Certificate, *rsa.PublicKey, error) {
	fetch := v.FetchCert
	if fetch == nil {
		fetch = fetchCertHTTPS
	}
	data, err := fetch(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch SNS signing certificate %s: %w", url, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("SNS signing certificate %s is not a PEM certificate", url)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse SNS signing certificate %s: %w", url, err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w: signing certificate %s holds no RSA key", ErrBadSignature, url)
	}
	return cert, key, nil
}

// certClient fetches signing certificates. It follows no redirects: the URL
// was checked, wherever it might redirect to was not.
var certClient = &http.Client{
	Timeout: certFetchTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("redirects are not followed for SNS certificates")
	},
}

// fetchCertHTTPS is the default SNSVerifier.FetchCert.
func fetchCertHTTPS(ctx context.Context, url string) ([]byte, error) {
	return fetchCert(ctx, certClient, url)
}

// fetchCert GETs url with client and returns at most maxCertBytes of a 200 answer.
func fetchCert(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCertBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes; not a certificate", url, maxCertBytes)
	}
	return data, nil
}
