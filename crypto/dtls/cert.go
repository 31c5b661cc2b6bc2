package dtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // SDP fingerprints may use sha-1 (RFC 8122 section 5).
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
	"time"
)

// Certificate errors, usable with errors.Is.
var (
	// ErrUnsupportedHash reports an a=fingerprint hash function that this
	// package does not implement (md2, md5, or an unknown name).
	ErrUnsupportedHash = errors.New("dtls: unsupported fingerprint hash function")
	// ErrInvalidFingerprint reports an a=fingerprint value that is not a
	// hash name followed by colon-separated hex octets of the hash's size.
	ErrInvalidFingerprint = errors.New("dtls: invalid fingerprint")
	// ErrFingerprintMismatch reports a peer certificate whose digest matches
	// none of the fingerprints of the peer's SDP.
	ErrFingerprintMismatch = errors.New("dtls: peer certificate does not match the SDP fingerprint")
	// ErrNoFingerprint reports that there is no fingerprint to verify the
	// peer's certificate against.
	ErrNoFingerprint = errors.New("dtls: no fingerprint to verify the peer certificate against")
)

// CertificateLifetime is how long a certificate made by GenerateCertificate
// is valid for, from one day before its creation (to allow for clock
// skew). WebRTC peers authenticate the certificate by its SDP fingerprint
// and do not check its dates, but a daemon that runs longer than this
// should generate a new one (Certificate.NotAfter tells when).
const CertificateLifetime = 365 * 24 * time.Hour

// Certificate is the relay's own DTLS certificate and private key, as
// presented in every DTLS-SRTP handshake and advertised in SDP by its
// fingerprint (RFC 8122). It is immutable and safe for concurrent use.
type Certificate struct {
	tls  tls.Certificate
	leaf *x509.Certificate
}

// GenerateCertificate returns a new self-signed certificate with a fresh
// ECDSA P-256 key, as WebRTC endpoints use (RFC 8827 section 6.5). The
// subject is CN=ngrelay, the serial number random, and the validity from a
// day ago for CertificateLifetime. The daemon makes one at start.
func GenerateCertificate() (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dtls: generating certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("dtls: generating certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ngrelay"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(CertificateLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dtls: creating certificate: %w", err)
	}
	return newCertificate(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
}

// LoadCertificate reads a certificate (chain) and its private key from PEM
// files, as tls.LoadX509KeyPair does. The key may be ECDSA, RSA or Ed25519;
// only the first (leaf) certificate is fingerprinted.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	tc, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("dtls: loading certificate: %w", err)
	}
	return newCertificate(tc)
}

// NewCertificate wraps an existing key pair; its first certificate is the
// leaf that gets fingerprinted.
func NewCertificate(tc tls.Certificate) (*Certificate, error) {
	return newCertificate(tc)
}

func newCertificate(tc tls.Certificate) (*Certificate, error) {
	if len(tc.Certificate) == 0 {
		return nil, errors.New("dtls: certificate has no DER data")
	}
	if _, ok := tc.PrivateKey.(crypto.Signer); !ok {
		return nil, fmt.Errorf("dtls: certificate private key of type %T cannot sign", tc.PrivateKey)
	}
	leaf, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("dtls: parsing certificate: %w", err)
	}
	tc.Leaf = leaf
	return &Certificate{tls: tc, leaf: leaf}, nil
}

// TLS returns the key pair as a tls.Certificate (for pion/dtls).
func (c *Certificate) TLS() tls.Certificate { return c.tls }

// DER returns the leaf certificate in DER form. The slice must not be
// modified.
func (c *Certificate) DER() []byte { return c.tls.Certificate[0] }

// NotAfter returns the end of the certificate's validity.
func (c *Certificate) NotAfter() time.Time { return c.leaf.NotAfter }

// Fingerprint returns the certificate's fingerprint in SDP form (RFC 8122
// section 5): upper-case hex octets separated by colons, such as
// "AB:50:...". hash is "sha-256" (the default, also used for ""), "sha-1",
// "sha-224", "sha-384" or "sha-512", case-insensitively. The a=fingerprint
// attribute value is then hash + " " + the result.
func (c *Certificate) Fingerprint(hash string) (string, error) {
	if hash == "" {
		hash = "sha-256"
	}
	fp, err := FingerprintOf(c.DER(), hash)
	if err != nil {
		return "", err
	}
	return fp.HexString(), nil
}

// Fingerprint is one a=fingerprint attribute: a hash function name (lower
// case, as in the IANA "Hash Function Textual Names" registry) and the
// digest of a certificate's DER encoding.
type Fingerprint struct {
	Hash  string
	Value []byte
}

type hashFunc struct {
	name string
	size int
	new  func() hash.Hash
	// rank orders the hash functions by preference (RFC 8122 section 5:
	// verify against the set with the most preferred hash function).
	rank int
}

var hashFuncs = []hashFunc{
	{"sha-1", sha1.Size, sha1.New, 1},
	{"sha-224", sha256.Size224, sha256.New224, 2},
	{"sha-256", sha256.Size, sha256.New, 3},
	{"sha-384", sha512.Size384, sha512.New384, 4},
	{"sha-512", sha512.Size, sha512.New, 5},
}

func lookupHash(name string) (*hashFunc, error) {
	for i := range hashFuncs {
		if strings.EqualFold(name, hashFuncs[i].name) {
			return &hashFuncs[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedHash, name)
}

// FingerprintOf returns the fingerprint of a DER-encoded certificate with
// the named hash function (sha-1, sha-224, sha-256, sha-384 or sha-512).
func FingerprintOf(der []byte, hash string) (Fingerprint, error) {
	h, err := lookupHash(hash)
	if err != nil {
		return Fingerprint{}, err
	}
	d := h.new()
	d.Write(der)
	return Fingerprint{Hash: h.name, Value: d.Sum(nil)}, nil
}

// ParseFingerprint parses an a=fingerprint attribute value such as
// "sha-256 AB:50:...": a hash function name (sha-1, sha-224, sha-256,
// sha-384 or sha-512, case-insensitive) and the digest as colon-separated
// hex octets (either case) of the hash's size, separated by white space.
// The returned Hash is lower case.
func ParseFingerprint(attrValue string) (Fingerprint, error) {
	fields := strings.Fields(attrValue)
	if len(fields) != 2 {
		return Fingerprint{}, fmt.Errorf("%w: %q: want \"HASH XX:XX:...\"", ErrInvalidFingerprint, attrValue)
	}
	h, err := lookupHash(fields[0])
	if err != nil {
		return Fingerprint{}, err
	}
	value := fields[1]
	// Each octet is two hex digits, separated by single colons.
	if len(value) != 3*h.size-1 {
		return Fingerprint{}, fmt.Errorf("%w: %s value must have %d colon-separated octets", ErrInvalidFingerprint, h.name, h.size)
	}
	out := make([]byte, h.size)
	var pair [2]byte
	for i := range h.size {
		if i > 0 && value[3*i-1] != ':' {
			return Fingerprint{}, fmt.Errorf("%w: %q: expected ':' at offset %d", ErrInvalidFingerprint, value, 3*i-1)
		}
		pair[0], pair[1] = value[3*i], value[3*i+1]
		if _, err := hex.Decode(out[i:i+1], pair[:]); err != nil {
			return Fingerprint{}, fmt.Errorf("%w: %q: bad hex octet %q", ErrInvalidFingerprint, value, string(pair[:]))
		}
	}
	return Fingerprint{Hash: h.name, Value: out}, nil
}

// HexString returns the digest in SDP form: upper-case hex octets
// separated by colons.
func (f Fingerprint) HexString() string {
	const digits = "0123456789ABCDEF"
	if len(f.Value) == 0 {
		return ""
	}
	b := make([]byte, 0, 3*len(f.Value)-1)
	for i, v := range f.Value {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[v>>4], digits[v&0x0f])
	}
	return string(b)
}

// String returns the a=fingerprint attribute value: "sha-256 AB:50:...".
func (f Fingerprint) String() string { return f.Hash + " " + f.HexString() }

// VerifyFingerprint checks that the DER-encoded certificate cert has the
// fingerprint fp. A mismatch yields an error wrapping
// ErrFingerprintMismatch that shows both fingerprints.
func VerifyFingerprint(cert []byte, fp Fingerprint) error {
	got, err := FingerprintOf(cert, fp.Hash)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got.Value, fp.Value) != 1 {
		return fmt.Errorf("%w: certificate has %s, SDP has %s", ErrFingerprintMismatch, got, fp)
	}
	return nil
}

// VerifyFingerprints checks a peer's DER-encoded certificate against all
// a=fingerprint attributes of its SDP, as RFC 8122 section 5 says: of the
// fingerprints whose hash function this package implements, those with the
// most preferred hash function (sha-512 > sha-384 > sha-256 > sha-224 >
// sha-1) form the set, and the certificate must match one of them.
// Fingerprints with other hash functions (md5, say) are skipped. With none
// left the error wraps ErrNoFingerprint; with no match it wraps
// ErrFingerprintMismatch.
func VerifyFingerprints(cert []byte, fps []Fingerprint) error {
	var best *hashFunc
	for _, fp := range fps {
		if h, err := lookupHash(fp.Hash); err == nil && (best == nil || h.rank > best.rank) {
			best = h
		}
	}
	if best == nil {
		if len(fps) == 0 {
			return ErrNoFingerprint
		}
		return fmt.Errorf("%w: none of the %d fingerprints uses a supported hash function", ErrNoFingerprint, len(fps))
	}
	got, _ := FingerprintOf(cert, best.name)
	var want []string
	for _, fp := range fps {
		if !strings.EqualFold(fp.Hash, best.name) {
			continue
		}
		if subtle.ConstantTimeCompare(got.Value, fp.Value) == 1 {
			return nil
		}
		want = append(want, fp.HexString())
	}
	return fmt.Errorf("%w: certificate has %s, SDP has %s %s", ErrFingerprintMismatch, got, best.name, strings.Join(want, " or "))
}
