package relay

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// BUNDLE (RFC 8843): a WebRTC leg may send the media of several m-lines
// over one transport. ngrelay terminates such a transport on the streams of
// one media (the bundle's transport media); the other m-lines of the group
// have no streams of their own (Media.Bundle names the transport), and the
// data plane sorts what arrives on the transport into per-m-line routes:
// by the MID RTP header extension, then by SSRC, then by payload type
// (RFC 8843 section 9.2).

// Demux says which packets arriving on a bundle transport belong to a
// media: the leg's own description of the m-line, from its SDP.
type Demux struct {
	// MID is the m-line's a=mid.
	MID string
	// PayloadTypes are the RTP payload types of the m-line.
	PayloadTypes []uint8
	// SSRCs are the sources the leg declared for the m-line (a=ssrc).
	SSRCs []uint32
}

// bundleRoute is where media of one m-line of a bundle goes.
type bundleRoute struct {
	sink, rtcpSink *Stream
	protect        *srtp.Context
}

// ssrcRoute binds an SSRC to a route.
type ssrcRoute struct {
	ssrc  uint32
	route int
}

// bundleDemux is the immutable part of a bundle transport's forwarding
// record: the routes and the rules that choose among them.
type bundleDemux struct {
	// midExt is the RTP header extension id of the MID (0: none).
	midExt uint8
	mids   []string
	// pt maps a payload type to its route plus one (0: unknown).
	pt     [128]uint8
	ssrcs  []ssrcRoute
	routes []bundleRoute
}

// maxLearnedSSRCs bounds the sources a transport learns from MIDs.
const maxLearnedSSRCs = 16

// ssrcLearner holds the SSRCs a bundle transport learned from packets that
// carried a MID. Only the stream's data-plane worker touches it.
type ssrcLearner struct {
	n    int
	next int
	tab  [maxLearnedSSRCs]ssrcRoute
}

func (l *ssrcLearner) lookup(ssrc uint32) (int, bool) {
	for i := 0; i < l.n; i++ {
		if l.tab[i].ssrc == ssrc {
			return l.tab[i].route, true
		}
	}
	return 0, false
}

func (l *ssrcLearner) learn(ssrc uint32, route int) {
	for i := 0; i < l.n; i++ {
		if l.tab[i].ssrc == ssrc {
			l.tab[i].route = route
			return
		}
	}
	if l.n < maxLearnedSSRCs {
		l.tab[l.n] = ssrcRoute{ssrc, route}
		l.n++
		return
	}
	// full: replace the oldest entry
	l.tab[l.next] = ssrcRoute{ssrc, route}
	l.next = (l.next + 1) % maxLearnedSSRCs
}

// maxSentSSRCs bounds the sources a bundle transport remembers sending.
const maxSentSSRCs = 8

// sentSSRCs are the sources the other leg's m-lines send out of a bundle
// transport, by route, so that the browser's RTCP about them (receiver
// reports, NACK, PLI) goes back to the right m-line. The other leg's
// streams' workers write it and the transport's worker reads it: each
// entry is one atomic word, SSRC<<8 | route+1.
type sentSSRCs [maxSentSSRCs]atomic.Uint64

// note records that ssrc leaves the transport for route. The common case
// (already known) is one atomic load.
func (t *sentSSRCs) note(ssrc uint32, route int) {
	v := uint64(ssrc)<<8 | uint64(route+1)
	for i := range t {
		switch cur := t[i].Load(); {
		case cur == v:
			return
		case cur == 0 || cur>>8 == uint64(ssrc):
			t[i].Store(v)
			return
		}
	}
	t[ssrc%maxSentSSRCs].Store(v) // full: replace one
}

func (t *sentSSRCs) lookup(ssrc uint32) (int, bool) {
	for i := range t {
		cur := t[i].Load()
		if cur == 0 {
			break
		}
		if cur>>8 == uint64(ssrc) {
			return int(cur&0xff) - 1, true
		}
	}
	return 0, false
}

// route returns the route of an RTP or RTCP packet, or -1 when it belongs
// to no m-line of the bundle.
func (b *bundleDemux) route(pkt []byte, rtcp bool, learned *ssrcLearner, sent *sentSSRCs) int {
	if len(pkt) < 8 {
		return -1
	}
	if rtcp {
		if r, ok := b.rtcpRoute(pkt, learned, sent); ok && r < len(b.routes) {
			return r
		}
		// receive-only reports about nothing known: the first m-line
		return 0
	}
	if len(pkt) < minRTPLen {
		return -1
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	if b.midExt != 0 {
		if mid, ok := rtpExtension(pkt, b.midExt); ok {
			for i, m := range b.mids {
				if m == string(mid) { // compiled without allocation
					learned.learn(ssrc, i)
					return i
				}
			}
		}
	}
	if r, ok := b.bySSRC(ssrc, learned); ok {
		return r
	}
	if r := b.pt[pkt[1]&0x7f]; r != 0 {
		return int(r) - 1
	}
	return -1
}

// rtcpRoute finds the m-line of a compound RTCP packet: by a report's
// sender SSRC (a source of the browser's own m-lines), or by the source a
// report or feedback message is about (a source ngrelay sends it).
func (b *bundleDemux) rtcpRoute(pkt []byte, learned *ssrcLearner, sent *sentSSRCs) (int, bool) {
	for off, n := 0, 0; off+8 <= len(pkt) && n < 8; n++ {
		h := pkt[off:]
		if r, ok := b.bySSRC(binary.BigEndian.Uint32(h[4:8]), learned); ok {
			return r, true
		}
		size := (int(binary.BigEndian.Uint16(h[2:4])) + 1) * 4
		if size > len(h) {
			size = len(h)
		}
		about := -1
		switch rc := int(h[0] & 0x1f); h[1] {
		case 200: // SR: the first report block follows 20 bytes of sender info
			if rc > 0 {
				about = 28
			}
		case 201: // RR
			if rc > 0 {
				about = 8
			}
		case 205, 206: // RTPFB, PSFB: the media source
			about = 8
		}
		if about >= 0 && about+4 <= size {
			if r, ok := sent.lookup(binary.BigEndian.Uint32(h[about:])); ok {
				return r, true
			}
		}
		off += size
	}
	return 0, false
}

func (b *bundleDemux) bySSRC(ssrc uint32, learned *ssrcLearner) (int, bool) {
	if r, ok := learned.lookup(ssrc); ok && r < len(b.routes) {
		return r, true
	}
	for _, s := range b.ssrcs {
		if s.ssrc == ssrc {
			return s.route, true
		}
	}
	return 0, false
}

// rtpExtension returns the value of header extension id in an RTP packet
// (RFC 8285 one-byte or two-byte form), if present.
func rtpExtension(pkt []byte, id uint8) ([]byte, bool) {
	if pkt[0]&0x10 == 0 {
		return nil, false
	}
	off := minRTPLen + 4*int(pkt[0]&0x0f)
	if len(pkt) < off+4 {
		return nil, false
	}
	profile := binary.BigEndian.Uint16(pkt[off:])
	end := off + 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	if end > len(pkt) {
		return nil, false
	}
	ext := pkt[off+4 : end]
	switch {
	case profile == 0xBEDE: // one-byte headers
		for i := 0; i < len(ext); {
			eid := ext[i] >> 4
			if eid == 0 { // padding
				i++
				continue
			}
			if eid == 15 {
				return nil, false
			}
			l := int(ext[i]&0x0f) + 1
			if i+1+l > len(ext) {
				return nil, false
			}
			if eid == id {
				return ext[i+1 : i+1+l], true
			}
			i += 1 + l
		}
	case profile&0xFFF0 == 0x1000: // two-byte headers
		for i := 0; i < len(ext); {
			if ext[i] == 0 { // padding
				i++
				continue
			}
			if i+2 > len(ext) {
				return nil, false
			}
			eid, l := ext[i], int(ext[i+1])
			if i+2+l > len(ext) {
				return nil, false
			}
			if eid == id {
				return ext[i+2 : i+2+l], true
			}
			i += 2 + l
		}
	}
	return nil, false
}
