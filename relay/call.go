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
			if m.Bundle == nil {
				m.publish(l, peerMedia)
			}
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
	// Control, when set, receives the STUN packets arriving on the
	// media's streams (ngrelay's ICE with the leg), and its DTLS records
	// when ControlDTLS is set.
	Control chan<- ControlPacket
	// ControlDTLS sends DTLS records to Control too (ngrelay terminates
	// the leg's DTLS); otherwise they are relayed like media.
	ControlDTLS bool
	// Signalling is the control plane's own state of the media (package
	// ng keeps its SDES negotiation there); relay never looks at it.
	Signalling any
	// SRTPIn keys the SRTP and SRTCP this leg sends (we decrypt it);
	// SRTPOut keys what we send to this leg (we encrypt it). nil: plain.
	SRTPIn, SRTPOut *srtp.Params
	// AwaitKeys says that the media's SRTP keys come from a DTLS
	// handshake ngrelay terminates: until SRTPIn and SRTPOut are set,
	// media from and to the leg is dropped rather than relayed in the
	// clear or undecrypted.
	AwaitKeys bool
	// Bundle, when set, is the media of the same leg whose transport this
	// one shares (BUNDLE, RFC 8843): this media has no streams of its own;
	// its packets arrive on and leave from Bundle's streams, under
	// Bundle's SRTP keys and Control.
	Bundle *Media
	// Demux describes the media's packets on a bundle transport (the
	// transport media's own m-line included).
	Demux Demux
	// MIDExtension is the RTP header extension id that carries the MID on
	// this transport media's bundle (0: none negotiated).
	MIDExtension uint8

	leg *Leg
}

// Transport returns the media whose streams carry this media's packets:
// its bundle transport, or the media itself.
func (m *Media) Transport() *Media {
	if m.Bundle != nil {
		return m.Bundle
	}
	return m
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
// to the peer media's streams. A bundle transport's RTP stream gets one
// route per m-line of its bundle.
func (m *Media) publish(l *Leg, peer *Media) {
	o := l.Opts
	log := l.call.Log
	var members []*Media // the bundle's m-lines, this one first
	for _, x := range l.Medias {
		if x.Bundle == m {
			if members == nil {
				members = []*Media{m}
			}
			members = append(members, x)
		}
	}
	for _, s := range []*Stream{m.RTP, m.RTCP} {
		if s == nil {
			continue
		}
		rec := &forwarding{latch: o.Latch, strictSource: o.StrictSource, handover: o.MediaHandover, raw: m.RawUDP, dtls: m.DTLS || peer != nil && peer.DTLS}
		rec.ctl, rec.ctlDTLS = m.Control, m.ControlDTLS
		var okIn bool
		rec.unprotect, okIn = s.inCtx.ensure(m.SRTPIn, srtp.UnprotectOnly, log)
		rt, okOut := routeTo(s, m, peer, &s.outCtx, log)
		rec.sink, rec.rtcpSink, rec.protect = rt.sink, rt.rtcpSink, rt.protect
		rec.sinkRoute = bundleRouteOf(peer)
		if members != nil && s.kind == KindRTP {
			b := &bundleDemux{midExt: m.MIDExtension, routes: make([]bundleRoute, len(members)), mids: make([]string, len(members))}
			for len(s.bundleOut) < len(members)-1 {
				s.bundleOut = append(s.bundleOut, srtpSlot{})
			}
			for i, x := range members {
				var p *Media
				if l.Peer != nil && x.Index-1 < len(l.Peer.Medias) {
					p = l.Peer.Medias[x.Index-1]
				}
				slot := &s.outCtx
				if i > 0 {
					slot = &s.bundleOut[i-1]
				}
				r, ok := routeTo(s, x, p, slot, log)
				okOut = okOut && ok
				b.routes[i] = r
				b.mids[i] = x.Demux.MID
				for _, pt := range x.Demux.PayloadTypes {
					if pt < 128 && b.pt[pt] == 0 {
						b.pt[pt] = uint8(i + 1)
					}
				}
				for _, ssrc := range x.Demux.SSRCs {
					b.ssrcs = append(b.ssrcs, ssrcRoute{ssrc, i})
				}
			}
			rec.bundle = b
		}
		if !okIn || !okOut || m.AwaitKeys && m.SRTPIn == nil {
			rec.sink, rec.rtcpSink, rec.bundle = nil, nil, nil
		}
		s.fwd.Store(rec)
	}
}

// bundleRouteOf returns 1 + the route of media m in its bundle transport's
// demultiplexer (the transport's own m-line first, then the others in
// m-line order), or 0 when m is not bundled.
func bundleRouteOf(m *Media) int {
	if m == nil {
		return 0
	}
	t := m.Transport()
	route, members := 0, 0
	for _, x := range t.leg.Medias {
		if x.Bundle == t {
			members++
			if x == m {
				route = members
			}
		}
	}
	if members == 0 {
		return 0
	}
	return route + 1
}

// routeTo works out where packets of media m received on stream s go: the
// peer media's transport streams, encrypted with the peer's keys in the
// context kept in slot.
func routeTo(s *Stream, m, peer *Media, slot *srtpSlot, log *slog.Logger) (bundleRoute, bool) {
	var r bundleRoute
	var out *srtp.Params
	if peer != nil {
		pt := peer.Transport()
		out = pt.SRTPOut
		switch {
		case s.kind == KindRTP:
			r.sink = pt.RTP
			// RTCP muxed on this RTP port goes to a non-muxing
			// peer's RTCP port (rtcp-mux demux).
			if !pt.RTCPMux && pt.RTCP != nil {
				r.rtcpSink = pt.RTCP
			}
		case pt.RTCPMux || pt.RTCP == nil:
			r.sink = pt.RTP // muxed towards the peer
		default:
			r.sink = pt.RTCP
		}
	}
	var ok bool
	r.protect, ok = slot.ensure(out, srtp.ProtectOnly, log)
	if peer != nil && peer.Transport().AwaitKeys && out == nil {
		r.sink, r.rtcpSink = nil, nil // not keyed yet
	}
	return r, ok
}

func (c *Call) String() string { return fmt.Sprintf("call %q", c.ID) }
