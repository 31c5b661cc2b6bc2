package sdp

import (
	"net/netip"
	"testing"
)

func BenchmarkParseWebRTCOffer(b *testing.B) {
	in := []byte(webrtcOffer)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBytesUnmodified(b *testing.B) {
	s, err := Parse([]byte(webrtcOffer))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(webrtcOffer)))
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendTo(buf[:0])
	}
}

// BenchmarkRewrite parses the WebRTC offer, rewrites it for a plain RTP
// peer the way a relay does and serializes it into a reused buffer.
func BenchmarkRewrite(b *testing.B) {
	in := []byte(webrtcOffer)
	relay := NewConnection(netip.MustParseAddr("203.0.113.1"))
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		o, _ := s.Origin()
		o.Address, o.SessVersion = "203.0.113.1", "3"
		s.SetOrigin(o)
		s.SetConnection(relay)
		for _, m := range s.Media {
			m.SetPort(30000)
			m.SetProto("RTP/AVP")
			m.SetConnection(relay)
			m.SetRTCP(RTCPAttr{Port: 30001, Conn: &relay})
			m.RemoveAttrFunc(isICEOrDTLS)
			m.RemoveAttr("rtcp-mux")
			m.SetDirection(SendOnly)
		}
		buf = s.AppendTo(buf[:0])
	}
}
