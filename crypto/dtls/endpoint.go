package dtls

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	piondtls "github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/protocol/alert"
	pionsrtp "github.com/pion/srtp/v3"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// Defaults of Config.
const (
	// DefaultHandshakeTimeout bounds a handshake from Start to keys.
	DefaultHandshakeTimeout = 30 * time.Second
	// DefaultQueueLen is the number of received datagrams that may wait
	// for the handshake goroutine before Deliver drops more.
	DefaultQueueLen = 64
)

// keyingLabel is the exporter label of DTLS-SRTP (RFC 5764 section 4.2).
const keyingLabel = "EXTRACTOR-dtls_srtp"

// Endpoint errors, usable with errors.Is.
var (
	// ErrHandshakeTimeout reports a handshake that did not complete within
	// Config.HandshakeTimeout (or the deadline of Start's context).
	ErrHandshakeTimeout = errors.New("dtls: handshake timed out")
	// ErrPeerAlert reports a handshake that the peer ended with a fatal
	// alert; the error is an *AlertError.
	ErrPeerAlert = errors.New("dtls: peer sent a fatal alert")
	// ErrClosed reports an endpoint closed before its handshake completed,
	// or used after Close.
	ErrClosed = errors.New("dtls: endpoint closed")
	// ErrStarted reports a second call of Start.
	ErrStarted = errors.New("dtls: endpoint already started")
	// ErrConfig reports an invalid Config, from Start.
	ErrConfig = errors.New("dtls: invalid config")
)

// AlertError is a fatal alert (RFC 5246 section 7.2) that the peer sent
// during the handshake, such as bad_certificate when it rejected our
// certificate's fingerprint. It matches ErrPeerAlert with errors.Is.
type AlertError struct {
	// Level is the alert level (2 for fatal).
	Level uint8
	// Description is the alert description code (42 bad_certificate, 40
	// handshake_failure, ...).
	Description uint8
}

func (e *AlertError) Error() string {
	return fmt.Sprintf("dtls: peer sent a fatal alert: %s (%d)", alert.Description(e.Description), e.Description)
}

// Is makes errors.Is(err, ErrPeerAlert) true.
func (e *AlertError) Is(target error) bool { return target == ErrPeerAlert }

// DefaultProfiles returns the SRTP protection profiles offered (as
// client) and accepted (as server) by default, most preferred first:
// SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM, SRTP_AES128_CM_HMAC_SHA1_80
// and SRTP_AES128_CM_HMAC_SHA1_32 (RFC 5764 section 4.1.2, RFC 7714
// section 14.2). The slice is fresh on each call.
func DefaultProfiles() []srtp.Suite {
	return []srtp.Suite{srtp.AEADAES128GCM, srtp.AEADAES256GCM, srtp.AES128CMSHA1_80, srtp.AES128CMSHA1_32}
}

// Config configures an Endpoint.
type Config struct {
	// Cert is our certificate (required): the one whose fingerprint our
	// SDP advertises.
	Cert *Certificate
	// Role is our side of the handshake (required): Active (client) or
	// Passive (server), from the a=setup negotiation.
	Role Role
	// RemoteFingerprints are the peer's a=fingerprint values; its
	// certificate must match them as VerifyFingerprints says. Required
	// unless InsecureSkipFingerprint.
	RemoteFingerprints []Fingerprint
	// InsecureSkipFingerprint accepts any peer certificate. Only for
	// tests and peers that send no a=fingerprint: without the check,
	// DTLS-SRTP is open to a man in the middle.
	InsecureSkipFingerprint bool
	// Profiles are the SRTP suites to negotiate, most preferred first
	// (nil: DefaultProfiles). Every suite of package srtp has a DTLS-SRTP
	// profile number in pion; note that pion numbers the AES-256-CM
	// suites 0x0003 and 0x0004, which IANA never assigned (they are
	// reserved), so a peer other than pion will not know them.
	Profiles []srtp.Suite
	// Send sends one datagram to the peer (required): the caller sends it
	// from the stream's socket to the peer's current address. It is called
	// from the endpoint's goroutines, one call at a time, and must not
	// block for long or keep pkt after it returns. An error counts the
	// datagram as lost (Stats.SendErrors); retransmission recovers.
	Send func(pkt []byte) error
	// OnKeys, if not nil, is called once when the handshake has
	// completed and the SRTP keys are derived: local is what we protect
	// (encrypt) with, remote what we unprotect (decrypt) with.
	OnKeys func(local, remote srtp.Params)
	// OnFailure, if not nil, is called once when the handshake failed:
	// a fingerprint mismatch (ErrFingerprintMismatch), a fatal alert from
	// the peer (ErrPeerAlert), a timeout (ErrHandshakeTimeout), the
	// cancellation of Start's context, or a protocol error. It is not
	// called when Close ended the handshake.
	OnFailure func(err error)
	// Log receives the endpoint's and pion's log messages (nil: none).
	// pion's trace messages are logged at slog.LevelDebug-4.
	Log *slog.Logger
	// HandshakeTimeout bounds the handshake (0: DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// RetransmitInterval is the initial flight retransmission timeout,
	// doubled after each retransmission up to 60 s as pion does (RFC 6347
	// section 4.2.4.1). 0 keeps pion's default of 1 s.
	RetransmitInterval time.Duration
	// MTU is the largest datagram the handshake sends (0: pion's 1200).
	MTU int
	// QueueLen bounds the received datagrams waiting for the handshake
	// goroutine (0: DefaultQueueLen); beyond it Deliver drops.
	QueueLen int
	// SkipHelloVerify makes a Passive endpoint answer the first
	// ClientHello directly instead of with a HelloVerifyRequest cookie
	// exchange (RFC 6347 section 4.2.1). It saves a round trip, at the
	// cost of answering spoofed ClientHellos with a larger flight; ICE
	// connectivity checks usually make the peer's address known good
	// first.
	SkipHelloVerify bool
}

// Stats are an endpoint's counters.
type Stats struct {
	// Delivered counts datagrams that Deliver queued.
	Delivered uint64
	// Dropped counts datagrams that Deliver dropped because the queue was
	// full, the datagram longer than 8192 bytes, or the endpoint closed.
	Dropped uint64
	// Invalid counts datagrams that Deliver dropped as not DTLS
	// (IsDTLSRecord false) or as malformed DTLS 1.2.
	Invalid uint64
	// Sent counts datagrams handed to Config.Send; SendErrors those for
	// which it failed.
	Sent, SendErrors uint64
	// AlertsReceived and AlertsSent count alert records (warnings, fatal
	// alerts and close_notify), as seen in the datagrams.
	AlertsReceived, AlertsSent uint64
	// AppData counts DTLS application data messages received after the
	// handshake (SCTP of data channels, say), which are discarded.
	AppData uint64
	// LateClientHellos counts datagrams with a ClientHello received after
	// the endpoint was keyed: a retransmission, or a peer that started a
	// new association, which needs a new Endpoint.
	LateClientHellos uint64
}

// Endpoint is one DTLS-SRTP association (RFC 5763, RFC 5764) on one
// WebRTC stream, over a packet transport that the caller feeds: received
// DTLS datagrams go in through Deliver, datagrams to send come out through
// Config.Send. Start runs the handshake on its own goroutine; once it has
// completed, Keys returns the SRTP keys (and Config.OnKeys gets them).
//
// After the handshake the association stays up until Close, so that the
// peer's retransmitted last flight is still answered and close_notify
// sent on Close; application data is counted and discarded.
//
// An Endpoint does not renegotiate. When the peer's certificate changes
// (a re-INVITE or new offer with a new a=fingerprint), or the peer
// otherwise starts a new DTLS association, the caller closes this
// Endpoint and creates and starts a new one, whose keys replace the old
// ones once it is keyed.
//
// The methods are safe for concurrent use.
type Endpoint struct {
	cfg Config
	log *slog.Logger
	pc  *packetConn

	started atomic.Bool
	closing atomic.Bool
	keyed   atomic.Bool

	mu       sync.Mutex
	conn     *piondtls.Conn
	local    srtp.Params
	remote   srtp.Params
	err      error
	peerCert []byte
	// verifyErr is the error of our fingerprint check, if it failed.
	verifyErr error

	done     chan struct{}
	doneOnce sync.Once

	// lastAlertIn is the level<<8|description of the last plaintext
	// alert received, plus 1<<16 when there is one.
	lastAlertIn atomic.Uint32

	delivered, dropped, invalid  atomic.Uint64
	sent, sendErrors             atomic.Uint64
	alertsIn, alertsOut, appData atomic.Uint64
	lateClientHellos             atomic.Uint64
}

// New returns an endpoint for cfg, not yet started. It does not validate
// cfg; Start does. Deliver may be called before Start: the datagrams wait
// in the queue.
func New(cfg Config) *Endpoint {
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.Profiles == nil {
		cfg.Profiles = DefaultProfiles()
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Endpoint{
		cfg:  cfg,
		log:  log.With("dtls_role", cfg.Role.String()),
		done: make(chan struct{}),
	}
	e.pc = newPacketConn(cfg.QueueLen, e.send, func(err error) {
		e.sendErrors.Add(1)
		e.log.Debug("dtls: send failed", "err", err)
	})
	return e
}

// send is the packet transport's send function: it counts and hands the
// datagram to Config.Send.
func (e *Endpoint) send(pkt []byte) error {
	ri := inspectRecords(pkt)
	e.alertsOut.Add(uint64(ri.alerts))
	e.sent.Add(1)
	if e.cfg.Send == nil {
		return errors.New("dtls: no Send function")
	}
	return e.cfg.Send(pkt)
}

// Deliver hands the endpoint a datagram received from the peer: a DTLS
// datagram as demultiplexed by the data plane (RFC 7983, IsDTLSRecord).
// It copies pkt and queues it without blocking, and reports whether it
// did. It drops and counts a datagram that is not DTLS or fails the
// stricter checks that protect pion/dtls from malformed plaintext records
// (Stats.Invalid; see IsDTLSRecord), or that is longer than 8192 bytes,
// arrives when the queue is full or after Close (Stats.Dropped).
//
// Plaintext DTLS records are not authenticated: anyone who can send
// datagrams that the data plane takes for the peer's can disrupt the
// handshake (with a fatal alert, say). The data plane should deliver only
// datagrams from the peer's ICE-validated address (or, without ICE, from
// the address media is sent to).
func (e *Endpoint) Deliver(pkt []byte) bool {
	keyed := e.keyed.Load()
	if !IsDTLSRecord(pkt) || !screen(pkt, keyed) {
		e.invalid.Add(1)
		return false
	}
	if len(pkt) > maxDatagram {
		e.dropped.Add(1)
		return false
	}
	ri := inspectRecords(pkt)
	if ri.lastAlertLevel != 0 {
		// Before the push: the handshake goroutine looks at it when
		// the alert has ended the handshake.
		e.lastAlertIn.Store(1<<16 | uint32(ri.lastAlertLevel)<<8 | uint32(ri.lastAlertDesc))
	}
	if !e.pc.push(pkt) {
		e.dropped.Add(1)
		return false
	}
	e.delivered.Add(1)
	e.alertsIn.Add(uint64(ri.alerts))
	if ri.clientHello && keyed {
		e.lateClientHellos.Add(1)
	}
	return true
}

// Start validates the configuration and starts the handshake on a new
// goroutine. It returns an error wrapping ErrConfig for an invalid
// configuration (or ErrNoFingerprint when there is no remote fingerprint),
// ErrStarted when called again and ErrClosed after Close; the handshake's
// own outcome is reported through OnKeys or OnFailure, Done and Err.
//
// ctx bounds the handshake, as does Config.HandshakeTimeout; once keyed,
// cancelling it has no effect, and the association lasts until Close.
func (e *Endpoint) Start(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	if e.closing.Load() {
		return ErrClosed
	}
	if err := e.validate(); err != nil {
		e.finish(err)
		return err
	}
	conn, err := e.newConn()
	if err != nil {
		err = fmt.Errorf("dtls: creating the %s connection: %w", e.cfg.Role, err)
		e.finish(err)
		return err
	}
	e.mu.Lock()
	if e.closing.Load() {
		e.mu.Unlock()
		_ = conn.Close()
		return ErrClosed
	}
	e.conn = conn
	e.mu.Unlock()

	hctx, cancel := context.WithTimeout(ctx, e.cfg.HandshakeTimeout)
	go e.run(ctx, hctx, cancel, conn)
	return nil
}

func (e *Endpoint) validate() error {
	c := &e.cfg
	switch {
	case c.Cert == nil:
		return fmt.Errorf("%w: no certificate", ErrConfig)
	case !c.Role.Valid():
		return fmt.Errorf("%w: role %v is neither active nor passive", ErrConfig, c.Role)
	case c.Send == nil:
		return fmt.Errorf("%w: no Send function", ErrConfig)
	case len(c.Profiles) == 0:
		return fmt.Errorf("%w: no SRTP profiles", ErrConfig)
	}
	for _, s := range c.Profiles {
		if !s.Valid() {
			return fmt.Errorf("%w: invalid SRTP suite %v", ErrConfig, s)
		}
	}
	if !c.InsecureSkipFingerprint {
		if len(c.RemoteFingerprints) == 0 {
			return ErrNoFingerprint
		}
		usable := false
		for _, fp := range c.RemoteFingerprints {
			if _, err := lookupHash(fp.Hash); err == nil {
				usable = true
			}
		}
		if !usable {
			return fmt.Errorf("%w: none of the %d remote fingerprints uses a supported hash function", ErrNoFingerprint, len(c.RemoteFingerprints))
		}
	}
	return nil
}

// newConn creates the pion/dtls connection over the packet transport.
func (e *Endpoint) newConn() (*piondtls.Conn, error) {
	c := &e.cfg
	profiles := make([]piondtls.SRTPProtectionProfile, len(c.Profiles))
	for i, s := range c.Profiles {
		profiles[i] = piondtls.SRTPProtectionProfile(s.Profile())
	}
	shared := []piondtls.Option{
		piondtls.WithCertificates(c.Cert.TLS()),
		piondtls.WithSRTPProtectionProfiles(profiles...),
		// The certificate is self-signed and authenticated by its SDP
		// fingerprint (RFC 8122), not by a CA chain.
		piondtls.WithInsecureSkipVerify(true),
		piondtls.WithVerifyPeerCertificate(e.verifyPeer),
		piondtls.WithExtendedMasterSecret(piondtls.RequestExtendedMasterSecret),
		piondtls.WithLoggerFactory(pionLogFactory{e.log}),
	}
	if c.RetransmitInterval > 0 {
		shared = append(shared, piondtls.WithFlightInterval(c.RetransmitInterval))
	}
	if c.MTU > 0 {
		shared = append(shared, piondtls.WithMTU(c.MTU))
	}
	if c.Role == Active {
		opts := make([]piondtls.ClientOption, 0, len(shared))
		for _, o := range shared {
			opts = append(opts, o)
		}
		return piondtls.ClientWithOptions(e.pc, peerAddr{}, opts...)
	}
	opts := make([]piondtls.ServerOption, 0, len(shared)+2)
	for _, o := range shared {
		opts = append(opts, o)
	}
	// RFC 5763 section 5: both sides present certificates, so the
	// server requests the client's; it is checked against the
	// fingerprint, not a CA (hence "any").
	opts = append(opts, piondtls.WithClientAuth(piondtls.RequireAnyClientCert))
	if c.SkipHelloVerify {
		opts = append(opts, piondtls.WithInsecureSkipVerifyHello(true))
	}
	return piondtls.ServerWithOptions(e.pc, peerAddr{}, opts...)
}

// verifyPeer is pion's VerifyPeerCertificate: it checks the peer's leaf
// certificate against the SDP fingerprints.
func (e *Endpoint) verifyPeer(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	if len(rawCerts) == 0 {
		err := errors.New("dtls: peer sent no certificate")
		e.mu.Lock()
		e.verifyErr = err
		e.mu.Unlock()
		return err
	}
	var err error
	if !e.cfg.InsecureSkipFingerprint {
		err = VerifyFingerprints(rawCerts[0], e.cfg.RemoteFingerprints)
	}
	e.mu.Lock()
	e.peerCert = rawCerts[0]
	e.verifyErr = err
	e.mu.Unlock()
	return err
}

// run is the handshake goroutine.
func (e *Endpoint) run(parent, hctx context.Context, cancel context.CancelFunc, conn *piondtls.Conn) {
	start := time.Now()
	err := conn.HandshakeContext(hctx)
	timedOut := errors.Is(hctx.Err(), context.DeadlineExceeded)
	cancel()
	var local, remote srtp.Params
	if err == nil {
		local, remote, err = e.exportKeys(conn)
	} else {
		err = e.classify(err, parent, timedOut, time.Since(start))
	}
	if err != nil {
		// pion leaves the connection to the caller after a failed
		// handshake: release it (and the transport).
		_ = conn.Close()
		e.pc.Close()
	}
	if e.closing.Load() && err != nil {
		e.finish(ErrClosed)
		return
	}
	if err == nil {
		e.mu.Lock()
		e.local, e.remote = local, remote
		e.mu.Unlock()
		e.keyed.Store(true)
	}
	e.finish(err)
	if err != nil {
		e.log.Info("dtls: handshake failed", "err", err, "after", time.Since(start).Round(time.Millisecond))
		if e.cfg.OnFailure != nil && !e.closing.Load() {
			e.cfg.OnFailure(err)
		}
		return
	}
	e.log.Info("dtls: handshake complete", "suite", local.Suite.String(), "after", time.Since(start).Round(time.Millisecond))
	if e.cfg.OnKeys != nil && !e.closing.Load() {
		e.cfg.OnKeys(cloneParams(local), cloneParams(remote))
	}
	e.drain(conn)
}

// drain reads and discards application data until the association ends.
func (e *Endpoint) drain(conn *piondtls.Conn) {
	buf := make([]byte, maxDatagram)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			e.appData.Add(1)
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
			errors.Is(err, piondtls.ErrConnClosed) || e.pcClosed() {
			if !e.closing.Load() {
				e.log.Debug("dtls: association ended by the peer", "err", err)
			}
			return
		}
		// A warning alert or a record pion could not use: the
		// association goes on, and pion's read loop, which answers
		// retransmitted flights, must not block on an unread error.
		e.log.Debug("dtls: read after handshake", "err", err)
	}
}

func (e *Endpoint) pcClosed() bool {
	select {
	case <-e.pc.closed:
		return true
	default:
		return false
	}
}

// classify turns a pion handshake error into one of ours.
func (e *Endpoint) classify(err error, parent context.Context, timedOut bool, after time.Duration) error {
	e.mu.Lock()
	verifyErr := e.verifyErr
	e.mu.Unlock()
	role := e.cfg.Role
	switch {
	case e.closing.Load():
		return ErrClosed
	case verifyErr != nil:
		return fmt.Errorf("%w (as %s)", verifyErr, role)
	}
	if isPeerAlert(err) {
		if a := e.lastAlertIn.Load(); a != 0 && uint8(a>>8) == uint8(alert.Fatal) {
			return fmt.Errorf("%w (as %s)", &AlertError{Level: uint8(a >> 8), Description: uint8(a)}, role)
		}
		// An encrypted alert: pion's error names it.
		return fmt.Errorf("%w (as %s): %w", ErrPeerAlert, role, err)
	}
	if timedOut || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w after %v as %s (%d datagrams received, %d sent)",
			ErrHandshakeTimeout, after.Round(time.Millisecond), role, e.delivered.Load(), e.sent.Load())
	}
	if parent.Err() != nil {
		return fmt.Errorf("dtls: handshake cancelled (as %s): %w", role, parent.Err())
	}
	return fmt.Errorf("dtls: handshake failed (as %s): %w", role, err)
}

// isPeerAlert reports whether err carries an alert that pion received
// (its alertError, which has IsFatalOrCloseNotify).
func isPeerAlert(err error) bool {
	var ae interface{ IsFatalOrCloseNotify() bool }
	return errors.As(err, &ae)
}

// exportKeys derives the SRTP master keys and salts (RFC 5764 section
// 4.2): the exporter's output is client key | server key | client salt |
// server salt.
func (e *Endpoint) exportKeys(conn *piondtls.Conn) (local, remote srtp.Params, err error) {
	prof, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return local, remote, fmt.Errorf("dtls: no SRTP protection profile negotiated (as %s)", e.cfg.Role)
	}
	suite, err := srtp.SuiteFromProfile(pionsrtp.ProtectionProfile(prof))
	if err != nil {
		return local, remote, fmt.Errorf("dtls: negotiated SRTP profile (as %s): %w", e.cfg.Role, err)
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return local, remote, fmt.Errorf("dtls: no connection state after the handshake (as %s)", e.cfg.Role)
	}
	kl, sl := suite.KeyLen(), suite.SaltLen()
	km, err := state.ExportKeyingMaterial(keyingLabel, nil, 2*(kl+sl))
	if err != nil {
		return local, remote, fmt.Errorf("dtls: exporting keying material (as %s): %w", e.cfg.Role, err)
	}
	client := srtp.Params{Suite: suite, MasterKey: km[:kl:kl], MasterSalt: km[2*kl : 2*kl+sl : 2*kl+sl]}
	server := srtp.Params{Suite: suite, MasterKey: km[kl : 2*kl : 2*kl], MasterSalt: km[2*kl+sl:]}
	if e.cfg.Role == Active {
		return client, server, nil
	}
	return server, client, nil
}

func (e *Endpoint) finish(err error) {
	e.doneOnce.Do(func() {
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
		close(e.done)
	})
}

// Done returns a channel that is closed when the handshake has ended:
// keyed, failed, or ended by Close.
func (e *Endpoint) Done() <-chan struct{} { return e.done }

// Err returns nil while the handshake runs and after it succeeded, and
// why it failed otherwise (ErrClosed if Close ended it).
func (e *Endpoint) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Keyed reports whether the handshake has completed and Keys are set.
func (e *Endpoint) Keyed() bool { return e.keyed.Load() }

// Keys returns the SRTP parameters once the handshake has completed (zero
// Params before): local is what we protect (encrypt) with, that is our
// role's write key and salt, and remote what we unprotect (decrypt) the
// peer's packets with. The key and salt slices are fresh copies.
func (e *Endpoint) Keys() (local, remote srtp.Params) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.local.Suite.Valid() {
		return srtp.Params{}, srtp.Params{}
	}
	return cloneParams(e.local), cloneParams(e.remote)
}

// Role returns the endpoint's configured role.
func (e *Endpoint) Role() Role { return e.cfg.Role }

// PeerCertificate returns the peer's DER certificate once it has been
// received (nil before).
func (e *Endpoint) PeerCertificate() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peerCert
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	return Stats{
		Delivered:        e.delivered.Load(),
		Dropped:          e.dropped.Load(),
		Invalid:          e.invalid.Load(),
		Sent:             e.sent.Load(),
		SendErrors:       e.sendErrors.Load(),
		AlertsReceived:   e.alertsIn.Load(),
		AlertsSent:       e.alertsOut.Load(),
		AppData:          e.appData.Load(),
		LateClientHellos: e.lateClientHellos.Load(),
	}
}

// Close ends the association: a handshake in progress stops (without
// OnFailure), a keyed association sends close_notify through Config.Send.
// Keys stay available. Close waits for the handshake goroutine to finish
// the handshake, not for an OnKeys or OnFailure call in progress, so it may
// be called from those callbacks; an OnKeys call racing with Close may
// still happen. Later calls do nothing.
func (e *Endpoint) Close() error {
	if e.closing.Swap(true) {
		<-e.done
		return nil
	}
	e.mu.Lock()
	conn := e.conn
	e.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	e.pc.Close()
	if !e.started.Load() || conn == nil {
		e.finish(ErrClosed)
	}
	<-e.done
	return nil
}

// cloneParams copies p with fresh key and salt slices.
func cloneParams(p srtp.Params) srtp.Params {
	p.MasterKey = append([]byte(nil), p.MasterKey...)
	p.MasterSalt = append([]byte(nil), p.MasterSalt...)
	p.MKI = append([]byte(nil), p.MKI...)
	if len(p.MKI) == 0 {
		p.MKI = nil
	}
	return p
}
