package interop

import (
	"net/netip"
	"testing"
)

// TestRtpproxyProtocolThroughRtpengine runs the Kamailio + SIPp
// scenario with Kamailio's rtpproxy module, speaking the rtpproxy
// protocol to the real rtpengine (its --listen-udp socket).
func TestRtpproxyProtocolThroughRtpengine(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped in -short mode")
	}
	Require(t, "rtpengine", "rtpengine-daemon")
	Require(t, "kamailio", "kamailio")
	Require(t, "sipp", "sip-tester")

	rtpproxy := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(FreeUDPPort(t)))
	rtpe := StartRtpengine(t, RtpengineOptions{ExtraArgs: []string{"--listen-udp=" + rtpproxy.String()}})
	RunKamailioSIPpScenarioWith(t, KamailioOptions{
		Module:       "rtpproxy",
		RtpproxySock: "udp:" + rtpproxy.String(),
	}, func() int {
		n, err := rtpe.ListCalls()
		if err != nil {
			t.Errorf("%v", err)
			return -1
		}
		return n
	})
}
