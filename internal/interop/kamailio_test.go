package interop

import (
	"testing"
)

// TestKamailioSIPpThroughRtpengine runs the Kamailio + SIPp scenario
// against the real rtpengine, proving the harness; pointing
// RunKamailioSIPpScenario at ngrelay's NG address runs the same calls
// through ngrelay.
func TestKamailioSIPpThroughRtpengine(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped in -short mode")
	}
	Require(t, "rtpengine", "rtpengine-daemon")
	Require(t, "kamailio", "kamailio")
	Require(t, "sipp", "sip-tester")

	rtpe := StartRtpengine(t, RtpengineOptions{})
	RunKamailioSIPpScenario(t, rtpe.NGAddr, func() int {
		n, err := rtpe.ListCalls()
		if err != nil {
			t.Errorf("%v", err)
			return -1
		}
		return n
	})
}
