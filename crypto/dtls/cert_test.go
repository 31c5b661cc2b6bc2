package dtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3/pkg/crypto/fingerprint"
)

// fixedDER is a fixed byte string standing for a DER certificate: the
// fingerprint is a digest of whatever bytes the certificate has.
var fixedDER = []byte{
	0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00, 0xc3, 0x5e, 0x7a,
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
}

func TestFingerprintKnownVector(t *testing.T) {
	// sha-256("abc"), FIPS 180-2 appendix B.1.
	fp, err := FingerprintOf([]byte("abc"), "sha-256")
	if err != nil {
		t.Fatal(err)
	}
	const want = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	if got := fp.HexString(); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if fp.String() != "sha-256 "+want {
		t.Fatalf("String() = %q", fp.String())
	}

	// The digest of a fixed DER, formatted independently.
	sum := sha256.Sum256(fixedDER)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	fp, _ = FingerprintOf(fixedDER, "SHA-256")
	if got, want := fp.HexString(), strings.Join(parts, ":"); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if fp.Hash != "sha-256" {
		t.Fatalf("hash name %q", fp.Hash)
	}
}

func TestCertificateFingerprintMatchesPion(t *testing.T) {
	c, _, _ := testCerts(t)
	leaf, err := x509.ParseCertificate(c.DER())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hash crypto.Hash
	}{{"sha-1", crypto.SHA1}, {"sha-224", crypto.SHA224}, {"sha-256", crypto.SHA256}, {"sha-384", crypto.SHA384}, {"sha-512", crypto.SHA512}, {"", crypto.SHA256}} {
		got, err := c.Fingerprint(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fingerprint.Fingerprint(leaf, tc.hash)
		if err != nil {
			t.Fatal(err)
		}
		if got != strings.ToUpper(want) {
			t.Fatalf("%s: got %s, pion says %s", tc.name, got, want)
		}
		// Round trip through the a=fingerprint form, in either case.
		name := tc.name
		if name == "" {
			name = "sha-256"
		}
		for _, attr := range []string{name + " " + got, strings.ToUpper(name) + "  " + strings.ToLower(got) + " "} {
			fp, err := ParseFingerprint(attr)
			if err != nil {
				t.Fatalf("%q: %v", attr, err)
			}
			if fp.Hash != name || fp.HexString() != got {
				t.Fatalf("%q parsed as %v", attr, fp)
			}
			if err := VerifyFingerprint(c.DER(), fp); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := c.Fingerprint("md5"); !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("md5: %v", err)
	}
}

func TestParseFingerprintErrors(t *testing.T) {
	valid := strings.Repeat("AB:", 31) + "AB"
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrInvalidFingerprint},
		{"sha-256", ErrInvalidFingerprint},
		{valid, ErrInvalidFingerprint},
		{"sha-256 " + valid + " extra", ErrInvalidFingerprint},
		{"md5 " + strings.Repeat("AB:", 15) + "AB", ErrUnsupportedHash},
		{"sha-3 " + valid, ErrUnsupportedHash},
		{"sha-256 " + valid[:len(valid)-3], ErrInvalidFingerprint}, // 31 octets
		{"sha-256 " + valid + ":AB", ErrInvalidFingerprint},        // 33 octets
		{"sha-256 " + strings.ReplaceAll(valid, ":", "-"), ErrInvalidFingerprint},
		{"sha-256 " + "ZZ" + valid[2:], ErrInvalidFingerprint},
		{"sha-256 " + "AB" + strings.Repeat(":ABC", 1) + valid[6:] + "B", ErrInvalidFingerprint},
		{"sha-1 " + valid, ErrInvalidFingerprint}, // sha-256 size for sha-1
	} {
		if _, err := ParseFingerprint(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("ParseFingerprint(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
	if fp, err := ParseFingerprint("sha-256 " + valid); err != nil || len(fp.Value) != 32 || fp.Value[0] != 0xab {
		t.Fatalf("valid: %v %v", fp, err)
	}
}

func TestVerifyFingerprint(t *testing.T) {
	a, b, _ := testCerts(t)
	fa := mustFingerprint(t, a, "sha-256")
	if err := VerifyFingerprint(a.DER(), fa); err != nil {
		t.Fatal(err)
	}
	err := VerifyFingerprint(b.DER(), fa)
	if !errors.Is(err, ErrFingerprintMismatch) || !strings.Contains(err.Error(), fa.HexString()) {
		t.Fatalf("mismatch: %v", err)
	}
	if err := VerifyFingerprint(a.DER(), Fingerprint{Hash: "md5", Value: make([]byte, 16)}); !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("md5: %v", err)
	}

	// RFC 8122 section 5: the most preferred hash function's set decides.
	fb256, fb512 := mustFingerprint(t, b, "sha-256"), mustFingerprint(t, b, "sha-512")
	fa1 := mustFingerprint(t, a, "sha-1")
	for _, tc := range []struct {
		name string
		fps  []Fingerprint
		want error
	}{
		{"one", []Fingerprint{fa}, nil},
		{"any of the set", []Fingerprint{fb256, fa}, nil},
		{"sha-1 only", []Fingerprint{fa1}, nil},
		{"weaker ignored", []Fingerprint{fb256, fb512, fa1}, ErrFingerprintMismatch},
		{"stronger wins", []Fingerprint{fa, fb512}, ErrFingerprintMismatch},
		{"md5 skipped", []Fingerprint{{Hash: "md5", Value: make([]byte, 16)}, fa}, nil},
		{"none", nil, ErrNoFingerprint},
		{"only md5", []Fingerprint{{Hash: "md5", Value: make([]byte, 16)}}, ErrNoFingerprint},
	} {
		if err := VerifyFingerprints(a.DER(), tc.fps); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestGenerateCertificate(t *testing.T) {
	c, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.DER())
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("public key %T, want ECDSA P-256", leaf.PublicKey)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if !leaf.NotBefore.Before(time.Now()) || leaf.NotAfter.Sub(time.Now()) < CertificateLifetime-time.Minute || !c.NotAfter().Equal(leaf.NotAfter) {
		t.Fatalf("validity %v .. %v", leaf.NotBefore, leaf.NotAfter)
	}
	if c.TLS().Leaf == nil || c.TLS().PrivateKey == nil {
		t.Fatal("tls.Certificate incomplete")
	}
	c2, _ := GenerateCertificate()
	f1, _ := c.Fingerprint("sha-256")
	f2, _ := c2.Fingerprint("sha-256")
	if f1 == f2 {
		t.Fatal("two certificates with one fingerprint")
	}
}

func TestLoadCertificate(t *testing.T) {
	c, _, _ := testCerts(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.TLS().PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER()}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := LoadCertificate(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := c.Fingerprint("sha-256")
	if got, _ := l.Fingerprint("sha-256"); got != want {
		t.Fatal("loaded certificate has another fingerprint")
	}
	if _, err := LoadCertificate(certFile, filepath.Join(dir, "missing.pem")); err == nil {
		t.Fatal("missing key file loaded")
	}
	if _, err := LoadCertificate(keyFile, keyFile); err == nil {
		t.Fatal("key as certificate loaded")
	}
}
