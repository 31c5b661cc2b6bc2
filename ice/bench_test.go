package ice

import (
	"testing"
)

// BenchmarkHandleSTUN measures answering a Chrome connectivity check
// (authenticated, with USE-CANDIDATE on the selected pair) on a lite agent.
func BenchmarkHandleSTUN(b *testing.B) {
	benchmarks := []struct {
		name string
		pkt  []byte
	}{
		{"chrome-check", chromeCheck(b, "bench-tid-01", true)},
		{"wrong-password", buildRequest(b, reqOpts{tid: tidOf("bench-tid-02"), user: relayCreds.Ufrag + ":" + browserCreds.Ufrag,
			pwd: "wrongPasswordWrongPassw", priority: 1, controlling: u64(1)})},
		{"rfc5769-request-no-agent-match", rfc5769Request},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			a := newLite(newClock())
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.pkt)))
			for b.Loop() {
				_, _, _ = a.HandleSTUN(bm.pkt, browserAddr, 1)
			}
		})
	}
}

// BenchmarkTick measures a full agent's Tick with a selected pair and
// nothing due, the steady state of a call.
func BenchmarkTick(b *testing.B) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: true, Tiebreaker: 1, Now: clk.Now, Rand: detRand(1)})
	_ = a.AddRemoteCandidate(HostCandidate(browserAddr, 1, 65535))
	b.ReportAllocs()
	now := clk.Now()
	for b.Loop() {
		a.Tick(now)
	}
}
