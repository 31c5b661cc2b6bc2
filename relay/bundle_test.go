package relay

import (
	"encoding/binary"
	"testing"
)

// rtpWith builds an RTP packet with payload type pt, SSRC ssrc and, when
// ext is not nil, a header extension block (profile, then ext padded to
// whole words).
func rtpWith(pt uint8, ssrc uint32, profile uint16, ext []byte) []byte {
	p := []byte{0x80, pt, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(p[8:], ssrc)
	if ext != nil {
		p[0] |= 0x10
		for len(ext)%4 != 0 {
			ext = append(ext, 0)
		}
		p = binary.BigEndian.AppendUint16(p, profile)
		p = binary.BigEndian.AppendUint16(p, uint16(len(ext)/4))
		p = append(p, ext...)
	}
	return append(p, make([]byte, 20)...)
}

func TestRTPExtension(t *testing.T) {
	cases := []struct {
		name    string
		pkt     []byte
		id      uint8
		want    string
		present bool
	}{
		{"one-byte", rtpWith(111, 1, 0xBEDE, []byte{0x10, 0xAA, 0x33, 'a', 'u', 'd', 'i'}), 3, "audi", true},
		{"one-byte with padding", rtpWith(111, 1, 0xBEDE, []byte{0, 0, 0x90, '1'}), 9, "1", true},
		{"one-byte other id", rtpWith(111, 1, 0xBEDE, []byte{0x10, 0xAA}), 3, "", false},
		{"two-byte", rtpWith(111, 1, 0x1000, []byte{1, 1, 0xAA, 4, 2, 'v', '1'}), 4, "v1", true},
		{"no extension", rtpWith(111, 1, 0, nil), 3, "", false},
		{"truncated length", func() []byte { p := rtpWith(111, 1, 0xBEDE, []byte{0x30, 'a'}); p[15] = 200; return p }(), 3, "", false},
		{"element past the end", rtpWith(111, 1, 0xBEDE, []byte{0, 0, 0, 0x3F}), 3, "", false},
		{"one-byte id 15 stops", rtpWith(111, 1, 0xBEDE, []byte{0xF0, 0x30, 'a'}), 3, "", false},
	}
	for _, c := range cases {
		got, ok := rtpExtension(c.pkt, c.id)
		if ok != c.present || string(got) != c.want {
			t.Errorf("%s: got %q %v, want %q %v", c.name, got, ok, c.want, c.present)
		}
	}
}

func TestBundleDemuxOrder(t *testing.T) {
	b := &bundleDemux{midExt: 3, mids: []string{"0", "1"}, routes: make([]bundleRoute, 2),
		ssrcs: []ssrcRoute{{ssrc: 0x1111, route: 0}, {ssrc: 0x2222, route: 1}}}
	b.pt[0] = 1  // PCMU: route 0
	b.pt[96] = 2 // VP8: route 1
	var l ssrcLearner
	var sent sentSSRCs
	mid := func(v string) []byte { return append([]byte{0x30 | byte(len(v)-1)}, v...) }

	// MID first: even against the declared SSRC and the payload type.
	if r := b.route(rtpWith(0, 0x1111, 0xBEDE, mid("1")), false, &l, &sent); r != 1 {
		t.Fatalf("MID 1 routed to %d", r)
	}
	// The SSRC a MID taught is kept for packets without the extension.
	if r := b.route(rtpWith(0, 0x1111, 0, nil), false, &l, &sent); r != 1 {
		t.Fatalf("learned SSRC routed to %d", r)
	}
	// Declared SSRC next.
	if r := b.route(rtpWith(0, 0x2222, 0, nil), false, &l, &sent); r != 1 {
		t.Fatalf("declared SSRC routed to %d", r)
	}
	// Then the payload type.
	if r := b.route(rtpWith(96, 0x9999, 0, nil), false, &l, &sent); r != 1 {
		t.Fatalf("PT 96 routed to %d", r)
	}
	if r := b.route(rtpWith(0, 0x9998, 0, nil), false, &l, &sent); r != 0 {
		t.Fatalf("PT 0 routed to %d", r)
	}
	// Unknown everything: no route.
	if r := b.route(rtpWith(50, 0x9997, 0, nil), false, &l, &sent); r != -1 {
		t.Fatalf("unknown packet routed to %d", r)
	}
	// An unknown MID falls through to the other rules.
	if r := b.route(rtpWith(96, 0x9996, 0xBEDE, mid("x")), false, &l, &sent); r != 1 {
		t.Fatalf("unknown MID with PT 96 routed to %d", r)
	}
	// RTCP by sender SSRC, unknown senders to the first m-line.
	sr := []byte{0x80, 200, 0, 6, 0, 0, 0x22, 0x22}
	if r := b.route(sr, true, &l, &sent); r != 1 {
		t.Fatalf("RTCP from 0x2222 routed to %d", r)
	}
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0x77, 0x77}
	if r := b.route(rr, true, &l, &sent); r != 0 {
		t.Fatalf("RTCP from an unknown source routed to %d", r)
	}
	// Feedback about a source ngrelay sends the browser goes to the
	// m-line that source came from: a receiver report, then a PLI in a
	// compound behind an empty RR.
	sent.note(0x0B0B, 1)
	rrAbout := []byte{0x81, 201, 0, 7, 0, 0, 0x77, 0x77, 0, 0, 0x0B, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if r := b.route(rrAbout, true, &l, &sent); r != 1 {
		t.Fatalf("receiver report about the video source routed to %d", r)
	}
	pli := append([]byte{0x80, 201, 0, 1, 0, 0, 0x77, 0x77}, 0x81, 206, 0, 2, 0, 0, 0x77, 0x77, 0, 0, 0x0B, 0x0B)
	if r := b.route(pli, true, &l, &sent); r != 1 {
		t.Fatalf("PLI about the video source routed to %d", r)
	}
}

func TestSSRCLearnerIsBounded(t *testing.T) {
	var l ssrcLearner
	for i := range uint32(3 * maxLearnedSSRCs) {
		l.learn(i, int(i%2))
	}
	if l.n != maxLearnedSSRCs {
		t.Fatalf("learned %d SSRCs, want the bound %d", l.n, maxLearnedSSRCs)
	}
	if r, ok := l.lookup(3*maxLearnedSSRCs - 1); !ok || r != 1 {
		t.Fatalf("latest SSRC: %d %v", r, ok)
	}
}

// TestReceiveSortsABundle: a bundle transport sends each m-line's packets
// to its own sink, and allocates nothing doing so.
func TestReceiveSortsABundle(t *testing.T) {
	audio := &Stream{kind: KindRTP}
	video := &Stream{kind: KindRTP}
	audio.setPeer(srcB)
	video.setPeer(other)
	b := &bundleDemux{midExt: 1, mids: []string{"a", "v"}, routes: []bundleRoute{{sink: audio}, {sink: video}}}
	b.pt[0], b.pt[96] = 1, 2
	tr := &Stream{kind: KindRTP}
	tr.fwd.Store(&forwarding{sink: audio, bundle: b})

	vp := rtpWith(96, 7, 0, nil)
	out, dst, _, ok := tr.receive(vp, len(vp), srcA, 1)
	if !ok || out != video || dst != other {
		t.Fatalf("video packet: %v %v %v", out, dst, ok)
	}
	ap := rtpWith(0, 8, 0xBEDE, []byte{0x10, 'a'})
	// The phone's side notes what it sends onto the transport.
	ph := &Stream{kind: KindRTP}
	tr.setPeer(srcA)
	ph.fwd.Store(&forwarding{sink: tr, sinkRoute: 2})
	if _, _, _, ok := ph.receive(vp, len(vp), srcB, 1); !ok {
		t.Fatal("phone video not forwarded")
	}
	if r, ok := tr.sent.lookup(7); !ok || r != 1 {
		t.Fatalf("the transport noted SSRC 7 as route %d %v", r, ok)
	}
	if out, _, _, ok := tr.receive(ap, len(ap), srcA, 1); !ok || out != audio {
		t.Fatalf("audio packet: %v %v", out, ok)
	}
	bad := rtpWith(50, 9, 0, nil)
	if _, _, _, ok := tr.receive(bad, len(bad), srcA, 1); ok || tr.Stats.Errors.Load() != 1 {
		t.Fatalf("unroutable packet forwarded (%v) or not counted (%d)", ok, tr.Stats.Errors.Load())
	}
	if n := testing.AllocsPerRun(1000, func() {
		tr.receive(vp, len(vp), srcA, 1)
		tr.receive(ap, len(ap), srcA, 1)
	}); n != 0 {
		t.Fatalf("%v allocations per bundled packet pair", n)
	}
}

// FuzzBundleRoute: whatever a browser sends on a bundle transport, sorting
// it neither panics nor picks a route that does not exist.
func FuzzBundleRoute(f *testing.F) {
	f.Add(rtpWith(0, 1, 0xBEDE, []byte{0x10, 'a'}), false)
	f.Add(rtpWith(96, 2, 0x1000, []byte{1, 1, 'v'}), false)
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0x22, 0x22}, true)
	f.Fuzz(func(t *testing.T, pkt []byte, rtcp bool) {
		b := &bundleDemux{midExt: 1, mids: []string{"a", "v"}, routes: make([]bundleRoute, 2), ssrcs: []ssrcRoute{{2, 1}}}
		b.pt[0], b.pt[96] = 1, 2
		var l ssrcLearner
		var sent sentSSRCs
		sent.note(7, 1)
		if r := b.route(pkt, rtcp, &l, &sent); r < -1 || r >= len(b.routes) {
			t.Fatalf("route %d of %d", r, len(b.routes))
		}
		rtpExtension(append(pkt, make([]byte, minRTPLen)...), 1)
	})
}
