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
function log(...a) { console.log(...a); }
window.ngOffer = async (video) => {
	const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: !!video});
	pc = new RTCPeerConnection({bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
	pc.addEventListener('iceconnectionstatechange', () => log('iceConnectionState', pc.iceConnectionState));
	pc.addEventListener('connectionstatechange', () => log('connectionState', pc.connectionState));
	pc.addEventListener('icecandidateerror', e => log('icecandidateerror', e.address, e.port, e.errorCode, e.errorText));
	for (const track of stream.getTracks()) pc.addTrack(track, stream);
	await pc.setLocalDescription(await pc.createOffer());
	if (pc.iceGatheringState !== 'complete') {
		await new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error('ICE gathering timed out in state ' + pc.iceGatheringState)), 10000);
			pc.addEventListener('icegatheringstatechange', () => {
				if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
			});
		});
	}
	return pc.localDescription.sdp;
};
window.ngAnswer = async (sdp) => {
	await pc.setRemoteDescription({type: 'answer', sdp: sdp});
	return pc.remoteDescription.sdp;
};
window.ngStates = () => {
	const tr = pc.getSenders()[0].transport;
	return {
		ice: pc.iceConnectionState,
		connection: pc.connectionState,
		dtls: tr ? tr.state : 'none',
		iceTransport: tr && tr.iceTransport ? tr.iceTransport.state : 'none',
		signaling: pc.signalingState,
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

// chromiumCall runs a call from headless Chromium (audio, and video if
// video is set) through ngrelay to a plain RTP phone, and checks that media
// flows both ways.
func chromiumCall(t *testing.T, video bool) {
	chromium := requireChromium(t)
	td := startDaemon(t, nil)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, chromiumPage)
	}))
	t.Cleanup(srv.Close)

	// Everything the browser does is bounded by this context: when it ends,
	// the browser process is killed.
	runCtx, runCancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(runCancel)
	output := &chromiumOutput{}
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
		chromedp.CombinedOutput(output),
	)
	t.Cleanup(allocCancel) // kills the browser if Cancel below did not stop it
	ctx, ctxCancel := chromedp.NewContext(allocCtx)

	// The browser's console, kept for failure reports. Console starts the
	// browser on the bounded context.
	var (
		consoleMu sync.Mutex
		console   []string
	)
	messages := chromedp.Console(ctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, m.String())
			consoleMu.Unlock()
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
	var (
		browserSDP, phoneSDP, phoneAnswer, browserAnswer string
	)
	dump := func() string {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		return fmt.Sprintf("browser offer:\n%s\nto the phone:\n%s\nphone answer:\n%s\nto the browser:\n%s\nbrowser console:\n  %s\nbrowser output (tail):\n%s\n(ngrelay's log: rerun with NGRELAY_TEST_LOG=1)",
			browserSDP, phoneSDP, phoneAnswer, browserAnswer, strings.Join(console, "\n  "), output.String())
	}
	step := func(d time.Duration) (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, d) }

	sctx, scancel := step(30 * time.Second)
	err := chromedp.Do(sctx, chromedp.Navigate(srv.URL))
	scancel()
	if err != nil {
		t.Fatalf("loading the page: %v\n%s", err, dump())
	}
	sctx, scancel = step(20 * time.Second)
	browserSDP, err = chromedp.Run(sctx, chromedp.Evaluate[string](fmt.Sprintf(`ngOffer(%t)`, video), chromedp.EvalAwaitPromise))
	scancel()
	if err != nil {
		t.Fatalf("creating the browser's offer: %v\n%s", err, dump())
	}
	browserSDP = strings.ReplaceAll(browserSDP, "\r\n", "\n")
	browserSDP = strings.ReplaceAll(browserSDP, "\n", "\r\n")
	if !regexp.MustCompile(`(?m)^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host`).MatchString(browserSDP) {
		t.Fatalf("the browser's offer has no loopback host candidate:\n%s", dump())
	}
	var vp8PT uint8
	if video {
		if !strings.Contains(browserSDP, "a=group:BUNDLE 0 1\r\n") {
			t.Fatalf("the browser did not bundle audio and video:\n%s", dump())
		}
		m := regexp.MustCompile(`(?m)^a=rtpmap:(\d+) VP8/90000\r$`).FindStringSubmatch(browserSDP)
		if m == nil {
			t.Fatalf("the browser does not offer VP8:\n%s", dump())
		}
		fmt.Sscan(m[1], &vp8PT)
	}

	// Kamailio's rtpengine_offer for a JsSIP caller towards a plain phone.
	callID := fmt.Sprintf("chromium-%d", rand.Uint32())
	r := td.cmd(t, "command", "offer", "call-id", callID, "from-tag", "browser", "sdp", browserSDP,
		"transport-protocol", "RTP/AVP", "ICE", "remove", "rtcp-mux", []string{"demux"})
	mustOK(t, r)
	phoneSDP, _ = r.GetString("sdp")
	for _, bad := range []string{"a=ice-", "a=candidate", "a=fingerprint", "a=setup", "a=rtcp-mux", "a=group:BUNDLE", "UDP/TLS"} {
		if strings.Contains(phoneSDP, bad) {
			t.Fatalf("the phone's SDP has %q:\n%s", bad, dump())
		}
	}
	if !regexp.MustCompile(`(?m)^m=audio \d+ RTP/AVP( \d+)* 0( |\r)`).MatchString(phoneSDP) {
		t.Fatalf("the phone's SDP does not offer PCMU:\n%s", dump())
	}
	toRelay := mediaPorts(phoneSDP)
	if len(toRelay) == 0 || toRelay[0] == 0 {
		t.Fatalf("no m= port in the phone's SDP:\n%s", dump())
	}
	if video {
		if len(toRelay) != 2 || toRelay[0] == toRelay[1] || toRelay[1] == 0 {
			t.Fatalf("the phone needs two m-lines on their own ports:\n%s", dump())
		}
		if !regexp.MustCompile(fmt.Sprintf(`(?s)^.*\r\nm=audio [^\r]*\r\n.*\r\nm=video \d+ RTP/AVP( \d+)* %d( |\r)`, vp8PT)).MatchString(phoneSDP) {
			t.Fatalf("the phone's SDP needs an audio m-line, then a video m-line offering VP8 (payload type %d):\n%s", vp8PT, dump())
		}
	}

	// The phone answers PCMU only, and VP8 with the browser's payload type.
	relay := func(port int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	}
	streams := []*phoneStream{{
		kind: "audio", pt: 0, ep: newEndpoint(t), relay: relay(toRelay[0]),
		interval: 20 * time.Millisecond, tsStep: 160, payload: bytes.Repeat([]byte{0xFF}, 160),
		// Clear PCMU: the negotiated payload type, and whole 20 ms frames
		// of 8-bit samples. An SRTP packet would carry a 10-byte
		// authentication tag.
		clear: func(p *rtp.Packet) bool { return p.PayloadType == 0 && len(p.Payload) > 0 && len(p.Payload)%160 == 0 },
	}}
	phoneAnswer = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\n", streams[0].ep.port()) +
		"a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
	if video {
		streams = append(streams, &phoneStream{
			kind: "video", pt: vp8PT, ep: newEndpoint(t), relay: relay(toRelay[1]),
			interval: 33 * time.Millisecond, tsStep: 90000 * 33 / 1000, marker: true, payload: chromiumVP8,
			// VP8 from the browser is any size; SRTP is told apart by
			// the relay's port, where only clear RTP may come.
			clear: func(p *rtp.Packet) bool { return p.PayloadType == vp8PT },
		})
		phoneAnswer += fmt.Sprintf("m=video %d RTP/AVP %d\r\na=rtpmap:%d VP8/90000\r\na=sendrecv\r\n", streams[1].ep.port(), vp8PT, vp8PT)
	}
	r = td.cmd(t, "command", "answer", "call-id", callID, "from-tag", "browser", "to-tag", "phone", "sdp", phoneAnswer)
	mustOK(t, r)
	browserAnswer, _ = r.GetString("sdp")
	if video {
		if ports := mediaPorts(browserAnswer); len(ports) != 2 || ports[0] != ports[1] || !strings.Contains(browserAnswer, "a=group:BUNDLE 0 1\r\n") {
			t.Fatalf("the browser's answer must bundle both m-lines on one port:\n%s", dump())
		}
	}
	js, _ := json.Marshal(browserAnswer)
	sctx, scancel = step(10 * time.Second)
	_, err = chromedp.Run(sctx, chromedp.Evaluate[string](`ngAnswer(`+string(js)+`)`, chromedp.EvalAwaitPromise))
	scancel()
	if err != nil {
		t.Fatalf("the browser rejects ngrelay's answer: %v\n%s", err, dump())
	}

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
				b, _ := p.Marshal()
				s.ep.rtp.WriteToUDPAddrPort(b, s.relay)
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
	var (
		states chromiumStates
		stats  chromiumStats
	)
	report := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "browser states %+v, stats %+v; the phone's", states, stats)
		for _, s := range streams {
			fmt.Fprintf(&b, "\n  %s", s)
		}
		return b.String() + "\n" + dump()
	}
	wait := 30 * time.Second
	if video {
		wait = 45 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		sctx, scancel = step(5 * time.Second)
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
}
