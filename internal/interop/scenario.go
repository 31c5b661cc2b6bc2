package interop

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Parameters of the Kamailio + SIPp scenario.
const (
	scenarioCalls      = 20
	scenarioConcurrent = 5
	// Each end of each call must receive at least scenarioMinCallShare
	// of the RTP packets the other end sent, and each side in total at
	// least scenarioMinTotalShare (on loopback, all of them arrive).
	scenarioMinCallShare  = 0.5
	scenarioMinTotalShare = 0.95
)

// RunKamailioSIPpScenario is the relay-agnostic body of the Kamailio +
// SIPp interop test: it starts Kamailio (module rtpengine) pointed at the
// media relay's NG address ngAddr, then a SIPp callee and caller, and
// runs 20 calls, 5 at a time, each with 2 s of RTP (100 packets) both
// ways through the relay and a BYE after 3 s. It checks that
//
//   - all 20 calls succeed;
//   - the media address of each end of each call received RTP, at least
//     half of what the other end sent, and each side in total at least
//     95%; and none of it came straight from the other SIPp (so the
//     relay's SDP rewriting put the relay in the media path);
//   - the relay lists calls while they run, and after the BYEs it holds
//     none (listCalls() == 0 within a few seconds); listCalls returns
//     the number of calls the relay holds, or -1 after reporting an
//     error (with t.Errorf: it is also called from another goroutine).
//
// The relay must be running; it is not stopped here.
func RunKamailioSIPpScenario(t testing.TB, ngAddr netip.AddrPort, listCalls func() int) {
	t.Helper()
	RunKamailioSIPpScenarioWith(t, KamailioOptions{NGAddr: ngAddr, Module: "rtpengine"}, listCalls)
}

// RunKamailioSIPpScenarioWith is RunKamailioSIPpScenario with Kamailio
// configured by kopts (for instance Module "rtpproxy", or offer flags).
func RunKamailioSIPpScenarioWith(t testing.TB, kopts KamailioOptions, listCalls func() int) {
	t.Helper()
	// Fail early on missing tools, before starting anything.
	Require(t, "kamailio", "kamailio")
	Require(t, "sipp", "sip-tester")

	if n := listCalls(); n != 0 {
		t.Fatalf("relay holds %d calls before the test", n)
	}
	kam := StartKamailio(t, kopts)

	// While the calls run, watch how many calls the relay holds: the
	// check that it holds none afterwards means little if it never held
	// any.
	stop := make(chan struct{})
	peak := make(chan int, 1)
	go func() {
		max := 0
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-tick.C:
				if n := listCalls(); n > max {
					max = n
				}
			}
		}
	}()
	// Also on t.Fatal (runtime.Goexit runs deferred calls): the watcher
	// must not report after the test ended.
	stopWatching := sync.OnceValue(func() int { close(stop); return <-peak })
	defer stopWatching()
	res := RunSIPpCalls(t, SIPpOptions{
		Proxy:      kam.SIPAddr,
		Calls:      scenarioCalls,
		Concurrent: scenarioConcurrent,
	})
	peakCalls := stopWatching()
	t.Logf("relay held at most %d calls at a time", peakCalls)
	if peakCalls < 1 {
		t.Errorf("relay never listed a call while the calls ran")
	}

	if res.Successful != scenarioCalls || res.Failed != 0 || res.CallerExit != 0 {
		t.Errorf("calls: %d successful, %d failed, caller exit code %d; want %d successful",
			res.Successful, res.Failed, res.CallerExit, scenarioCalls)
	}
	if res.CalleeExit != 0 {
		t.Errorf("SIPp callee exit code %d, want 0", res.CalleeExit)
	}
	minPackets := int(float64(res.PacketsPerCall) * scenarioMinCallShare)
	minTotal := int(float64(res.PacketsPerCall*res.Calls) * scenarioMinTotalShare)
	checkMedia := func(side string, stats []MediaStats, peerPorts [2]int) {
		t.Helper()
		for i, st := range stats {
			if st.Packets < minPackets {
				t.Errorf("%s of call %d (media port %d) received %d RTP packets, want >= %d of %d sent",
					side, i+1, st.Port, st.Packets, minPackets, res.PacketsPerCall)
			}
			if st.Other != 0 {
				t.Errorf("%s of call %d (media port %d) received %d datagrams that are not RTP",
					side, i+1, st.Port, st.Other)
			}
			for _, src := range st.Sources {
				if p := int(src.Port()); p >= peerPorts[0] && p <= peerPorts[1] {
					t.Errorf("%s of call %d received RTP straight from the other SIPp (%v), bypassing the relay",
						side, i+1, src)
				}
			}
		}
		if total := ReceivedTotal(stats); total < minTotal {
			t.Errorf("%s side received %d RTP packets in all, want >= %d of %d sent",
				side, total, minTotal, res.PacketsPerCall*res.Calls)
		}
	}
	if len(res.Caller) > 0 && len(res.Callee) > 0 {
		t.Logf("call 1: caller media %d received from %v, callee media %d received from %v",
			res.Caller[0].Port, res.Caller[0].Sources, res.Callee[0].Port, res.Callee[0].Sources)
	}
	checkMedia("caller", res.Caller, res.CalleeMediaPorts)
	checkMedia("callee", res.Callee, res.CallerMediaPorts)

	// Kamailio deletes each call on BYE; give the relay a moment.
	deadline := time.Now().Add(5 * time.Second)
	n := listCalls()
	for n != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		n = listCalls()
	}
	if n != 0 {
		t.Errorf("relay holds %d calls after all BYEs, want 0", n)
	}
}
