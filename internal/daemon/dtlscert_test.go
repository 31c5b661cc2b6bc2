package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/crypto/dtls"
	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/pion/webrtc/v4"
)

// writeCertificate writes a self-signed ECDSA certificate and its key as
// PEM files and returns their paths.
func writeCertificate(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ngrelay-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestDTLSCertificateFromFiles: with --dtls-cert/--dtls-key the browser is
// given that certificate's fingerprint, and the handshake completes with it.
func TestDTLSCertificateFromFiles(t *testing.T) {
	certFile, keyFile := writeCertificate(t)
	want, err := dtls.LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := want.Fingerprint("sha-256")
	if err != nil {
		t.Fatal(err)
	}
	td := startDaemon(t, func(c *config.Config) { c.DTLSCert, c.DTLSKey = certFile, keyFile })
	pc, track := newBrowser(t)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	pc.SetLocalDescription(offer)
	r := td.cmd(t, "command", "offer", "call-id", "cert", "from-tag", "browser", "sdp", gathered(t, pc),
		"transport-protocol", "RTP/AVP", "ICE", "remove", "rtcp-mux", []string{"demux"})
	mustOK(t, r)
	toPhone, _ := r.GetString("sdp")
	_, toRelay, _ := relayPorts(t, toPhone)
	phone := newEndpoint(t)
	r = td.cmd(t, "command", "answer", "call-id", "cert", "from-tag", "browser", "to-tag", "phone", "sdp", phone.sdp())
	mustOK(t, r)
	toBrowser, _ := r.GetString("sdp")
	if !strings.Contains(toBrowser, "a=fingerprint:sha-256 "+fp+"\r\n") {
		t.Fatalf("the answer does not carry the configured certificate's fingerprint %s:\n%s", fp, toBrowser)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: toBrowser}); err != nil {
		t.Fatal(err)
	}
	webrtcMedia(t, pc, track, phone, toRelay)
	if n := td.Handler.Stats.DTLSHandshakes.Load(); n != 1 {
		t.Fatalf("%d DTLS handshakes, want 1", n)
	}
}

// TestDTLSCertificateFilesMustLoad: a key that does not load stops the
// daemon at start with the option's name in the error.
func TestDTLSCertificateFilesMustLoad(t *testing.T) {
	certFile, _ := writeCertificate(t)
	cfg := testConfig()
	cfg.DTLSCert, cfg.DTLSKey = certFile, filepath.Join(t.TempDir(), "missing.pem")
	d, err := Start(context.Background(), cfg, nil, nil)
	if err == nil {
		d.Close()
		t.Fatal("started with a missing DTLS key")
	}
	if !strings.Contains(err.Error(), "--dtls-cert") {
		t.Fatalf("error %q does not name the option", err)
	}
}
