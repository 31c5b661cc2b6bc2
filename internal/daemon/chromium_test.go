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
// offers audio from Chromium's fake capture device over one bundled,
// rtcp-muxed transport, and functions the test calls through DevTools.
const chromiumPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>ngrelay</title></head><body>
<script>
let pc = null;
function log(...a) { console.log(...a); }
window.ngOffer = async () => {
	const stream = await navigator.mediaDevices.getUserMedia({audio: true});
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
	const res = {inboundPackets: 0, outboundPackets: 0, inboundCodec: '', outboundCodec: '', pair: ''};
	const stats = await pc.getStats();
	const codecs = {};
	stats.forEach(r => { if (r.type === 'codec') codecs[r.id] = r.mimeType + '/' + r.payloadType; });
	stats.forEach(r => {
		if (r.type === 'inbound-rtp' && r.kind === 'audio') {
			res.inboundPackets += r.packetsReceived || 0;
			res.inboundCodec = codecs[r.codecId] || '';
		}
		if (r.type === 'outbound-rtp' && r.kind === 'audio') {
			res.outboundPackets += r.packetsSent || 0;
			res.outboundCodec = codecs[r.codecId] || '';
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

// chromiumStats is what ngStats returns.
type chromiumStats struct {
	InboundPackets  int    `json:"inboundPackets"`
	OutboundPackets int    `json:"outboundPackets"`
	InboundCodec    string `json:"inboundCodec"`
	OutboundCodec   string `json:"outboundCodec"`
	Pair            string `json:"pair"`
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
func TestChromiumCallsPlainPhone(t *testing.T) {
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
	browserSDP, err = chromedp.Run(sctx, chromedp.Evaluate[string](`ngOffer()`, chromedp.EvalAwaitPromise))
	scancel()
	if err != nil {
		t.Fatalf("creating the browser's offer: %v\n%s", err, dump())
	}
	browserSDP = strings.ReplaceAll(browserSDP, "\r\n", "\n")
	browserSDP = strings.ReplaceAll(browserSDP, "\n", "\r\n")
	if !regexp.MustCompile(`(?m)^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host`).MatchString(browserSDP) {
		t.Fatalf("the browser's offer has no loopback host candidate:\n%s", dump())
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
	_, toRelay, _ := relayPorts(t, phoneSDP)

	// The phone answers PCMU only.
	phone := newEndpoint(t)
	phoneAnswer = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\n", phone.port()) +
		"a=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
	r = td.cmd(t, "command", "answer", "call-id", callID, "from-tag", "browser", "to-tag", "phone", "sdp", phoneAnswer)
	mustOK(t, r)
	browserAnswer, _ = r.GetString("sdp")
	js, _ := json.Marshal(browserAnswer)
	sctx, scancel = step(10 * time.Second)
	_, err = chromedp.Run(sctx, chromedp.Evaluate[string](`ngAnswer(`+string(js)+`)`, chromedp.EvalAwaitPromise))
	scancel()
	if err != nil {
		t.Fatalf("the browser rejects ngrelay's answer: %v\n%s", err, dump())
	}

	// The phone: a reader that counts the clear PCMU packets ngrelay relays
	// from the browser, and a sender of PCMU at 20 ms.
	var (
		phoneGot, phoneOther atomic.Int64
		firstOther           atomic.Value // string
	)
	relayAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(toRelay))
	mediaCtx, mediaStop := context.WithCancel(context.Background())
	var media sync.WaitGroup
	t.Cleanup(func() {
		mediaStop()
		phone.rtp.SetReadDeadline(time.Now()) // unblock the reader
		media.Wait()
	})
	media.Add(2)
	go func() {
		defer media.Done()
		buf := make([]byte, 2048)
		for mediaCtx.Err() == nil {
			phone.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, from, err := phone.rtp.ReadFromUDPAddrPort(buf)
			if err != nil {
				continue
			}
			var p rtp.Packet
			// Clear PCMU from the relay port: version 2, the negotiated
			// payload type, and whole 20 ms frames of 8-bit samples. An
			// SRTP packet would carry a 10-byte authentication tag.
			if from == relayAddr && p.Unmarshal(buf[:n]) == nil && p.Version == 2 && p.PayloadType == 0 &&
				len(p.Payload) > 0 && len(p.Payload)%160 == 0 {
				phoneGot.Add(1)
				continue
			}
			if phoneOther.Add(1) == 1 {
				firstOther.Store(fmt.Sprintf("%d bytes from %s: %x", n, from, buf[:min(n, 32)]))
			}
		}
	}()
	go func() {
		defer media.Done()
		ssrc := rand.Uint32()
		seq := uint16(rand.Uint32())
		ts := rand.Uint32()
		payload := bytes.Repeat([]byte{0xFF}, 160)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
			b, _ := p.Marshal()
			phone.rtp.WriteToUDPAddrPort(b, relayAddr)
			seq++
			ts += 160
			select {
			case <-mediaCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	// Wait for ICE, DTLS and 100 packets each way.
	const want = 100
	var (
		states chromiumStates
		stats  chromiumStats
	)
	report := func() string {
		other, _ := firstOther.Load().(string)
		return fmt.Sprintf("browser states %+v, stats %+v; the phone got %d clear PCMU packets and %d others (first: %s)\n%s",
			states, stats, phoneGot.Load(), phoneOther.Load(), other, dump())
	}
	deadline := time.Now().Add(30 * time.Second)
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
		if (states.ICE == "connected" || states.ICE == "completed") && states.DTLS == "connected" &&
			phoneGot.Load() >= want && stats.InboundPackets >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for ICE, DTLS and %d packets each way: %s", want, report())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("browser states %+v, stats %+v; the phone got %d clear PCMU packets", states, stats, phoneGot.Load())
}
