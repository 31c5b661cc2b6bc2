package daemon

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// newBrowser is a pion/webrtc PeerConnection standing in for a browser:
// loopback host candidates only, no mDNS, with one PCMU audio track.
func newBrowser(t *testing.T) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticRTP) {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0) // disabled
	// The phone's RTP carries no MID extension and its SSRC is not in the
	// SDP; Chrome plays such a single unsignalled stream, pion needs this.
	se.SetHandleUndeclaredSSRCWithoutAnswer(true)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	return pc, track
}

// trackPayloads delivers the payload of every RTP packet the browser
// receives, on any track; when the reader falls behind, packets are
// dropped rather than blocking pion.
func trackPayloads(pc *webrtc.PeerConnection) <-chan []byte {
	got := make(chan []byte, 100)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case got <- append([]byte(nil), p.Payload...):
			default:
			}
		}
	})
	return got
}

// connectedSignal returns a channel closed when the browser's connection
// (ICE and DTLS) is established.
func connectedSignal(pc *webrtc.PeerConnection) <-chan struct{} {
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		once.Do(func() { close(connected) })
	}
	return connected
}

// gathered returns the local description once ICE gathering is complete.
func gathered(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-time.After(10 * time.Second):
		t.Fatal("ICE gathering did not complete")
	}
	return pc.LocalDescription().SDP
}

// webrtcMedia checks media both ways between a pion "browser" and a plain
// endpoint once signalling is done: payloads sent by the browser arrive in
// the clear at the phone, and the phone's arrive at the browser's track.
func webrtcMedia(t *testing.T, pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticRTP, phone *endpoint, relayPortForPhone int) {
	t.Helper()
	got := trackPayloads(pc)
	connected := connectedSignal(pc)
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatalf("browser never connected (state %s, ICE %s)", pc.ConnectionState(), pc.ICEConnectionState())
	}
	// Browser -> phone: in the clear, same payloads.
	seen := 0
	buf := make([]byte, 2048)
	for i := 0; i < 50 && seen < 10; i++ {
		payload := []byte("from-browser-" + string(rune('a'+i%26)))
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 0x1234}, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		phone.rtp.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			n, _, err := phone.rtp.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) == nil && strings.HasPrefix(string(p.Payload), "from-browser-") {
				seen++
			}
		}
	}
	if seen < 10 {
		t.Fatalf("the phone got %d clear RTP packets from the browser, want at least 10", seen)
	}
	// Phone -> browser.
	recv := 0
	deadline := time.After(10 * time.Second)
	for i := 0; recv < 10; i++ {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(1000 + i), Timestamp: uint32(160 * i), SSRC: 0x5678}, Payload: []byte("from-phone")}
		b, _ := p.Marshal()
		sendTo(t, phone.rtp, relayPortForPhone, b)
		select {
		case pl := <-got:
			if string(pl) != "from-phone" {
				t.Fatalf("browser got payload %q", pl)
			}
			recv++
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("the browser got %d packets from the phone, want 10", recv)
		}
	}
}

// TestBrowserOffersPhoneAnswers: the JsSIP case. The browser's offer
// (ICE, DTLS, rtcp-mux) reaches the phone as plain RTP/AVP; the phone's
// answer goes back with ngrelay's ICE and DTLS. Both DTLS roles; ngrelay
// as a full ICE agent (controlled: the browser nominates after ngrelay's
// own checks succeed) and as an ICE-lite one.
func TestBrowserOffersPhoneAnswers(t *testing.T) {
	for _, c := range []struct {
		name, dtlsRole string
		lite           bool
	}{{"ngrelay-active", "", false}, {"ngrelay-passive", "passive", false}, {"ngrelay-lite", "", true}} {
		name, dtlsRole := c.name, c.dtlsRole
		t.Run(name, func(t *testing.T) {
			td := startDaemon(t, nil)
			pc, track := newBrowser(t)
			offer, err := pc.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			pc.SetLocalDescription(offer)
			kv := []any{"command", "offer", "call-id", "rtc-" + name, "from-tag", "browser", "sdp", gathered(t, pc),
				"transport-protocol", "RTP/AVP", "ICE", "remove", "rtcp-mux", []string{"demux"}}
			if dtlsRole != "" {
				kv = append(kv, "DTLS", dtlsRole)
			}
			if c.lite {
				kv = append(kv, "ICE-lite", "backward")
			}
			r := td.cmd(t, kv...)
			mustOK(t, r)
			toPhone, _ := r.GetString("sdp")
			for _, bad := range []string{"a=ice-", "a=candidate", "a=fingerprint", "a=setup", "a=rtcp-mux", "a=group:BUNDLE", "UDP/TLS"} {
				if strings.Contains(toPhone, bad) {
					t.Fatalf("the phone's SDP has %q:\n%s", bad, toPhone)
				}
			}
			_, toRelay, _ := relayPorts(t, toPhone)
			phone := newEndpoint(t)
			r = td.cmd(t, "command", "answer", "call-id", "rtc-"+name, "from-tag", "browser", "to-tag", "phone", "sdp", phone.sdp())
			mustOK(t, r)
			toBrowser, _ := r.GetString("sdp")
			for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:sha-256 ", "a=candidate:", "a=rtcp-mux", "a=group:BUNDLE 0", "a=mid:0"} {
				if !strings.Contains(toBrowser, want) {
					t.Fatalf("the browser's answer lacks %q:\n%s", want, toBrowser)
				}
			}
			if strings.Contains(toBrowser, "a=ice-lite") != c.lite {
				t.Fatalf("a=ice-lite in the answer should be %v:\n%s", c.lite, toBrowser)
			}
			wantSetup := "a=setup:active"
			if dtlsRole == "passive" {
				wantSetup = "a=setup:passive"
			}
			if !strings.Contains(toBrowser, wantSetup) {
				t.Fatalf("answer lacks %s:\n%s", wantSetup, toBrowser)
			}
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: toBrowser}); err != nil {
				t.Fatalf("browser rejects the answer: %v\n%s", err, toBrowser)
			}
			webrtcMedia(t, pc, track, phone, toRelay)
		})
	}
}

// TestPhoneOffersBrowserAnswers: the reverse call. The plain offer becomes
// a WebRTC offer (WebRTC flag); the browser answers.
func TestPhoneOffersBrowserAnswers(t *testing.T) {
	td := startDaemon(t, nil)
	phone := newEndpoint(t)
	r := td.cmd(t, "command", "offer", "call-id", "rtc-rev", "from-tag", "phone", "sdp", phone.sdp(), "flags", []string{"WebRTC"})
	mustOK(t, r)
	toBrowser, _ := r.GetString("sdp")
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-ufrag:", "a=fingerprint:sha-256 ", "a=setup:actpass", "a=candidate:", "a=rtcp-mux", "a=mid:"} {
		if !strings.Contains(toBrowser, want) {
			t.Fatalf("the WebRTC offer lacks %q:\n%s", want, toBrowser)
		}
	}
	pc, track := newBrowser(t)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: toBrowser}); err != nil {
		t.Fatalf("browser rejects the offer: %v\n%s", err, toBrowser)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	pc.SetLocalDescription(answer)
	r = td.cmd(t, "command", "answer", "call-id", "rtc-rev", "from-tag", "phone", "to-tag", "browser", "sdp", gathered(t, pc))
	mustOK(t, r)
	toPhone, _ := r.GetString("sdp")
	if strings.Contains(toPhone, "a=fingerprint") || strings.Contains(toPhone, "a=ice-") || !strings.Contains(toPhone, " RTP/AVP ") {
		t.Fatalf("the phone's answer:\n%s\noffer to browser:\n%s", toPhone, toBrowser)
	}
	_, toRelay, _ := relayPorts(t, toPhone)
	webrtcMedia(t, pc, track, phone, toRelay)
}

var _ = errors.New
var _ = net.IPv4
