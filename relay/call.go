package relay

import (
	"fmt"
	"log/slog"

	"github.com/ngrelay/ngrelay/crypto/srtp"
	"net/netip"
	"sync"
	"time"
)

// Call is one SIP Call-ID: its legs and their media. All fields and methods
// of a Call, its Legs and Medias belong to the control plane and are used
// with the call locked (Lock/Unlock); the data plane sees only the streams'
// published forwarding records.
type Call struct {
	ID      string
	Created time.Time
	// LastSignal is the time of the last offer or answer.
	LastSignal time.Time
	// Log carries the call-id on every line.
	Log *slog.Logger

	mu     sync.Mutex
	engine *Engine
	legs   []*Leg
	// deleteAt is when a delayed delete destroys the call; zero if none.
	deleteAt time.Time
	// answered is set once an answer was seen (offer-timeout no longer applies).
	answered bool
	gone     bool
	done     chan struct{}
}

// Done is closed when the call is destroyed; goroutines serving the call
// (ICE, DTLS) end with it.
func (c *Call) Done() <-chan struct{} { return c.done }

// Lock locks the call for the control plane.
func (c *Call) Lock() { c.mu.Lock() }

// Unlock unlocks the call.
func (c *Call) Unlock() { c.mu.Unlock() }

// Gone reports whether the call was destroyed (a caller that looked it up
// before taking the lock must then treat it as unknown).
func (c *Call) Gone() bool { return c.gone }

// Legs returns the call's legs in creation order.
func (c *Call) Legs() []*Leg { return c.legs }

// Leg returns the leg with the given tag, or nil.
func (c *Call) Leg(tag string) *Leg {
	for _, l := range c.legs {
		if l.Tag == tag {
			return l
		}
	}
	return nil
}

// UntaggedPeer returns the leg created by an offer from `of` that has not
// yet been tagged by an answer, for via-branch branch ("" matches any).
func (c *Call) UntaggedPeer(of *Leg, branch string) *Leg {
	for _, l := range c.legs {
		if l.Tag == "" && l.offerer == of && (branch == "" || l.Branch == branch) {
			return l
		}
	}
	return nil
}

// NewLeg adds a leg with the given tag ("" for the answering side of an
// offer, until its answer names it) and via-branch.
func (c *Call) NewLeg(tag, branch string) *Leg {
	l := &Leg{Tag: tag, Branch: branch, Created: time.Now(), call: c}
	c.legs = append(c.legs, l)
	return l
}

// MarkAnswered records that the call got an answer.
func (c *Call) MarkAnswered() { c.answered = true }

// ScheduleDelete destroys the call after delay (now when delay <= 0).
func (c *Call) ScheduleDelete(delay time.Duration) {
	if delay <= 0 {
		c.engine.destroy(c, "delete")
		return
	}
	c.deleteAt = time.Now().Add(delay)
}

// Terminate ends the call now on an operator's order and counts it as a
// forced termination. It returns false when the call had already ended.
func (c *Call) Terminate() bool {
	if c.gone {
		return false
	}
	c.engine.totals.ForcedTerminations.Add(1)
	c.engine.destroy(c, "terminated by operator")
	return true
}

// CancelDelete undoes a delayed delete (a new offer on the call).
func (c *Call) CancelDelete() { c.deleteAt = time.Time{} }

// DeleteLeg removes one leg and frees its ports; legs that talked to it
// lose their sink.
func (c *Call) DeleteLeg(l *Leg) {
	for i, x := range c.legs {
		if x == l {
			c.legs = append(c.legs[:i], c.legs[i+1:]...)
			break
		}
	}
	for _, x := range c.legs {
		if x.Peer == l {
			x.Peer = nil
		}
		if x.offerer == l {
			x.offerer = nil
		}
	}
	l.release(c.engine)
	c.Publish()
}

// Publish rebuilds and publishes the forwarding record of every stream of
// the call. Call it after any change of legs, peers, endpoints or options.
func (c *Call) Publish() {
	for _, l := range c.legs {
		for i, m := range l.Medias {
			var peerMedia *Media
			if l.Peer != nil && i < len(l.Peer.Medias) {
				peerMedia = l.Peer.Medias[i]
			}
			m.publish(l.Opts, peerMedia)
		}
	}
}

// Leg is one party of a call (rtpengine: monologue), keyed by its SIP tag.
type Leg struct {
	Tag     string
	Branch  string
	Label   string
	Created time.Time
	// Peer is the leg this one talks to: media received from this leg is
	// sent to Peer.
	Peer *Leg
	// Opts are the forwarding options that apply to media received from
	// this leg.
	Opts   LegOptions
	Medias []*Media
	// Sent remembers the SDP last sent to this leg, for the replace
	// options that keep o= and s= consistent across re-INVITEs.
	Sent SentSDP

	call    *Call
	offerer *Leg // for an answering-side leg: the leg whose offer created it
}

// SetOfferer records that an offer from o created this leg.
func (l *Leg) SetOfferer(o *Leg) { l.offerer = o }

// SentSDP is what the control plane last sent to a leg.
type SentSDP struct {
	Seen        bool
	Username    string
	SessionName string
	Version     uint64
	// Body is the SDP without its o= line, to tell whether it changed.
	Body string
}

// LegOptions control how media received from a leg is handled.
type LegOptions struct {
	Latch         Latching
	StrictSource  bool
	MediaHandover bool
}

// Media returns media i (0-based m-line index) of the leg, creating empty
// ones up to i.
func (l *Leg) Media(i int) *Media {
	for len(l.Medias) <= i {
		l.Medias = append(l.Medias, &Media{Index: len(l.Medias) + 1, leg: l})
	}
	return l.Medias[i]
}

// TrimMedias drops media past n (an m-line removed by a re-INVITE).
func (l *Leg) TrimMedias(n int) {
	if len(l.Medias) <= n {
		return
	}
	for _, m := range l.Medias[n:] {
		m.release(l.call.engine)
	}
	l.Medias = l.Medias[:n]
}

func (l *Leg) release(e *Engine) {
	for _, m := range l.Medias {
		m.release(e)
	}
}

// Media is one m= line of a leg.
type Media struct {
	Index     int // 1-based, as in rtpengine's replies
	Type      string
	Proto     string
	Direction string
	// RTCPMux is set when RTCP shares the RTP port.
	RTCPMux bool
	// RawUDP is set for media that is not RTP (T.38 over UDPTL, SCTP
	// over DTLS, ...): its datagrams are relayed without RTP checks.
	RawUDP bool
	// DTLS is set when the media's profile runs over DTLS (UDP/TLS/...):
	// DTLS records are relayed too.
	DTLS bool
	// RTP and RTCP are the local streams advertised to this leg; RTCP is
	// nil when none was allocated. Both nil for a rejected m-line.
	RTP, RTCP *Stream
	// Endpoint and RTCPEndpoint are where the leg's SDP says it receives.
	Endpoint, RTCPEndpoint netip.AddrPort
	// Control, when set, receives the STUN and DTLS packets arriving on
	// the media's streams (a WebRTC leg's ICE and DTLS-SRTP).
	Control chan<- ControlPacket
	// Signalling is the control plane's own state of the media (package
	// ng keeps its SDES negotiation there); relay never looks at it.
	Signalling any
	// SRTPIn keys the SRTP and SRTCP this leg sends (we decrypt it);
	// SRTPOut keys what we send to this leg (we encrypt it). nil: plain.
	SRTPIn, SRTPOut *srtp.Params

	leg *Leg
}

// Local returns the interface address the media's streams are bound on, or
// nil when it has none.
func (m *Media) Local() *LocalAddr {
	if m.RTP == nil {
		return nil
	}
	return m.RTP.local
}

// Allocate makes sure the media has an RTP and an RTCP stream bound on
// local. Streams already bound there are kept (a re-INVITE keeps its
// ports); streams on another address are replaced.
func (m *Media) Allocate(local *LocalAddr) error {
	if m.RTP != nil && m.RTP.local == local {
		return nil
	}
	e := m.leg.call.engine
	rtp, rtcp, err := e.allocPair(local)
	if err != nil {
		return err
	}
	m.release(e)
	rtp.media, rtcp.media = m, m
	m.RTP, m.RTCP = rtp, rtcp
	return nil
}

// SetTOS sets the IP TOS (traffic class for IPv6) of the media's packets,
// the NG "TOS" key.
func (m *Media) SetTOS(tos int) error {
	for _, s := range []*Stream{m.RTP, m.RTCP} {
		if s != nil {
			if err := setTOSFd(s.fd, s.local.Addr.Is4(), tos); err != nil {
				return fmt.Errorf("set TOS on port %d: %w", s.port, err)
			}
		}
	}
	return nil
}

// Release frees the media's ports (a rejected m-line).
func (m *Media) Release() { m.release(m.leg.call.engine) }

func (m *Media) release(e *Engine) {
	if m.RTP != nil {
		e.freePair(m.RTP, m.RTCP)
	}
	m.RTP, m.RTCP = nil, nil
}

// SetEndpoints records where the leg receives RTP and RTCP, from its SDP.
// An invalid or unspecified address (hold) leaves media to the leg with no
// destination until one is learned.
func (m *Media) SetEndpoints(rtp, rtcp netip.AddrPort) {
	m.Endpoint, m.RTCPEndpoint = rtp, rtcp
	if m.RTP != nil {
		m.RTP.setPeer(rtp)
	}
	if m.RTCP != nil {
		m.RTCP.setPeer(rtcp)
	}
}

// publish stores fresh forwarding records for the media's streams, sending
// to the peer media's streams.
func (m *Media) publish(o LegOptions, peer *Media) {
	for _, s := range []*Stream{m.RTP, m.RTCP} {
		if s == nil {
			continue
		}
		rec := &forwarding{latch: o.Latch, strictSource: o.StrictSource, handover: o.MediaHandover, raw: m.RawUDP, dtls: m.DTLS || peer != nil && peer.DTLS}
		rec.ctl = m.Control
		var out *srtp.Params
		if peer != nil {
			out = peer.SRTPOut
			switch {
			case s.kind == KindRTP:
				rec.sink = peer.RTP
				// RTCP muxed on this RTP port goes to a non-muxing
				// peer's RTCP port (rtcp-mux demux).
				if !peer.RTCPMux && peer.RTCP != nil {
					rec.rtcpSink = peer.RTCP
				}
			case peer.RTCPMux || peer.RTCP == nil:
				rec.sink = peer.RTP // muxed towards the peer
			default:
				rec.sink = peer.RTCP
			}
		}
		var okIn, okOut bool
		rec.unprotect, okIn = s.inCtx.ensure(m.SRTPIn, m.leg.call.Log)
		rec.protect, okOut = s.outCtx.ensure(out, m.leg.call.Log)
		if !okIn || !okOut {
			rec.sink, rec.rtcpSink = nil, nil
		}
		s.fwd.Store(rec)
	}
}

func (c *Call) String() string { return fmt.Sprintf("call %q", c.ID) }
