package sdp

import (
	"net/netip"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) *Session {
	t.Helper()
	sess, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return sess
}

func assertSDP(t *testing.T, s *Session, want string) {
	t.Helper()
	got := string(s.Bytes())
	if got != want {
		t.Fatalf("serialized SDP differs\n got:\n%s\nwant:\n%s\n got %q\nwant %q", got, want, got, want)
	}
	// The edited output must parse again and be stable.
	again := mustParse(t, got)
	if b := string(again.Bytes()); b != got {
		t.Fatalf("re-parse does not round-trip: %q", b)
	}
}

func isICEOrDTLS(name, _ string) bool {
	return name == "candidate" || strings.HasPrefix(name, "ice-") || name == "fingerprint" || name == "setup" ||
		name == "end-of-candidates"
}

// TestRewriteWebRTCToPlain does what a relay does to a WebRTC offer sent on
// to a plain RTP endpoint.
func TestRewriteWebRTCToPlain(t *testing.T) {
	s := mustParse(t, webrtcOffer)
	orig := s.Clone()
	relay := NewConnection(netip.MustParseAddr("203.0.113.1"))

	o, ok := s.Origin()
	if !ok {
		t.Fatal("no origin")
	}
	o.Address = "203.0.113.1"
	o.SessVersion = "3"
	s.SetOrigin(o)
	s.SetConnection(relay)
	s.RemoveAttr("group")

	m := s.Media[0]
	m.SetPort(30000)
	m.SetProto("RTP/AVP")
	m.SetFormats([]string{"0", "8", "126"})
	m.SetConnection(relay)
	m.SetRTCP(RTCPAttr{Port: 30001, Conn: &relay})
	if n := m.RemoveAttrFunc(isICEOrDTLS); n != 7 {
		t.Errorf("removed %d ICE/DTLS attributes, want 7", n)
	}
	if n := m.RemoveAttrFunc(func(name, value string) bool {
		switch name {
		case "rtpmap", "fmtp", "rtcp-fb":
			pt, _, _ := strings.Cut(value, " ")
			return pt != "0" && pt != "8" && pt != "126"
		case "extmap", "mid", "rtcp-mux", "ssrc", "msid":
			return true
		}
		return false
	}); n != 24 {
		t.Errorf("removed %d attributes, want 24", n)
	}
	m.SetDirection(SendOnly)
	m.AddAttr("ptime", "20")

	assertSDP(t, s, crlf(`v=0
o=- 4779000713447952953 3 IN IP4 203.0.113.1
s=-
c=IN IP4 203.0.113.1
t=0 0
a=msid-semantic: WMS SFIXFrpsOUskJ5JQhp1mIARlDk6S3hVFTOBb
m=audio 30000 RTP/AVP 0 8 126
c=IN IP4 203.0.113.1
a=rtcp:30001 IN IP4 203.0.113.1
a=sendonly
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:126 telephone-event/8000
a=ptime:20
`))
	if got := string(orig.Bytes()); got != webrtcOffer {
		t.Fatalf("editing the original changed its clone")
	}
}

func TestRewritePlainAnswer(t *testing.T) {
	s := mustParse(t, crlf(`v=0
o=FreeSWITCH 1553219088 1553219089 IN IP4 203.0.113.30
s=FreeSWITCH
c=IN IP4 203.0.113.30
t=0 0
m=audio 29426 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
`))
	o, _ := s.Origin()
	o.Address, o.SessVersion = "192.0.2.99", "1553219090"
	s.SetOrigin(o)
	s.SetConnection(NewConnection(netip.MustParseAddr("2001:db8::99")))
	m := s.Media[0]
	m.SetPort(40000)
	m.SetProto("UDP/TLS/RTP/SAVPF")
	m.SetRTCP(RTCPAttr{Port: 40000})
	m.InsertAttrAfter("rtcp", "rtcp-mux", "")
	m.SetAttr("ptime", "30")
	m.AddAttr("setup", "active")
	m.AddAttr("fingerprint", "sha-256 AB:CD")
	assertSDP(t, s, crlf(`v=0
o=FreeSWITCH 1553219088 1553219090 IN IP4 192.0.2.99
s=FreeSWITCH
c=IN IP6 2001:db8::99
t=0 0
m=audio 40000 UDP/TLS/RTP/SAVPF 8 101
a=rtcp:40000
a=rtcp-mux
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:30
a=sendrecv
a=setup:active
a=fingerprint:sha-256 AB:CD
`))
}

func TestRewriteHoldAndDirection(t *testing.T) {
	s := mustParse(t, crlf(`v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
a=recvonly
m=audio 4000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
a=inactive
m=video 4002 RTP/AVP 96
a=rtpmap:96 VP8/90000
`))
	a, v := s.Media[0], s.Media[1]
	if got := a.Direction(); got != SendRecv {
		t.Errorf("audio Direction = %q", got)
	}
	if got := v.Direction(); got != RecvOnly {
		t.Errorf("video Direction = %q (session fallback)", got)
	}
	if c, _ := s.Connection(); IsHold(c) {
		t.Errorf("IsHold before hold")
	}
	hold := NewConnection(netip.IPv4Unspecified())
	s.SetConnection(hold)
	a.SetDirection(SendOnly) // replaces a=sendrecv in place, drops a=inactive
	v.SetDirection(SendOnly) // added after the last attribute
	s.SetDirection("")       // drops the session-level a=recvonly
	if c, _ := s.Connection(); !IsHold(c) {
		t.Errorf("IsHold after hold = false")
	}
	if _, ok := s.DirectionAttr(); ok {
		t.Errorf("session direction still present")
	}
	assertSDP(t, s, crlf(`v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 4000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendonly
m=video 4002 RTP/AVP 96
a=rtpmap:96 VP8/90000
a=sendonly
`))
	v.SetDirection("")
	if got, ok := v.DirectionAttr(); ok || v.Direction() != SendRecv {
		t.Errorf("video direction after removal = %q, %v", got, ok)
	}
}

func TestRewriteConnectionPlacement(t *testing.T) {
	s := mustParse(t, crlf(`v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
i=info
u=http://example.com
e=a@example.com
p=+1 555
b=AS:64
t=0 0
m=audio 4000 RTP/AVP 0
i=audio
b=AS:64
a=sendrecv
m=audio 0 RTP/AVP 0
m=audio 4002 RTP/AVP 0
c=IN IP4 192.0.2.2
c=IN IP4 192.0.2.3
a=rtcp:4003 IN IP4 192.0.2.2
`))
	c := NewConnection(netip.MustParseAddr("198.51.100.7"))
	s.SetConnection(c)
	s.Media[0].SetConnection(c)
	s.Media[1].SetConnection(c)
	s.Media[2].SetConnection(c) // replaces the first c=, drops the second
	s.Media[2].SetRTCP(RTCPAttr{Port: 5001})
	assertSDP(t, s, crlf(`v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
i=info
u=http://example.com
e=a@example.com
p=+1 555
c=IN IP4 198.51.100.7
b=AS:64
t=0 0
m=audio 4000 RTP/AVP 0
i=audio
c=IN IP4 198.51.100.7
b=AS:64
a=sendrecv
m=audio 0 RTP/AVP 0
c=IN IP4 198.51.100.7
m=audio 4002 RTP/AVP 0
c=IN IP4 198.51.100.7
a=rtcp:5001
`))
	s.RemoveConnection()
	for _, m := range s.Media {
		m.RemoveConnection()
	}
	if _, ok := s.Connection(); ok {
		t.Errorf("session c= still present")
	}
	if _, ok := s.Media[2].EffectiveConnection(); ok {
		t.Errorf("EffectiveConnection after removal")
	}
}

func TestRewriteMissingLines(t *testing.T) {
	// No o=, s=, t=, no attributes at all.
	s := mustParse(t, "v=0\nm=audio 4000 RTP/AVP 0\n")
	s.SetSessionName("-")
	s.SetOrigin(Origin{Username: "-", SessID: "1", SessVersion: "1", NetType: "IN", AddrType: "IP4", Address: "192.0.2.1"})
	s.SetConnection(NewConnection(netip.MustParseAddr("192.0.2.1")))
	s.AddAttr("tool", "ngrelay")
	s.InsertAttrAfter("", "x-first", "")
	m := s.Media[0]
	m.InsertAttrAfter("mid", "rtcp-mux", "") // no a=mid: goes to the end (no attributes)
	m.InsertAttrAfter("", "mid", "0")        // front
	m.AddAttr("sendrecv", "")
	m.InsertAttrAfter("mid", "x-after-mid", "1")
	assertSDP(t, s, `v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
a=x-first
a=tool:ngrelay
m=audio 4000 RTP/AVP 0
a=mid:0
a=x-after-mid:1
a=rtcp-mux
a=sendrecv
`)
}

func TestRewritePortCountAndFormats(t *testing.T) {
	s := mustParse(t, "v=0\r\nm=audio 49170/2 RTP/AVP 0\r\nm=video  51372   RTP/AVP 99 \r\n")
	a, v := s.Media[0], s.Media[1]
	a.SetPort(50000)
	v.Formats[0] = "98" // direct field edit is picked up
	assertSDP(t, s, "v=0\r\nm=audio 50000/2 RTP/AVP 0\r\nm=video 51372 RTP/AVP 98\r\n")
	a.NumPorts = 0
	v.Formats = append(v.Formats, "99")
	assertSDP(t, s, "v=0\r\nm=audio 50000 RTP/AVP 0\r\nm=video 51372 RTP/AVP 98 99\r\n")

	// Setting the same values again keeps the original spacing.
	s = mustParse(t, "v=0\r\nm=video  51372   RTP/AVP 99 \r\n")
	m := s.Media[0]
	m.SetPort(m.Port)
	m.SetFormats([]string{"99"})
	assertSDP(t, s, "v=0\r\nm=video  51372   RTP/AVP 99 \r\n")
	m.Port = 0
	if !m.Rejected() {
		t.Errorf("Rejected() = false for port 0")
	}
	assertSDP(t, s, "v=0\r\nm=video 0 RTP/AVP 99\r\n")
}

func TestRewriteLineEndings(t *testing.T) {
	// Dominant terminator follows the first line: LF here, although the
	// other lines use CRLF.
	s := mustParse(t, "v=0\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n")
	s.SetConnection(NewConnection(netip.MustParseAddr("192.0.2.9")))
	s.Media[0].AddAttr("ptime", "20")
	s.Media[0].SetDirection(RecvOnly) // edited in place: keeps its CRLF
	assertSDP(t, s, "v=0\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.9\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=recvonly\r\na=ptime:20\n")

	// A missing final terminator stays missing while the line stays last
	// and is edited in place...
	s = mustParse(t, "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv")
	s.Media[0].SetDirection(Inactive)
	assertSDP(t, s, "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=inactive")
	// ...and the line gets the dominant terminator once it no longer is.
	s.Media[0].AddAttr("ptime", "20")
	assertSDP(t, s, "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\na=ptime:20\r\n")

	// Same for an m= line that ends the body.
	s = mustParse(t, "v=0\r\nm=audio 4000 RTP/AVP 0")
	s.Media[0].SetPort(5000)
	assertSDP(t, s, "v=0\r\nm=audio 5000 RTP/AVP 0")
	s.Media[0].SetRTCP(RTCPAttr{Port: 5001})
	assertSDP(t, s, "v=0\r\nm=audio 5000 RTP/AVP 0\r\na=rtcp:5001\r\n")

	// Trailing blank lines stay at the end.
	s = mustParse(t, "v=0\r\nm=audio 4000 RTP/AVP 0\r\n\r\n")
	s.Media[0].AddAttr("sendrecv", "")
	assertSDP(t, s, "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n\r\n")

	// A single-line body defaults to CRLF.
	s = mustParse(t, "v=0")
	s.SetSessionName("-")
	assertSDP(t, s, "v=0\r\ns=-\r\n")
}

func TestRewriteMediaListEdits(t *testing.T) {
	s := mustParse(t, crlf(`v=0
s=-
a=inactive
m=audio 4000 RTP/AVP 0
m=video 4002 RTP/AVP 96
a=mid:1
`))
	v := s.Media[1]
	s.RemoveMedia(1)
	if v.Direction() != SendRecv {
		t.Errorf("detached media still sees its session")
	}
	n := NewMedia("application", 5000, "UDP/DTLS/SCTP", []string{"webrtc-datachannel"})
	n.SetConnection(NewConnection(netip.MustParseAddr("2001:db8::5")))
	n.AddAttr("sctp-port", "5000")
	s.AddMedia(n)
	if n.Direction() != Inactive {
		t.Errorf("added media does not see the session direction")
	}
	s.AddMedia(v.Clone())
	assertSDP(t, s, crlf(`v=0
s=-
a=inactive
m=audio 4000 RTP/AVP 0
m=application 5000 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP6 2001:db8::5
a=sctp-port:5000
m=video 4002 RTP/AVP 96
a=mid:1
`))
	s.RemoveMedia(0)
	s.RemoveMedia(0)
	s.RemoveMedia(0)
	assertSDP(t, s, "v=0\r\ns=-\r\na=inactive\r\n")
}

func TestSetAttrAndRemove(t *testing.T) {
	s := mustParse(t, crlf(`v=0
m=audio 4000 RTP/AVP 0 8
a=ptime:20
a=rtpmap:0 PCMU/8000
a=ptime:30
a=rtpmap:8 PCMA/8000
a=ptime:40
x=unknown
`))
	m := s.Media[0]
	m.SetAttr("ptime", "10")
	if n := m.RemoveAttr("rtpmap"); n != 2 {
		t.Errorf("RemoveAttr(rtpmap) = %d", n)
	}
	if n := m.RemoveAttr("rtpmap"); n != 0 {
		t.Errorf("second RemoveAttr(rtpmap) = %d", n)
	}
	m.AddAttr("maxptime", "60") // after the last a= line, before x=
	assertSDP(t, s, crlf(`v=0
m=audio 4000 RTP/AVP 0 8
a=ptime:10
a=maxptime:60
x=unknown
`))
}

func TestCloneIndependent(t *testing.T) {
	s := mustParse(t, webrtcOffer)
	c := s.Clone()
	c.Media[0].SetPort(1)
	c.Media[0].Formats[0] = "0"
	c.Media[0].AddAttr("x", "y")
	c.SetSessionName("changed")
	c.AddMedia(NewMedia("video", 2, "RTP/AVP", []string{"96"}))
	if string(s.Bytes()) != webrtcOffer {
		t.Fatal("editing a clone changed the original")
	}
	if c.Media[0].Direction() != SendRecv || c.Media[1].Direction() != SendRecv {
		t.Fatal("clone media direction")
	}
	// Inserting in one section must not overwrite the next one (sections
	// share the parse buffer).
	s2 := mustParse(t, "v=0\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\na=a\r\nm=audio 2 RTP/AVP 0\r\na=b\r\n")
	s2.AddAttr("s", "1")
	s2.Media[0].AddAttr("c", "")
	s2.Media[0].AddAttr("d", "")
	assertSDP(t, s2, "v=0\r\ns=-\r\na=s:1\r\nm=audio 1 RTP/AVP 0\r\na=a\r\na=c\r\na=d\r\nm=audio 2 RTP/AVP 0\r\na=b\r\n")
}

func TestConnectionHelpers(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want string
	}{
		{"192.0.2.1", "IN IP4 192.0.2.1"},
		{"2001:db8::1", "IN IP6 2001:db8::1"},
		{"::ffff:192.0.2.1", "IN IP4 192.0.2.1"},
		{"fe80::1%eth0", "IN IP6 fe80::1"},
		{"::", "IN IP6 ::"},
	} {
		c := NewConnection(netip.MustParseAddr(tc.addr))
		if got := c.String(); got != tc.want {
			t.Errorf("NewConnection(%s) = %q, want %q", tc.addr, got, tc.want)
		}
		if _, ok := c.Addr(); !ok {
			t.Errorf("NewConnection(%s).Addr() not ok", tc.addr)
		}
	}
	for _, tc := range []struct {
		c    Connection
		ok   bool
		hold bool
	}{
		{Connection{NetType: "IN", AddrType: "IP4", Address: "0.0.0.0"}, true, true},
		{Connection{NetType: "IN", AddrType: "IP6", Address: "::"}, true, true},
		{Connection{NetType: "IN", AddrType: "ip4", Address: "192.0.2.1"}, true, false},
		{Connection{NetType: "IN", AddrType: "IP6", Address: "192.0.2.1"}, false, false},
		{Connection{NetType: "IN", AddrType: "IP4", Address: "2001:db8::1"}, false, false},
		{Connection{NetType: "IN", AddrType: "IP4", Address: "host.example.com"}, false, false},
		{Connection{NetType: "IN", AddrType: "IP4"}, false, false},
	} {
		if _, ok := tc.c.Addr(); ok != tc.ok {
			t.Errorf("%+v.Addr() ok = %v", tc.c, ok)
		}
		if IsHold(tc.c) != tc.hold {
			t.Errorf("IsHold(%+v) = %v", tc.c, !tc.hold)
		}
	}
	for _, tc := range []struct {
		c    Connection
		want string
	}{
		{Connection{NetType: "IN", AddrType: "IP4", Address: "224.2.1.1", TTL: "127", NumAddrs: "3"}, "IN IP4 224.2.1.1/127/3"},
		{Connection{NetType: "IN", AddrType: "IP6", Address: "ff15::101", NumAddrs: "3"}, "IN IP6 ff15::101/3"},
		{Connection{Address: "2001:db8::1"}, "IN IP6 2001:db8::1"},
		{Connection{Address: "192.0.2.1"}, "IN IP4 192.0.2.1"},
		{Connection{NetType: "IN", AddrType: "IP4"}, "IN IP4"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.c, got, tc.want)
		}
	}
	if got := (Origin{SessID: "1", SessVersion: "2", NetType: "IN", AddrType: "IP4"}).String(); got != "- 1 2 IN IP4" {
		t.Errorf("Origin.String() = %q", got)
	}
}

func TestRTCPParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want string
	}{
		{"9", true, "9"},
		{" 9 ", true, "9"},
		{"9 IN IP4 0.0.0.0", true, "9 IN IP4 0.0.0.0"},
		{"53020  IN IP6  2001:db8::1 ", true, "53020 IN IP6 2001:db8::1"},
		{"", false, ""},
		{"x", false, ""},
		{"70000", false, ""},
		{"9 IN", false, ""},
		{"9 IN IP4", false, ""},
	} {
		s := mustParse(t, "v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtcp:"+tc.in+"\r\n")
		r, ok := s.Media[0].RTCP()
		if ok != tc.ok || ok && r.String() != tc.want {
			t.Errorf("RTCP(%q) = %q, %v; want %q, %v", tc.in, r.String(), ok, tc.want, tc.ok)
		}
	}
	s := mustParse(t, "v=0\r\nm=audio 9 RTP/AVP 0\r\n")
	if _, ok := s.Media[0].RTCP(); ok {
		t.Errorf("RTCP without a=rtcp")
	}
}
