package ng

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/ice"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// webrtcOnlyLines are what a plain RTP/AVP phone must never see.
var webrtcOnlyLines = []string{"a=ice-", "a=candidate", "a=end-of-candidates", "a=fingerprint", "a=setup", "a=rtcp-mux",
	"a=group:BUNDLE", "UDP/TLS", "a=crypto", midExtensionURI}

func checkPlainSide(t *testing.T, body string) {
	t.Helper()
	for _, bad := range webrtcOnlyLines {
		if strings.Contains(body, bad) {
			t.Fatalf("the phone's SDP has %q:\n%s", bad, body)
		}
	}
}

var (
	ufragRe       = regexp.MustCompile(`(?m)^a=ice-ufrag:([A-Za-z0-9+/]+)\r$`)
	pwdRe         = regexp.MustCompile(`(?m)^a=ice-pwd:([A-Za-z0-9+/]+)\r$`)
	fingerprintRe = regexp.MustCompile(`(?m)^a=fingerprint:sha-256 ([0-9A-F]{2}(:[0-9A-F]{2}){31})\r$`)
	candidateRe   = regexp.MustCompile(`(?m)^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host\r$`)
)

// checkBrowserSide checks ngrelay's SDP to a WebRTC leg against RFC 8829,
// 8839, 8842 and 8843: per media section ICE credentials of legal length,
// a sha-256 fingerprint, the setup role (actpass in offers, active or
// passive in answers), rtcp-mux, a mid, a host candidate on the port of the
// m= line, end-of-candidates; BUNDLE at session level, and no ice-lite
// (ngrelay runs full ICE by default).
func checkBrowserSide(t *testing.T, body string, offer bool, bundle string) {
	t.Helper()
	sections := strings.Split(body, "\r\nm=")
	sections[0] += "\r\n"
	if strings.Contains(body, "a=ice-lite") {
		t.Errorf("ngrelay is a full ICE agent unless ICE-lite asks otherwise")
	}
	if !strings.Contains(sections[0], "\r\na=group:BUNDLE "+bundle+"\r") {
		t.Errorf("want a=group:BUNDLE %s at session level", bundle)
	}
	for _, sec := range sections[1:] {
		sec = "m=" + sec + "\r\n"
		if strings.HasPrefix(sec, "m=application 0 ") || strings.Fields(sec)[1] == "0" {
			continue // rejected
		}
		port := strings.Fields(sec)[1]
		if !strings.Contains(sec, " UDP/TLS/RTP/SAVPF ") {
			t.Errorf("media section not UDP/TLS/RTP/SAVPF:\n%s", sec)
		}
		if m := ufragRe.FindStringSubmatch(sec); m == nil || len(m[1]) < 4 || len(m[1]) > 256 {
			t.Errorf("ice-ufrag missing or not 4 to 256 ice-chars (RFC 8839 5.4):\n%s", sec)
		}
		if m := pwdRe.FindStringSubmatch(sec); m == nil || len(m[1]) < 22 || len(m[1]) > 256 {
			t.Errorf("ice-pwd missing or not 22 to 256 ice-chars (RFC 8839 5.4):\n%s", sec)
		}
		if !fingerprintRe.MatchString(sec) {
			t.Errorf("no sha-256 fingerprint:\n%s", sec)
		}
		wantSetup := []string{"a=setup:actpass\r"}
		if !offer {
			wantSetup = []string{"a=setup:active\r", "a=setup:passive\r"}
		}
		if !containsAny(sec, wantSetup) {
			t.Errorf("want one of %q:\n%s", wantSetup, sec)
		}
		for _, want := range []string{"a=rtcp-mux\r", "a=mid:", "a=end-of-candidates\r"} {
			if !strings.Contains(sec, want) {
				t.Errorf("lacks %q:\n%s", want, sec)
			}
		}
		c := candidateRe.FindStringSubmatch(sec)
		if c == nil || c[1] != port {
			t.Errorf("no host candidate on the m= port %s:\n%s", port, sec)
		}
		if strings.Contains(sec, "a=crypto") || strings.Contains(sec, midExtensionURI) {
			t.Errorf("SDES or MID extension towards the browser:\n%s", sec)
		}
		if m := regexp.MustCompile(`a=rtcp:(\d+)`).FindStringSubmatch(sec); m != nil && m[1] != port {
			t.Errorf("a=rtcp names another port than the muxed one:\n%s", sec)
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

var jssipToPhone = []any{"transport-protocol", "RTP/AVP", "ICE", "remove", "rtcp-mux", []string{"demux"}}

// TestJsSIPCallsXLite: the JsSIP/Chrome offer reaches X-Lite as plain
// RTP/AVP; X-Lite's SDP goes back as a WebRTC answer.
func TestJsSIPCallsXLite(t *testing.T) {
	h := newTestHandler(t)
	toPhone := sdpOf(t, h, append([]any{"command", "offer", "call-id", "fx1", "from-tag", "jssip", "sdp", fixture(t, "jssip-chrome-offer.sdp")}, jssipToPhone...)...)
	checkPlainSide(t, toPhone)
	if !strings.Contains(toPhone, "m=audio ") || !strings.Contains(toPhone, " RTP/AVP 111 103 104 9 0 8 106 105 13 110 112 113 126\r\n") {
		t.Fatalf("codecs not kept:\n%s", toPhone)
	}
	if !regexp.MustCompile(`a=rtcp:\d+\r`).MatchString(toPhone) {
		t.Fatalf("rtcp-mux demux should give the phone an RTCP port:\n%s", toPhone)
	}
	toBrowser := sdpOf(t, h, "command", "answer", "call-id", "fx1", "from-tag", "jssip", "to-tag", "xlite", "sdp", fixture(t, "xlite-avp-offer.sdp"))
	checkBrowserSide(t, toBrowser, false, "0")
	if !strings.Contains(toBrowser, "a=mid:0\r") {
		t.Fatalf("the answer must keep the browser's mid:\n%s", toBrowser)
	}
}

// TestChromeBundleWithDataChannelToPhone: the data channel of a bundled
// Chrome offer is rejected towards the phone, and the answer's BUNDLE
// group names only the audio that is left.
func TestChromeBundleWithDataChannelToPhone(t *testing.T) {
	h := newTestHandler(t)
	toPhone := sdpOf(t, h, append([]any{"command", "offer", "call-id", "fx2", "from-tag", "chrome", "sdp", fixture(t, "chrome-bundle-audio-datachannel-offer.sdp")}, jssipToPhone...)...)
	checkPlainSide(t, toPhone)
	if !strings.Contains(toPhone, "m=application 0 ") {
		t.Fatalf("the data channel should be rejected towards the phone:\n%s", toPhone)
	}
	audio, _, _ := strings.Cut(toPhone, "m=application")
	if strings.Contains(audio, "c=IN IP4 0.0.0.0") {
		t.Fatalf("trickle's 0.0.0.0 is not hold; the phone must get the relay address:\n%s", toPhone)
	}
	answer := fixture(t, "xlite-avp-offer.sdp") + "m=application 0 RTP/AVP 0\r\n"
	toBrowser := sdpOf(t, h, "command", "answer", "call-id", "fx2", "from-tag", "chrome", "to-tag", "phone", "sdp", answer)
	checkBrowserSide(t, toBrowser, false, "0")
	if !strings.Contains(toBrowser, "m=application 0 ") || !strings.Contains(toBrowser, "a=mid:2\r") {
		t.Fatalf("the data channel should stay rejected, with its mid:\n%s", toBrowser)
	}
}

// TestXLiteCallsBrowser: X-Lite's plain offer becomes a WebRTC offer with
// the WebRTC flag; the JsSIP/Chrome answer goes back to X-Lite plain.
func TestXLiteCallsBrowser(t *testing.T) {
	h := newTestHandler(t)
	toBrowser := sdpOf(t, h, "command", "offer", "call-id", "fx3", "from-tag", "xlite", "sdp", fixture(t, "xlite-avp-offer.sdp"), "flags", []string{"WebRTC"})
	checkBrowserSide(t, toBrowser, true, "0")
	toPhone := sdpOf(t, h, "command", "answer", "call-id", "fx3", "from-tag", "xlite", "to-tag", "jssip", "sdp", fixture(t, "jssip-chrome-answer.sdp"))
	checkPlainSide(t, toPhone)
	if !strings.Contains(toPhone, " RTP/AVP ") {
		t.Fatalf("the phone's answer must be RTP/AVP:\n%s", toPhone)
	}
}

// TestICEKey: the "ICE" and "ICE-lite" keys decide whether ngrelay gives a
// leg its own ICE, as rtpengine's do.
func TestICEKey(t *testing.T) {
	plain := fixture(t, "xlite-avp-offer.sdp")
	withICE := strings.Replace(plain, "a=rtpmap:101", "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\na=candidate:1 1 udp 2130706431 192.168.1.23 49874 typ host\r\na=rtpmap:101", 1)
	cases := []struct {
		name, offer  string
		kv, answerKV []any
		wantICE      bool
		wantLite     bool
		answerHasICE bool // the offerer gets ICE back in the answer
	}{
		{"plain, no key", plain, nil, nil, false, false, false},
		{"plain, default", plain, []any{"ICE", "default"}, nil, false, false, false},
		{"plain, force", plain, []any{"ICE", "force"}, nil, true, false, false},
		{"plain, force both ways", plain, []any{"ICE", "force"}, []any{"ICE", "force"}, true, false, false},
		{"plain, force, lite forward", plain, []any{"ICE", "force", "ICE-lite", "forward"}, nil, true, true, false},
		{"ICE, no key", withICE, nil, nil, true, false, false},
		{"ICE, remove", withICE, []any{"ICE", "remove"}, nil, false, false, false},
		{"ICE, remove, answer force", withICE, []any{"ICE", "remove"}, []any{"ICE", "force"}, false, false, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newTestHandler(t)
			id := fmt.Sprint("ice", i)
			out := sdpOf(t, h, append([]any{"command", "offer", "call-id", id, "from-tag", "a", "sdp", c.offer}, c.kv...)...)
			if strings.Contains(out, "abcdefghijklmnopqrstuvwxyz") || strings.Contains(out, "192.168.1.23 49874") {
				t.Fatalf("the offerer's own ICE passed through:\n%s", out)
			}
			if got := strings.Contains(out, "a=ice-ufrag:") && candidateRe.MatchString(out); got != c.wantICE {
				t.Fatalf("ngrelay's ICE in the offer = %v, want %v:\n%s", got, c.wantICE, out)
			}
			if got := strings.Contains(out, "a=ice-lite"); got != c.wantLite {
				t.Fatalf("ice-lite = %v, want %v:\n%s", got, c.wantLite, out)
			}
			if c.wantICE && !strings.Contains(out, " 2 udp ") {
				t.Fatalf("no RTCP candidate without rtcp-mux:\n%s", out)
			}
			// The answerer speaks no ICE; the offerer gets ICE back when
			// the answer's key asks for it and it offered ICE.
			ans := sdpOf(t, h, append([]any{"command", "answer", "call-id", id, "from-tag", "a", "to-tag", "b", "sdp", plain}, c.answerKV...)...)
			if got := strings.Contains(ans, "a=ice-ufrag:"); got != c.answerHasICE {
				t.Fatalf("ICE in the answer = %v, want %v:\n%s", got, c.answerHasICE, ans)
			}
		})
	}
}

// TestBundleKey: "bundle" reject keeps each m-line on its own transport;
// strict makes the further m-lines of an offer bundle-only.
func TestBundleKey(t *testing.T) {
	av := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
	h := newTestHandler(t)
	ports := func(body string) []string {
		var p []string
		for _, l := range strings.Split(body, "\r\n") {
			if strings.HasPrefix(l, "m=") {
				p = append(p, strings.Fields(l)[1])
			}
		}
		return p
	}
	out := sdpOf(t, h, "command", "offer", "call-id", "b1", "from-tag", "a", "sdp", av, "flags", []string{"WebRTC"})
	if p := ports(out); p[0] != p[1] || !strings.Contains(out, "a=group:BUNDLE 0 1") {
		t.Fatalf("default: a WebRTC offer bundles both m-lines on one port:\n%s", out)
	}
	out = sdpOf(t, h, "command", "offer", "call-id", "b2", "from-tag", "a", "sdp", av, "flags", []string{"WebRTC"}, "bundle", []string{"reject"})
	if p := ports(out); p[0] == p[1] || strings.Contains(out, "a=group:BUNDLE") {
		t.Fatalf("bundle reject: own transports, no group:\n%s", out)
	}
	out = sdpOf(t, h, "command", "offer", "call-id", "b3", "from-tag", "a", "sdp", av, "flags", []string{"WebRTC"}, "bundle", []string{"strict"})
	if p := ports(out); p[0] == "0" || p[1] != "0" || !strings.Contains(out, "a=bundle-only") {
		t.Fatalf("bundle strict: the video m-line is bundle-only with port 0:\n%s", out)
	}
	r := h.Handle(request("command", "offer", "call-id", "b4", "from-tag", "a", "sdp", av, "bundle", []string{"sideways"}))
	if reason, _ := r.GetString("error-reason"); !strings.Contains(reason, `Invalid "bundle" item`) {
		t.Fatalf("unknown bundle item: %v", r)
	}
}

// TestTrickleCandidatesByReoffer: a browser that trickles offers without
// candidates (c=0.0.0.0, port 9); a re-offer with a candidate adds it to
// ngrelay's check list, and ngrelay (a full agent) starts checking it.
func TestTrickleCandidatesByReoffer(t *testing.T) {
	h := newTestHandler(t)
	offer := fixture(t, "chrome-bundle-audio-datachannel-offer.sdp")
	sdpOf(t, h, append([]any{"command", "offer", "call-id", "tr", "from-tag", "chrome", "sdp", offer}, jssipToPhone...)...)
	sdpOf(t, h, "command", "answer", "call-id", "tr", "from-tag", "chrome", "to-tag", "phone", "sdp", fixture(t, "xlite-avp-offer.sdp")+"m=application 0 RTP/AVP 0\r\n")
	call := h.engine.Call("tr")
	call.Lock()
	rtc := state(call.Leg("chrome").Medias[0]).rtc
	call.Unlock()
	if rtc == nil {
		t.Fatal("no ICE session for the browser's audio")
	}
	checksTo := func(addr string) int {
		n := 0
		for _, d := range []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second} {
			out, _ := rtc.agent.Tick(time.Now().Add(d))
			for _, o := range out {
				if o.To.String() == addr {
					n++
				}
			}
		}
		return n
	}
	const trickled = "192.0.2.77:40000"
	if n := checksTo(trickled); n != 0 {
		t.Fatalf("%d checks to a candidate not yet signalled", n)
	}
	// The re-offer (same credentials) carries the trickled candidate and
	// the end of candidates.
	reoffer := strings.Replace(offer, "a=ice-options:trickle\r\n", "a=ice-options:trickle\r\na=candidate:1 1 udp 2122260223 192.0.2.77 40000 typ host\r\na=end-of-candidates\r\n", 1)
	sdpOf(t, h, append([]any{"command", "offer", "call-id", "tr", "from-tag", "chrome", "to-tag", "phone", "sdp", reoffer}, jssipToPhone...)...)
	if n := checksTo(trickled); n == 0 {
		t.Fatal("ngrelay sends no check to the trickled candidate")
	}
}

// TestDTLSKey: DTLS=off refuses a call that needs ngrelay's DTLS-SRTP with a
// clear error, and is harmless where none is needed; passive and active
// pick ngrelay's role in its answer.
func TestDTLSKey(t *testing.T) {
	h := newTestHandler(t)
	r := h.Handle(request(append([]any{"command", "offer", "call-id", "d1", "from-tag", "jssip", "sdp", fixture(t, "jssip-chrome-offer.sdp"), "DTLS", "off"}, jssipToPhone...)...))
	if reason, _ := r.GetString("error-reason"); !strings.Contains(reason, `"DTLS" "off" refuses the DTLS-SRTP`) {
		t.Fatalf("DTLS=off on a WebRTC offer: %v", r)
	}
	sdpOf(t, h, "command", "offer", "call-id", "d2", "from-tag", "x", "sdp", fixture(t, "xlite-avp-offer.sdp"), "DTLS", "off")
	r = h.Handle(request("command", "offer", "call-id", "d3", "from-tag", "x", "sdp", fixture(t, "xlite-avp-offer.sdp"), "DTLS", "sideways"))
	if reason, _ := r.GetString("error-reason"); !strings.Contains(reason, `Invalid "DTLS"`) {
		t.Fatalf("DTLS=sideways: %v", r)
	}
	for _, c := range []struct{ key, want string }{{"active", "a=setup:active"}, {"passive", "a=setup:passive"}} {
		id := "d-" + c.key
		sdpOf(t, h, append([]any{"command", "offer", "call-id", id, "from-tag", "jssip", "sdp", fixture(t, "jssip-chrome-offer.sdp"), "DTLS", c.key}, jssipToPhone...)...)
		ans := sdpOf(t, h, "command", "answer", "call-id", id, "from-tag", "jssip", "to-tag", "x", "sdp", fixture(t, "xlite-avp-offer.sdp"), "DTLS", c.key)
		if !strings.Contains(ans, c.want) {
			t.Fatalf("DTLS=%s: want %s:\n%s", c.key, c.want, ans)
		}
	}
}

// TestConsentLostStopsMedia: when ICE consent expires, ngrelay stops
// sending to the leg (RFC 7675), and a new nomination resumes it.
func TestConsentLostStopsMedia(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, append([]any{"command", "offer", "call-id", "cl", "from-tag", "jssip", "sdp", fixture(t, "jssip-chrome-offer.sdp")}, jssipToPhone...)...)
	sdpOf(t, h, "command", "answer", "call-id", "cl", "from-tag", "jssip", "to-tag", "x", "sdp", fixture(t, "xlite-avp-offer.sdp"))
	call := h.engine.Call("cl")
	call.Lock()
	m := call.Leg("jssip").Medias[0]
	rtc := state(m).rtc
	call.Unlock()
	browser := netip.MustParseAddrPort("192.0.2.5:5000")
	rtc.event(&ice.Nominated{Component: 1, Remote: browser})
	if p, _ := m.RTP.Peer(); p != browser {
		t.Fatalf("peer %v after nomination, want %v", p, browser)
	}
	rtc.event(&ice.ConsentLost{Component: 1, Remote: browser})
	if p, _ := m.RTP.Peer(); p.IsValid() {
		t.Fatalf("still sending to %v after consent was lost", p)
	}
	rtc.event(&ice.Nominated{Component: 1, Remote: browser})
	if p, _ := m.RTP.Peer(); p != browser {
		t.Fatalf("peer %v after a new nomination, want %v", p, browser)
	}
}

// TestRTCPMuxRequire: with rtcp-mux "require" the receiving leg is offered
// rtcp-mux without a separate RTCP port and counts as muxing even when its
// answer leaves rtcp-mux out; with "offer" its answer decides.
func TestRTCPMuxRequire(t *testing.T) {
	for _, c := range []struct {
		item    string
		wantMux bool
	}{{"require", true}, {"offer", false}} {
		t.Run(c.item, func(t *testing.T) {
			h := newTestHandler(t)
			id := "mux-" + c.item
			out := sdpOf(t, h, "command", "offer", "call-id", id, "from-tag", "a", "sdp", fixture(t, "xlite-avp-offer.sdp"), "rtcp-mux", []string{c.item})
			if !strings.Contains(out, "a=rtcp-mux\r\n") || strings.Contains(out, "a=rtcp:") {
				t.Fatalf("the offer should carry a=rtcp-mux and no RTCP port:\n%s", out)
			}
			sdpOf(t, h, "command", "answer", "call-id", id, "from-tag", "a", "to-tag", "b", "sdp", fixture(t, "freeswitch-avp-answer.sdp"))
			call := h.engine.Call(id)
			call.Lock()
			mux := call.Leg("b").Medias[0].RTCPMux
			call.Unlock()
			if mux != c.wantMux {
				t.Fatalf("B muxes RTCP = %v after an answer without rtcp-mux, want %v", mux, c.wantMux)
			}
		})
	}
}
