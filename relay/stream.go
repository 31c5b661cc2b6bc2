package relay

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// StreamKind says whether a stream carries RTP or RTCP.
type StreamKind uint8

// Stream kinds.
const (
	KindRTP StreamKind = iota
	KindRTCP
)

func (k StreamKind) String() string {
	if k == KindRTCP {
		return "RTCP"
	}
	return "RTP"
}

// Counters count what a stream received. They are written by the data plane
// and read by the control plane, both without locks.
type Counters struct {
	Packets atomic.Uint64
	Bytes   atomic.Uint64
	Errors  atomic.Uint64
}

// Latching says how a stream learns its peer's address from media.
type Latching uint8

// Latching modes, rtpengine's flags.
const (
	// LatchSymmetric learns the peer from the first packet received and
	// sends there (rtpengine's default, "symmetric").
	LatchSymmetric Latching = iota
	// LatchAsymmetric never learns: media goes to the address from SDP
	// ("asymmetric").
	LatchAsymmetric
)

// forwarding is the immutable forwarding record of a stream: everything the
// data plane needs to move a packet received on the stream. The control
// plane builds a new one and publishes it with one atomic store.
type forwarding struct {
	// sink is the stream on the other leg that packets leave from, or nil
	// when there is nowhere to send yet (offer not answered).
	sink *Stream
	// rtcpSink, when set, is where RTCP multiplexed on an RTP port leaves
	// from instead of sink (the peer does not multiplex).
	rtcpSink *Stream
	// latch is how the peer endpoint is learned.
	latch Latching
	// strictSource drops packets whose source is not the peer endpoint
	// once it is known ("strict-source").
	strictSource bool
	// handover lets a confirmed peer move to a new source address
	// ("media-handover").
	handover bool
	// raw relays any datagram: the media is not RTP.
	raw bool
	// dtls relays DTLS records too: the media's profile is DTLS-SRTP.
	dtls bool
	// ctl, when set, receives the STUN packets (and, with ctlDTLS, the
	// DTLS records) that arrive on the stream; they are not forwarded.
	ctl chan<- ControlPacket
	// ctlDTLS sends DTLS records to ctl too (ngrelay terminates DTLS).
	ctlDTLS bool
	// unprotect decrypts SRTP/SRTCP received from the leg (nil: plain);
	// protect encrypts what is sent to the sink's leg (nil: plain). Each
	// context belongs to this one stream, so only its worker uses it.
	unprotect, protect *srtp.Context
	// bundle, when set, sorts RTP and RTCP arriving on a bundle transport
	// into the routes of its m-lines; sink, rtcpSink and protect are then
	// those of the first route.
	bundle *bundleDemux
	// sinkRoute is 1 + the route of this stream's m-line in its sink's
	// bundle (0: the sink is no bundle): the SSRCs it sends are noted
	// there for the browser's RTCP about them.
	sinkRoute int
}

// Stream is one local port bound on one interface address: the port that
// was advertised to one leg, on which that leg's media arrives and from
// which media to that leg leaves.
type Stream struct {
	local *LocalAddr
	port  int
	kind  StreamKind
	fd    int    // non-blocking UDP socket, driven by the data plane
	media *Media // owner; read by the control plane only

	// slot and worker are the stream's place in the data plane.
	slot   uint32
	worker *worker

	fwd       atomic.Pointer[forwarding]
	peer      atomic.Pointer[netip.AddrPort] // where media to this leg goes
	confirmed atomic.Bool                    // peer learned from media
	closed    atomic.Bool
	// muted stops RTP from the peer leg from being sent out of this
	// stream (a prompt plays to the leg meanwhile; see player.go).
	muted atomic.Bool

	// inCtx and outCtx hold the SRTP contexts of the stream's forwarding
	// record (control plane only: the record carries the pointers).
	inCtx, outCtx srtpSlot
	// bundleOut holds the SRTP contexts of a bundle transport's further
	// routes (control plane only, like outCtx).
	bundleOut []srtpSlot
	// learned maps the SSRCs seen with a MID to bundle routes (data
	// plane: the stream's worker only).
	learned ssrcLearner
	// sent maps the SSRCs sent out of this bundle transport to routes
	// (written by the other leg's workers).
	sent sentSSRCs

	// errReported and errReportedAt rate-limit the control plane's
	// warnings about this stream's errors (control plane only).
	errReported   uint64
	errReportedAt time.Time

	// Stats counts packets received on this stream.
	Stats      Counters
	lastPacket atomic.Int64  // unix nanoseconds of the last packet received
	sendErrors atomic.Uint64 // sends from this stream that failed
}

// LocalPort returns the stream's bound port.
func (s *Stream) LocalPort() int { return s.port }

// Local returns the stream's interface address.
func (s *Stream) Local() *LocalAddr { return s.local }

// Kind reports RTP or RTCP.
func (s *Stream) Kind() StreamKind { return s.kind }

// Peer returns where media to this stream's leg is sent, and whether the
// address was learned from received media.
func (s *Stream) Peer() (netip.AddrPort, bool) {
	p := s.peer.Load()
	if p == nil {
		return netip.AddrPort{}, false
	}
	return *p, s.confirmed.Load()
}

// LastPacket returns the unix time in nanoseconds of the last packet
// received (or of the stream's creation).
func (s *Stream) LastPacket() int64 { return s.lastPacket.Load() }

// setPeer sets the endpoint announced in SDP. A change of address undoes
// what latching learned, as a re-INVITE to a new address must.
func (s *Stream) setPeer(ap netip.AddrPort) {
	old := s.peer.Load()
	if old != nil && *old == ap {
		return
	}
	if !ap.IsValid() || ap.Port() == 0 || ap.Addr().IsUnspecified() {
		s.peer.Store(nil)
	} else {
		s.peer.Store(&ap)
	}
	s.confirmed.Store(false)
}
