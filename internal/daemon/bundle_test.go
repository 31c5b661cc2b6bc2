package daemon

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// bundleBrowser is a pion "browser" offering audio (Opus and PCMU; it sends
// PCMU) and video (VP8) over one BUNDLE transport.
type bundleBrowser struct {
	pc           *webrtc.PeerConnection
	audio, video *webrtc.TrackLocalStaticRTP

	mu  sync.Mutex
	got map[string][]string // payloads received, by track kind
}

// newBundleBrowser makes the browser; withMID registers the MID header
// extension, so that the browser tags what it sends with its mids.
func newBundleBrowser(t *testing.T, withMID bool) *bundleBrowser {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0)
	se.SetHandleUndeclaredSSRCWithoutAnswer(true)
	me := &webrtc.MediaEngine{}
	for _, c := range []struct {
		p    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
	} {
		if err := me.RegisterCodec(c.p, c.kind); err != nil {
			t.Fatal(err)
		}
		if withMID {
			if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, c.kind); err != nil {
				t.Fatal(err)
			}
		}
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	b := &bundleBrowser{pc: pc, got: map[string][]string{}}
	b.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "browser")
	if err != nil {
		t.Fatal(err)
	}
	b.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "browser")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{b.audio, b.video} {
		if _, err := pc.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		kind := tr.Kind().String()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.got[kind] = append(b.got[kind], string(p.Payload))
			b.mu.Unlock()
		}
	})
	return b
}

func (b *bundleBrowser) received(kind, prefix string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, p := range b.got[kind] {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// avPhoneSDP is a plain phone's SDP with an audio and a video m-line.
func avPhoneSDP(audio, video *endpoint) string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", audio.port()) +
		fmt.Sprintf("m=video %d RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", video.port())
}

// mediaPorts returns the port of each m= line.
func mediaPorts(body string) []int {
	var ports []int
	for _, l := range strings.Split(body, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			var p int
			fmt.Sscan(strings.Fields(l)[1], &p)
			ports = append(ports, p)
		}
	}
	return ports
}

// countPayloads reads c until the deadline and counts RTP packets whose
// payload starts with prefix, and those that do not.
func countPayloads(c *net.UDPConn, prefix string, until time.Time) (match, other int) {
	buf := make([]byte, 2048)
	for {
		c.SetReadDeadline(until)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return match, other
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) != nil {
			other++
			continue
		}
		if strings.HasPrefix(string(p.Payload), prefix) {
			match++
		} else {
			other++
		}
	}
}

// bundleMedia checks, once signalling is done, that the browser's audio and
// video reach the phone's audio and video ports in the clear, each on its
// own, and (phoneToBrowser) that the phone's reach the right browser track.
func bundleMedia(t *testing.T, b *bundleBrowser, audio, video *endpoint, relayPorts []int, phoneToBrowser bool) {
	t.Helper()
	connected := make(chan struct{})
	var once sync.Once
	b.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if b.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		once.Do(func() { close(connected) })
	}
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatalf("browser never connected (state %s, ICE %s)", b.pc.ConnectionState(), b.pc.ICEConnectionState())
	}
	// Browser -> phone: 20 packets on each track; each phone port must get
	// its own kind and nothing of the other.
	for i := range 20 {
		h := rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)}
		h.PayloadType = 0
		if err := b.audio.WriteRTP(&rtp.Packet{Header: h, Payload: []byte(fmt.Sprintf("browser-audio-%d", i))}); err != nil {
			t.Fatal(err)
		}
		h.PayloadType = 96
		if err := b.video.WriteRTP(&rtp.Packet{Header: h, Payload: []byte(fmt.Sprintf("browser-video-%d", i))}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	until := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var aOK, aOther, vOK, vOther int
	wg.Add(2)
	go func() { defer wg.Done(); aOK, aOther = countPayloads(audio.rtp, "browser-audio-", until) }()
	go func() { defer wg.Done(); vOK, vOther = countPayloads(video.rtp, "browser-video-", until) }()
	wg.Wait()
	if aOK < 15 || vOK < 15 || aOther != 0 || vOther != 0 {
		t.Fatalf("phone audio port got %d audio and %d other packets, video port %d video and %d other; want at least 15 of its own kind each and nothing else", aOK, aOther, vOK, vOther)
	}
	if !phoneToBrowser {
		return
	}
	// Phone -> browser: PCMU from the audio port, VP8 from the video port,
	// both onto the one bundle transport, each to its own track.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		ap := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 0xA0D10}, Payload: []byte("phone-audio")}
		vp := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(3000 * i), SSRC: 0x71DE0}, Payload: []byte("phone-video")}
		ab, _ := ap.Marshal()
		vb, _ := vp.Marshal()
		sendTo(t, audio.rtp, relayPorts[0], ab)
		sendTo(t, video.rtp, relayPorts[1], vb)
		time.Sleep(10 * time.Millisecond)
		if b.received("audio", "phone-audio") >= 10 && b.received("video", "phone-video") >= 10 {
			break
		}
	}
	if a, v := b.received("audio", "phone-audio"), b.received("video", "phone-video"); a < 10 || v < 10 {
		t.Fatalf("the browser's audio track got %d phone audio packets, its video track %d phone video packets; want 10 each (misrouted: audio track %d, video track %d)",
			a, v, b.received("audio", "phone-video"), b.received("video", "phone-audio"))
	}
	if n := b.received("audio", "phone-video") + b.received("video", "phone-audio"); n != 0 {
		t.Fatalf("%d packets reached the wrong browser track", n)
	}
}

// TestBrowserBundleOffersPhoneAnswers: a browser bundles audio and video on
// one transport; the phone gets two plain m-lines on their own ports, and
// ngrelay sorts the bundle (by SSRC: pion declares its sources), whether or
// not the browser offered the MID extension.
func TestBrowserBundleOffersPhoneAnswers(t *testing.T) {
	for _, withMID := range []bool{false, true} {
		t.Run(fmt.Sprintf("mid-extension=%v", withMID), func(t *testing.T) {
			td := startDaemon(t, nil)
			b := newBundleBrowser(t, withMID)
			offer, err := b.pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			b.pc.SetLocalDescription(offer)
			browserSDP := gathered(t, b.pc)
			if !strings.Contains(browserSDP, "a=group:BUNDLE 0 1") {
				t.Fatalf("the browser did not bundle:\n%s", browserSDP)
			}
			callID := fmt.Sprintf("bundle-%v", withMID)
			r := td.cmd(t, "command", "offer", "call-id", callID, "from-tag", "browser", "sdp", browserSDP,
				"transport-protocol", "RTP/AVP", "ICE", "remove", "rtcp-mux", []string{"demux"})
			mustOK(t, r)
			toPhone, _ := r.GetString("sdp")
			for _, bad := range []string{"a=ice-", "a=candidate", "a=fingerprint", "a=setup", "a=rtcp-mux", "a=group:BUNDLE", "UDP/TLS"} {
				if strings.Contains(toPhone, bad) {
					t.Fatalf("the phone's SDP has %q:\n%s", bad, toPhone)
				}
			}
			for _, codec := range []string{"opus/48000/2", "PCMU/8000", "VP8/90000"} {
				if !strings.Contains(toPhone, codec) {
					t.Fatalf("the phone is not offered %s:\n%s", codec, toPhone)
				}
			}
			phonePorts := mediaPorts(toPhone)
			if len(phonePorts) != 2 || phonePorts[0] == phonePorts[1] {
				t.Fatalf("the phone needs two m-lines on their own ports:\n%s", toPhone)
			}
			audio, video := newEndpoint(t), newEndpoint(t)
			r = td.cmd(t, "command", "answer", "call-id", callID, "from-tag", "browser", "to-tag", "phone", "sdp", avPhoneSDP(audio, video))
			mustOK(t, r)
			toBrowser, _ := r.GetString("sdp")
			ports := mediaPorts(toBrowser)
			if len(ports) != 2 || ports[0] != ports[1] {
				t.Fatalf("the browser's answer must carry both m-lines on one port:\n%s", toBrowser)
			}
			for _, want := range []string{"a=group:BUNDLE 0 1", "a=mid:0", "a=mid:1", "a=rtcp-mux", "a=ice-ufrag:"} {
				if !strings.Contains(toBrowser, want) {
					t.Fatalf("the browser's answer lacks %q:\n%s", want, toBrowser)
				}
			}
			// ngrelay does not tag the phone's packets with a MID, so
			// it must not negotiate the extension (browsers would drop
			// unsignalled sources without it).
			if strings.Contains(toBrowser, sdp.SDESMidURI) || strings.Contains(toPhone, sdp.SDESMidURI) {
				t.Fatalf("MID extension negotiated:\n%s\nphone:\n%s", toBrowser, toPhone)
			}
			if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: toBrowser}); err != nil {
				t.Fatalf("browser rejects the answer: %v\n%s", err, toBrowser)
			}
			bundleMedia(t, b, audio, video, phonePorts, true)
		})
	}
}

// TestPhoneOffersAudioVideoToBundlingBrowser: a plain phone's audio and
// video offer becomes a max-bundle WebRTC offer; the browser's bundled
// answer is split back into two plain streams.
func TestPhoneOffersAudioVideoToBundlingBrowser(t *testing.T) {
	td := startDaemon(t, nil)
	audio, video := newEndpoint(t), newEndpoint(t)
	r := td.cmd(t, "command", "offer", "call-id", "bundle-rev", "from-tag", "phone", "sdp", avPhoneSDP(audio, video), "flags", []string{"WebRTC"})
	mustOK(t, r)
	toBrowser, _ := r.GetString("sdp")
	ports := mediaPorts(toBrowser)
	if len(ports) != 2 || ports[0] != ports[1] || !strings.Contains(toBrowser, "a=group:BUNDLE 0 1") {
		t.Fatalf("the WebRTC offer should bundle both m-lines on one port:\n%s", toBrowser)
	}
	b := newBundleBrowser(t, false)
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: toBrowser}); err != nil {
		t.Fatalf("browser rejects the offer: %v\n%s", err, toBrowser)
	}
	answer, err := b.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	b.pc.SetLocalDescription(answer)
	r = td.cmd(t, "command", "answer", "call-id", "bundle-rev", "from-tag", "phone", "to-tag", "browser", "sdp", gathered(t, b.pc))
	mustOK(t, r)
	toPhone, _ := r.GetString("sdp")
	phonePorts := mediaPorts(toPhone)
	if len(phonePorts) != 2 || phonePorts[0] == phonePorts[1] || strings.Contains(toPhone, "a=group") || strings.Contains(toPhone, "a=fingerprint") {
		t.Fatalf("the phone's answer:\n%s", toPhone)
	}
	bundleMedia(t, b, audio, video, phonePorts, true)
}
