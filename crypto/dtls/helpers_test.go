package dtls

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

var (
	testCertsOnce sync.Once
	testCertA     *Certificate
	testCertB     *Certificate
	testCertC     *Certificate
)

// testCerts returns three certificates made once per test binary.
func testCerts(tb testing.TB) (a, b, c *Certificate) {
	tb.Helper()
	testCertsOnce.Do(func() {
		var err error
		for _, p := range []**Certificate{&testCertA, &testCertB, &testCertC} {
			if *p, err = GenerateCertificate(); err != nil {
				panic(err)
			}
		}
	})
	return testCertA, testCertB, testCertC
}

func mustFingerprint(tb testing.TB, c *Certificate, hash string) Fingerprint {
	tb.Helper()
	fp, err := FingerprintOf(c.DER(), hash)
	if err != nil {
		tb.Fatal(err)
	}
	return fp
}

// result is what an endpoint's callbacks reported.
type result struct {
	local, remote srtp.Params
	err           error
}

// pair is two endpoints connected in memory: each one's Send delivers to
// the other.
type pair struct {
	client, server       *Endpoint
	clientRes, serverRes chan result
}

// newPair makes a client (Active, cert a) and a server (Passive, cert b),
// each verifying the other's sha-256 fingerprint; mod may change the two
// configs before New.
func newPair(tb testing.TB, mod func(client, server *Config)) *pair {
	tb.Helper()
	a, b, _ := testCerts(tb)
	p := &pair{clientRes: make(chan result, 1), serverRes: make(chan result, 1)}
	cc := Config{
		Cert:               a,
		Role:               Active,
		RemoteFingerprints: []Fingerprint{mustFingerprint(tb, b, "sha-256")},
		Send:               func(pkt []byte) error { p.server.Deliver(pkt); return nil },
		HandshakeTimeout:   10 * time.Second,
		OnKeys:             func(l, r srtp.Params) { p.clientRes <- result{local: l, remote: r} },
		OnFailure:          func(err error) { p.clientRes <- result{err: err} },
	}
	sc := Config{
		Cert:               b,
		Role:               Passive,
		RemoteFingerprints: []Fingerprint{mustFingerprint(tb, a, "sha-256")},
		Send:               func(pkt []byte) error { p.client.Deliver(pkt); return nil },
		HandshakeTimeout:   10 * time.Second,
		OnKeys:             func(l, r srtp.Params) { p.serverRes <- result{local: l, remote: r} },
		OnFailure:          func(err error) { p.serverRes <- result{err: err} },
	}
	if mod != nil {
		mod(&cc, &sc)
	}
	p.client, p.server = New(cc), New(sc)
	return p
}

func (p *pair) start(tb testing.TB) {
	tb.Helper()
	if err := p.server.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if err := p.client.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

func (p *pair) close() {
	p.client.Close()
	p.server.Close()
}

func waitResult(tb testing.TB, ch <-chan result, d time.Duration) result {
	tb.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		tb.Fatalf("no handshake result within %v", d)
		return result{}
	}
}

func paramsEqual(a, b srtp.Params) bool {
	return a.Suite == b.Suite && bytes.Equal(a.MasterKey, b.MasterKey) && bytes.Equal(a.MasterSalt, b.MasterSalt) &&
		bytes.Equal(a.MKI, b.MKI)
}
