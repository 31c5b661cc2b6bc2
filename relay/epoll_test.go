package relay

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// drainRig is a worker that is not running, with two bound streams (in and
// out), and a sender and a sink socket on loopback, for driving drain
// directly. All sockets are raw and blocking-free so that the rig itself
// allocates nothing.
type drainRig struct {
	w        *worker
	in, out  *Stream
	senderFd int // connected to in's port
	sinkFd   int // out's peer
	pkt      []byte
	buf      []byte
}

func newDrainRig(t testing.TB) *drainRig {
	t.Helper()
	w, err := newWorker(&epollPlane{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(w.epfd); unix.Close(w.eventfd) })
	lo := netip.MustParseAddr("127.0.0.1")
	local := &LocalAddr{Addr: lo, Advertise: lo}
	bind := func() (int, int) {
		for port := 46000 + 2*int(uint16(unix.Getpid()))%2000; port < 50000; port++ {
			fd, err := openUDP(lo, port, sockOpts{rcvBuf: 1 << 20})
			if err == nil {
				t.Cleanup(func() { unix.Close(fd) })
				return fd, port
			}
		}
		t.Fatal("no free port")
		return -1, 0
	}
	r := &drainRig{w: w, buf: make([]byte, 2048)}
	fd, port := bind()
	r.in = &Stream{local: local, port: port, fd: fd, kind: KindRTP}
	fd, port = bind()
	r.out = &Stream{local: local, port: port, fd: fd, kind: KindRTP}
	var sinkPort int
	r.senderFd, _ = bind()
	r.sinkFd, sinkPort = bind()
	if err := unix.Connect(r.senderFd, &unix.SockaddrInet4{Port: r.in.port, Addr: lo.As4()}); err != nil {
		t.Fatal(err)
	}
	r.out.setPeer(netip.AddrPortFrom(lo, uint16(sinkPort)))
	r.in.fwd.Store(&forwarding{sink: r.out})
	r.pkt = append([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 160)...)
	return r
}

// round sends n packets to the in-stream, drains them once and reads them
// at the sink.
func (r *drainRig) round(t testing.TB, n int) {
	for range n {
		if _, err := unix.Write(r.senderFd, r.pkt); err != nil {
			t.Fatal(err)
		}
	}
	r.w.drain(r.in, 1)
	for range n {
		if _, err := unix.Read(r.sinkFd, r.buf); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDrainForwardsABatchWithoutAllocating(t *testing.T) {
	r := newDrainRig(t)
	r.round(t, 1) // latch the sender
	allocs := testing.AllocsPerRun(100, func() { r.round(t, IdealBatchSize) })
	if allocs != 0 {
		t.Fatalf("%.1f allocations per batch of %d packets, want 0", allocs, IdealBatchSize)
	}
	// AllocsPerRun runs the function once more as a warm-up.
	if got, want := r.in.Stats.Packets.Load(), uint64(1+101*IdealBatchSize); got != want {
		t.Fatalf("forwarded %d packets, want %d", got, want)
	}
}

func BenchmarkDrainBatchOf32(b *testing.B) {
	r := newDrainRig(b)
	r.round(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		r.round(b, IdealBatchSize)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*IdealBatchSize), "ns/packet")
}

func BenchmarkDrainOnePacket(b *testing.B) {
	r := newDrainRig(b)
	r.round(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		r.round(b, 1)
	}
}
