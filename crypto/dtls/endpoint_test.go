package dtls

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// allSuites are the suites of package srtp, all of which pion/dtls can
// negotiate.
var allSuites = []srtp.Suite{
	srtp.AEADAES128GCM, srtp.AEADAES256GCM, srtp.AES128CMSHA1_80, srtp.AES128CMSHA1_32,
	srtp.AES256CMSHA1_80, srtp.AES256CMSHA1_32, srtp.NullSHA1_80, srtp.NullSHA1_32,
}

// checkSRTP protects an RTP packet with tx and unprotects it with rx.
func checkSRTP(t *testing.T, tx, rx srtp.Params) {
	t.Helper()
	txc, err := srtp.NewContext(tx)
	if err != nil {
		t.Fatal(err)
	}
	rxc, err := srtp.NewContext(rx)
	if err != nil {
		t.Fatal(err)
	}
	pkt := []byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78}
	payload := []byte("twenty bytes payload")
	pkt = append(pkt, payload...)
	buf := make([]byte, 256)
	n := copy(buf, pkt)
	n, err = txc.ProtectRTP(buf, n)
	if err != nil {
		t.Fatal(err)
	}
	n, err = rxc.UnprotectRTP(buf, n)
	if err != nil {
		t.Fatalf("unprotect with the peer's keys: %v", err)
	}
	if !bytes.Equal(buf[:n], pkt) {
		t.Fatalf("round trip changed the packet")
	}
}

func TestHandshakeInMemoryProfiles(t *testing.T) {
	for _, suite := range allSuites {
		t.Run(suite.String(), func(t *testing.T) {
			p := newPair(t, func(c, s *Config) {
				c.Profiles = []srtp.Suite{suite}
				// The server accepts everything, preferring another suite:
				// the client's single offer must win.
				s.Profiles = allSuites
			})
			defer p.close()
			p.start(t)
			cr := waitResult(t, p.clientRes, 10*time.Second)
			sr := waitResult(t, p.serverRes, 10*time.Second)
			if cr.err != nil || sr.err != nil {
				t.Fatalf("client: %v, server: %v", cr.err, sr.err)
			}
			if cr.local.Suite != suite || sr.local.Suite != suite {
				t.Fatalf("suites %v/%v, want %v", cr.local.Suite, sr.local.Suite, suite)
			}
			if len(cr.local.MasterKey) != suite.KeyLen() || len(cr.local.MasterSalt) != suite.SaltLen() {
				t.Fatalf("key %d salt %d bytes", len(cr.local.MasterKey), len(cr.local.MasterSalt))
			}
			if !paramsEqual(cr.local, sr.remote) || !paramsEqual(cr.remote, sr.local) {
				t.Fatalf("keys do not match crosswise:\nclient %+v %+v\nserver %+v %+v", cr.local, cr.remote, sr.local, sr.remote)
			}
			if paramsEqual(cr.local, cr.remote) {
				t.Fatal("client and server write keys are equal")
			}
			// Keys() agrees with OnKeys.
			cl, crm := p.client.Keys()
			if !paramsEqual(cl, cr.local) || !paramsEqual(crm, cr.remote) || !p.client.Keyed() {
				t.Fatal("Keys() differs from OnKeys")
			}
			if p.client.Err() != nil || p.server.Err() != nil {
				t.Fatal("Err() after success")
			}
			checkSRTP(t, cr.local, sr.remote)
			checkSRTP(t, sr.local, cr.remote)
			if got := p.server.PeerCertificate(); !bytes.Equal(got, p.client.cfg.Cert.DER()) {
				t.Fatal("server's PeerCertificate is not the client's certificate")
			}
		})
	}
}

func TestHandshakeDefaultsPreferGCM(t *testing.T) {
	p := newPair(t, nil)
	defer p.close()
	p.start(t)
	cr := waitResult(t, p.clientRes, 10*time.Second)
	sr := waitResult(t, p.serverRes, 10*time.Second)
	if cr.err != nil || sr.err != nil {
		t.Fatalf("client: %v, server: %v", cr.err, sr.err)
	}
	if cr.local.Suite != srtp.AEADAES128GCM {
		t.Fatalf("default negotiation chose %v", cr.local.Suite)
	}
}

func TestHandshakeSkipHelloVerifyAndMultipleFingerprints(t *testing.T) {
	p := newPair(t, func(c, s *Config) {
		s.SkipHelloVerify = true
		_, b, other := testCerts(t)
		// sha-512 is preferred over sha-256: the sha-256 one of another
		// certificate does not matter, one of the sha-512 set matches.
		c.RemoteFingerprints = []Fingerprint{
			mustFingerprint(t, other, "sha-256"),
			mustFingerprint(t, other, "sha-512"),
			mustFingerprint(t, b, "sha-512"),
			{Hash: "md5", Value: make([]byte, 16)},
		}
	})
	defer p.close()
	p.start(t)
	if r := waitResult(t, p.clientRes, 10*time.Second); r.err != nil {
		t.Fatal(r.err)
	}
	if r := waitResult(t, p.serverRes, 10*time.Second); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestCloseSendsCloseNotify(t *testing.T) {
	p := newPair(t, nil)
	p.start(t)
	waitResult(t, p.clientRes, 10*time.Second)
	waitResult(t, p.serverRes, 10*time.Second)
	p.client.Close()
	if s := p.client.Stats(); s.AlertsSent != 1 {
		t.Fatalf("client sent %d alerts, want close_notify", s.AlertsSent)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.server.Stats().AlertsReceived == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := p.server.Stats(); s.AlertsReceived != 1 {
		t.Fatalf("server received %d alerts", s.AlertsReceived)
	}
	// The keys survive Close.
	if l, _ := p.client.Keys(); !l.Suite.Valid() {
		t.Fatal("keys gone after Close")
	}
	p.server.Close()
	if p.client.Deliver([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Fatal("Deliver after Close accepted a datagram")
	}
}

func TestFingerprintMismatch(t *testing.T) {
	for _, wrongSide := range []Role{Active, Passive} {
		t.Run("verifier="+wrongSide.String(), func(t *testing.T) {
			_, _, other := testCerts(t)
			wrong := mustFingerprint(t, other, "sha-256")
			p := newPair(t, func(c, s *Config) {
				if wrongSide == Active {
					c.RemoteFingerprints = []Fingerprint{wrong}
				} else {
					s.RemoteFingerprints = []Fingerprint{wrong}
				}
			})
			defer p.close()
			p.start(t)
			cr := waitResult(t, p.clientRes, 10*time.Second)
			sr := waitResult(t, p.serverRes, 10*time.Second)
			verifier, victim := cr, sr
			if wrongSide == Passive {
				verifier, victim = sr, cr
			}
			if !errors.Is(verifier.err, ErrFingerprintMismatch) {
				t.Fatalf("verifier error %v, want ErrFingerprintMismatch", verifier.err)
			}
			msg := verifier.err.Error()
			if !strings.Contains(msg, wrong.HexString()) || !strings.Contains(msg, wrongSide.String()) {
				t.Fatalf("error does not say what mismatched: %v", msg)
			}
			var ae *AlertError
			if !errors.Is(victim.err, ErrPeerAlert) || !errors.As(victim.err, &ae) || ae.Description != 42 {
				t.Fatalf("peer's error %v, want a bad_certificate alert", victim.err)
			}
			if !strings.Contains(victim.err.Error(), "BadCertificate") {
				t.Fatalf("alert error does not name the alert: %v", victim.err)
			}
			for _, e := range []*Endpoint{p.client, p.server} {
				if e.Keyed() {
					t.Fatal("keyed after a failed handshake")
				}
				if l, r := e.Keys(); l.Suite != 0 || r.Suite != 0 {
					t.Fatal("keys after a failed handshake")
				}
				<-e.Done()
				if e.Err() == nil {
					t.Fatal("Err() nil after a failed handshake")
				}
			}
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	for _, role := range []Role{Active, Passive} {
		t.Run(role.String(), func(t *testing.T) {
			a, b, _ := testCerts(t)
			var sent atomic.Int64
			failed := make(chan error, 1)
			e := New(Config{
				Cert:               a,
				Role:               role,
				RemoteFingerprints: []Fingerprint{mustFingerprint(t, b, "sha-256")},
				Send:               func([]byte) error { sent.Add(1); return nil }, // a silent peer
				HandshakeTimeout:   300 * time.Millisecond,
				RetransmitInterval: 50 * time.Millisecond,
				OnKeys:             func(srtp.Params, srtp.Params) { t.Error("keyed with a silent peer") },
				OnFailure:          func(err error) { failed <- err },
			})
			defer e.Close()
			start := time.Now()
			if err := e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-failed:
			case <-time.After(5 * time.Second):
				t.Fatal("no timeout")
			}
			if el := time.Since(start); el < 250*time.Millisecond || el > 3*time.Second {
				t.Fatalf("timed out after %v", el)
			}
			if !errors.Is(err, ErrHandshakeTimeout) || !errors.Is(e.Err(), ErrHandshakeTimeout) {
				t.Fatalf("error %v, want ErrHandshakeTimeout", err)
			}
			if !strings.Contains(err.Error(), role.String()) {
				t.Fatalf("error does not name the role: %v", err)
			}
			if role == Active && sent.Load() < 2 {
				t.Fatalf("client sent %d datagrams: no retransmission", sent.Load())
			}
			if role == Passive && sent.Load() != 0 {
				t.Fatalf("server sent %d datagrams to nobody", sent.Load())
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	a, b, _ := testCerts(t)
	failed := make(chan error, 1)
	e := New(Config{
		Cert: a, Role: Passive, RemoteFingerprints: []Fingerprint{mustFingerprint(t, b, "sha-256")},
		Send:      func([]byte) error { return nil },
		OnFailure: func(err error) { failed <- err },
	})
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-failed:
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrHandshakeTimeout) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not end the handshake")
	}
}

func TestCloseDuringHandshake(t *testing.T) {
	a, b, _ := testCerts(t)
	e := New(Config{
		Cert: a, Role: Active, RemoteFingerprints: []Fingerprint{mustFingerprint(t, b, "sha-256")},
		Send:      func([]byte) error { return errors.New("no route") },
		OnFailure: func(err error) { t.Errorf("OnFailure after Close: %v", err) },
	})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	e.Close()
	e.Close()
	if !errors.Is(e.Err(), ErrClosed) {
		t.Fatalf("Err() %v after Close", e.Err())
	}
	if e.Stats().SendErrors == 0 {
		t.Fatal("send errors not counted")
	}
	if err := e.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	// Close before Start.
	e2 := New(Config{Cert: a, Role: Active, InsecureSkipFingerprint: true, Send: func([]byte) error { return nil }})
	e2.Close()
	<-e2.Done()
	if err := e2.Start(context.Background()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestCloseFromCallback(t *testing.T) {
	var p *pair
	p = newPair(t, func(c, s *Config) {
		c.OnKeys = func(l, r srtp.Params) {
			p.client.Close() // must not deadlock
			p.clientRes <- result{local: l, remote: r}
		}
	})
	defer p.close()
	p.start(t)
	if r := waitResult(t, p.clientRes, 10*time.Second); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestStartConfigErrors(t *testing.T) {
	a, b, _ := testCerts(t)
	fp := []Fingerprint{mustFingerprint(t, b, "sha-256")}
	send := func([]byte) error { return nil }
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"no cert", Config{Role: Active, RemoteFingerprints: fp, Send: send}, ErrConfig},
		{"no role", Config{Cert: a, RemoteFingerprints: fp, Send: send}, ErrConfig},
		{"no send", Config{Cert: a, Role: Active, RemoteFingerprints: fp}, ErrConfig},
		{"bad suite", Config{Cert: a, Role: Active, RemoteFingerprints: fp, Send: send, Profiles: []srtp.Suite{0}}, ErrConfig},
		{"empty profiles", Config{Cert: a, Role: Active, RemoteFingerprints: fp, Send: send, Profiles: []srtp.Suite{}}, ErrConfig},
		{"no fingerprint", Config{Cert: a, Role: Passive, Send: send}, ErrNoFingerprint},
		{"md5 only", Config{Cert: a, Role: Passive, Send: send, RemoteFingerprints: []Fingerprint{{Hash: "md5", Value: make([]byte, 16)}}}, ErrNoFingerprint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(tc.cfg)
			defer e.Close()
			if err := e.Start(context.Background()); !errors.Is(err, tc.want) {
				t.Fatalf("Start: %v, want %v", err, tc.want)
			}
			<-e.Done()
			if !errors.Is(e.Err(), tc.want) {
				t.Fatalf("Err: %v", e.Err())
			}
		})
	}
}

// TestGarbageFlood delivers random and half-plausible datagrams to a
// server before and during a handshake, which must still complete.
func TestGarbageFlood(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := func() []byte {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if len(b) >= 13 && rng.IntN(2) == 0 {
			// A plausible record header with random content.
			// Not 21: a plaintext fatal alert ends a handshake by design.
			b[0] = []byte{20, 22, 23}[rng.IntN(3)]
			b[1], b[2] = 0xfe, 0xfd
			b[3], b[4] = 0, byte(rng.IntN(2))
			n := len(b) - 13
			b[11], b[12] = byte(n>>8), byte(n)
		}
		return b
	}
	p := newPair(t, func(c, s *Config) {
		c.RetransmitInterval = 100 * time.Millisecond
		s.RetransmitInterval = 100 * time.Millisecond
	})
	defer p.close()
	for range 2000 {
		p.server.Deliver(garbage())
	}
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range 20 {
				p.server.Deliver(garbage())
				p.client.Deliver(garbage())
			}
			time.Sleep(time.Millisecond)
		}
	}()
	p.start(t)
	cr := waitResult(t, p.clientRes, 20*time.Second)
	sr := waitResult(t, p.serverRes, 20*time.Second)
	close(stop)
	<-flooded
	if cr.err != nil || sr.err != nil {
		t.Fatalf("handshake under garbage: client %v, server %v", cr.err, sr.err)
	}
	if !paramsEqual(cr.local, sr.remote) {
		t.Fatal("keys differ")
	}
	s := p.server.Stats()
	if s.Invalid == 0 || s.Delivered == 0 {
		t.Fatalf("stats %+v", s)
	}
	t.Logf("server stats %+v", s)
}

// TestQueueFullDrops checks the bounded queue of an endpoint nobody reads.
func TestQueueFullDrops(t *testing.T) {
	a, _, _ := testCerts(t)
	e := New(Config{Cert: a, Role: Passive, InsecureSkipFingerprint: true, QueueLen: 4, Send: func([]byte) error { return nil }})
	defer e.Close()
	// A plaintext handshake record with an empty ClientHello fragment.
	rec := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for range 10 {
		e.Deliver(rec)
	}
	if s := e.Stats(); s.Delivered != 4 || s.Dropped != 6 {
		t.Fatalf("stats %+v, want 4 delivered and 6 dropped", s)
	}
	// Empty hello_request fragments, more than 8192 bytes of them.
	big := make([]byte, 13+12*700)
	copy(big, rec[:13])
	big[11], big[12] = byte((len(big)-13)>>8), byte(len(big)-13)
	if !IsDTLSRecord(big) || !screen(big, false) || e.Deliver(big) || e.Stats().Dropped != 7 {
		t.Fatalf("oversize datagram accepted: %+v", e.Stats())
	}
}

// TestNoGoroutineLeak checks that closed endpoints leave no goroutines.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		p := newPair(t, nil)
		p.start(t)
		waitResult(t, p.clientRes, 10*time.Second)
		waitResult(t, p.serverRes, 10*time.Second)
		p.close()
	}
	for range 5 {
		p := newPair(t, func(c, s *Config) { c.Send = func([]byte) error { return nil } })
		p.start(t)
		time.Sleep(10 * time.Millisecond)
		p.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf)
	}
}
