package relay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// engineKinds are the data planes the engine-level tests run on.
var engineKinds = []string{IOEngineEpoll, IOEngineIOURing}

// testEngineOn is testEngine with a chosen data plane. It skips the test
// when the kernel refuses io_uring.
func testEngineOn(t *testing.T, kind string, pairs int) *Engine {
	t.Helper()
	base := 40000 + 2*int(time.Now().UnixNano()%5000)
	e, err := New(Config{
		Interfaces:     []InterfaceConfig{{Addr: netip.MustParseAddr("127.0.0.1")}},
		PortMin:        base,
		PortMax:        base + 2*pairs - 1,
		Workers:        2,
		PortQuarantine: 500 * time.Millisecond,
		TickInterval:   20 * time.Millisecond,
		IOEngine:       kind,
	}, nil)
	if err != nil {
		if kind == IOEngineIOURing && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM)) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// rtpTo sends an RTP packet carrying payload from c to the relay port.
func rtpTo(t *testing.T, c *net.UDPConn, port int, payload string) {
	t.Helper()
	pkt := append([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, payload...)
	if _, err := c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))); err != nil {
		t.Fatal(err)
	}
}

// expectRTP waits for a packet carrying payload on c and returns its source.
func expectRTP(t *testing.T, c *net.UDPConn, payload string) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for %q: %v", payload, err)
		}
		if n >= 12 && bytes.Equal(buf[12:n], []byte(payload)) {
			return from
		}
	}
}

// expectNothing checks that c receives nothing for a while.
func expectNothing(t *testing.T, c *net.UDPConn, d time.Duration) {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(d))
	if n, _, err := c.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatalf("received %d bytes %q, want nothing", n, buf[12:n])
	}
}

func TestEngineForwardsBothWays(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			e := testEngineOn(t, kind, 2)
			a, b := udpEndpoint(t), udpEndpoint(t)
			// pa is the relay port A talks to, pb the one B talks to.
			pa, pb := bridge(t, e, "call", addrOf(a), addrOf(b))
			for i := range 20 {
				rtpTo(t, a, pa, fmt.Sprint("a->b ", i))
				if from := expectRTP(t, b, fmt.Sprint("a->b ", i)); int(from.Port()) != pb {
					t.Fatalf("b got media from port %d, want the port advertised to it, %d", from.Port(), pb)
				}
				rtpTo(t, b, pb, fmt.Sprint("b->a ", i))
				if from := expectRTP(t, a, fmt.Sprint("b->a ", i)); int(from.Port()) != pa {
					t.Fatalf("a got media from port %d, want %d", from.Port(), pa)
				}
			}
			// The counters trail the packets a little: the worker adds
			// to them after its send returned.
			var st WorkerStats
			for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
				st = WorkerStats{}
				for _, w := range e.WorkerStats() {
					st.Received += w.Received
					st.Sent += w.Sent
					st.SendErrors += w.SendErrors
					st.Wakeups += w.Wakeups
				}
				if st.Received == 40 && st.Sent == 40 || time.Now().After(deadline) {
					break
				}
			}
			if st.Received != 40 || st.Sent != 40 || st.SendErrors != 0 || st.Wakeups == 0 {
				t.Fatalf("worker stats %+v, want 40 received and sent", st)
			}
		})
	}
}

func TestEngineLatchesTheRealSource(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			e := testEngineOn(t, kind, 2)
			a, b := udpEndpoint(t), udpEndpoint(t)
			// A's SDP announces an address nobody listens on (a NAT).
			nowhere := netip.MustParseAddrPort("127.0.0.1:9")
			pa, pb := bridge(t, e, "call", nowhere, addrOf(b))
			rtpTo(t, b, pb, "before latching")
			expectNothing(t, a, 100*time.Millisecond)
			rtpTo(t, a, pa, "latch me")
			expectRTP(t, b, "latch me")
			rtpTo(t, b, pb, "after latching")
			if from := expectRTP(t, a, "after latching"); int(from.Port()) != pa {
				t.Fatalf("a got media from port %d, want %d", from.Port(), pa)
			}
		})
	}
}

func TestEngineStopsForwardingAfterDelete(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind, func(t *testing.T) {
			e := testEngineOn(t, kind, 2) // one port pair per leg: reuse is forced
			a, b := udpEndpoint(t), udpEndpoint(t)
			pa, pb := bridge(t, e, "call", addrOf(a), addrOf(b))
			rtpTo(t, a, pa, "hello")
			expectRTP(t, b, "hello")
			c := e.Call("call")
			c.Lock()
			c.ScheduleDelete(0)
			c.Unlock()
			rtpTo(t, a, pa, "after delete")
			rtpTo(t, b, pb, "after delete")
			expectNothing(t, b, 100*time.Millisecond)
			expectNothing(t, a, 10*time.Millisecond)
			// The ports come back once the data plane closed the
			// sockets (bridge waits for them): a new call reuses them
			// and forwards.
			pa2, pb2 := bridge(t, e, "again", addrOf(a), addrOf(b))
			if pa2 != pa && pa2 != pb || pb2 != pa && pb2 != pb {
				t.Fatalf("new call got ports %d/%d, want the freed %d/%d", pa2, pb2, pa, pb)
			}
			rtpTo(t, a, pa2, "again")
			expectRTP(t, b, "again")
			rtpTo(t, b, pb2, "again back")
			expectRTP(t, a, "again back")
		})
	}
}

func TestEngineForwardingUnderConcurrentSignallingIOURing(t *testing.T) {
	forwardingUnderSignalling(t, IOEngineIOURing)
}

func TestURingPlaneReportsSetupErrors(t *testing.T) {
	// An io_uring that cannot be created fails with an error naming
	// io_uring: exercised here through an impossible ring size.
	if _, err := newURing(1<<20, 1<<20); err == nil {
		t.Skip("kernel accepted a huge ring")
	} else if !bytes.Contains([]byte(err.Error()), []byte("io_uring")) {
		t.Fatalf("error %q does not name io_uring", err)
	}
}

func TestURingPlaneClosesCleanly(t *testing.T) {
	e := testEngineOn(t, IOEngineIOURing, 2)
	a, b := udpEndpoint(t), udpEndpoint(t)
	pa, _ := bridge(t, e, "call", addrOf(a), addrOf(b))
	rtpTo(t, a, pa, "x")
	expectRTP(t, b, "x")
	p := e.plane.(*uringPlane)
	e.Close()
	for _, w := range p.workers {
		if w.ring != nil || w.mem != nil {
			t.Fatalf("worker %d: ring or buffers left after close (drain failed)", w.id)
		}
	}
	for i := range p.slots {
		if p.slots[i].stream.Load() != nil {
			t.Fatalf("slot %d still holds a stream", i)
		}
	}
}

// uringRig is an io_uring worker driven by the test goroutine (locked to
// its thread, which owns the ring), with streams in -> out and a sender
// and a sink socket on loopback.
type uringRig struct {
	p        *uringPlane
	w        *uringWorker
	in, out  *Stream
	senderFd int // connected to in's port
	sinkFd   int // out's peer
	pkt      []byte
	buf      []byte
}

func newURingRig(t *testing.T, nbufs int) *uringRig {
	t.Helper()
	runtime.LockOSThread() // for the rest of the test: the ring is this thread's
	p := &uringPlane{log: slog.New(slog.DiscardHandler), slots: make([]uringSlot, 8), slotBook: newSlotBook(8)}
	w, err := newURingWorker(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.nbufs = nbufs
	if err := w.setup(); err != nil {
		unix.Close(w.eventfd)
		t.Skipf("io_uring unavailable: %v", err)
	}
	p.workers = []*uringWorker{w}
	// Cleanups run on this goroutine, hence on the ring's thread.
	t.Cleanup(func() {
		p.stopping.Store(true)
		if err := w.shutdown(); err != nil {
			t.Error(err)
		}
		p.stopping.Store(false)
		p.close() // closes the eventfd and the streams' sockets
	})
	lo := netip.MustParseAddr("127.0.0.1")
	local := &LocalAddr{Addr: lo, Advertise: lo}
	r := &uringRig{p: p, w: w, buf: make([]byte, 2048)}
	open := func() int {
		fd, err := openUDP(lo, 0, sockOpts{rcvBuf: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	r.in = &Stream{local: local, fd: open(), kind: KindRTP} // closed by the plane
	r.out = &Stream{local: local, fd: open(), kind: KindRTP}
	r.senderFd = bindLoopback(t)
	r.sinkFd = bindLoopback(t)
	r.in.port, r.out.port = portOf(t, r.in.fd), portOf(t, r.out.fd)
	if err := unix.Connect(r.senderFd, &unix.SockaddrInet4{Port: r.in.port, Addr: lo.As4()}); err != nil {
		t.Fatal(err)
	}
	r.out.setPeer(netip.AddrPortFrom(lo, uint16(portOf(t, r.sinkFd))))
	r.in.fwd.Store(&forwarding{sink: r.out})
	r.pkt = append([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 160)...)
	for _, s := range []*Stream{r.in, r.out} {
		if err := p.add(s); err != nil {
			t.Fatal(err)
		}
	}
	w.step(false) // arm the receives
	return r
}

// bindLoopback opens a socket on an ephemeral loopback port, closed at the
// end of the test.
func bindLoopback(t testing.TB) int {
	t.Helper()
	fd, err := openUDP(netip.MustParseAddr("127.0.0.1"), 0, sockOpts{rcvBuf: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func portOf(t testing.TB, fd int) int {
	t.Helper()
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// round sends n packets to the in-stream, lets the worker receive them and
// submit their sends, and reads them at the sink.
func (r *uringRig) round(t testing.TB, n int) {
	for range n {
		if _, err := unix.Write(r.senderFd, r.pkt); err != nil {
			t.Fatal(err)
		}
	}
	want := r.w.received.Load() + uint64(n)
	for r.w.received.Load() < want {
		r.w.step(true)
	}
	r.w.step(false) // submit the last sends
	for i := range n {
		for try := 0; ; try++ {
			_, err := unix.Read(r.sinkFd, r.buf)
			if err == nil {
				break
			}
			if err != unix.EAGAIN || try > 1000 {
				t.Fatalf("packet %d of %d: %v", i, n, err)
			}
			r.w.step(false)
		}
	}
}

func TestURingWorkerForwardsWithoutAllocating(t *testing.T) {
	r := newURingRig(t, uringBufCount)
	r.round(t, 1) // latch the sender
	const n = IdealBatchSize
	allocs := testing.AllocsPerRun(100, func() { r.round(t, n) })
	if allocs != 0 {
		t.Fatalf("%.1f allocations per round of %d packets, want 0", allocs, n)
	}
	if got, want := r.in.Stats.Packets.Load(), uint64(1+101*n); got != want {
		t.Fatalf("forwarded %d packets, want %d", got, want)
	}
	r.w.step(false)
	r.w.completions(0)
	if r.w.sending != 0 || r.w.held != 0 {
		t.Fatalf("%d sends in flight and %d buffers held after the rounds, want 0", r.w.sending, r.w.held)
	}
	if s := r.w.sent.Load(); s != uint64(1+101*n) {
		t.Fatalf("sent %d, want %d", s, 1+101*n)
	}
	if r.w.arms != 2 {
		t.Fatalf("%d receives armed for 2 streams: multishot receives ended", r.w.arms)
	}
}

func TestURingWorkerRemoveWaitsForTheReceiveAndSends(t *testing.T) {
	r := newURingRig(t, uringBufCount)
	r.round(t, 3)
	st := &r.p.slots[r.in.slot]
	fd := r.in.fd
	// Remove in: its receive is cancelled; reap closes it only after.
	var done atomic.Bool
	r.p.remove(r.in, func() { done.Store(true) })
	r.p.reap()
	if done.Load() {
		t.Fatal("socket closed before the worker saw the receive end")
	}
	for try := 0; !st.recvDone.Load(); try++ {
		if try > 100 {
			t.Fatal("receive never ended")
		}
		r.w.step(true)
	}
	r.p.reap()
	if !done.Load() {
		t.Fatal("socket not closed once nothing referred to it")
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("socket still open: %v", err)
	}
	// Packets to the removed stream's port are no longer forwarded.
	unix.Write(r.senderFd, r.pkt)
	r.w.step(false)
	if _, err := unix.Read(r.sinkFd, r.buf); err != unix.EAGAIN {
		t.Fatalf("read at sink after remove: %v, want nothing", err)
	}
}

func TestURingWorkerPinsASinkBeingRemoved(t *testing.T) {
	r := newURingRig(t, uringBufCount)
	r.round(t, 1)
	// A send queued from out's socket holds out's slot.
	unix.Write(r.senderFd, r.pkt)
	for r.w.sending == 0 {
		r.w.step(true)
	}
	ss := &r.p.slots[r.out.slot]
	if ss.inflight.Load() != 1 {
		t.Fatalf("inflight %d, want 1", ss.inflight.Load())
	}
	// Once unpublished, no new send is queued from it.
	ss.stream.Store(nil)
	unix.Write(r.senderFd, r.pkt)
	want := r.w.received.Load() + 1
	for r.w.received.Load() < want || r.w.sending > 0 {
		r.w.step(true)
	}
	if ss.inflight.Load() != 0 {
		t.Fatalf("inflight %d after the send completed, want 0", ss.inflight.Load())
	}
	unix.Read(r.sinkFd, r.buf) // the first one
	if _, err := unix.Read(r.sinkFd, r.buf); err != unix.EAGAIN {
		t.Fatalf("second packet forwarded from an unpublished sink: %v", err)
	}
	ss.stream.Store(r.out)
}

func TestURingWorkerSurvivesRunningOutOfBuffers(t *testing.T) {
	r := newURingRig(t, 16)
	r.round(t, 1)
	// More datagrams than buffers arrive at once: the receive ends with
	// ENOBUFS, the datagrams wait in the socket, and the worker arms the
	// receive again once sends gave buffers back.
	r.round(t, 200)
	if r.w.noBufs.Load() == 0 {
		t.Fatal("the buffer ring never ran dry")
	}
	if got := r.in.Stats.Packets.Load(); got != 201 {
		t.Fatalf("forwarded %d packets, want 201", got)
	}
	t.Logf("%d times out of buffers", r.w.noBufs.Load())
}

// BenchmarkPlane compares the data planes on one rig: k streams, each
// forwarding to its own out-stream, one worker, 32 packets per round sent
// with one sendmmsg spread over the k streams, read back at one sink.
func BenchmarkPlane(b *testing.B) {
	for _, kind := range engineKinds {
		for _, k := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/%dstreams", kind, k), func(b *testing.B) {
				r := newPlaneRig(b, kind, k)
				r.round(b)
				b.ReportAllocs()
				var enters0 uint64
				if up, ok := r.p.(*uringPlane); ok {
					enters0 = up.workers[0].enters.Load()
				}
				rx0 := r.rxCalls
				cpu0 := cpuTime()
				for b.Loop() {
					r.round(b)
				}
				pkts := float64(b.N * planeRigBatch)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pkts, "ns/packet")
				b.ReportMetric(float64(cpuTime()-cpu0)/pkts, "cpu-ns/packet")
				b.ReportMetric(float64(r.rxCalls-rx0)/float64(b.N), "rig-recvmmsg/op")
				if up, ok := r.p.(*uringPlane); ok {
					b.ReportMetric(float64(up.workers[0].enters.Load()-enters0)/pkts, "enters/packet")
				}
			})
		}
	}
}

const planeRigBatch = 32

// cpuTime is the process's user and system CPU time in nanoseconds: the
// rig's, the worker's and the runtime's.
func cpuTime() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// planeRig is a running data plane with k in-streams forwarding to k
// out-streams, a sender socket and a sink socket.
type planeRig struct {
	p        dataPlane
	sender   int
	sink     int
	pkt      []byte
	txNames  [planeRigBatch]unix.RawSockaddrInet4
	txIov    unix.Iovec
	txMsgs   [planeRigBatch]unix.Mmsghdr
	rxBufs   [planeRigBatch][2048]byte
	rxIov    [planeRigBatch]unix.Iovec
	rxMsgs   [planeRigBatch]unix.Mmsghdr
	received uint64
	rxCalls  uint64 // the rig's own recvmmsg calls
}

func newPlaneRig(b *testing.B, kind string, k int) *planeRig {
	b.Helper()
	p, err := newDataPlane(kind, 1, 2*k, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Skipf("%s: %v", kind, err)
	}
	b.Cleanup(p.close)
	lo := netip.MustParseAddr("127.0.0.1")
	local := &LocalAddr{Addr: lo, Advertise: lo}
	r := &planeRig{p: p, pkt: append([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, make([]byte, 160)...)}
	blocking := func() int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: lo.As4()}); err != nil {
			b.Fatal(err)
		}
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2})
		return fd
	}
	r.sender, r.sink = blocking(), blocking()
	sinkAddr := netip.AddrPortFrom(lo, uint16(portOf(b, r.sink)))
	var inPorts []int
	for range k {
		// The plane closes these sockets.
		openFd := func() int {
			fd, err := openUDP(lo, 0, sockOpts{rcvBuf: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			return fd
		}
		in := &Stream{local: local, fd: openFd(), kind: KindRTP}
		out := &Stream{local: local, fd: openFd(), kind: KindRTP}
		in.port, out.port = portOf(b, in.fd), portOf(b, out.fd)
		out.setPeer(sinkAddr)
		in.fwd.Store(&forwarding{sink: out})
		if err := p.add(in); err != nil {
			b.Fatal(err)
		}
		if err := p.add(out); err != nil {
			b.Fatal(err)
		}
		inPorts = append(inPorts, in.port)
	}
	r.txIov.Base = &r.pkt[0]
	r.txIov.SetLen(len(r.pkt))
	for i := range planeRigBatch {
		sa := &r.txNames[i]
		sa.Family = unix.AF_INET
		sa.Addr = lo.As4()
		port := uint16(inPorts[i%k])
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
		h := &r.txMsgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(sa))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov = &r.txIov
		h.SetIovlen(1)
		r.rxIov[i].Base = &r.rxBufs[i][0]
		r.rxIov[i].SetLen(len(r.rxBufs[i]))
		r.rxMsgs[i].Hdr.Iov = &r.rxIov[i]
		r.rxMsgs[i].Hdr.SetIovlen(1)
	}
	return r
}

// round sends a batch and reads it back at the sink. Both are single
// system calls when nothing waits, through the scheduler (the calls may
// block).
func (r *planeRig) round(b *testing.B) {
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(r.sender), uintptr(unsafe.Pointer(&r.txMsgs[0])), planeRigBatch, 0, 0, 0)
	if errno != 0 || n != planeRigBatch {
		b.Fatalf("sendmmsg: %d %v", n, errno)
	}
	for got := 0; got < planeRigBatch; {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.sink), uintptr(unsafe.Pointer(&r.rxMsgs[0])), uintptr(planeRigBatch-got), unix.MSG_WAITFORONE, 0, 0)
		r.rxCalls++
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			b.Fatalf("recvmmsg after %d of %d: %v", got, planeRigBatch, errno)
		}
		got += int(n)
	}
	r.received += planeRigBatch
}
