package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Sealing raw payloads. When keys are configured, the body of each alert
// as it was received is kept encrypted beside the redacted alert, so that
// someone with the API token can see what the source sent (GET
// /v1/incidents/{n}/raw), and every such look is recorded. Nothing else
// reads it: chat, logs and the API's default view never do.
//
// An envelope is "b1.<key id>.<base64url of nonce || AES-256-GCM sealed
// plaintext>" (the plaintext: received ms, source, body; plainHeader): the key id is in clear so that keys can rotate (the first key
// seals; every configured key opens), and it is bound to the ciphertext as
// additional data, so an envelope cannot be passed off as another key's.

// Key is one sealing key: an id (letters, digits, - and _, at most 32) and
// 32 secret bytes.
type Key struct {
	ID     string
	Secret []byte
}

var keyIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseKeys reads privacy.seal_keys: each "id:base64 of 32 bytes" (standard
// or URL base64, padded or not), newest first. The error is a sentence
// naming the entry by its position and id, never its secret.
func ParseKeys(list []string) ([]Key, error) {
	var errs []error
	keys := make([]Key, 0, len(list))
	seen := map[string]bool{}
	for i, s := range list {
		s = strings.TrimSpace(s)
		id, b64, ok := strings.Cut(s, ":")
		if !ok || !keyIDRE.MatchString(id) {
			errs = append(errs, fmt.Errorf("privacy.seal_keys[%d] must be \"id:base64 of 32 bytes\" with an id of letters, digits, - or _ (at most 32)", i))
			continue
		}
		secret, err := decodeB64(b64)
		if err != nil {
			errs = append(errs, fmt.Errorf("privacy.seal_keys[%d] (key %q): the secret is not base64", i, id))
			continue
		}
		if len(secret) != 32 {
			errs = append(errs, fmt.Errorf("privacy.seal_keys[%d] (key %q): the secret is %d bytes; AES-256 needs 32 (openssl rand -base64 32)", i, id, len(secret)))
			continue
		}
		if seen[id] {
			errs = append(errs, fmt.Errorf("privacy.seal_keys[%d]: key id %q is given twice", i, id))
			continue
		}
		seen[id] = true
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return keys, nil
}

func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Raw is one raw payload as received.
type Raw struct {
	ReceivedAt time.Time
	Source     string
	Body       []byte
}

// The plaintext of an envelope: the received time (unix ms, 8 bytes big
// endian), the source's length (1 byte) and name, then the body as is.
const plainHeader = 8 + 1

// Sealer seals with the first of its keys and opens with any of them. It
// is safe for concurrent use.
type Sealer struct {
	seal  string
	aeads map[string]cipher.AEAD
	// Rand is the source of nonces (crypto/rand); tests may replace it.
	Rand io.Reader
}

// NewSealer returns a Sealer over keys, newest first; nil (and no error)
// when there are none: raw payloads are then not kept.
func NewSealer(keys []Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	s := &Sealer{seal: keys[0].ID, aeads: map[string]cipher.AEAD{}, Rand: rand.Reader}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("seal key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal key %q: %w", k.ID, err)
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

const envelopeVersion = "b1"

// Seal encrypts r with the newest key and returns its envelope.
func (s *Sealer) Seal(r Raw) (string, error) {
	if len(r.Source) > 255 {
		return "", fmt.Errorf("seal: source name of %d bytes", len(r.Source))
	}
	aead := s.aeads[s.seal]
	ns := aead.NonceSize()
	// One buffer: the nonce, then the plaintext, sealed in place.
	buf := make([]byte, ns+plainHeader+len(r.Source)+len(r.Body), ns+plainHeader+len(r.Source)+len(r.Body)+aead.Overhead())
	if _, err := io.ReadFull(s.Rand, buf[:ns]); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	plain := buf[ns:]
	binary.BigEndian.PutUint64(plain, uint64(r.ReceivedAt.UnixMilli()))
	plain[8] = byte(len(r.Source))
	copy(plain[plainHeader:], r.Source)
	copy(plain[plainHeader+len(r.Source):], r.Body)
	out := aead.Seal(buf[:ns], buf[:ns], plain, []byte(envelopeVersion+"."+s.seal))
	prefix := envelopeVersion + "." + s.seal + "."
	env := make([]byte, len(prefix)+base64.RawURLEncoding.EncodedLen(len(out)))
	copy(env, prefix)
	base64.RawURLEncoding.Encode(env[len(prefix):], out)
	return string(env), nil
}

// ErrUnknownKey is Open's error for an envelope sealed with a key that is
// no longer (or never was) configured.
var ErrUnknownKey = errors.New("sealed with a key that is not in privacy.seal_keys")

// ErrNotSealed is Open's error for text that is not an envelope, or one
// that does not decrypt (altered, or sealed under another secret with the
// same id).
var ErrNotSealed = errors.New("not a sealed payload this key can open")

// KeyID is the id of the key an envelope was sealed with ("" when it is
// not an envelope).
func KeyID(envelope string) string {
	v, rest, ok := strings.Cut(envelope, ".")
	if !ok || v != envelopeVersion {
		return ""
	}
	id, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return id
}

// Open decrypts an envelope. Errors wrap ErrUnknownKey or ErrNotSealed and
// name the key id.
func (s *Sealer) Open(envelope string) (Raw, error) {
	id := KeyID(envelope)
	if id == "" {
		return Raw{}, fmt.Errorf("open: %w", ErrNotSealed)
	}
	aead, ok := s.aeads[id]
	if !ok {
		return Raw{}, fmt.Errorf("open: key %q: %w", id, ErrUnknownKey)
	}
	// Go's base64 skips \r and \n even in strict mode: an envelope with
	// one added would open, and only the envelope as sealed may.
	body := envelope[len(envelopeVersion)+1+len(id)+1:]
	if strings.ContainsAny(body, "\r\n") {
		return Raw{}, fmt.Errorf("open: key %q: %w", id, ErrNotSealed)
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(b) < aead.NonceSize() {
		return Raw{}, fmt.Errorf("open: key %q: %w", id, ErrNotSealed)
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(envelopeVersion+"."+id))
	if err != nil {
		return Raw{}, fmt.Errorf("open: key %q: %w", id, ErrNotSealed)
	}
	if len(plain) < plainHeader || len(plain) < plainHeader+int(plain[8]) {
		return Raw{}, fmt.Errorf("open: key %q: %w", id, ErrNotSealed)
	}
	at := int64(binary.BigEndian.Uint64(plain))
	n := int(plain[8])
	return Raw{ReceivedAt: time.UnixMilli(at).UTC(), Source: string(plain[plainHeader : plainHeader+n]), Body: plain[plainHeader+n:]}, nil
}
