//go:build chaos

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/demo"
)

// snsCA lets real `baton serve` processes verify signed SNS notifications
// without leaving the machine. baton fetches the SigningCertURL
// (https://sns.us-east-1.amazonaws.com/….pem) with Go's default transport,
// which honours HTTPS_PROXY and SSL_CERT_FILE. The suite starts its own
// CONNECT proxy on loopback that answers every tunnel itself, with TLS under
// a certificate for the SNS host signed by a CA made for this run, and serves
// the demo signer's certificate. The replicas get HTTPS_PROXY (this proxy)
// and SSL_CERT_FILE (this CA) in their environment: the signature check runs
// as in production, and no request reaches Amazon.
type snsCA struct {
	Signer  *demo.SNSSigner
	CAFile  string // PEM of the CA, for SSL_CERT_FILE
	Proxy   string // http://127.0.0.1:N, for HTTPS_PROXY
	Fetches atomic.Int64

	ln  net.Listener
	tls *tls.Config
}

func startSNSCA(t *testing.T) *snsCA {
	t.Helper()
	now := time.Now()
	signer, err := demo.NewSNSSigner(now)
	if err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "baton chaos test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "sns.us-east-1.amazonaws.com"},
		DNSNames:  []string{"sns.us-east-1.amazonaws.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "chaos-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &snsCA{
		Signer: signer, CAFile: caFile, Proxy: "http://" + ln.Addr().String(), ln: ln,
		tls: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}},
	}
	go s.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

func (s *snsCA) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.tunnel(c)
	}
}

// tunnel answers one CONNECT with 200 and then speaks TLS as the SNS host.
func (s *snsCA) tunnel(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil || req.Method != http.MethodConnect || !strings.HasPrefix(req.Host, "sns.") {
		_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	tc := tls.Server(c, s.tls)
	br := bufio.NewReader(tc)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		pemBytes, ferr := s.Signer.FetchCert(context.Background(), "https://"+r.Host+r.URL.Path)
		resp := &http.Response{StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
		if ferr != nil {
			resp.StatusCode, pemBytes = http.StatusNotFound, []byte("not found")
		} else {
			s.Fetches.Add(1)
		}
		resp.Body = io.NopCloser(bytes.NewReader(pemBytes))
		resp.ContentLength = int64(len(pemBytes))
		if err := resp.Write(tc); err != nil {
			return
		}
	}
}
