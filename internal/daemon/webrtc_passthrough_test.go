package daemon

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestBrowserToBrowserThroughRelay: two WebRTC peers, no flags, as a proxy
// sends a WebRTC-to-WebRTC call. ngrelay runs ICE with each of them (its
// own candidates replace theirs) and relays DTLS and SRTP end to end: the
// browsers key each other, and media flows both ways through ngrelay.
func TestBrowserToBrowserThroughRelay(t *testing.T) {
	td := startDaemon(t, nil)
	a, aTrack := newBrowser(t)
	b, bTrack := newBrowser(t)
	got := map[*webrtc.PeerConnection]<-chan []byte{a: trackPayloads(a), b: trackPayloads(b)}
	connected := map[*webrtc.PeerConnection]<-chan struct{}{a: connectedSignal(a), b: connectedSignal(b)}
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetLocalDescription(offer)
	aSDP := gathered(t, a)
	r := td.cmd(t, "command", "offer", "call-id", "b2b", "from-tag", "a", "sdp", aSDP)
	mustOK(t, r)
	toB, _ := r.GetString("sdp")
	_, relayForB, _ := relayPorts(t, toB)
	for _, want := range []string{"UDP/TLS/RTP/SAVPF", "a=ice-ufrag:", "a=fingerprint:", "a=setup:actpass"} {
		if !strings.Contains(toB, want) {
			t.Fatalf("B's offer lacks %q:\n%s", want, toB)
		}
	}
	if !strings.Contains(toB, "127.0.0.1 "+strconv.Itoa(relayForB)+" typ host") || strings.Count(toB, "a=candidate:") != 1 {
		t.Fatalf("B's offer should name ngrelay as the only candidate:\n%s", toB)
	}
	if err := b.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: toB}); err != nil {
		t.Fatalf("B rejects the offer: %v\n%s", err, toB)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	b.SetLocalDescription(answer)
	r = td.cmd(t, "command", "answer", "call-id", "b2b", "from-tag", "a", "to-tag", "b", "sdp", gathered(t, b))
	mustOK(t, r)
	toA, _ := r.GetString("sdp")
	if strings.Count(toA, "a=candidate:") != 1 || !strings.Contains(toA, "a=ice-ufrag:") {
		t.Fatalf("A's answer should name ngrelay as the only candidate:\n%s", toA)
	}
	if err := a.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: toA}); err != nil {
		t.Fatalf("A rejects the answer: %v\n%s", err, toA)
	}

	for _, done := range connected {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("a peer never connected (A: %s/%s, B: %s/%s)", a.ConnectionState(), a.ICEConnectionState(), b.ConnectionState(), b.ICEConnectionState())
		}
	}
	send := func(tr *webrtc.TrackLocalStaticRTP, payload string, i int) {
		if err := tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)}, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(ch <-chan []byte, want string) int {
		n := 0
		for {
			select {
			case p := <-ch:
				if string(p) == want {
					n++
				}
			default:
				return n
			}
		}
	}
	var fromA, fromB int
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; (fromA < 10 || fromB < 10) && time.Now().Before(deadline); i++ {
		send(aTrack, "from-a", i)
		send(bTrack, "from-b", i)
		time.Sleep(10 * time.Millisecond)
		fromA += count(got[b], "from-a")
		fromB += count(got[a], "from-b")
	}
	if fromA < 10 || fromB < 10 {
		t.Fatalf("B got %d packets from A, A got %d from B; want 10 each", fromA, fromB)
	}
	if n := td.Handler.Stats.DTLSHandshakes.Load(); n != 0 {
		t.Fatalf("ngrelay terminated %d DTLS handshakes; the peers should key each other", n)
	}
}
