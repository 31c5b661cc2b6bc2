package bench

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/internal/interop"
)

// TestSteadyWebRTCThroughNgrelay runs a short steady load in WebRTC mode
// through an in-process ngrelay, in both DTLS roles: the generator's A
// legs do ICE and DTLS-SRTP as a browser, then SRTP flows A->B decrypted
// by the relay and B->A encrypted by it. No timing asserts.
func TestSteadyWebRTCThroughNgrelay(t *testing.T) {
	for _, setup := range []string{"", "passive"} {
		name := "relay-default"
		if setup != "" {
			name = "relay-" + setup
		}
		t.Run(name, func(t *testing.T) {
			ngAddr := startNgrelay(t)
			const calls, pps = 2, 50
			res, err := RunSteady(SteadyConfig{
				Target: Target{Name: "ngrelay", NG: ngAddr, PID: os.Getpid()},
				Calls:  calls,
				WebRTC: &WebRTCConfig{RelaySetup: setup},
				Traffic: TrafficConfig{
					PPS: pps, Size: 160, Warmup: 200 * time.Millisecond, Duration: time.Second, Drain: 3 * time.Second,
				},
			})
			if res != nil {
				WriteSteady(testWriter{t}, res)
			}
			if err != nil {
				t.Fatal(err)
			}
			rtc := res.RTC
			if rtc == nil || rtc.Keyed != calls || rtc.Failed != 0 {
				t.Fatalf("WebRTC setup %+v", rtc)
			}
			if len(rtc.Profiles) != 1 || !strings.HasPrefix(rtc.Profiles[0], srtp.AES128CMSHA1_80.Name()+" ") {
				t.Errorf("profiles %v, want %s", rtc.Profiles, srtp.AES128CMSHA1_80.Name())
			}
			if rtc.ChecksOK < calls {
				t.Errorf("%d STUN checks succeeded for %d calls", rtc.ChecksOK, calls)
			}
			if res.Offered == 0 || res.Received == 0 {
				t.Fatalf("offered %d, received %d", res.Offered, res.Received)
			}
			if res.SRTPFailed != 0 || res.Bad != 0 || res.Mismatched != 0 {
				t.Errorf("srtp failed %d, bad %d, mismatched %d", res.SRTPFailed, res.Bad, res.Mismatched)
			}
			// Both directions: B (plain) parses A's packets only if the
			// relay decrypted them, and A counts the relay's only once
			// they authenticate and decrypt with the DTLS keys.
			if res.DeliveredToA == 0 || res.DeliveredToB == 0 {
				t.Errorf("delivered to A (SRTP from the relay) %d, to B (decrypted by the relay) %d", res.DeliveredToA, res.DeliveredToB)
			}
		})
	}
}

// TestParseWebRTC reads the ICE and DTLS attributes of an answer.
func TestParseWebRTC(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0\r\n" +
		"m=audio 30000 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=rtcp-mux\r\n" +
		"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AB:CD\r\na=setup:active\r\n" +
		"a=candidate:1 2 UDP 2130706430 127.0.0.1 30001 typ host\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 30000 typ host\r\n"
	m, err := parseWebRTC(sdp)
	if err != nil {
		t.Fatal(err)
	}
	if m.ufrag != "abcd" || m.pwd != "0123456789012345678901" || m.setup != "active" || !m.iceLite || !m.rtcpMux ||
		len(m.fingerprints) != 1 || len(m.candidates) != 1 || m.iceTarget().String() != "127.0.0.1:30000" {
		t.Errorf("%+v", m)
	}
}

// TestWebRTCEndpointAllocs: an endpoint with a browser end (ctrl) still
// receives and unprotects SRTP without allocating, and hands a STUN
// datagram to the browser end instead of counting it as media.
func TestWebRTCEndpointAllocs(t *testing.T) {
	tx, rx := keyPair(t, srtp.AES128CMSHA1_80)
	r := newSRTPBatchRig(t, 32, tx, rx)
	sh, err := newRTCShared(WebRTCConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newRTCPeer(sh, r.w.eps[1].fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	r.w.eps[1].ctrl = p
	r.round(t)
	r.round(t)
	if !raceEnabled {
		if a := testing.AllocsPerRun(50, func() { r.round(t) }); a != 0 {
			t.Errorf("%v allocations per batch of 32 SRTP packets on a WebRTC endpoint", a)
		}
	}
	// A STUN Binding success that is not for us: counted by the peer.
	stunMsg := []byte{0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if _, err := unix.Write(r.w.eps[0].fd, stunMsg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	r.w.receive(1)
	if r.w.eps[1].ctrlRx != 1 || r.w.eps[1].srtpFailed != 0 || r.w.bad != 0 {
		t.Errorf("ctrl rx %d, srtp failed %d, bad %d", r.w.eps[1].ctrlRx, r.w.eps[1].srtpFailed, r.w.bad)
	}
}

// TestDTLSStormThroughNgrelay runs a few WebRTC setups through an
// in-process ngrelay: every call keyed, with a packet decrypted each way.
func TestDTLSStormThroughNgrelay(t *testing.T) {
	ngAddr := startNgrelay(t)
	const calls = 6
	res, err := RunDTLSSetup(DTLSSetupConfig{
		Target: Target{Name: "ngrelay", NG: ngAddr, PID: os.Getpid()}, Clients: 2, Calls: calls,
	})
	if err != nil {
		t.Fatal(err)
	}
	WriteDTLSSetup(testWriter{t}, res)
	if res.Complete != calls || res.Failed != 0 || res.RTC.Keyed != calls {
		t.Errorf("completed %d, failed %d (%v), keyed %d of %d", res.Complete, res.Failed, res.Failures, res.RTC.Keyed, calls)
	}
	if res.NG.Delete.N != calls {
		t.Errorf("%d deletes for %d calls", res.NG.Delete.N, calls)
	}
}

// TestWebRTCThroughRtpengine runs the browser legs against rtpengine
// (full ICE: it sends its own checks, which the harness answers): a few
// storm calls and a short steady run. Skipped without rtpengine, a
// failure with NGRELAY_INTEROP=1.
func TestWebRTCThroughRtpengine(t *testing.T) {
	bin := interop.Require(t, "rtpengine", "rtpengine-daemon")
	base := 41000 + 2*rand.IntN(5000)
	r, err := StartRelay(RelayConfig{Name: "rtpengine", Binary: bin, CPU: -1, PortMin: base, PortMax: base + 199, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ds, err := RunDTLSSetup(DTLSSetupConfig{Target: r.Target(), Clients: 2, Calls: 4})
	if err != nil {
		t.Fatal(err)
	}
	WriteDTLSSetup(testWriter{t}, ds)
	if ds.Complete != 4 || ds.Failed != 0 {
		t.Errorf("storm: completed %d, failed %d (%v)", ds.Complete, ds.Failed, ds.Errors)
	}
	res, err := RunSteady(SteadyConfig{
		Target: r.Target(), Calls: 2, WebRTC: &WebRTCConfig{},
		Traffic: TrafficConfig{PPS: 50, Size: 160, Warmup: 200 * time.Millisecond, Duration: time.Second, Drain: 3 * time.Second},
	})
	if res != nil {
		WriteSteady(testWriter{t}, res)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.RTC == nil || res.RTC.Keyed != 2 || res.DeliveredToA == 0 || res.DeliveredToB == 0 || res.SRTPFailed != 0 {
		t.Errorf("keyed %+v, delivered to A %d, to B %d, SRTP failures %d", res.RTC, res.DeliveredToA, res.DeliveredToB, res.SRTPFailed)
	}
}
