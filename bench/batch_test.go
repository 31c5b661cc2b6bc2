package bench

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns two connected UDP sockets on 127.0.0.1.
func socketPair(t testing.TB) (int, int) {
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	a, aa, err := udpSocket(lo, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, ba, err := udpSocket(lo, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(a); unix.Close(b) })
	if err := connectUDP(a, ba); err != nil {
		t.Fatal(err)
	}
	if err := connectUDP(b, aa); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// batchRig sends n packets of one stream from a and accounts for them on
// b, through the worker's real send and receive paths.
type batchRig struct {
	w    *worker
	recv int
}

func newBatchRig(t testing.TB, n int) *batchRig {
	a, b := socketPair(t)
	w := newWorker(-1, 160)
	w.tm = &timing{base: time.Now(), measureNs: 0, stopNs: 1 << 62}
	w.eps = []endpoint{
		{fd: a, sendID: 0, recvID: 1, period: int64(time.Second) / int64(n), tsStep: 160},
		{fd: b, sendID: 1, recvID: 0, period: 1 << 62, next: 1 << 62},
	}
	return &batchRig{w: w}
}

// round sends one batch (everything due in a second) and receives it.
func (r *batchRig) round(t testing.TB) {
	w := r.w
	now := w.eps[0].next + int64(time.Second) - 1
	before := w.eps[1].rx.Received
	w.sendDue(now)
	want := w.eps[0].sentMeasured
	for w.eps[1].rx.Received < want {
		w.receive(1)
		if w.eps[1].rx.Received == before {
			// Loopback delivery is synchronous; nothing queued means lost.
			t.Fatalf("nothing received (sent %d, received %d)", want, w.eps[1].rx.Received)
		}
		before = w.eps[1].rx.Received
	}
}

func TestSendReceiveBatch(t *testing.T) {
	r := newBatchRig(t, 16)
	r.round(t)
	r.round(t)
	w := r.w
	if w.eps[0].sent != 32 || w.eps[0].sentMeasured != 32 || w.eps[1].rx.Received != 32 {
		t.Fatalf("sent %d (measured %d), received %d", w.eps[0].sent, w.eps[0].sentMeasured, w.eps[1].rx.Received)
	}
	if w.eps[1].rx.Reordered != 0 || w.eps[1].rx.Duplicates != 0 || w.bad != 0 || w.eps[1].mismatch != 0 {
		t.Errorf("reordered %d duplicates %d bad %d mismatched %d", w.eps[1].rx.Reordered, w.eps[1].rx.Duplicates, w.bad, w.eps[1].mismatch)
	}
	if w.hist.Count() != 32 || w.noKernelTS != 0 {
		t.Errorf("latency samples %d, without kernel timestamp %d", w.hist.Count(), w.noKernelTS)
	}
	if w.sendCalls != 2 {
		t.Errorf("%d sendmmsg calls for two batches", w.sendCalls)
	}
	if w.maxLate < int64(time.Second)-int64(time.Second)/16 {
		t.Errorf("max lateness %v, want about 1s (everything of a second sent at once)", time.Duration(w.maxLate))
	}
}

func TestSendReceiveBatchAllocs(t *testing.T) {
	r := newBatchRig(t, 32)
	r.round(t) // warm up
	if a := testing.AllocsPerRun(50, func() { r.round(t) }); a != 0 {
		t.Errorf("%v allocations per batch of 32 packets sent and received", a)
	}
}

func BenchmarkSendReceiveBatch(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		b.Run(map[int]string{1: "1pkt", 8: "8pkts", 32: "32pkts"}[n], func(b *testing.B) {
			r := newBatchRig(b, n)
			b.ReportAllocs()
			for b.Loop() {
				r.round(b)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt")
		})
	}
}
