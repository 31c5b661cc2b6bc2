package sdp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtureDir = "../../shared/fixtures/sdp"

// fixtures returns the shared SDP fixtures by base name. The test is skipped
// when the shared tree is not present.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skipf("shared fixtures not available: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", fixtureDir)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func assertRoundTrip(t *testing.T, in []byte) *Session {
	t.Helper()
	s, err := Parse(in)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := s.Bytes(); !bytes.Equal(got, in) {
		t.Fatalf("round trip differs:\n got %q\nwant %q", got, in)
	}
	if got := s.AppendTo([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), in...)) {
		t.Fatalf("AppendTo differs: %q", got)
	}
	if got := s.Clone().Bytes(); !bytes.Equal(got, in) {
		t.Fatalf("Clone round trip differs:\n got %q\nwant %q", got, in)
	}
	return s
}

func TestFixturesRoundTrip(t *testing.T) {
	for name, b := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			if !bytes.Contains(b, []byte("\r\n")) {
				t.Fatalf("fixture is expected to use CRLF")
			}
			lf := bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
			variants := map[string][]byte{
				"crlf":          b,
				"lf":            lf,
				"crlf-noeol":    bytes.TrimSuffix(b, []byte("\r\n")),
				"lf-noeol":      bytes.TrimSuffix(lf, []byte("\n")),
				"crlf-blank":    append(bytes.Clone(b), "\r\n"...),
				"lf-blanks":     append(bytes.Clone(lf), "\n\n \n"...),
				"mixed-lf-last": append(bytes.TrimSuffix(bytes.Clone(b), []byte("\r\n")), '\n'),
			}
			for vname, in := range variants {
				t.Run(vname, func(t *testing.T) {
					s := assertRoundTrip(t, in)
					if len(s.Media) == 0 {
						t.Fatalf("no media sections parsed")
					}
				})
			}
		})
	}
}

func TestWebRTCOfferMatchesFixture(t *testing.T) {
	b, ok := fixtures(t)["jssip-chrome-offer.sdp"]
	if !ok {
		t.Skip("jssip-chrome-offer.sdp not present")
	}
	if string(b) != webrtcOffer {
		t.Fatalf("webrtcOffer differs from the shared fixture")
	}
}

func TestRoundTripTolerated(t *testing.T) {
	for _, in := range []string{
		"v=0",
		"v=0\n",
		"v=0\r\n",
		"v=0\r\n\r\n",
		"v=0\r\n\r\n\r\n  \t\r\n",
		"v=0\r\nm=audio 9 RTP/AVP 0",
		// mixed endings, each line keeps its own
		"v=0\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\nc=IN IP4 192.0.2.1\r\nt=0 0\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\n",
		// extra spaces, tabs and trailing whitespace
		"v=0 \r\no=-  1\t2 IN  IP4 192.0.2.1  \r\ns= \r\nc=IN  IP4\t192.0.2.1 \r\nt=0 0\r\nm=audio  4000   RTP/AVP  0 8 \r\na=rtcp: 4001  IN IP4 192.0.2.1 \r\na=sendonly \r\n",
		// missing s= and t=, unknown line types and attributes
		"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\nx=whatever\r\nm=audio 4000 RTP/AVP 0\r\ny=unknown stuff\r\na=x-foo:bar:baz\r\na=:\r\na=\r\n",
		// o= and c= without address (FreeSWITCH, Zoiper)
		"v=0\r\no=Z 20472192 0 IN IP4\r\ns=Z\r\nc=IN IP4\r\nt=0 0\r\nm=audio 8000 RTP/AVP 0\r\n",
		// port count, rejected section without formats, IPv6, multicast
		"v=0\r\nc=IN IP6 2001:db8::1\r\nm=audio 49170/2 RTP/AVP 0\r\nm=video 0 RTP/AVP\r\nc=IN IP4 224.2.1.1/127/3\r\n",
		// uppercase line type, tab inside a value, high bytes
		"v=0\r\nX=1\r\na=tool:\tfoo \xff\r\n",
	} {
		assertRoundTrip(t, []byte(in))
	}
}

func TestParseFields(t *testing.T) {
	s := assertRoundTrip(t, []byte(crlf(`v=0
o=alice  2890844526 2890842807 IN IP4 192.0.2.5 
s=call
c=IN IP4 192.0.2.5/127/3
t=0 0
a=sendonly
m=audio 49170/2 RTP/AVP 0 8  97
a=rtcp:53020
m=video 0 RTP/AVP
c=IN IP6 2001:db8::1
a=rtcp:53020 IN IP6 2001:db8::2
a=inactive
m=application 9 DTLS/SCTP 5000
c=IN IP4 0.0.0.0
a=recvonly
`)))
	o, ok := s.Origin()
	if want := (Origin{"alice", "2890844526", "2890842807", "IN", "IP4", "192.0.2.5"}); !ok || o != want {
		t.Errorf("Origin = %+v, %v; want %+v", o, ok, want)
	}
	if got := s.SessionName(); got != "call" {
		t.Errorf("SessionName = %q", got)
	}
	c, ok := s.Connection()
	if want := (Connection{"IN", "IP4", "192.0.2.5", "127", "3"}); !ok || c != want {
		t.Errorf("Connection = %+v, %v; want %+v", c, ok, want)
	}
	if d, ok := s.DirectionAttr(); !ok || d != SendOnly {
		t.Errorf("session DirectionAttr = %q, %v", d, ok)
	}
	if len(s.Media) != 3 {
		t.Fatalf("len(Media) = %d", len(s.Media))
	}
	a, v, d := s.Media[0], s.Media[1], s.Media[2]
	if a.Type != "audio" || a.Port != 49170 || a.NumPorts != 2 || a.Proto != "RTP/AVP" ||
		strings.Join(a.Formats, ",") != "0,8,97" || a.Rejected() {
		t.Errorf("audio m= = %+v", a)
	}
	if _, ok := a.Connection(); ok {
		t.Errorf("audio has no media-level c=")
	}
	if c, ok := a.EffectiveConnection(); !ok || c.Address != "192.0.2.5" {
		t.Errorf("audio EffectiveConnection = %+v, %v", c, ok)
	}
	if r, ok := a.RTCP(); !ok || r.Port != 53020 || r.Conn != nil {
		t.Errorf("audio RTCP = %+v, %v", r, ok)
	}
	if got := a.Direction(); got != SendOnly {
		t.Errorf("audio Direction = %q (session fallback)", got)
	}
	if _, ok := a.DirectionAttr(); ok {
		t.Errorf("audio direction is not explicit")
	}
	if !v.Rejected() || v.Formats != nil || v.NumPorts != 0 {
		t.Errorf("video m= = %+v", v)
	}
	c, _ = v.Connection()
	if addr, ok := c.Addr(); !ok || addr.String() != "2001:db8::1" {
		t.Errorf("video Addr = %v, %v", addr, ok)
	}
	if r, ok := v.RTCP(); !ok || r.Port != 53020 || r.Conn == nil || *r.Conn != (Connection{NetType: "IN", AddrType: "IP6", Address: "2001:db8::2"}) {
		t.Errorf("video RTCP = %+v, %v", r, ok)
	}
	if got := v.Direction(); got != Inactive {
		t.Errorf("video Direction = %q", got)
	}
	c, _ = d.Connection()
	if !IsHold(c) {
		t.Errorf("IsHold(%+v) = false", c)
	}
	if d, ok := d.DirectionAttr(); !ok || d != RecvOnly {
		t.Errorf("application DirectionAttr = %q, %v", d, ok)
	}
}

func TestAttributes(t *testing.T) {
	s := assertRoundTrip(t, []byte(crlf(`v=0
a=msid-semantic: WMS abc
a=group:BUNDLE 0 1
m=audio 9 RTP/AVP 0
a=rtcp-mux 
a=rtpmap:0 PCMU/8000
a=candidate:1 1 udp 1 192.0.2.1 9 typ host
a=candidate:2 1 udp 1 192.0.2.2 9 typ host
a=x-empty:
`)))
	if v, ok := s.Attr("msid-semantic"); !ok || v != "WMS abc" {
		t.Errorf("Attr(msid-semantic) = %q, %v", v, ok)
	}
	if s.HasAttr("rtcp-mux") {
		t.Errorf("session HasAttr(rtcp-mux)")
	}
	m := s.Media[0]
	if v, ok := m.Attr("rtcp-mux"); !ok || v != "" {
		t.Errorf("Attr(rtcp-mux) = %q, %v", v, ok)
	}
	if _, ok := m.Attr("rtcp"); ok {
		t.Errorf("Attr(rtcp) matched a=rtcp-mux")
	}
	if got := m.Attrs("candidate"); len(got) != 2 || got[1] != "2 1 udp 1 192.0.2.2 9 typ host" {
		t.Errorf("Attrs(candidate) = %q", got)
	}
	if v, ok := m.Attr("x-empty"); !ok || v != "" {
		t.Errorf("Attr(x-empty) = %q, %v", v, ok)
	}
	want := []Attribute{{"rtcp-mux", ""}, {"rtpmap", "0 PCMU/8000"}, {"candidate", "1 1 udp 1 192.0.2.1 9 typ host"}, {"candidate", "2 1 udp 1 192.0.2.2 9 typ host"}, {"x-empty", ""}}
	got := m.Attributes()
	if len(got) != len(want) {
		t.Fatalf("Attributes = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Attributes[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	lines := m.Lines()
	if len(lines) != 6 || lines[0].String() != "m=audio 9 RTP/AVP 0" || lines[1].String() != "a=rtcp-mux " {
		t.Errorf("Lines = %q", lines)
	}
	if sl := s.Lines(); len(sl) != 3 || sl[2].Type != 'a' || sl[2].Value != "group:BUNDLE 0 1" {
		t.Errorf("session Lines = %q", sl)
	}
}

func TestSessionAttrsAndMulticast(t *testing.T) {
	s := assertRoundTrip(t, []byte("v=0\r\nc=IN IP6 ff15::101/3\r\na=x:1\r\na=y\r\na=x:2\r\nm=audio 9 RTP/AVP 0\r\n"))
	c, _ := s.Connection()
	if c != (Connection{NetType: "IN", AddrType: "IP6", Address: "ff15::101", NumAddrs: "3"}) {
		t.Errorf("Connection = %+v", c)
	}
	if got := s.Attrs("x"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("Attrs(x) = %q", got)
	}
	if n := s.RemoveAttrFunc(func(name, value string) bool { return name == "x" && value == "2" }); n != 1 {
		t.Errorf("RemoveAttrFunc = %d", n)
	}
	if got := string(s.Bytes()); got != "v=0\r\nc=IN IP6 ff15::101/3\r\na=x:1\r\na=y\r\nm=audio 9 RTP/AVP 0\r\n" {
		t.Errorf("got %q", got)
	}
}
