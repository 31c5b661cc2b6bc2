package daemon

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/ngrelay/ngrelay/internal/config"
)

// BenchmarkLiveHeapPerCall sets up 200 answered calls, plain or with one
// SDES-SRTP leg, and reports the live heap they hold per call (after a
// GC), as "KiB/call":
//
//	go test -run '^$' -bench LiveHeapPerCall -benchtime 1x ./internal/daemon
func BenchmarkLiveHeapPerCall(b *testing.B) {
	for _, srtp := range []bool{false, true} {
		b.Run(fmt.Sprintf("srtp=%v", srtp), func(b *testing.B) {
			for range b.N {
				td := startDaemon(b, func(c *config.Config) { c.PortMin, c.PortMax = 30000, 34000 })
				b.ReportMetric(liveHeapPerCall(b, td, srtp, 200), "KiB/call")
			}
		})
	}
}

func liveHeapPerCall(b *testing.B, td *testDaemon, srtp bool, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		id := fmt.Sprintf("heap-%v-%d", srtp, i)
		kv := []any{"command", "offer", "call-id", id, "from-tag", "a", "sdp", plainSDP("127.0.0.1", 40000+2*i)}
		if srtp {
			kv = append(kv, "transport-protocol", "RTP/SAVP")
		}
		r := td.cmd(b, kv...)
		out, _ := r.GetString("sdp")
		ans := plainSDP("127.0.0.1", 50000+2*i)
		if srtp {
			tag := "?"
			for _, l := range strings.Split(out, "\r\n") {
				if strings.HasPrefix(l, "a=crypto:") && strings.Contains(l, " AES_CM_128_HMAC_SHA1_80 ") {
					tag = strings.Fields(strings.TrimPrefix(l, "a=crypto:"))[0]
				}
			}
			ans = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=t\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + fmt.Sprintf("m=audio %d RTP/SAVP 0\r\n", 50000+2*i) +
				"a=crypto:" + tag + " AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
		}
		mustOK(b, td.cmd(b, "command", "answer", "call-id", id, "from-tag", "a", "to-tag", "b", "sdp", ans))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n) / 1024
}
