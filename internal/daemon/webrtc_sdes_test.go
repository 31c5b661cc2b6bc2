package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestBrowserCallsSDESPhone: DTLS-SRTP on the browser's side, SDES-SRTP on
// the phone's: ngrelay terminates both and re-encrypts in each direction.
func TestBrowserCallsSDESPhone(t *testing.T) {
	const suite = "AES_CM_128_HMAC_SHA1_80"
	td := startDaemon(t, nil)
	pc, track := newBrowser(t)
	got := trackPayloads(pc)
	connected := connectedSignal(pc)
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	pc.SetLocalDescription(offer)
	r := td.cmd(t, "command", "offer", "call-id", "rtc-sdes", "from-tag", "browser", "sdp", gathered(t, pc),
		"transport-protocol", "RTP/SAVP", "ICE", "remove", "rtcp-mux", []string{"demux"})
	mustOK(t, r)
	toPhone, _ := r.GetString("sdp")
	if !strings.Contains(toPhone, " RTP/SAVP ") || strings.Contains(toPhone, "a=fingerprint") || strings.Contains(toPhone, "a=ice-") {
		t.Fatalf("the phone's offer should be SDES RTP/SAVP without ICE or DTLS:\n%s", toPhone)
	}
	var ours string
	for _, l := range cryptoLines(toPhone) {
		if strings.Fields(l)[1] == suite {
			ours = l
		}
	}
	if ours == "" {
		t.Fatalf("no %s line offered:\n%s", suite, toPhone)
	}
	_, toRelay, _ := relayPorts(t, toPhone)
	phone := newEndpoint(t)
	key, err := sdes.Generate(0, mustSuite(t, suite), nil)
	if err != nil {
		t.Fatal(err)
	}
	key.Tag = mustAtoi(t, strings.Fields(ours)[0])
	answer := strings.Replace(phone.sdp(), "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:" + key.String() + "\r\n"
	r = td.cmd(t, "command", "answer", "call-id", "rtc-sdes", "from-tag", "browser", "to-tag", "phone", "sdp", answer)
	mustOK(t, r)
	toBrowser, _ := r.GetString("sdp")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: toBrowser}); err != nil {
		t.Fatalf("browser rejects the answer: %v\n%s", err, toBrowser)
	}
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatalf("browser never connected (%s)", pc.ConnectionState())
	}
	fromRelay := pionContext(t, ours)          // what ngrelay sends the phone
	toRelayCtx := pionContext(t, key.String()) // what the phone sends
	// Browser -> phone: SRTP under ngrelay's SDES key.
	buf := make([]byte, 2048)
	seen := 0
	for i := 0; i < 50 && seen < 5; i++ {
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)}, Payload: []byte("from-browser")}); err != nil {
			t.Fatal(err)
		}
		phone.rtp.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		for {
			n, _, err := phone.rtp.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if strings.Contains(string(buf[:n]), "from-browser") {
				t.Fatal("the phone got the browser's media in the clear")
			}
			if dec, err := fromRelay.DecryptRTP(nil, buf[:n], nil); err == nil && strings.HasSuffix(string(dec), "from-browser") {
				seen++
			}
		}
	}
	if seen < 5 {
		t.Fatalf("the phone decrypted %d packets from the browser, want 5", seen)
	}
	// Phone -> browser: SDES-SRTP in, DTLS-SRTP out.
	recv := 0
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; recv < 5 && time.Now().Before(deadline); i++ {
		enc, err := toRelayCtx.EncryptRTP(nil, rtpPacket(uint16(500+i), 0x5D35, "from-phone"), nil)
		if err != nil {
			t.Fatal(err)
		}
		sendTo(t, phone.rtp, toRelay, enc)
		select {
		case p := <-got:
			if string(p) == "from-phone" {
				recv++
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
	if recv < 5 {
		t.Fatalf("the browser got %d packets from the SDES phone, want 5", recv)
	}
}
