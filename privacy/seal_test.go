package privacy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func key(id string, b byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func sealer(t *testing.T, list ...string) *Sealer {
	t.Helper()
	keys, err := ParseKeys(list)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSeal: a round trip, a wrong key, a rotated key, an altered envelope.
func TestSeal(t *testing.T) {
	raw := Raw{ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), Source: "sumologic", Body: []byte(`{"ssn":"123-45-6789"}`)}
	old := sealer(t, key("k1", 1))
	env, err := old.Seal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(env, "123-45-6789") || KeyID(env) != "k1" || !strings.HasPrefix(env, "b1.k1.") {
		t.Fatalf("envelope %q", env)
	}

	t.Run("round trip", func(t *testing.T) {
		got, err := old.Open(env)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ReceivedAt.Equal(raw.ReceivedAt) || got.Source != raw.Source || !bytes.Equal(got.Body, raw.Body) {
			t.Fatalf("opened %+v, want %+v", got, raw)
		}
	})
	t.Run("two seals differ", func(t *testing.T) {
		again, _ := old.Seal(raw)
		if again == env {
			t.Fatal("the nonce did not change")
		}
	})
	t.Run("wrong key: an unknown id", func(t *testing.T) {
		_, err := sealer(t, key("k2", 2)).Open(env)
		if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong key: same id, another secret", func(t *testing.T) {
		_, err := sealer(t, key("k1", 9)).Open(env)
		if !errors.Is(err, ErrNotSealed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rotated: the new key seals, the old still opens", func(t *testing.T) {
		rot := sealer(t, key("k2", 2), key("k1", 1))
		if _, err := rot.Open(env); err != nil {
			t.Fatalf("an old envelope after rotation: %v", err)
		}
		env2, err := rot.Seal(raw)
		if err != nil {
			t.Fatal(err)
		}
		if KeyID(env2) != "k2" {
			t.Fatalf("sealed with %q, want the newest key k2", KeyID(env2))
		}
		if _, err := old.Open(env2); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("the old sealer opened a new envelope: %v", err)
		}
		if _, err := sealer(t, key("k2", 2)).Open(env2); err != nil {
			t.Fatalf("after the old key is dropped: %v", err)
		}
	})
	t.Run("altered", func(t *testing.T) {
		b := []byte(env)
		b[len(b)-3] ^= 1
		if _, err := old.Open(string(b)); !errors.Is(err, ErrNotSealed) {
			t.Fatalf("err = %v", err)
		}
		// The key id is bound: the same ciphertext under another id does not open.
		two := sealer(t, key("k1", 1), key("kx", 1))
		if _, err := two.Open("b1.kx." + strings.TrimPrefix(env, "b1.k1.")); !errors.Is(err, ErrNotSealed) {
			t.Fatalf("a relabelled envelope: %v", err)
		}
		if _, err := old.Open("plain text"); !errors.Is(err, ErrNotSealed) {
			t.Fatalf("plain text: %v", err)
		}
	})
}

func TestParseKeys(t *testing.T) {
	if s, err := NewSealer(nil); s != nil || err != nil {
		t.Fatalf("no keys: %v %v", s, err)
	}
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"no colon", []string{"abc"}, `privacy.seal_keys[0] must be "id:base64 of 32 bytes"`},
		{"bad id", []string{"a b:" + base64.StdEncoding.EncodeToString(make([]byte, 32))}, "privacy.seal_keys[0] must be"},
		{"not base64", []string{"k1:!!!"}, `privacy.seal_keys[0] (key "k1"): the secret is not base64`},
		{"short", []string{"k1:" + base64.StdEncoding.EncodeToString(make([]byte, 16))}, `(key "k1"): the secret is 16 bytes; AES-256 needs 32`},
		{"twice", []string{key("k1", 1), key("k1", 2)}, `privacy.seal_keys[1]: key id "k1" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))) {
				t.Fatal("the error shows a secret")
			}
		})
	}
	if ks, err := ParseKeys([]string{" " + strings.TrimRight(key("k1", 1), "=") + " "}); err != nil || len(ks) != 1 {
		t.Fatalf("unpadded with spaces: %v", err)
	}
}

// FuzzOpen: any text given as an envelope is refused with an error, never
// a panic, and never opens unless it is one Seal made.
func FuzzOpen(f *testing.F) {
	s := sealer(&testing.T{}, key("k1", 1))
	s.Rand = bytes.NewReader(make([]byte, 12)) // the same envelope in every fuzz worker
	env, _ := s.Seal(Raw{ReceivedAt: time.Unix(1, 0), Source: "generic", Body: []byte("x")})
	for _, seed := range []string{env, "b1.k1.", "b1..", "b1.k1.AAAA", "plain"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		raw, err := s.Open(in)
		if err == nil && (in != env || string(raw.Body) != "x") {
			t.Fatalf("%q opened as %+v", in, raw)
		}
	})
}
