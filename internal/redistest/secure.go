package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batonhq/baton/internal/redisproc"
)

// Options ask StartWith for a server that requires what production
// Redis often does: a password, TLS.
type Options struct {
	// Password is required of every client (--requirepass).
	Password string
	// TLS also listens with TLS (--tls-port) on Server.TLSAddr, with a
	// certificate for 127.0.0.1 made for the test (crypto/x509, ECDSA
	// P-256, valid for a day) and written to Server.CAFile, which is
	// also its CA. The plain port stays open on loopback.
	TLS bool
}

// StartWith is Start with a password and/or TLS. The Server's Client logs
// in with the password and speaks plain RESP on Addr; TLSClient speaks TLS
// on TLSAddr.
func StartWith(tb testing.TB, o Options) *Server {
	tb.Helper()
	var tlsAddr, caFile string
	n := startNode(tb, serverBinary(tb), func(dir, _ string) (redisproc.Config, error) {
		cfg := redisproc.Config{Password: o.Password}
		if !o.TLS {
			return cfg, nil
		}
		addr, err := redisproc.FreeAddr()
		if err != nil {
			return cfg, fmt.Errorf("find a free TLS port: %w", err)
		}
		cert, key, err := selfSigned(dir)
		if err != nil {
			return cfg, err
		}
		tlsAddr, caFile = addr, cert
		cfg.TLS = &redisproc.TLS{Addr: addr, CertFile: cert, KeyFile: key, CAFile: cert}
		return cfg, nil
	})
	return &Server{Addr: n.addr, TLSAddr: tlsAddr, CAFile: caFile, Password: o.Password, tb: tb, cfg: n.cfg, n: n}
}

// TLSConfig trusts the server's test certificate (StartWith with TLS).
func (s *Server) TLSConfig() *tls.Config {
	s.tb.Helper()
	pemBytes, err := os.ReadFile(s.CAFile)
	if err != nil {
		s.tb.Fatalf("redistest: read the test CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		s.tb.Fatal("redistest: the test CA is not PEM")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// TLSClient returns a go-redis client speaking TLS to TLSAddr with the
// password, closed when the test ends.
func (s *Server) TLSClient() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.TLSAddr, Password: s.Password, TLSConfig: s.TLSConfig()})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir, the
// certificate its own CA, and returns their paths.
func selfSigned(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("test certificate key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "redistest"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("test certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("test certificate key: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
