package srtp

import (
	"errors"
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pionsrtp "github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"
)

// Packet errors, usable with errors.Is. On any of them the packet is to be
// dropped; the buffer may have been partly rewritten.
var (
	// ErrAuth reports a packet whose authentication tag does not verify
	// (including an AEAD tag, and an MKI that names no key of the context).
	ErrAuth = errors.New("srtp: authentication failed")
	// ErrReplay reports a packet whose index was already accepted, or is
	// older than the replay window.
	ErrReplay = errors.New("srtp: replayed packet")
	// ErrMalformed reports a packet too short or otherwise not parseable as
	// the RTP or RTCP (SRTP or SRTCP) packet expected, or an n outside buf.
	ErrMalformed = errors.New("srtp: malformed packet")
	// ErrNoRoom reports that buf has no room after the packet for the
	// authentication tag (and MKI, SRTCP index) that protecting appends.
	ErrNoRoom = errors.New("srtp: no room in buffer for the tag")
)

// errUnknownMKI is ErrAuth with a reason, made once so that returning it
// does not allocate.
var errUnknownMKI = fmt.Errorf("%w: unknown MKI", ErrAuth)

// Replay window sizes, in packets.
const (
	// DefaultReplayWindow is the replay window used when
	// Params.ReplayWindow is 0: pion/srtp's default for its sessions.
	DefaultReplayWindow = 64
	// MaxReplayWindow is the largest replay window accepted (libsrtp's
	// limit).
	MaxReplayWindow = 1 << 15
	// MaxMKILen is the longest MKI accepted, in bytes (RFC 4568 section
	// 6.1: the MKI length is 1 to 128).
	MaxMKILen = 128
)

// Params are the keying material and options of one SRTP crypto context:
// what one a=crypto line (RFC 4568) or one side of a DTLS-SRTP handshake
// (RFC 5764) supplies for one direction of one stream.
type Params struct {
	// Suite is the crypto suite.
	Suite Suite
	// MasterKey and MasterSalt are the suite's master key and salt, of
	// Suite.KeyLen() and Suite.SaltLen() bytes.
	MasterKey, MasterSalt []byte
	// MKI is the master key identifier sent in (and expected in) every
	// packet, or empty for none (RFC 3711 section 3.1; at most MaxMKILen
	// bytes).
	MKI []byte
	// UnencryptedSRTP leaves RTP payloads in the clear (RFC 4568
	// UNENCRYPTED_SRTP); they are still authenticated.
	UnencryptedSRTP bool
	// UnencryptedSRTCP sends RTCP in the clear with the E flag clear (RFC
	// 4568 UNENCRYPTED_SRTCP). Unprotecting follows each packet's E flag.
	UnencryptedSRTCP bool
	// UnauthenticatedSRTP sends and expects SRTP packets without an
	// authentication tag (RFC 4568 UNAUTHENTICATED_SRTP). SRTCP stays
	// authenticated. Not allowed with the AEAD suites, whose tag is part of
	// the cipher (RFC 7714 section 12).
	UnauthenticatedSRTP bool
	// ReplayWindow is the size of the replay window kept per SSRC for
	// unprotecting, in packets: 0 for DefaultReplayWindow, negative to
	// disable replay protection, at most MaxReplayWindow.
	ReplayWindow int
}

// Context is the SRTP and SRTCP crypto context of one direction of one
// stream: the master key of one sender, and the per-SSRC rollover counters,
// SRTCP indexes and replay windows that go with it.
//
// It transforms packets in place in a caller-owned buffer and does not
// allocate for a packet of an SSRC it has seen before (see the package
// documentation for the exceptions). Protecting and unprotecting keep
// separate state (pion/srtp contexts are one-way), so one Context can do
// both, but normally a Context built from a remote party's key only
// unprotects and one built from a local key only protects.
//
// A Context is not safe for concurrent use.
type Context struct {
	params Params
	tx, rx *pionsrtp.Context

	// Headers parsed into on every call, reused so that parsing does not
	// allocate.
	txRTP, rxRTP   rtp.Header
	txRTCP, rxRTCP rtcp.Header

	rtpOverhead, rtcpOverhead int

	// replayed is set by the replay detectors of rx when they reject an
	// index, so that the rejection can be told from other errors.
	replayed bool
}

// Direction says which transforms a Context can do.
type Direction uint8

const (
	// Both protects and unprotects.
	Both Direction = iota
	// ProtectOnly only protects (encrypts what is sent): half the state.
	ProtectOnly
	// UnprotectOnly only unprotects (decrypts what is received).
	UnprotectOnly
)

// ErrDirection is returned by a transform the Context was not made for.
var ErrDirection = errors.New("srtp: context not made for this direction")

// NewContext returns a context for p that protects and unprotects. It
// checks the key and salt lengths against the suite, and refuses options
// that cannot be combined with it. The key material is copied.
func NewContext(p Params) (*Context, error) { return NewContextFor(p, Both) }

// NewContextFor is NewContext for the transforms of one direction only,
// which keeps half the state: a relay's stream only ever decrypts what its
// leg sends, or only encrypts what goes to it.
func NewContextFor(p Params, d Direction) (*Context, error) {
	if !p.Suite.Valid() {
		return nil, fmt.Errorf("%w: %v", ErrUnknownSuite, p.Suite)
	}
	if len(p.MasterKey) != p.Suite.KeyLen() {
		return nil, fmt.Errorf("srtp: %v master key is %d bytes, want %d", p.Suite, len(p.MasterKey), p.Suite.KeyLen())
	}
	if len(p.MasterSalt) != p.Suite.SaltLen() {
		return nil, fmt.Errorf("srtp: %v master salt is %d bytes, want %d", p.Suite, len(p.MasterSalt), p.Suite.SaltLen())
	}
	if len(p.MKI) > MaxMKILen {
		return nil, fmt.Errorf("srtp: MKI is %d bytes, at most %d allowed", len(p.MKI), MaxMKILen)
	}
	if p.UnauthenticatedSRTP && p.Suite.AEAD() {
		return nil, fmt.Errorf("srtp: UNAUTHENTICATED_SRTP cannot be used with %v", p.Suite)
	}
	window := p.ReplayWindow
	if window == 0 {
		window = DefaultReplayWindow
	}
	if window > MaxReplayWindow {
		return nil, fmt.Errorf("srtp: replay window %d larger than %d", window, MaxReplayWindow)
	}

	c := &Context{params: p}
	c.params.MasterKey = append([]byte(nil), p.MasterKey...)
	c.params.MasterSalt = append([]byte(nil), p.MasterSalt...)
	c.params.MKI = append([]byte(nil), p.MKI...)

	opts := c.options()
	var err error
	if d != UnprotectOnly {
		if c.tx, err = pionsrtp.CreateContext(c.params.MasterKey, c.params.MasterSalt, p.Suite.Profile(), opts...); err != nil {
			return nil, fmt.Errorf("srtp: %w", err)
		}
	}
	if window > 0 {
		opts = append(opts,
			pionsrtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
				return newReplayDetector(uint(window), 1<<48-1, &c.replayed)
			}),
			pionsrtp.SRTCPReplayDetectorFactory(func() replaydetector.ReplayDetector {
				return newReplayDetector(uint(window), 1<<31-1, &c.replayed)
			}),
		)
	}
	if d != ProtectOnly {
		if c.rx, err = pionsrtp.CreateContext(c.params.MasterKey, c.params.MasterSalt, p.Suite.Profile(), opts...); err != nil {
			return nil, fmt.Errorf("srtp: %w", err)
		}
	}

	c.rtpOverhead = len(p.MKI)
	if !p.UnauthenticatedSRTP {
		c.rtpOverhead += p.Suite.RTPTagLen()
	}
	c.rtcpOverhead = 4 + len(p.MKI) + p.Suite.RTCPTagLen()
	// Room for the CSRCs and header extension elements of most packets,
	// so that parsing headers does not allocate.
	for _, h := range []*rtp.Header{&c.txRTP, &c.rxRTP} {
		if h == &c.txRTP && c.tx == nil || h == &c.rxRTP && c.rx == nil {
			continue
		}
		h.CSRC = make([]uint32, 0, 15)
		h.Extensions = make([]rtp.Extension, 0, 16)
	}
	return c, nil
}

// options returns the pion options common to both directions.
func (c *Context) options() []pionsrtp.ContextOption {
	var opts []pionsrtp.ContextOption
	if len(c.params.MKI) > 0 {
		opts = append(opts, pionsrtp.MasterKeyIndicator(c.params.MKI))
	}
	if c.params.UnencryptedSRTP {
		opts = append(opts, pionsrtp.SRTPNoEncryption())
	}
	if c.params.UnencryptedSRTCP {
		opts = append(opts, pionsrtp.SRTCPNoEncryption())
	}
	if c.params.UnauthenticatedSRTP {
		opts = append(opts, pionsrtp.SRTPAuthenticationTagLength(0))
	}
	return opts
}

// Suite returns the context's crypto suite.
func (c *Context) Suite() Suite { return c.params.Suite }

// RTPOverhead returns how many bytes ProtectRTP adds to a packet (the
// tag and MKI), which is also how many UnprotectRTP removes.
func (c *Context) RTPOverhead() int { return c.rtpOverhead }

// RTCPOverhead returns how many bytes ProtectRTCP adds to a packet (the E
// flag and SRTCP index, the MKI and the tag), which is also how many
// UnprotectRTCP removes.
func (c *Context) RTCPOverhead() int { return c.rtcpOverhead }

// ROC returns the rollover counter of ssrc as last used for protecting
// (sending), and whether ssrc has been seen.
func (c *Context) ROC(ssrc uint32) (uint32, bool) {
	if c.tx == nil {
		return 0, false
	}
	return c.tx.ROC(ssrc)
}

// ProtectRTP turns the RTP packet in buf[:n] into an SRTP packet in place:
// it encrypts the payload and appends the MKI and authentication tag, and
// returns the new length. It writes only within buf[:len(buf)]; if buf has
// fewer than RTPOverhead() bytes after the packet it returns ErrNoRoom and
// leaves buf unchanged.
func (c *Context) ProtectRTP(buf []byte, n int) (int, error) {
	if c.tx == nil {
		return 0, ErrDirection
	}
	if n < 0 || n > len(buf) {
		return 0, ErrMalformed
	}
	if _, ok := rtpHeaderLen(buf[:n]); !ok {
		return 0, ErrMalformed
	}
	if len(buf)-n < c.rtpOverhead {
		return 0, ErrNoRoom
	}
	out, err := c.tx.EncryptRTP(buf[:0:len(buf)], buf[:n], &c.txRTP)
	if err != nil {
		return 0, c.packetError(err)
	}
	return c.result(buf, out)
}

// UnprotectRTP turns the SRTP packet in buf[:n] into an RTP packet in
// place: it checks the replay window and the authentication tag, decrypts
// the payload, and returns the length without MKI and tag. It writes only
// within buf[:n]. Errors wrap ErrAuth, ErrReplay or ErrMalformed.
func (c *Context) UnprotectRTP(buf []byte, n int) (int, error) {
	if c.rx == nil {
		return 0, ErrDirection
	}
	if n < 0 || n > len(buf) {
		return 0, ErrMalformed
	}
	hl, ok := rtpHeaderLen(buf[:n])
	if !ok || n-hl < c.rtpOverhead {
		return 0, ErrMalformed
	}
	c.replayed = false
	out, err := c.rx.DecryptRTP(buf[:0:n], buf[:n:n], &c.rxRTP)
	if err != nil {
		return 0, c.packetError(err)
	}
	return c.result(buf, out)
}

// ProtectRTCP turns the (compound) RTCP packet in buf[:n] into an SRTCP
// packet in place: it encrypts all but the first 8 bytes (unless
// UnencryptedSRTCP), appends the E flag and the sender's next SRTCP index,
// the MKI and the authentication tag, and returns the new length. It writes
// only within buf[:len(buf)]; if buf has fewer than RTCPOverhead() bytes
// after the packet it returns ErrNoRoom and leaves buf unchanged.
func (c *Context) ProtectRTCP(buf []byte, n int) (int, error) {
	if c.tx == nil {
		return 0, ErrDirection
	}
	if n < 0 || n > len(buf) {
		return 0, ErrMalformed
	}
	if !rtcpHeaderOK(buf[:n]) {
		return 0, ErrMalformed
	}
	if len(buf)-n < c.rtcpOverhead {
		return 0, ErrNoRoom
	}
	out, err := c.tx.EncryptRTCP(buf[:0:len(buf)], buf[:n], &c.txRTCP)
	if err != nil {
		return 0, c.packetError(err)
	}
	return c.result(buf, out)
}

// UnprotectRTCP turns the SRTCP packet in buf[:n] into an RTCP packet in
// place: it checks the replay window (by SRTCP index) and the
// authentication tag, decrypts the packet if its E flag is set, and returns
// the length without the SRTCP trailer. It writes only within buf[:n].
// Errors wrap ErrAuth, ErrReplay or ErrMalformed.
func (c *Context) UnprotectRTCP(buf []byte, n int) (int, error) {
	if c.rx == nil {
		return 0, ErrDirection
	}
	if n < 0 || n > len(buf) {
		return 0, ErrMalformed
	}
	if !rtcpHeaderOK(buf[:n]) || n-8 < c.rtcpOverhead {
		return 0, ErrMalformed
	}
	c.replayed = false
	out, err := c.rx.DecryptRTCP(buf[:0:n], buf[:n:n], &c.rxRTCP)
	if err != nil {
		return 0, c.packetError(err)
	}
	return c.result(buf, out)
}

// result checks that pion wrote its output into buf, as it does when the
// destination has the capacity, and returns the length.
func (c *Context) result(buf, out []byte) (int, error) {
	if len(out) == 0 || len(out) > len(buf) {
		return 0, ErrMalformed
	}
	if &out[0] != &buf[0] {
		// pion reallocated: not expected, since the capacity was checked.
		copy(buf, out)
	}
	return len(out), nil
}

// packetError maps an error of pion to this package's errors.
func (c *Context) packetError(err error) error {
	replayed := c.replayed
	c.replayed = false
	switch {
	case replayed:
		return ErrReplay
	case errors.Is(err, pionsrtp.ErrFailedToVerifyAuthTag):
		return ErrAuth
	case errors.Is(err, pionsrtp.ErrMKINotFound):
		return errUnknownMKI
	default:
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
}

// rtpHeaderLen returns the length of the RTP header at the start of b
// (fixed header, CSRCs and header extension, RFC 3550 section 5.3.1), and
// false if b is not an RTP version 2 packet or is shorter than its header.
func rtpHeaderLen(b []byte) (int, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, false
	}
	n := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return 0, false
		}
		n += 4 + 4*(int(b[n+2])<<8|int(b[n+3]))
	}
	if len(b) < n {
		return 0, false
	}
	return n, true
}

// rtcpHeaderOK reports whether b starts with an RTCP version 2 header and
// the sender's SSRC (RFC 3550 section 6.4).
func rtcpHeaderOK(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2
}

// replayDetector is pion's sliding window, with a note to the context when
// it rejects an index. It implements replaydetector.CheckAccepter, which
// pion uses without allocating.
type replayDetector struct {
	window   replaydetector.ReplayDetector
	accepter replaydetector.CheckAccepter
	rejected *bool
}

func newReplayDetector(window uint, maxSeq uint64, rejected *bool) *replayDetector {
	w := replaydetector.New(window, maxSeq)
	a, _ := w.(replaydetector.CheckAccepter)
	return &replayDetector{window: w, accepter: a, rejected: rejected}
}

// Check implements replaydetector.ReplayDetector.
func (d *replayDetector) Check(seq uint64) (func() bool, bool) {
	accept, ok := d.window.Check(seq)
	if !ok {
		*d.rejected = true
	}
	return accept, ok
}

// CheckSeq implements replaydetector.CheckAccepter.
func (d *replayDetector) CheckSeq(seq uint64) replaydetector.Token {
	tok := d.accepter.CheckSeq(seq)
	if !tok.Passed() {
		*d.rejected = true
	}
	return tok
}

// Accept implements replaydetector.CheckAccepter.
func (d *replayDetector) Accept(tok replaydetector.Token) bool {
	return d.accepter.Accept(tok)
}
