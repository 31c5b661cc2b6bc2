package relay

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// pairOfStreams returns stream a (receiving from leg A) whose sink is b.
func pairOfStreams(rec forwarding) (a, b *Stream) {
	a = &Stream{kind: KindRTP}
	b = &Stream{kind: KindRTP}
	rec.sink = b
	a.fwd.Store(&rec)
	b.fwd.Store(&forwarding{sink: a})
	return a, b
}

var (
	srcA  = netip.MustParseAddrPort("192.0.2.1:4000")
	srcB  = netip.MustParseAddrPort("192.0.2.2:5000")
	other = netip.MustParseAddrPort("198.51.100.1:6000")
	rtp   = append([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 160)...)
)

func TestReceiveForwardsToTheSinksPeer(t *testing.T) {
	a, b := pairOfStreams(forwarding{})
	b.setPeer(srcB)
	out, dst, _, ok := a.receive(rtp, len(rtp), srcA, 1)
	if !ok || out != b || dst != srcB {
		t.Fatalf("receive = %v %v %v, want sink b to %v", out, dst, ok, srcB)
	}
	if a.Stats.Packets.Load() != 1 || a.Stats.Bytes.Load() != uint64(len(rtp)) {
		t.Fatalf("counters %d/%d", a.Stats.Packets.Load(), a.Stats.Bytes.Load())
	}
	if p, confirmed := a.Peer(); p != srcA || !confirmed {
		t.Fatalf("peer %v confirmed %v, want latched %v", p, confirmed, srcA)
	}
}

func TestReceiveDropsWhatIsNotRTP(t *testing.T) {
	a, b := pairOfStreams(forwarding{})
	b.setPeer(srcB)
	for _, pkt := range [][]byte{nil, {0x80}, {0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0}, rtp[:9]} { // the DTLS one is a byte short of a record header
		if _, _, _, ok := a.receive(pkt, len(pkt), srcA, 1); ok {
			t.Errorf("forwarded %x", pkt)
		}
	}
	if a.Stats.Errors.Load() != 5 || a.Stats.Packets.Load() != 0 {
		t.Fatalf("errors %d packets %d, want 5 and 0", a.Stats.Errors.Load(), a.Stats.Packets.Load())
	}
	if _, confirmed := a.Peer(); confirmed {
		t.Fatal("garbage latched the peer")
	}
	// A DTLS record passes only on DTLS-SRTP media (end-to-end DTLS-SRTP
	// through the relay); elsewhere it must not even latch.
	dtls := []byte{0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}
	if _, _, _, ok := a.receive(dtls, len(dtls), srcA, 1); ok {
		t.Error("DTLS record relayed on plain RTP media")
	}
	d, e := pairOfStreams(forwarding{dtls: true})
	e.setPeer(srcB)
	if _, _, _, ok := d.receive(dtls, len(dtls), srcA, 1); !ok {
		t.Error("DTLS record dropped on DTLS-SRTP media")
	}
	// Muxed RTCP may be shorter than an RTP header.
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 1}
	if _, _, _, ok := a.receive(rr, len(rr), srcA, 1); !ok {
		t.Error("muxed RTCP receiver report dropped")
	}
}

func TestLatchingModes(t *testing.T) {
	cases := []struct {
		name       string
		rec        forwarding
		wantOK     bool
		wantPeer   netip.AddrPort
		wantErrors uint64
	}{
		{"symmetric keeps the first source and still forwards others", forwarding{}, true, srcA, 0},
		{"strict-source drops others", forwarding{strictSource: true}, false, srcA, 1},
		{"media-handover moves to the new source", forwarding{handover: true}, true, other, 0},
		{"asymmetric never learns", forwarding{latch: LatchAsymmetric}, true, netip.MustParseAddrPort("192.0.2.9:9"), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := pairOfStreams(c.rec)
			b.setPeer(srcB)
			a.setPeer(netip.MustParseAddrPort("192.0.2.9:9")) // from SDP
			a.receive(rtp, len(rtp), srcA, 1)
			_, _, _, ok := a.receive(rtp, len(rtp), other, 2)
			if ok != c.wantOK {
				t.Fatalf("packet from another source forwarded=%v, want %v", ok, c.wantOK)
			}
			if p, _ := a.Peer(); p != c.wantPeer {
				t.Fatalf("peer %v, want %v", p, c.wantPeer)
			}
			if a.Stats.Errors.Load() != c.wantErrors {
				t.Fatalf("errors %d, want %d", a.Stats.Errors.Load(), c.wantErrors)
			}
		})
	}
}

func TestReceiveWithoutSinkOrPeerDropsQuietly(t *testing.T) {
	a := &Stream{kind: KindRTP}
	if _, _, _, ok := a.receive(rtp, len(rtp), srcA, 1); ok {
		t.Fatal("forwarded without a forwarding record")
	}
	a, _ = pairOfStreams(forwarding{})
	if _, _, _, ok := a.receive(rtp, len(rtp), srcA, 1); ok {
		t.Fatal("forwarded to a sink with no peer (hold)")
	}
}

func TestReceiveAllocatesNothingPerPacket(t *testing.T) {
	a, b := pairOfStreams(forwarding{})
	b.setPeer(srcB)
	a.receive(rtp, len(rtp), srcA, 1) // latch once
	n := testing.AllocsPerRun(1000, func() {
		if _, _, _, ok := a.receive(rtp, len(rtp), srcA, 2); !ok {
			t.Fatal("dropped")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per packet, want 0", n)
	}
}

func BenchmarkReceive(b *testing.B) {
	a, s := pairOfStreams(forwarding{})
	s.setPeer(srcB)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.receive(rtp, len(rtp), srcA, int64(i))
	}
}

func TestMediaErrorsAreReportedAtMostOncePerInterval(t *testing.T) {
	var buf strings.Builder
	e := &Engine{}
	c := &Call{engine: e, Log: slog.New(slog.NewTextHandler(&buf, nil))}
	l := c.NewLeg("a", "")
	s := &Stream{kind: KindRTP, port: 30000}
	l.Media(0).RTP = s
	now := time.Unix(1000, 0)
	s.Stats.Errors.Add(5)
	c.reportErrors(now)
	s.Stats.Errors.Add(3)
	c.reportErrors(now.Add(time.Second)) // within the interval: quiet
	c.reportErrors(now.Add(errorReportInterval))
	c.reportErrors(now.Add(3 * errorReportInterval)) // nothing new: quiet
	got := buf.String()
	if strings.Count(got, "media errors") != 2 || !strings.Contains(got, "dropped=5") || !strings.Contains(got, "dropped=3 total=8") {
		t.Fatalf("warnings:\n%s", got)
	}
}
