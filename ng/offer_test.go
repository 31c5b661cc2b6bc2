package ng

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/relay"
	"github.com/ngrelay/ngrelay/sdp"
)

const fixtures = "../../shared/fixtures/sdp"

// newTestHandler returns a handler on an engine with three interfaces:
// "int" on 127.0.0.1, "ext" on 127.0.0.2 advertised as 203.0.113.9, and
// "v6" on ::1.
func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	base := 20000 + 2*rand.IntN(15000)
	e, err := relay.New(relay.Config{
		Interfaces: []relay.InterfaceConfig{
			{Name: "int", Addr: netip.MustParseAddr("127.0.0.1")},
			{Name: "ext", Addr: netip.MustParseAddr("127.0.0.2"), Advertised: netip.MustParseAddr("203.0.113.9")},
			{Name: "v6", Addr: netip.MustParseAddr("::1")},
		},
		PortMin: base, PortMax: base + 399,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return NewHandler(e, nil)
}

func request(kv ...any) bencode.Value {
	d := bencode.Dict()
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			d.Set(kv[i].(string), bencode.String(v))
		case []string:
			var l []bencode.Value
			for _, s := range v {
				l = append(l, bencode.String(s))
			}
			d.Set(kv[i].(string), bencode.List(l...))
		}
	}
	return d
}

// sdpOf runs a request and returns the reply's SDP, failing on error.
func sdpOf(t *testing.T, h *Handler, kv ...any) string {
	t.Helper()
	r := h.Handle(request(kv...))
	if res, _ := r.GetString("result"); res != "ok" {
		reason, _ := r.GetString("error-reason")
		t.Fatalf("%v: %s", kv[:4], reason)
	}
	s, _ := r.GetString("sdp")
	return s
}

var portRe = regexp.MustCompile(`(m=\w+ |a=rtcp:)(\d+)`)

// normalise replaces relay ports with P0, P1... in order of appearance.
func normalise(s string) string {
	seen := map[string]string{}
	return portRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := portRe.FindStringSubmatch(m)
		if sub[2] == "0" {
			return m
		}
		if _, ok := seen[sub[2]]; !ok {
			seen[sub[2]] = fmt.Sprintf("P%d", len(seen))
		}
		return sub[1] + seen[sub[2]]
	})
}

func TestOfferRewritesXLiteOfferExactly(t *testing.T) {
	h := newTestHandler(t)
	in, err := os.ReadFile(filepath.Join(fixtures, "xlite-avp-offer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	out := sdpOf(t, h, "command", "offer", "call-id", "x1", "from-tag", "a", "sdp", string(in))
	want := "v=0\r\n" +
		"o=- 1553248503383592 1 IN IP4 192.168.1.23\r\n" +
		"s=X-Lite release 5.4.0 stamp 94385\r\n" +
		"c=IN IP4 127.0.0.1\r\n" +
		"t=0 0\r\n" +
		"m=audio P0 RTP/AVP 8 101\r\n" +
		"a=rtcp:P1\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-15\r\n"
	if got := normalise(out); got != want {
		t.Fatalf("rewritten offer:\n%s\nwant:\n%s", got, want)
	}
	ans, _ := os.ReadFile(filepath.Join(fixtures, "freeswitch-avp-answer.sdp"))
	out = sdpOf(t, h, "command", "answer", "call-id", "x1", "from-tag", "a", "to-tag", "b", "sdp", string(ans),
		"replace", []string{"origin"}, "flags", []string{"full-rtcp-attribute"})
	want = "v=0\r\n" +
		"o=FreeSWITCH 1553219088 1553219089 IN IP4 127.0.0.1\r\n" +
		"s=FreeSWITCH\r\n" +
		"c=IN IP4 127.0.0.1\r\n" +
		"t=0 0\r\n" +
		"m=audio P0 RTP/AVP 8 101\r\n" +
		"a=rtcp:P1 IN IP4 127.0.0.1\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if got := normalise(out); got != want {
		t.Fatalf("rewritten answer:\n%s\nwant:\n%s", got, want)
	}
}

func TestEveryFixtureIsRewrittenOntoTheRelay(t *testing.T) {
	h := newTestHandler(t)
	files, _ := filepath.Glob(filepath.Join(fixtures, "*.sdp"))
	if len(files) == 0 {
		t.Skip("no fixtures at " + fixtures)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, _ := os.ReadFile(f)
			r := h.Handle(request("command", "offer", "call-id", f, "from-tag", "a", "sdp", string(in)))
			if res, _ := r.GetString("result"); res != "ok" {
				reason, _ := r.GetString("error-reason")
				// Fixtures with an empty c= address have nowhere to
				// relay to: that must be a clear error, not a crash.
				if strings.Contains(reason, "connection address") {
					return
				}
				t.Fatalf("offer failed: %s", reason)
			}
			out, _ := r.GetString("sdp")
			orig, _ := sdp.Parse(in)
			got, err := sdp.Parse([]byte(out))
			if err != nil {
				t.Fatalf("rewritten SDP does not parse: %v\n%s", err, out)
			}
			if len(got.Media) != len(orig.Media) {
				t.Fatalf("media count %d, want %d", len(got.Media), len(orig.Media))
			}
			for i, m := range got.Media {
				if orig.Media[i].Port == 0 {
					if m.Port != 0 {
						t.Errorf("media %d: rejected m-line got port %d", i, m.Port)
					}
					continue
				}
				c, _ := m.EffectiveConnection()
				if a, _ := c.Addr(); a.String() != "127.0.0.1" && !a.IsUnspecified() {
					t.Errorf("media %d: connection %s, want the relay's 127.0.0.1", i, c.Address)
				}
				if m.Port == orig.Media[i].Port {
					t.Errorf("media %d: port not rewritten", i)
				}
				// An offer with ICE gets ngrelay's own (rtpengine's
				// ICE=default): candidates on the relay's ports only.
				if u, ok := m.Attr("ice-ufrag"); ok {
					if ou, _ := orig.Media[i].Attr("ice-ufrag"); u == ou {
						t.Errorf("media %d: the endpoint's ICE credentials left in", i)
					}
				}
				for _, v := range m.Attrs("candidate") {
					if !strings.Contains(v, fmt.Sprintf(" 127.0.0.1 %d typ host", m.Port)) && !strings.Contains(v, fmt.Sprintf(" 127.0.0.1 %d typ host", m.Port+1)) {
						t.Errorf("media %d: candidate %q is not the relay's", i, v)
					}
				}
				if orig.Media[i].HasAttr("ice-ufrag") != m.HasAttr("ice-ufrag") && !orig.HasAttr("ice-ufrag") {
					t.Errorf("media %d: ICE offered %v, got %v", i, orig.Media[i].HasAttr("ice-ufrag"), m.HasAttr("ice-ufrag"))
				}
				if m.Proto != orig.Media[i].Proto {
					t.Errorf("media %d: proto %q changed to %q", i, orig.Media[i].Proto, m.Proto)
				}
			}
			// Every attribute other than those ngrelay owns survives in order.
			for i, m := range got.Media {
				var want, have []string
				for _, a := range orig.Media[i].Attributes() {
					if !iceAttributes[a.Name] && a.Name != "rtcp" {
						want = append(want, a.String())
					}
				}
				for _, a := range m.Attributes() {
					if a.Name != "rtcp" && a.Name != "sendonly" && !iceAttributes[a.Name] {
						have = append(have, a.String())
					}
				}
				if strings.Join(want, "|") != strings.Join(have, "|") {
					t.Errorf("media %d attributes:\n got %v\nwant %v", i, have, want)
				}
			}
		})
	}
}

func TestDirectionBridgesInterfacesAndAdvertisesTheConfiguredAddress(t *testing.T) {
	h := newTestHandler(t)
	offer := plain("198.51.100.7", 4000)
	out := sdpOf(t, h, "command", "offer", "call-id", "d1", "from-tag", "a", "sdp", offer, "direction", []string{"int", "ext"})
	if !strings.Contains(out, "c=IN IP4 203.0.113.9\r\n") {
		t.Fatalf("offer towards ext does not advertise 203.0.113.9:\n%s", out)
	}
	ans := sdpOf(t, h, "command", "answer", "call-id", "d1", "from-tag", "a", "to-tag", "b", "sdp", plain("203.0.113.50", 5000), "direction", []string{"int", "ext"})
	if !strings.Contains(ans, "c=IN IP4 127.0.0.1\r\n") {
		t.Fatalf("answer towards int does not name 127.0.0.1:\n%s", ans)
	}
	c := h.engine.Call("d1")
	c.Lock()
	defer c.Unlock()
	if got := c.Leg("b").Medias[0].RTP.Local().Addr.String(); got != "127.0.0.2" {
		t.Fatalf("callee's stream bound on %s, want 127.0.0.2", got)
	}
}

func TestAddressFamilyBridgesIPv4ToIPv6(t *testing.T) {
	h := newTestHandler(t)
	out := sdpOf(t, h, "command", "offer", "call-id", "f1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "direction", []string{"int", "v6"}, "address-family", "IP6")
	if !strings.Contains(out, "c=IN IP6 ::1\r\n") {
		t.Fatalf("offer not bridged to IPv6:\n%s", out)
	}
	v6 := strings.ReplaceAll(plain("2001:db8::5", 6000), "IN IP4", "IN IP6")
	ans := sdpOf(t, h, "command", "answer", "call-id", "f1", "from-tag", "a", "to-tag", "b", "sdp", v6)
	if !strings.Contains(ans, "c=IN IP4 127.0.0.1\r\n") {
		t.Fatalf("answer not bridged back to IPv4:\n%s", ans)
	}
}

func TestMediaAddressOverridesTheAdvertisedAddress(t *testing.T) {
	h := newTestHandler(t)
	out := sdpOf(t, h, "command", "offer", "call-id", "m1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "media-address", "192.0.2.200")
	if !strings.Contains(out, "c=IN IP4 192.0.2.200\r\n") {
		t.Fatalf("media-address not used:\n%s", out)
	}
}

func TestSIPSourceAddressUsesReceivedFrom(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, "command", "offer", "call-id", "s1", "from-tag", "a", "sdp", plain("10.0.0.5", 4000),
		"flags", []string{"SIP-source-address"}, "received-from", []string{"IP4", "198.51.100.99"})
	c := h.engine.Call("s1")
	c.Lock()
	defer c.Unlock()
	if ep := c.Leg("a").Medias[0].Endpoint; ep.String() != "198.51.100.99:4000" {
		t.Fatalf("endpoint %s, want the SIP source 198.51.100.99:4000", ep)
	}
}

func TestRtppFlagsStringIsParsedLikeFlags(t *testing.T) {
	h := newTestHandler(t)
	out := sdpOf(t, h, "command", "offer", "call-id", "r1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000),
		"rtpp-flags", "replace-origin full-rtcp-attribute direction=int direction=ext loop-protect")
	for _, want := range []string{"o=- 1 1 IN IP4 203.0.113.9", "a=rtcp:", " IN IP4 203.0.113.9", "a=rtpengine:" + h.instanceID} {
		if !strings.Contains(out, want) {
			t.Errorf("rtpp_flags output lacks %q:\n%s", want, out)
		}
	}
	// The marker stops a second pass through the same relay.
	again := sdpOf(t, h, "command", "offer", "call-id", "r2", "from-tag", "a", "sdp", out, "flags", []string{"loop-protect"})
	if again != out {
		t.Fatalf("loop-protect did not return the SDP unchanged")
	}
	if h.engine.Call("r2") != nil {
		t.Fatal("loop-protect created a call")
	}
}

func TestSDPVersionIncrementsOnlyWhenTheSDPChanges(t *testing.T) {
	h := newTestHandler(t)
	ver := func(s string) string {
		for _, l := range strings.Split(s, "\r\n") {
			if strings.HasPrefix(l, "o=") {
				return strings.Fields(l)[2]
			}
		}
		return ""
	}
	rep := []string{"SDP-version", "username", "session-name"}
	o1 := sdpOf(t, h, "command", "offer", "call-id", "v1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "replace", rep)
	o2 := sdpOf(t, h, "command", "offer", "call-id", "v1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "replace", rep)
	changed := strings.Replace(plain("198.51.100.7", 4000), "s=test", "s=other", 1)
	changed = strings.Replace(changed, "o=- 1 1", "o=alice 1 1", 1)
	changed += "a=sendonly\r\n"
	o3 := sdpOf(t, h, "command", "offer", "call-id", "v1", "from-tag", "a", "sdp", changed, "replace", rep)
	if ver(o1) != "1" || ver(o2) != "1" || ver(o3) != "2" {
		t.Fatalf("versions %s %s %s, want 1 1 2", ver(o1), ver(o2), ver(o3))
	}
	if !strings.Contains(o3, "o=- ") || !strings.Contains(o3, "s=test") {
		t.Fatalf("username or session name not kept:\n%s", o3)
	}
}

func TestRejectedMediaKeepsPortZero(t *testing.T) {
	h := newTestHandler(t)
	in := plain("198.51.100.7", 4000) + "m=video 0 RTP/AVP 96\r\n"
	out := sdpOf(t, h, "command", "offer", "call-id", "z1", "from-tag", "a", "sdp", in)
	if !strings.Contains(out, "m=video 0 RTP/AVP 96") {
		t.Fatalf("rejected m-line changed:\n%s", out)
	}
}

func plain(addr string, port int) string {
	return "v=0\r\no=- 1 1 IN IP4 " + addr + "\r\ns=test\r\nc=IN IP4 " + addr + "\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\n", port)
}
