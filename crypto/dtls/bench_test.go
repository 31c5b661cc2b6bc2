package dtls

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHandshake runs full DTLS-SRTP handshakes (ECDHE P-256 or
// X25519, ECDSA P-256 certificates on both sides, key export) between two
// in-memory endpoints, one after the other, and reports handshakes/s.
func BenchmarkHandshake(b *testing.B) {
	for _, bc := range []struct {
		name string
		skip bool
	}{{"cookie", false}, {"no-cookie", true}} {
		b.Run(bc.name, func(b *testing.B) {
			testCerts(b)
			b.ReportAllocs()
			for b.Loop() {
				p := newPair(b, func(c, s *Config) { s.SkipHelloVerify = bc.skip })
				p.start(b)
				if r := waitResult(b, p.clientRes, 10*time.Second); r.err != nil {
					b.Fatal(r.err)
				}
				if r := waitResult(b, p.serverRes, 10*time.Second); r.err != nil {
					b.Fatal(r.err)
				}
				p.close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
		})
	}
}

// TestFuzzSetupIsMidHandshake checks FuzzDeliver's premise: the server
// answers the captured ClientHello with its flight and waits for more.
func TestFuzzSetupIsMidHandshake(t *testing.T) {
	a, b, _ := testCerts(t)
	hello := clientHello(t)
	var sent atomic.Int64
	e := New(Config{
		Cert: b, Role: Passive, RemoteFingerprints: []Fingerprint{mustFingerprint(t, a, "sha-256")},
		Send:            func([]byte) error { sent.Add(1); return nil },
		SkipHelloVerify: true,
	})
	defer e.Close()
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !e.Deliver(hello) {
		t.Fatal("ClientHello not delivered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for sent.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if sent.Load() == 0 {
		t.Fatal("server did not answer the ClientHello")
	}
	select {
	case <-e.Done():
		t.Fatalf("handshake ended: %v", e.Err())
	default:
	}
}
