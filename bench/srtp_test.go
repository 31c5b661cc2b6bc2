package bench

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/internal/daemon"
)

var testSuites = []srtp.Suite{srtp.AES128CMSHA1_80, srtp.AEADAES128GCM}

// keyPair returns two contexts of one fresh key of suite s: one to
// protect with, one to unprotect with.
func keyPair(t testing.TB, s srtp.Suite) (tx, rx *srtp.Context) {
	t.Helper()
	c, err := sdes.Generate(1, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tx, err = cryptoContext(c); err != nil {
		t.Fatal(err)
	}
	if rx, err = cryptoContext(c); err != nil {
		t.Fatal(err)
	}
	return tx, rx
}

// newSRTPBatchRig is a batchRig whose sender protects with tx and whose
// receiver unprotects with rx.
func newSRTPBatchRig(t testing.TB, n int, tx, rx *srtp.Context) *batchRig {
	r := newBatchRig(t, n)
	r.w.eps[0].srtpTx = tx
	r.w.eps[1].srtpRx = rx
	return r
}

// TestSRTPRoundTrip sends SRTP through the generator's send batch and
// unprotects it in its receive batch: everything arrives, is accounted as
// the stream's packets, and nothing is allocated once the SSRC is known.
func TestSRTPRoundTrip(t *testing.T) {
	for _, s := range testSuites {
		t.Run(s.Name(), func(t *testing.T) {
			tx, rx := keyPair(t, s)
			r := newSRTPBatchRig(t, 32, tx, rx)
			r.round(t) // the first packet of the SSRC allocates its state
			r.round(t)
			w := r.w
			if w.eps[0].sent != 64 || w.eps[1].rx.Received != 64 {
				t.Fatalf("sent %d, received %d", w.eps[0].sent, w.eps[1].rx.Received)
			}
			if w.eps[1].srtpFailed != 0 || w.protectErrs != 0 || w.bad != 0 || w.eps[1].mismatch != 0 || w.eps[1].rx.Reordered != 0 {
				t.Fatalf("srtp failed %d, protect errors %d, bad %d, mismatched %d, reordered %d (%s)",
					w.eps[1].srtpFailed, w.protectErrs, w.bad, w.eps[1].mismatch, w.eps[1].rx.Reordered, w.firstSRTPErr)
			}
			if w.hist.Count() != 64 {
				t.Errorf("%d latency samples", w.hist.Count())
			}
			if raceEnabled {
				return
			}
			if a := testing.AllocsPerRun(50, func() { r.round(t) }); a != 0 {
				t.Errorf("%v allocations per batch of 32 SRTP packets protected, sent, received and unprotected", a)
			}
			if w.eps[1].srtpFailed != 0 {
				t.Errorf("%d failed to unprotect", w.eps[1].srtpFailed)
			}
		})
	}
}

// TestSRTPOnTheWire: what the generator sends is SRTP (a receiver without
// the key cannot read it), and a receiver with the wrong key counts every
// datagram as failed and none as received.
func TestSRTPOnTheWire(t *testing.T) {
	for _, s := range testSuites {
		t.Run(s.Name(), func(t *testing.T) {
			tx, _ := keyPair(t, s)
			r := newSRTPBatchRig(t, 16, tx, nil)
			w := r.w
			w.sendDue(w.eps[0].next + int64(time.Second) - 1)
			w.receive(1)
			if got := w.eps[1].rxAll + w.bad; got != 16 {
				t.Fatalf("%d datagrams received, want 16", got)
			}
			if w.eps[1].rx.Received != 0 {
				t.Errorf("a receiver without the key read %d packets of the stream", w.eps[1].rx.Received)
			}
			if got, want := int(w.rb.msgs[0].Len), rtpHeaderLen+160+tx.RTPOverhead(); got != want {
				t.Errorf("datagram of %d bytes, want %d (RTP and the SRTP tag)", got, want)
			}

			_, wrong := keyPair(t, s)
			r = newSRTPBatchRig(t, 16, tx, wrong)
			w = r.w
			w.sendDue(w.eps[0].next + int64(time.Second) - 1)
			w.receive(1)
			if w.eps[1].srtpFailed != 16 || w.eps[1].rx.Received != 0 || w.eps[1].rxAll != 0 {
				t.Errorf("wrong key: %d failed, %d received, %d parsed", w.eps[1].srtpFailed, w.eps[1].rx.Received, w.eps[1].rxAll)
			}
			if w.firstSRTPErr == "" {
				t.Error("no SRTP error recorded")
			}
		})
	}
}

func BenchmarkSendReceiveBatchSRTP(b *testing.B) {
	for _, s := range testSuites {
		b.Run(s.Name(), func(b *testing.B) {
			tx, rx := keyPair(b, s)
			r := newSRTPBatchRig(b, 32, tx, rx)
			r.round(b)
			b.ReportAllocs()
			for b.Loop() {
				r.round(b)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*32), "ns/pkt")
		})
	}
}

// startNgrelay starts ngrelay in process on loopback and returns its NG
// address.
func startNgrelay(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.ListenNG = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	cfg.ListenTCPNG = nil
	cfg.ListenCLI = nil
	base := 20000 + 2*rand.IntN(10000)
	cfg.PortMin, cfg.PortMax = base, base+199
	cfg.DeleteDelay = 0
	cfg.NumThreads = 1
	d, err := daemon.Start(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatalf("start ngrelay: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d.NGAddrs()[0].String()
}

// TestSteadySRTPThroughNgrelay runs a short steady load in SRTP mode
// through an in-process ngrelay: A plain, B SRTP, every packet delivered
// and authenticated.
func TestSteadySRTPThroughNgrelay(t *testing.T) {
	for _, s := range testSuites {
		t.Run(s.Name(), func(t *testing.T) {
			ngAddr := startNgrelay(t)
			const calls, pps = 5, 50
			dur := 2 * time.Second
			res, err := RunSteady(SteadyConfig{
				Target: Target{Name: "ngrelay", NG: ngAddr, PID: os.Getpid()},
				Calls:  calls,
				SRTP:   s,
				Traffic: TrafficConfig{
					PPS: pps, Size: 160, Warmup: 200 * time.Millisecond, Duration: dur, Drain: 3 * time.Second,
				},
			})
			if res != nil {
				WriteSteady(testWriter{t}, res)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.SRTP != s.Name() {
				t.Errorf("result says SRTP %q", res.SRTP)
			}
			if want := uint64(calls * 2 * pps * dur / time.Second); res.Offered != want {
				t.Errorf("offered %d packets in the measured window, want %d", res.Offered, want)
			}
			if res.Received != res.Offered || res.LossPct != 0 {
				t.Errorf("delivered %d of %d (loss %.3f%%)", res.Received, res.Offered, res.LossPct)
			}
			if res.SRTPFailed != 0 || res.SRTPReplayed != 0 {
				t.Errorf("%d datagrams failed to unprotect (%d replays)", res.SRTPFailed, res.SRTPReplayed)
			}
			if res.Duplicates != 0 || res.Mismatched != 0 || res.Bad != 0 {
				t.Errorf("duplicates %d, mismatched %d, bad %d", res.Duplicates, res.Mismatched, res.Bad)
			}
			if res.Setup.Calls != calls || res.Setup.Errors != 0 {
				t.Errorf("setup %+v", res.Setup)
			}
		})
	}
}

// TestSRTPSharedBatch: a worker's plain and SRTP endpoints share the send
// batch; a plain packet filled into a slot that last held an encrypted one
// goes out plain, at its own length.
func TestSRTPSharedBatch(t *testing.T) {
	a, b := socketPair(t)
	tx, rx := keyPair(t, srtp.AES128CMSHA1_80)
	w := newWorker(-1, 160)
	w.tm = &timing{base: time.Now(), measureNs: 0, stopNs: 1 << 62}
	sec := int64(time.Second)
	w.eps = []endpoint{
		{fd: a, sendID: 0, recvID: 1, period: sec, srtpRx: rx}, // plain sender
		{fd: b, sendID: 1, recvID: 0, period: sec, srtpTx: tx}, // SRTP sender
	}
	plainLen := rtpHeaderLen + 160
	for round := range 3 {
		w.sendDue(int64(round) * sec) // one packet each: A's, then B's, in slot 0
		w.receive(1)                  // A's plain packet at B
		if got := int(w.rb.msgs[0].Len); got != plainLen {
			t.Fatalf("round %d: plain packet of %d bytes, want %d", round, got, plainLen)
		}
		p, _ := w.rb.packet(0)
		for j := offFlags + 1; j < len(p); j++ {
			if p[j] != 0xff {
				t.Fatalf("round %d: plain payload byte %d is %#x, want the 0xff filler", round, j, p[j])
			}
		}
		w.receive(0) // B's SRTP packet at A
		if got := int(w.rb.msgs[0].Len); got != plainLen+tx.RTPOverhead() {
			t.Fatalf("round %d: SRTP packet of %d bytes, want %d", round, got, plainLen+tx.RTPOverhead())
		}
	}
	if w.eps[0].rx.Received != 3 || w.eps[1].rx.Received != 3 || w.eps[0].srtpFailed != 0 || w.bad != 0 || w.eps[0].mismatch+w.eps[1].mismatch != 0 {
		t.Errorf("received %d and %d, srtp failed %d, bad %d, mismatched %d", w.eps[0].rx.Received, w.eps[1].rx.Received,
			w.eps[0].srtpFailed, w.bad, w.eps[0].mismatch+w.eps[1].mismatch)
	}
}
