package relay

import (
	"encoding/binary"
	"net/netip"
)

// Minimum sizes of what the data plane forwards.
const (
	minRTPLen  = 12 // fixed RTP header (RFC 3550 section 5.1)
	minRTCPLen = 8  // RTCP header plus SSRC (RFC 3550 section 6.4)
	minDTLSLen = 13 // DTLS record header (RFC 6347 section 4.1)
)

// receive is the data plane's decision for one packet received on s from
// src at time now (unix nanoseconds): whether to forward it, from which
// stream, to where, and how long it is then. The packet is buf[:n]; buf
// extends to the end of the receive buffer, so that SRTP can append its tag
// in place. receive updates counters and latching state. It takes no lock
// and allocates only when a peer address is learned or moves.
func (s *Stream) receive(buf []byte, n int, src netip.AddrPort, now int64) (out *Stream, dst netip.AddrPort, m int, ok bool) {
	rec := s.fwd.Load()
	if rec == nil || s.closed.Load() {
		return nil, dst, 0, false
	}
	pkt := buf[:n]
	if rec.ctl != nil && n > 0 && (isSTUN(pkt[0]) || rec.ctlDTLS && isDTLS(pkt[0])) {
		s.toControl(rec.ctl, pkt, src)
		return nil, dst, 0, false
	}
	if n == 0 || !rec.raw && !validMedia(pkt, s.kind, rec.dtls) {
		s.Stats.Errors.Add(1)
		return nil, dst, 0, false
	}
	// SRTP is authenticated before the packet may teach us anything.
	media := !rec.raw && pkt[0] >= 128 && pkt[0] <= 191
	rtcp := media && (s.kind == KindRTCP || isMuxedRTCP(pkt))
	if media && rec.unprotect != nil {
		var err error
		if rtcp {
			n, err = rec.unprotect.UnprotectRTCP(buf, n)
		} else {
			n, err = rec.unprotect.UnprotectRTP(buf, n)
		}
		if err != nil {
			s.Stats.Errors.Add(1)
			return nil, dst, 0, false
		}
	}
	if !s.latch(rec, src) {
		s.Stats.Errors.Add(1)
		return nil, dst, 0, false
	}
	s.Stats.Packets.Add(1)
	s.Stats.Bytes.Add(uint64(len(pkt)))
	s.lastPacket.Store(now)

	sink, rtcpSink, protect := rec.sink, rec.rtcpSink, rec.protect
	if rec.bundle != nil && media {
		i := rec.bundle.route(buf[:n], rtcp, &s.learned, &s.sent)
		if i < 0 {
			s.Stats.Errors.Add(1)
			return nil, dst, 0, false
		}
		r := &rec.bundle.routes[i]
		sink, rtcpSink, protect = r.sink, r.rtcpSink, r.protect
	}
	if rtcp && rtcpSink != nil {
		sink = rtcpSink
	}
	if sink == nil || sink.closed.Load() {
		return nil, dst, 0, false
	}
	if sink.muted.Load() && !rtcp {
		// A prompt plays to the sink's leg: its peer's RTP is muted.
		return nil, dst, 0, false
	}
	p := sink.peer.Load()
	if p == nil {
		return nil, dst, 0, false
	}
	if rec.sinkRoute > 0 && media && !rtcp && n >= minRTPLen {
		sink.sent.note(binary.BigEndian.Uint32(buf[8:12]), rec.sinkRoute-1)
	}
	if media && protect != nil {
		var err error
		if rtcp {
			n, err = protect.ProtectRTCP(buf, n)
		} else {
			n, err = protect.ProtectRTP(buf, n)
		}
		if err != nil {
			sink.sendErrors.Add(1)
			return nil, dst, 0, false
		}
	}
	return sink, *p, n, true
}

// toControl hands a STUN or DTLS packet to the control plane without
// blocking; when its queue is full the packet is dropped and counted. This
// copy is the data plane's only allocation, and only for these rare packets.
func (s *Stream) toControl(q chan<- ControlPacket, pkt []byte, src netip.AddrPort) {
	select {
	case q <- ControlPacket{Stream: s, From: src, Data: append([]byte(nil), pkt...)}:
	default:
		s.Stats.Errors.Add(1)
	}
}

// isMuxedRTCP reports whether a packet on an RTP port is RTCP (RFC 5761
// section 4: payload types 192 to 223 are RTCP's).
func isMuxedRTCP(pkt []byte) bool {
	return len(pkt) > 1 && pkt[1] >= 192 && pkt[1] <= 223
}

// latch applies the stream's latching rules to a packet from src and reports
// whether the packet may be forwarded.
func (s *Stream) latch(rec *forwarding, src netip.AddrPort) bool {
	if rec.latch == LatchAsymmetric {
		return true
	}
	cur := s.peer.Load()
	if s.confirmed.Load() {
		if cur != nil && *cur == src {
			return true
		}
		if rec.strictSource {
			return false
		}
		if rec.handover {
			s.storePeer(src)
		}
		return true
	}
	if cur == nil || *cur != src {
		s.storePeer(src)
	}
	s.confirmed.Store(true)
	return true
}

// storePeer publishes a learned peer address. The copy is allocated here,
// on the rare path, so that the caller's address does not escape.
func (s *Stream) storePeer(ap netip.AddrPort) {
	p := new(netip.AddrPort)
	*p = ap
	s.peer.Store(p)
}

// validMedia reports whether pkt looks like RTP or RTCP (RFC 3550 version 2,
// long enough for its header), or, when dtls is set (the media's profile is
// DTLS-SRTP), a DTLS record (RFC 7983: first byte 20 to 63), which is
// relayed end to end between two DTLS-SRTP endpoints. Anything else arriving
// on a media port (STUN, garbage) is dropped and counted by the caller.
func validMedia(pkt []byte, kind StreamKind, dtls bool) bool {
	if dtls && len(pkt) >= minDTLSLen && pkt[0] >= 20 && pkt[0] <= 63 {
		return true
	}
	if len(pkt) < minRTCPLen || pkt[0]>>6 != 2 {
		return false
	}
	if kind == KindRTP && len(pkt) < minRTPLen {
		// RTCP multiplexed on the RTP port (RFC 5761): payload types
		// 192-223 (RFC 5761 section 4) may be as short as 8 bytes.
		return isMuxedRTCP(pkt)
	}
	return true
}
