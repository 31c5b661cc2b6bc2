package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"

	"github.com/ngrelay/ngrelay/internal/interop"
)

// chromiumPage is the browser side of the call: a JsSIP-like client that
// offers audio, and optionally video, from Chromium's fake capture device
// over one bundled, rtcp-muxed transport, and functions the test calls
// through DevTools.
const chromiumPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>ngrelay</title></head><body>
<script>
let pc = null;
// When things happened, in milliseconds since the epoch, for the test's
// timing report.
const times = {};
function log(...a) { console.log(...a); }
function newPC() {
	const p = new RTCPeerConnection({bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
	p.addEventListener('iceconnectionstatechange', () => {
		log('iceConnectionState', p.iceConnectionState);
		if (p.iceConnectionState === 'connected' && !times.iceConnected) times.iceConnected = Date.now();
	});
	p.addEventListener('connectionstatechange', () => {
		log('connectionState', p.connectionState);
		if (p.connectionState === 'connected' && !times.connected) times.connected = Date.now();
	});
	p.addEventListener('icecandidateerror', e => log('icecandidateerror', e.address, e.port, e.errorCode, e.errorText));
	return p;
}
async function gathered() {
	if (pc.iceGatheringState === 'complete') return;
	await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('ICE gathering timed out in state ' + pc.iceGatheringState)), 10000);
		pc.addEventListener('icegatheringstatechange', () => {
			if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
		});
	});
}
// ngOffer: the browser calls.
window.ngOffer = async (video) => {
	const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: !!video});
	pc = newPC();
	for (const track of stream.getTracks()) pc.addTrack(track, stream);
	await pc.setLocalDescription(await pc.createOffer());
	times.localSet = Date.now();
	await gathered();
	return pc.localDescription.sdp;
};
window.ngAnswer = async (sdp) => {
	await pc.setRemoteDescription({type: 'answer', sdp: sdp});
	times.remoteSet = Date.now();
	return pc.remoteDescription.sdp;
};
// ngAnswerOffer: the browser is called. addTrack after setRemoteDescription
// reuses the offered transceivers of each kind.
window.ngAnswerOffer = async (sdp, video) => {
	const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: !!video});
	pc = newPC();
	await pc.setRemoteDescription({type: 'offer', sdp: sdp});
	times.remoteSet = Date.now();
	for (const track of stream.getTracks()) pc.addTrack(track, stream);
	await pc.setLocalDescription(await pc.createAnswer());
	times.localSet = Date.now();
	await gathered();
	return pc.localDescription.sdp;
};
window.ngStates = () => {
	const tr = pc.getSenders()[0].transport;
	return {
		ice: pc.iceConnectionState,
		connection: pc.connectionState,
		dtls: tr ? tr.state : 'none',
		iceTransport: tr && tr.iceTransport ? tr.iceTransport.state : 'none',
		signaling: pc.signalingState,
		times: times,
	};
};
window.ngStats = async () => {
	const kind = () => ({inboundPackets: 0, outboundPackets: 0, inboundCodec: '', outboundCodec: ''});
	const res = {audio: kind(), video: kind(), pair: ''};
	const stats = await pc.getStats();
	const codecs = {};
	stats.forEach(r => { if (r.type === 'codec') codecs[r.id] = r.mimeType + '/' + r.payloadType; });
	stats.forEach(r => {
		if (r.type === 'inbound-rtp' && res[r.kind]) {
			res[r.kind].inboundPackets += r.packetsReceived || 0;
			res[r.kind].inboundCodec = codecs[r.codecId] || '';
		}
		if (r.type === 'outbound-rtp' && res[r.kind]) {
			res[r.kind].outboundPackets += r.packetsSent || 0;
			res[r.kind].outboundCodec = codecs[r.codecId] || '';
		}
		if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
			const l = stats.get(r.localCandidateId), rc = stats.get(r.remoteCandidateId);
			res.pair = (l ? l.address + ':' + l.port : '?') + ' -> ' + (rc ? rc.address + ':' + rc.port : '?');
		}
	});
	return res;
};
</script></body></html>`

// chromiumStates is what ngStates returns.
type chromiumStates struct {
	ICE          string `json:"ice"`
	Connection   string `json:"connection"`
	DTLS         string `json:"dtls"`
	ICETransport string `json:"iceTransport"`
	Signaling    string `json:"signaling"`
	// Times, in milliseconds since the epoch, of remoteSet and localSet
	// (setRemoteDescription and setLocalDescription done), iceConnected
	// and connected (ICE and DTLS connected).
	Times map[string]int64 `json:"times"`
}

// chromiumStats is what ngStats returns: the RTP counters of each kind of
// media, and the nominated candidate pair.
type chromiumStats struct {
	Audio chromiumKindStats `json:"audio"`
	Video chromiumKindStats `json:"video"`
	Pair  string            `json:"pair"`
}

// chromiumKindStats sums the browser's inbound-rtp and outbound-rtp
// statistics of one kind of media.
type chromiumKindStats struct {
	InboundPackets  int    `json:"inboundPackets"`
	OutboundPackets int    `json:"outboundPackets"`
	InboundCodec    string `json:"inboundCodec"`
	OutboundCodec   string `json:"outboundCodec"`
}

// requireChromium returns the path of a Chromium or Chrome binary, with the
// interop gate: skip with an install hint, or fail under NGRELAY_INTEROP=1.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return interop.Require(t, "chromium", "chromium")
}

// chromiumOutput keeps the last bytes that the browser process wrote to its
// stdout and stderr.
type chromiumOutput struct {
	mu  sync.Mutex
	buf []byte
}

func (o *chromiumOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	const limit = 64 << 10
	if len(o.buf) > limit {
		o.buf = append(o.buf[:0], o.buf[len(o.buf)-limit:]...)
	}
	return len(p), nil
}

// String returns the output without the lines about the missing D-Bus,
// which a headless browser in a container writes by the dozen.
func (o *chromiumOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b strings.Builder
	for line := range strings.Lines(string(o.buf)) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestChromiumCallsPlainPhone: a real headless Chromium calls a plain RTP
// phone through ngrelay, signalled as Kamailio does for JsSIP. Chromium's
// offer (ICE, DTLS-SRTP, BUNDLE, rtcp-mux) reaches the phone as plain
// RTP/AVP; the phone's PCMU answer goes back with ngrelay's ICE-lite and
// DTLS. Media flows both ways: SRTP on the browser's side, clear RTP on the
// phone's.
func TestChromiumCallsPlainPhone(t *testing.T) { chromiumCall(t, false) }

// TestChromiumBundleAudioVideo: as TestChromiumCallsPlainPhone, with the
// fake camera's video too. Chromium bundles audio and video on one
// transport; the phone gets two plain m-lines on their own ports and
// answers PCMU and VP8 (with Chromium's payload type). ngrelay sorts the
// browser's bundle onto the phone's two ports, and puts the phone's two
// streams onto the one transport, where Chromium tells them apart by
// payload type.
func TestChromiumBundleAudioVideo(t *testing.T) { chromiumCall(t, true) }

// TestChromiumAnswersPhoneOffer: the reverse call. A plain RTP phone offers
// PCMU; ngrelay, told "WebRTC", offers it to a real headless Chromium as
// UDP/TLS/RTP/SAVPF with its full ICE, DTLS (actpass), rtcp-mux and a
// BUNDLE group. Chromium answers (DTLS active), its answer reaches the
// phone as plain RTP/AVP, and media flows both ways. ngrelay is the
// controlling ICE agent here, and nominates.
func TestChromiumAnswersPhoneOffer(t *testing.T) { chromiumAnswers(t, false) }

// TestChromiumAnswersBundledOffer: as TestChromiumAnswersPhoneOffer, with the
// phone offering video (VP8, payload type 96) on a second m-line too.
// Chromium accepts ngrelay's BUNDLE group and sends both kinds over one
// transport, which ngrelay sorts onto the phone's two ports.
func TestChromiumAnswersBundledOffer(t *testing.T) { chromiumAnswers(t, true) }

// phoneStream is one m-line of the plain phone: the endpoint, what it sends
// to the relay, and the counters of what it receives.
type phoneStream struct {
	kind     string
	pt       uint8
	ep       *endpoint
	relay    netip.AddrPort // the relay's port for this m-line, towards the phone
	interval time.Duration
	tsStep   uint32
	marker   bool
	payload  []byte
	// clear reports whether p, from the relay's port, is the browser's
	// media of this kind relayed in the clear.
	clear func(p *rtp.Packet) bool

	got   atomic.Int64 // clear media of this kind from the relay
	wrong atomic.Int64 // RTP with another m-line's payload type
	other atomic.Int64 // anything else
	// The first wrong and other datagrams, for failure reports.
	firstWrong, firstOther atomic.Value // string
}

func (s *phoneStream) String() string {
	wrong, _ := s.firstWrong.Load().(string)
	other, _ := s.firstOther.Load().(string)
	return fmt.Sprintf("%s port %d: %d clear %s packets (PT %d) from %s, %d of the wrong kind (first: %s), %d others (first: %s)",
		s.kind, s.ep.port(), s.got.Load(), s.kind, s.pt, s.relay, s.wrong.Load(), wrong, s.other.Load(), other)
}

// chromiumVP8 is the payload of the phone's dummy VP8 packets: a VP8
// payload descriptor (start of partition 0) and what looks like the header
// of a 16x16 key frame, padded to about 100 bytes. Chromium cannot decode
// it but counts the packets it receives.
var chromiumVP8 = append([]byte{0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00}, bytes.Repeat([]byte{0x5a}, 90)...)

// newPhoneStreams makes the plain phone's m-lines: PCMU audio, and VP8
// video with payload type vp8PT if video is set. The relay's ports are set
// once the signalling has told them.
func newPhoneStreams(t *testing.T, video bool, vp8PT uint8) []*phoneStream {
	streams := []*phoneStream{{
		kind: "audio", pt: 0, ep: newEndpoint(t),
		interval: 20 * time.Millisecond, tsStep: 160, payload: bytes.Repeat([]byte{0xFF}, 160),
		// Clear PCMU: the negotiated payload type, and whole 20 ms frames
		// of 8-bit samples. An SRTP packet would carry a 10-byte
		// authentication tag.
		clear: func(p *rtp.Packet) bool { return p.PayloadType == 0 && len(p.Payload) > 0 && len(p.Payload)%160 == 0 },
	}}
	if video {
		streams = append(streams, &phoneStream{
			kind: "video", pt: vp8PT, ep: newEndpoint(t),
			interval: 33 * time.Millisecond, tsStep: 90000 * 33 / 1000, marker: true, payload: chromiumVP8,
			// VP8 from the browser is any size; SRTP is told apart by
			// the relay's port, where only clear RTP may come.
			clear: func(p *rtp.Packet) bool { return p.PayloadType == vp8PT },
		})
	}
	return streams
}

// setRelayPorts sets each stream's relay port from the m= ports of the SDP
// that ngrelay gave the phone.
func setRelayPorts(streams []*phoneStream, ports []int) {
	for i, s := range streams {
		s.relay = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(ports[i]))
	}
}

// checkPlainPhoneSDP fails the test unless sdp, from ngrelay to the phone,
// is plain RTP/AVP with an m-line on its own port for each stream, offering
// or answering the stream's payload type.
func checkPlainPhoneSDP(t *testing.T, b *chromiumBrowser, sdp string, streams []*phoneStream) {
	t.Helper()
	for _, bad := range []string{"a=ice-", "a=candidate", "a=fingerprint", "a=setup", "a=rtcp-mux", "a=group:BUNDLE", "UDP/TLS", "SAVP"} {
		if strings.Contains(sdp, bad) {
			t.Fatalf("the phone's SDP has %q:\n%s", bad, b.dump())
		}
	}
	ports := mediaPorts(sdp)
	if len(ports) != len(streams) {
		t.Fatalf("the phone's SDP has %d m-lines, want %d:\n%s", len(ports), len(streams), b.dump())
	}
	seen := map[int]bool{}
	for i, s := range streams {
		if ports[i] == 0 || seen[ports[i]] {
			t.Fatalf("the phone needs each m-line on its own port:\n%s", b.dump())
		}
		seen[ports[i]] = true
		m := regexp.MustCompile(`(?m)^m=`+s.kind+` \d+ RTP/AVP( \d+)*\r$`).FindAllString(sdp, -1)
		if len(m) != 1 || !regexp.MustCompile(fmt.Sprintf(` %d( |\r)`, s.pt)).MatchString(m[0]) {
			t.Fatalf("the phone's SDP needs one plain %s m-line with payload type %d:\n%s", s.kind, s.pt, b.dump())
		}
	}
	if len(streams) == 2 && !regexp.MustCompile(`(?s)^.*\r\nm=audio [^\r]*\r\n.*\r\nm=video `).MatchString(sdp) {
		t.Fatalf("the phone's SDP needs the audio m-line first, then the video m-line:\n%s", b.dump())
	}
}

// chromiumCall runs a call from headless Chromium (audio, and video if
// video is set) through ngrelay to a plain RTP phone, and checks that media
// flows both ways.
func chromiumCall(t *testing.T, video bool) {
	chromium := requireChromium(t)
	td := startDaemon(t, nil)
	b := startChromium(t, chromium)
	var browserSDP, phoneSDP, phoneAnswer, browserAnswer string
	b.sdps = []labeledSDP{{"browser offer", &browserSDP}, {"to the phone", &phoneSDP}, {"phone answer", &phoneAnswer}, {"to the browser", &browserAnswer}}

	browserSDP = crlf(b.eval(t, 20*time.Second, "creating the browser's offer", fmt.Sprintf(`ngOffer(%t)`, video)))
	if !regexp.MustCompile(`(?m)^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host`).MatchString(browserSDP) {
		t.Fatalf("the browser's offer has no loopback host candidate:\n%s", b.dump())
	}
	var vp8PT uint8
	if video {
		if !strings.Contains(browserSDP, "a=group:BUNDLE 0 1\r\n") {
			t.Fatalf("the browser did not bundle audio and video:\n%s", b.dump())
		}
		m := regexp.MustCompile(`(?m)^a=rtpmap:(\d+) VP8/90000\r$`).FindStringSubmatch(browserSDP)
		if m == nil {
			t.Fatalf("the browser does not offer VP8:\n%s", b.dump())
		}
		fmt.Sscan(m[1], &vp8PT)
	}

	// Kamailio's rtpengine_offer for a JsSIP caller towards a plain phone.
	callID := fmt.Sprintf("chromium-%d", rand.Uint32())
	r := td.cmd(t, "command", "offer", "call-id", callID, "from-tag", "browser", "sdp", browserSDP,
		"transport-protocol", "RTP/AVP", "ICE", "remove", "rtcp-mux", []string{"demux"})
	mustOK(t, r)
	phoneSDP, _ = r.GetString("sdp")
	// The phone answers PCMU only, and VP8 with the browser's payload type.
	streams := newPhoneStreams(t, video, vp8PT)
	checkPlainPhoneSDP(t, b, phoneSDP, streams)
	setRelayPorts(streams, mediaPorts(phoneSDP))
	phoneAnswer = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\n", streams[0].ep.port()) +
		"a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
	if video {
		phoneAnswer += fmt.Sprintf("m=video %d RTP/AVP %d\r\na=rtpmap:%d VP8/90000\r\na=sendrecv\r\n", streams[1].ep.port(), vp8PT, vp8PT)
	}
	r = td.cmd(t, "command", "answer", "call-id", callID, "from-tag", "browser", "to-tag", "phone", "sdp", phoneAnswer)
	mustOK(t, r)
	browserAnswer, _ = r.GetString("sdp")
	if video {
		if ports := mediaPorts(browserAnswer); len(ports) != 2 || ports[0] != ports[1] || !strings.Contains(browserAnswer, "a=group:BUNDLE 0 1\r\n") {
			t.Fatalf("the browser's answer must bundle both m-lines on one port:\n%s", b.dump())
		}
	}
	js, _ := json.Marshal(browserAnswer)
	signalled := time.Now()
	b.eval(t, 10*time.Second, "the browser rejects ngrelay's answer", `ngAnswer(`+string(js)+`)`)
	chromiumMedia(t, b, streams, signalled)
}

// chromiumAnswers runs the reverse call: a plain RTP phone (audio, and
// video if video is set) calls headless Chromium through ngrelay, and
// media flows both ways.
func chromiumAnswers(t *testing.T, video bool) {
	chromium := requireChromium(t)
	td := startDaemon(t, nil)
	b := startChromium(t, chromium)
	var phoneOffer, browserOffer, browserSDP, phoneSDP string
	b.sdps = []labeledSDP{{"phone offer", &phoneOffer}, {"to the browser", &browserOffer}, {"browser answer", &browserSDP}, {"to the phone", &phoneSDP}}

	// The phone offers PCMU, and VP8 with payload type 96.
	streams := newPhoneStreams(t, video, 96)
	if video {
		phoneOffer = avPhoneSDP(streams[0].ep, streams[1].ep)
	} else {
		phoneOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
			fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", streams[0].ep.port())
	}

	// Kamailio's rtpengine_offer for a plain phone calling a JsSIP user.
	callID := fmt.Sprintf("chromium-rev-%d", rand.Uint32())
	r := td.cmd(t, "command", "offer", "call-id", callID, "from-tag", "phone", "sdp", phoneOffer, "flags", []string{"WebRTC"})
	mustOK(t, r)
	browserOffer, _ = r.GetString("sdp")
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=setup:actpass", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=candidate:", "a=rtcp-mux", "a=group:BUNDLE", "a=mid:"} {
		if !strings.Contains(browserOffer, want) {
			t.Fatalf("ngrelay's WebRTC offer lacks %q:\n%s", want, b.dump())
		}
	}
	if strings.Contains(browserOffer, "a=ice-lite") {
		t.Fatalf("ngrelay's WebRTC offer has a=ice-lite:\n%s", b.dump())
	}
	if n := len(mediaPorts(browserOffer)); n != len(streams) {
		t.Fatalf("ngrelay's WebRTC offer has %d m-lines, want %d:\n%s", n, len(streams), b.dump())
	}

	js, _ := json.Marshal(browserOffer)
	start := time.Now()
	browserSDP = crlf(b.eval(t, 20*time.Second, "the browser's answer to ngrelay's offer", fmt.Sprintf(`ngAnswerOffer(%s, %t)`, js, video)))
	t.Logf("the browser answered in %v (setRemoteDescription, createAnswer, setLocalDescription, ICE gathering)", time.Since(start).Round(time.Millisecond))
	if !regexp.MustCompile(`(?m)^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host`).MatchString(browserSDP) {
		t.Fatalf("the browser's answer has no loopback host candidate:\n%s", b.dump())
	}
	setup := regexp.MustCompile(`(?m)^a=setup:(\w+)\r$`).FindStringSubmatch(browserSDP)
	if setup == nil || setup[1] == "actpass" {
		t.Fatalf("the browser's answer needs a=setup active or passive:\n%s", b.dump())
	}
	t.Logf("the browser answers a=setup:%s: it is the DTLS %s", setup[1], map[string]string{"active": "client", "passive": "server"}[setup[1]])
	if video && !strings.Contains(browserSDP, "a=group:BUNDLE 0 1\r\n") {
		t.Fatalf("the browser did not bundle audio and video:\n%s", b.dump())
	}
	for _, s := range streams {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^m=%s [1-9]\d* UDP/TLS/RTP/SAVPF( \d+)* %d( |\r)`, s.kind, s.pt)).MatchString(browserSDP) {
			t.Fatalf("the browser's answer does not accept %s with payload type %d:\n%s", s.kind, s.pt, b.dump())
		}
	}

	// Kamailio's rtpengine_answer with the JsSIP user's answer.
	r = td.cmd(t, "command", "answer", "call-id", callID, "from-tag", "phone", "to-tag", "browser", "sdp", browserSDP)
	mustOK(t, r)
	signalled := time.Now()
	phoneSDP, _ = r.GetString("sdp")
	checkPlainPhoneSDP(t, b, phoneSDP, streams)
	setRelayPorts(streams, mediaPorts(phoneSDP))
	chromiumMedia(t, b, streams, signalled)
}

// labeledSDP is an SDP of the call, for failure reports.
type labeledSDP struct {
	label string
	sdp   *string
}

// chromiumBrowser is a headless Chromium showing chromiumPage.
type chromiumBrowser struct {
	ctx    context.Context // the browser's tab
	output *chromiumOutput
	sdps   []labeledSDP

	consoleMu sync.Mutex
	console   []string
}

// startChromium starts the browser on chromiumPage. Everything the browser
// does is bounded by a context: when it ends, or the test ends, the browser
// process is killed.
func startChromium(t *testing.T, chromium string) *chromiumBrowser {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, chromiumPage)
	}))
	t.Cleanup(srv.Close)

	runCtx, runCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(runCancel)
	b := &chromiumBrowser{output: &chromiumOutput{}}
	allocCtx, allocCancel := chromedp.NewExecAllocator(runCtx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(b.output),
	)
	t.Cleanup(allocCancel) // kills the browser if Cancel below did not stop it
	ctx, ctxCancel := chromedp.NewContext(allocCtx)
	b.ctx = ctx

	// The browser's console, kept for failure reports. Console starts the
	// browser on the bounded context.
	messages := chromedp.Console(ctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.consoleMu.Lock()
			b.console = append(b.console, m.String())
			b.consoleMu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("closing the browser: %v", err)
		}
		ctxCancel()
		<-consoleDone
	})

	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	err := chromedp.Do(sctx, chromedp.Navigate(srv.URL))
	scancel()
	if err != nil {
		t.Fatalf("loading the page: %v\n%s", err, b.dump())
	}
	return b
}

// eval evaluates expr, a promise of a string, in the page within d, and
// fails the test with what on error.
func (b *chromiumBrowser) eval(t *testing.T, d time.Duration, what, expr string) string {
	t.Helper()
	sctx, scancel := context.WithTimeout(b.ctx, d)
	defer scancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, b.dump())
	}
	return v
}

// dump returns the call's SDPs, the browser's console and the tail of its
// output, for failure reports.
func (b *chromiumBrowser) dump() string {
	var s strings.Builder
	for _, l := range b.sdps {
		fmt.Fprintf(&s, "%s:\n%s\n", l.label, *l.sdp)
	}
	b.consoleMu.Lock()
	defer b.consoleMu.Unlock()
	fmt.Fprintf(&s, "browser console:\n  %s\nbrowser output (tail):\n%s\n(ngrelay's log: rerun with NGRELAY_TEST_LOG=1)",
		strings.Join(b.console, "\n  "), b.output.String())
	return s.String()
}

// crlf returns sdp with CRLF line ends.
func crlf(sdp string) string {
	return strings.ReplaceAll(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n", "\r\n")
}

// chromiumMedia runs the phone's streams once the signalling is done (at
// signalled: the browser's or ngrelay's answer applied), and checks that
// ICE and DTLS connect and that at least 100 packets of each kind flow each
// way, clear at the phone, each kind to its own port.
func chromiumMedia(t *testing.T, b *chromiumBrowser, streams []*phoneStream, signalled time.Time) {
	t.Helper()
	// The phone: on each m-line, a reader that counts the clear media that
	// ngrelay relays from the browser, and a sender of its own media.
	mediaCtx, mediaStop := context.WithCancel(context.Background())
	var media sync.WaitGroup
	t.Cleanup(func() {
		mediaStop()
		for _, s := range streams {
			s.ep.rtp.SetReadDeadline(time.Now()) // unblock the reader
		}
		media.Wait()
	})
	for _, s := range streams {
		wrongPT := map[uint8]bool{}
		for _, o := range streams {
			if o.pt != s.pt {
				wrongPT[o.pt] = true
			}
		}
		media.Add(2)
		go func() {
			defer media.Done()
			buf := make([]byte, 2048)
			for mediaCtx.Err() == nil {
				s.ep.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				n, from, err := s.ep.rtp.ReadFromUDPAddrPort(buf)
				if err != nil {
					continue
				}
				var p rtp.Packet
				isRTP := p.Unmarshal(buf[:n]) == nil && p.Version == 2
				switch {
				case isRTP && from == s.relay && s.clear(&p):
					s.got.Add(1)
				case isRTP && wrongPT[p.PayloadType]:
					if s.wrong.Add(1) == 1 {
						s.firstWrong.Store(fmt.Sprintf("%d bytes from %s: %x", n, from, buf[:min(n, 32)]))
					}
				default:
					if s.other.Add(1) == 1 {
						s.firstOther.Store(fmt.Sprintf("%d bytes from %s: %x", n, from, buf[:min(n, 32)]))
					}
				}
			}
		}()
		go func() {
			defer media.Done()
			ssrc := rand.Uint32()
			seq := uint16(rand.Uint32())
			ts := rand.Uint32()
			tick := time.NewTicker(s.interval)
			defer tick.Stop()
			for {
				p := rtp.Packet{Header: rtp.Header{Version: 2, Marker: s.marker, PayloadType: s.pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: s.payload}
				pkt, _ := p.Marshal()
				s.ep.rtp.WriteToUDPAddrPort(pkt, s.relay)
				seq++
				ts += s.tsStep
				select {
				case <-mediaCtx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}

	// Wait for ICE, DTLS and 100 packets each way of each kind.
	const want = 100
	video := len(streams) > 1
	var (
		states chromiumStates
		stats  chromiumStats
		err    error
	)
	report := func() string {
		var s strings.Builder
		fmt.Fprintf(&s, "browser states %+v, stats %+v; the phone's", states, stats)
		for _, st := range streams {
			fmt.Fprintf(&s, "\n  %s", st)
		}
		return s.String() + "\n" + b.dump()
	}
	wait := 30 * time.Second
	if video {
		wait = 45 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		sctx, scancel := context.WithTimeout(b.ctx, 5*time.Second)
		states, err = chromedp.Run(sctx, chromedp.Evaluate[chromiumStates](`ngStates()`))
		if err == nil {
			stats, err = chromedp.Run(sctx, chromedp.Evaluate[chromiumStats](`ngStats()`, chromedp.EvalAwaitPromise))
		}
		scancel()
		if err != nil {
			t.Fatalf("reading the browser's state: %v\n%s", err, report())
		}
		if states.Connection == "failed" || states.DTLS == "failed" || states.ICE == "failed" {
			t.Fatalf("the browser's connection failed: %s", report())
		}
		for _, s := range streams {
			if s.wrong.Load() != 0 {
				t.Fatalf("the phone's %s port got media of the wrong kind: %s", s.kind, report())
			}
		}
		done := (states.ICE == "connected" || states.ICE == "completed") && states.DTLS == "connected" &&
			stats.Audio.InboundPackets >= want && (!video || stats.Video.InboundPackets >= want)
		for _, s := range streams {
			done = done && s.got.Load() >= want
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for ICE, DTLS and %d packets each way: %s", want, report())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var got []string
	for _, s := range streams {
		got = append(got, s.String())
	}
	t.Logf("browser states %+v, stats %+v; the phone's\n  %s", states, stats, strings.Join(got, "\n  "))
	// How long the connection took, by the browser's clock (the same as
	// ours), from the answer being applied on both sides.
	since := func(what string, from int64) string {
		if at, ok := states.Times[what]; ok && from != 0 {
			return fmt.Sprintf("%d ms", at-from)
		}
		return "?"
	}
	ms := signalled.UnixMilli()
	t.Logf("after the NG answer: ICE connected %s, ICE+DTLS connected %s; after the browser's setRemoteDescription: ICE+DTLS connected %s",
		since("iceConnected", ms), since("connected", ms), since("connected", states.Times["remoteSet"]))
}
