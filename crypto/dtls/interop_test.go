package dtls

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// The tests here run ngrelay's Endpoint against pion/dtls used directly,
// over two UDP sockets on the loopback interface: the Endpoint's
// datagrams go out of one socket as the data plane would send them, and
// what that socket receives is delivered to the Endpoint.

// udpPeers opens our socket and pion's.
func udpPeers(t *testing.T) (ours, theirs *net.UDPConn) {
	t.Helper()
	var err error
	if ours, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if theirs, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ours.Close(); theirs.Close() })
	return ours, theirs
}

// pumpTo delivers what sock receives to e until sock is closed.
func pumpTo(sock *net.UDPConn, e *Endpoint) {
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := sock.ReadFrom(buf)
			if err != nil {
				return
			}
			e.Deliver(buf[:n])
		}
	}()
}

func pionCert(t *testing.T) (tls.Certificate, Fingerprint) {
	t.Helper()
	c, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	fp, err := FingerprintOf(c.Certificate[0], "sha-256")
	if err != nil {
		t.Fatal(err)
	}
	return c, fp
}

// pionVerify makes pion check our certificate's fingerprint.
func pionVerify(ours *Certificate) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 || !bytes.Equal(raw[0], ours.DER()) {
			return errors.New("not ngrelay's certificate")
		}
		return nil
	}
}

// pionKeys derives the SRTP keys on pion's side, as pion/webrtc does.
func pionKeys(t *testing.T, conn *piondtls.Conn, suite srtp.Suite) (client, server srtp.Params) {
	t.Helper()
	prof, ok := conn.SelectedSRTPProtectionProfile()
	if !ok || uint16(prof) != uint16(suite.Profile()) {
		t.Fatalf("pion selected profile %#x, want %v", prof, suite)
	}
	state, ok := conn.ConnectionState()
	if !ok {
		t.Fatal("no pion connection state")
	}
	kl, sl := suite.KeyLen(), suite.SaltLen()
	km, err := state.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 2*(kl+sl))
	if err != nil {
		t.Fatal(err)
	}
	client = srtp.Params{Suite: suite, MasterKey: km[:kl], MasterSalt: km[2*kl : 2*kl+sl]}
	server = srtp.Params{Suite: suite, MasterKey: km[kl : 2*kl], MasterSalt: km[2*kl+sl:]}
	return client, server
}

// ourEndpoint makes our endpoint sending from ours to theirs.
func ourEndpoint(t *testing.T, role Role, remote Fingerprint, ours, theirs *net.UDPConn, mod func(*Config)) (*Endpoint, chan result) {
	t.Helper()
	a, _, _ := testCerts(t)
	res := make(chan result, 1)
	cfg := Config{
		Cert:               a,
		Role:               role,
		RemoteFingerprints: []Fingerprint{remote},
		Send: func(pkt []byte) error {
			_, err := ours.WriteTo(pkt, theirs.LocalAddr())
			return err
		},
		HandshakeTimeout: 10 * time.Second,
		OnKeys:           func(l, r srtp.Params) { res <- result{local: l, remote: r} },
		OnFailure:        func(err error) { res <- result{err: err} },
	}
	if mod != nil {
		mod(&cfg)
	}
	e := New(cfg)
	t.Cleanup(func() { e.Close() })
	pumpTo(ours, e)
	return e, res
}

func TestInteropPionClient(t *testing.T) {
	for _, suite := range DefaultProfiles() {
		t.Run(suite.String(), func(t *testing.T) {
			ours, theirs := udpPeers(t)
			pc, pfp := pionCert(t)
			e, res := ourEndpoint(t, Passive, pfp, ours, theirs, nil)
			if err := e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			conn, err := piondtls.ClientWithOptions(theirs, ours.LocalAddr(),
				piondtls.WithCertificates(pc),
				piondtls.WithSRTPProtectionProfiles(piondtls.SRTPProtectionProfile(suite.Profile())),
				piondtls.WithInsecureSkipVerify(true),
				piondtls.WithVerifyPeerCertificate(pionVerify(e.cfg.Cert)),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := conn.HandshakeContext(ctx); err != nil {
				t.Fatalf("pion client handshake: %v", err)
			}
			r := waitResult(t, res, 10*time.Second)
			if r.err != nil {
				t.Fatal(r.err)
			}
			client, server := pionKeys(t, conn, suite)
			// We are the server: we write with the server's key.
			if !paramsEqual(r.local, server) || !paramsEqual(r.remote, client) {
				t.Fatalf("keys differ from pion's:\nours  %+v %+v\npion client %+v server %+v", r.local, r.remote, client, server)
			}
			checkSRTP(t, client, r.remote)

			// Application data (SCTP, say) is counted and dropped.
			if _, err := conn.Write([]byte("data channel")); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for e.Stats().AppData == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if e.Stats().AppData != 1 {
				t.Fatalf("stats %+v, want 1 application data message", e.Stats())
			}
		})
	}
}

func TestInteropPionServer(t *testing.T) {
	for _, suite := range DefaultProfiles() {
		t.Run(suite.String(), func(t *testing.T) {
			ours, theirs := udpPeers(t)
			pc, pfp := pionCert(t)
			e, res := ourEndpoint(t, Active, pfp, ours, theirs, nil)
			conn, err := piondtls.ServerWithOptions(theirs, ours.LocalAddr(),
				piondtls.WithCertificates(pc),
				piondtls.WithSRTPProtectionProfiles(piondtls.SRTPProtectionProfile(suite.Profile())),
				piondtls.WithClientAuth(piondtls.RequireAnyClientCert),
				piondtls.WithVerifyPeerCertificate(pionVerify(e.cfg.Cert)),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			hs := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				hs <- conn.HandshakeContext(ctx)
			}()
			if err := e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, res, 10*time.Second)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if err := <-hs; err != nil {
				t.Fatalf("pion server handshake: %v", err)
			}
			client, server := pionKeys(t, conn, suite)
			// We are the client: we write with the client's key.
			if !paramsEqual(r.local, client) || !paramsEqual(r.remote, server) {
				t.Fatalf("keys differ from pion's:\nours  %+v %+v\npion client %+v server %+v", r.local, r.remote, client, server)
			}
			checkSRTP(t, r.local, client)
			checkSRTP(t, server, r.remote)
		})
	}
}

func TestInteropPionWrongFingerprint(t *testing.T) {
	ours, theirs := udpPeers(t)
	pc, _ := pionCert(t)
	_, _, other := testCerts(t)
	e, res := ourEndpoint(t, Passive, mustFingerprint(t, other, "sha-256"), ours, theirs, nil)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn, err := piondtls.ClientWithOptions(theirs, ours.LocalAddr(),
		piondtls.WithCertificates(pc),
		piondtls.WithSRTPProtectionProfiles(piondtls.SRTP_AEAD_AES_128_GCM),
		piondtls.WithInsecureSkipVerify(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err == nil {
		t.Fatal("pion completed a handshake that we rejected")
	} else {
		t.Logf("pion: %v", err)
	}
	r := waitResult(t, res, 10*time.Second)
	if !errors.Is(r.err, ErrFingerprintMismatch) {
		t.Fatalf("ours: %v", r.err)
	}
	t.Logf("ours: %v", r.err)
}
