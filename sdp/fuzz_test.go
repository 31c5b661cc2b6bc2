package sdp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

var (
	fuzzRelay4 = NewConnection(netip.MustParseAddr("203.0.113.1"))
	fuzzRelay6 = NewConnection(netip.MustParseAddr("2001:db8::1"))
)

// fuzzEdit applies the kind of rewrite a relay does.
func fuzzEdit(s *Session) {
	if o, ok := s.Origin(); ok {
		o.Address, o.SessVersion = "203.0.113.1", "2"
		s.SetOrigin(o)
	} else {
		s.SetOrigin(Origin{Username: "-", SessID: "1", SessVersion: "1", NetType: "IN", AddrType: "IP4", Address: "203.0.113.1"})
	}
	s.SetSessionName("-")
	s.SetConnection(fuzzRelay4)
	s.SetAttr("tool", "ngrelay")
	for i, m := range s.Media {
		m.SetPort((m.Port + 2) % 65536)
		m.SetProto("RTP/AVP")
		if i%2 == 0 {
			m.SetConnection(fuzzRelay6)
		} else {
			m.RemoveConnection()
		}
		m.SetRTCP(RTCPAttr{Port: 9, Conn: &fuzzRelay4})
		m.RemoveAttrFunc(isICEOrDTLS)
		m.SetDirection(SendOnly)
		m.InsertAttrAfter("mid", "rtcp-mux", "")
		m.AddAttr("ptime", "20")
	}
	if len(s.Media) > 0 {
		s.RemoveMedia(0)
	}
	s.AddMedia(NewMedia("audio", 4000, "RTP/AVP", []string{"0"}))
}

// fuzzRead calls the read-only accessors.
func fuzzRead(s *Session) {
	s.Origin()
	s.SessionName()
	s.Connection()
	s.DirectionAttr()
	s.Attributes()
	s.Lines()
	for _, m := range s.Media {
		m.Rejected()
		if c, ok := m.EffectiveConnection(); ok {
			c.Addr()
			IsHold(c)
		}
		m.RTCP()
		m.Direction()
		m.Attributes()
		m.Attrs("rtpmap")
		m.Lines()
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(webrtcOffer))
	f.Add([]byte("v=0"))
	f.Add([]byte("v=0\n\n"))
	f.Add([]byte("v=0\no=- 1 1 IN IP4\r\ns=-\nc=IN IP4\nm=audio 49170/2 RTP/AVP 0\na=rtcp:9 IN IP6 ::\r\na=inactive"))
	f.Add([]byte("v=0\r\nc=IN IP4 224.2.1.1/127/3\r\nm=video 0 RTP/AVP\r\n \t\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Parse(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || s != nil {
				t.Fatalf("bad error result: %v, %v", s, err)
			}
			return
		}
		if got := s.Bytes(); !bytes.Equal(got, in) {
			t.Fatalf("round trip differs:\n got %q\nwant %q", got, in)
		}
		fuzzRead(s)

		c := s.Clone()
		fuzzEdit(c)
		out := c.Bytes()
		if got := s.Bytes(); !bytes.Equal(got, in) {
			t.Fatalf("editing a clone changed the original: %q", got)
		}
		s2, err := Parse(out)
		if err != nil {
			if len(out) > MaxSize || bytes.Count(out, []byte("\n"))+1 > MaxLines {
				return // the edits pushed it over a limit
			}
			t.Fatalf("edited output does not parse: %v\n%q", err, out)
		}
		if got := s2.Bytes(); !bytes.Equal(got, out) {
			t.Fatalf("edited output does not round-trip:\n got %q\nwant %q", got, out)
		}
		fuzzRead(s2)
		if len(s2.Media) != len(c.Media) {
			t.Fatalf("media count %d, want %d", len(s2.Media), len(c.Media))
		}
		if conn, ok := s2.Connection(); !ok || conn != fuzzRelay4 {
			t.Fatalf("session connection = %+v, %v", conn, ok)
		}
		for i, m := range s2.Media[:len(s2.Media)-1] {
			if m.Port != c.Media[i].Port || m.Proto != "RTP/AVP" || m.Direction() != SendOnly {
				t.Fatalf("media %d: %+v", i, m)
			}
			if r, ok := m.RTCP(); !ok || r.Port != 9 || r.Conn == nil || *r.Conn != fuzzRelay4 {
				t.Fatalf("media %d rtcp = %+v, %v", i, r, ok)
			}
			if m.HasAttr("candidate") || m.HasAttr("fingerprint") {
				t.Fatalf("media %d kept ICE/DTLS attributes", i)
			}
		}
	})
}
