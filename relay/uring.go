package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sizes of the io_uring data plane, per worker.
const (
	// uringBufCount is the number of receive buffers in a worker's
	// provided-buffer ring (a power of two, at most 32768). A buffer is
	// out of the ring from the moment a datagram lands in it until its
	// forward completes.
	uringBufCount = 2048
	// uringBufSize is the size of one buffer: the recvmsg header, the
	// source address and the datagram, so datagrams of up to
	// uringBufSize-uringHdrLen (4052) bytes fit (the epoll plane: 4096).
	// Longer ones are truncated by the kernel and dropped as errors.
	uringBufSize = 4096
	// uringSQEntries and uringCQEntries size the rings. Every buffer can
	// account for at most two completions (its receive and its send), so
	// the CQ ring holds them all with room for control completions.
	uringSQEntries = 2048
	uringCQEntries = 4 * uringBufCount
	// uringBufGroup is the buffer group id of the worker's buffer ring.
	uringBufGroup = 0
	// uringNameLen is the room for the source address in each buffer.
	uringNameLen = uint32(unsafe.Sizeof(sockaddr{}))
	// uringHdrLen is where the datagram starts in a buffer.
	uringHdrLen = uint32(unsafe.Sizeof(uringRecvmsgOut{})) + uringNameLen
)

// user_data of the worker's requests: the kind in the top byte; for a
// receive, the slot in the low 32 bits and the slot's generation in the 24
// bits above; for a send, the buffer id in the low 16 bits.
const (
	udRecv uint64 = iota + 1
	udSend
	udWake
	udCancel
	udTimeout

	udKindShift = 56
	udGenMask   = 1<<24 - 1
)

func recvUserData(slot, gen uint32) uint64 {
	return udRecv<<udKindShift | uint64(gen&udGenMask)<<32 | uint64(slot)
}

// uringPlane is the data plane of worker goroutines locked to OS threads,
// each owning one io_uring: a multishot recvmsg per stream feeding a ring of
// provided buffers, and a send per forwarded datagram straight from the
// buffer it arrived in (IORING_OP_SEND with the destination in addr2, a
// sendto: no msghdr for the kernel to copy; Linux 6.0+). One io_uring_enter per round both submits the
// round's sends and waits for the next completions, whatever the number of
// sockets involved.
//
// Lifetime of a socket: add hands the stream to a worker, which arms its
// receive. remove unpublishes the stream from its slot (no new send from
// its socket can start, no packet of it is delivered any more) and asks the
// worker to cancel the receive; the socket is closed in reap once the
// receive's last completion has been seen (recvDone) and no send from the
// socket is queued or in flight on any worker (inflight == 0). Until then
// the slot is not reused, so a request can never reach a socket that a new
// stream got under the same descriptor number.
type uringPlane struct {
	log     *slog.Logger
	workers []*uringWorker
	next    atomic.Uint32
	slots   []uringSlot

	slotBook // its mu also guards the slots' control fields
	wg       sync.WaitGroup
	stopping atomic.Bool
}

// uringSlot is a stream's place in the plane. Fields are grouped by owner
// so that no word is shared between writers.
type uringSlot struct {
	// stream is the slot's stream from add to remove. A worker pins a
	// sink by incrementing inflight and then checking that stream is
	// still the sink; remove clears stream before waiting for inflight
	// to drop to zero.
	stream   atomic.Pointer[Stream]
	inflight atomic.Int32 // sends queued or in flight from the socket, all workers
	recvDone atomic.Bool  // the owner saw the receive's last completion after remove

	// Control plane, under uringPlane.mu.
	owner  int32
	ctlGen uint32

	// Owner worker only (ordered after add by the worker's queue).
	gen      uint32
	fd       int32
	armed    bool // a multishot receive is outstanding
	removing bool

	_ [24]byte // keep slots of different workers off one cache line
}

// newURingPlane starts n io_uring workers for at most maxStreams streams.
// It fails, naming io_uring, when the kernel refuses io_uring (disabled by
// kernel.io_uring_disabled, seccomp, or too old a kernel); the caller
// decides whether to use the epoll plane instead.
func newURingPlane(n, maxStreams int, log *slog.Logger) (dataPlane, error) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if maxStreams >= 1<<32-1 {
		return nil, errors.New("io_uring data plane: too many streams")
	}
	p := &uringPlane{log: log, slots: make([]uringSlot, maxStreams), slotBook: newSlotBook(maxStreams)}
	for i := range n {
		w, err := newURingWorker(p, i)
		if err != nil {
			p.close()
			return nil, err
		}
		p.workers = append(p.workers, w)
	}
	started := make(chan error, n)
	for _, w := range p.workers {
		p.wg.Add(1)
		go w.run(started)
	}
	var err error
	for range n {
		if e := <-started; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *uringPlane) add(s *Stream) error {
	p.mu.Lock()
	slot, err := p.takeLocked()
	if err != nil {
		p.mu.Unlock()
		return err
	}
	st := &p.slots[slot]
	wi := p.next.Add(1) % uint32(len(p.workers))
	st.owner = int32(wi)
	st.ctlGen++
	gen := st.ctlGen
	p.mu.Unlock()

	s.slot = slot
	st.stream.Store(s)
	p.workers[wi].post(uringMsg{op: msgAdd, slot: slot, gen: gen, fd: int32(s.fd)})
	return nil
}

func (p *uringPlane) remove(s *Stream, done func()) {
	p.mu.Lock()
	st := &p.slots[s.slot]
	if st.stream.Load() != s {
		p.mu.Unlock()
		p.log.Error("io_uring data plane: remove of a stream not added", slog.Int("port", s.port))
		return
	}
	st.stream.Store(nil)
	w := p.workers[st.owner]
	p.retireLocked(retiredSocket{fd: s.fd, slot: s.slot, done: done})
	p.mu.Unlock()
	w.post(uringMsg{op: msgRemove, slot: s.slot})
}

func (p *uringPlane) reap() {
	p.slotBook.reap(func(r retiredSocket) bool {
		st := &p.slots[r.slot]
		if !st.recvDone.Load() || st.inflight.Load() != 0 {
			return false
		}
		st.recvDone.Store(false)
		return true
	})
}

func (p *uringPlane) stats() []WorkerStats { return workerStats(p.workers) }

func (p *uringPlane) close() {
	if p.stopping.Swap(true) {
		return
	}
	for _, w := range p.workers {
		w.wake()
	}
	p.wg.Wait()
	for _, w := range p.workers {
		unix.Close(w.eventfd)
	}
	p.closeAll()
	for i := range p.slots {
		if s := p.slots[i].stream.Swap(nil); s != nil {
			unix.Close(s.fd)
		}
	}
}

// uringMsg is a request from the control plane to a worker.
type uringMsg struct {
	op   uint8
	slot uint32
	gen  uint32
	fd   int32
}

const (
	msgAdd uint8 = iota + 1
	msgRemove
)

// slotRef names a slot at one generation, in the worker's retry lists.
type slotRef struct{ slot, gen uint32 }

// uringWorker is one forwarding thread and its io_uring.
//
// Memory shared with the kernel, and why the kernel never sees it freed or
// moved:
//   - the rings (uring) are mappings of the ring file;
//   - mem is one anonymous mapping, never touched by the GC, holding the
//     provided-buffer ring (page aligned, registered with the kernel), the
//     buffers the kernel receives into and the sends read from, the
//     destination address of each buffer's send, the msghdr of the
//     multishot receives and the eventfd counter a read fills. It is
//     unmapped only once every request of the ring has completed (shutdown
//     drains the ring); if the drain times out it stays mapped.
//
// No Go heap memory is referenced by a pending request.
type uringWorker struct {
	plane   *uringPlane
	id      int
	ring    *uring
	eventfd int

	mem       []byte
	bufRing   []uringBuf // the provided-buffer ring, in mem
	bufs      []byte     // nbufs buffers of uringBufSize, in mem
	bufBase   uint64     // address of bufs
	txAddrs   []sockaddr // destination of the send of buffer i, in mem
	recvMsg   uint64     // address of the multishot receives' msghdr, in mem
	wakeAddr  uint64     // address of the eventfd read's 8 bytes, in mem
	timespec  uint64     // address of the shutdown timeout, in mem
	bufTail   uint16     // next buffer ring entry to fill
	bufPub    uint16     // tail last published to the kernel
	bufMask   uint16
	nbufs     int       // uringBufCount; fewer in tests
	held      int       // buffers out of the ring
	bufSink   []*Stream // the sink each buffer's send leaves from
	sending   int       // sends submitted and not completed
	armed     int       // multishot receives outstanding
	arms      int       // multishot receives submitted, ever
	wakeArmed bool      // the eventfd read is outstanding
	rearm     []slotRef // receives to arm again once buffers are back
	cancels   []slotRef // receive cancellations that found the SQ full

	// Control plane requests: queue is filled under mu, work is the
	// worker's copy. pending says queue may be non-empty.
	mu      sync.Mutex
	queue   []uringMsg
	work    []uringMsg
	pending atomic.Bool

	// Per-round counters, added to the atomics once per round.
	nRecv, nSent, nSendErr uint64

	workerCounters
	enters, noBufs atomic.Uint64
}

func newURingWorker(p *uringPlane, id int) (*uringWorker, error) {
	// A blocking eventfd: the kernel polls it for the ring's read
	// instead of failing the read with EAGAIN.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	return &uringWorker{plane: p, id: id, eventfd: efd, nbufs: uringBufCount}, nil
}

// post queues a control request and wakes the worker.
func (w *uringWorker) post(m uringMsg) {
	w.mu.Lock()
	w.queue = append(w.queue, m)
	w.mu.Unlock()
	if !w.pending.Swap(true) {
		w.wake()
	}
}

// wake interrupts the worker's wait.
func (w *uringWorker) wake() {
	var one = [8]byte{1}
	unix.Write(w.eventfd, one[:])
}

// run is the worker's goroutine. The ring is created on the worker's own
// locked thread: with SINGLE_ISSUER and DEFER_TASKRUN only that thread may
// submit to it and reap it.
func (w *uringWorker) run(started chan<- error) {
	defer w.plane.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := w.setup(); err != nil {
		started <- err
		return
	}
	started <- nil
	for !w.plane.stopping.Load() {
		w.step(true)
	}
	if err := w.shutdown(); err != nil {
		w.plane.log.Error("io_uring worker shutdown", slog.Int("worker", w.id), slog.Any("error", err))
	}
}

// setup creates the ring, the worker's shared memory and registers the
// buffer ring. It must run on the thread that will drive the ring.
func (w *uringWorker) setup() error {
	r, err := newURing(uringSQEntries, uringCQEntries)
	if err != nil {
		return err
	}
	w.ring = r
	page := unix.Getpagesize()
	roundUp := func(n int) int { return (n + page - 1) &^ (page - 1) }
	ringLen := w.nbufs * int(unsafe.Sizeof(uringBuf{}))
	txOff := roundUp(ringLen)
	txLen := w.nbufs * int(unsafe.Sizeof(sockaddr{}))
	miscOff := (txOff + txLen + 63) &^ 63
	msgOff, wakeOff, tsOff := miscOff, miscOff+64, miscOff+128
	bufOff := roundUp(tsOff + 64)
	w.mem, err = unix.Mmap(-1, 0, bufOff+w.nbufs*uringBufSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		r.close()
		return fmt.Errorf("io_uring buffers: mmap: %w", err)
	}
	addr := func(off int) uint64 { return uint64(uintptr(unsafe.Pointer(&w.mem[off]))) }
	w.bufRing = unsafe.Slice((*uringBuf)(unsafe.Pointer(&w.mem[0])), w.nbufs)
	w.txAddrs = unsafe.Slice((*sockaddr)(unsafe.Pointer(&w.mem[txOff])), w.nbufs)
	w.bufs = w.mem[bufOff:]
	w.bufBase = addr(bufOff)
	w.recvMsg, w.wakeAddr, w.timespec = addr(msgOff), addr(wakeOff), addr(tsOff)
	msg := (*unix.Msghdr)(unsafe.Pointer(&w.mem[msgOff]))
	msg.Namelen = uringNameLen                       // no iovec: the buffer is the ring's
	ts := (*[2]int64)(unsafe.Pointer(&w.mem[tsOff])) // struct __kernel_timespec
	ts[0] = 1                                        // second
	w.bufMask = uint16(w.nbufs - 1)
	w.bufSink = make([]*Stream, w.nbufs)
	for i := range w.nbufs {
		w.putBuf(uint16(i))
	}
	w.held = 0
	reg := uringBufReg{ringAddr: addr(0), ringEntries: uint32(w.nbufs), bgid: uringBufGroup}
	if err := r.register(ioringRegisterPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		w.release()
		return fmt.Errorf("io_uring register buffer ring: %w", err)
	}
	w.publishBufs()
	w.armWake()
	return nil
}

// release frees the ring and the shared memory. No request may be pending.
func (w *uringWorker) release() {
	if w.ring != nil {
		w.ring.close()
		w.ring = nil
	}
	if w.mem != nil {
		unix.Munmap(w.mem)
		w.mem, w.bufRing, w.bufs, w.txAddrs = nil, nil, nil, nil
	}
}

// shutdown cancels every request of the ring, waits (at most about a
// second) for their completions, and frees the ring.
func (w *uringWorker) shutdown() error {
	if sqe := w.ring.sqe(); sqe != nil {
		*sqe = uringSQE{opcode: ioringOpAsyncCancel, fd: -1, opFlags: ioringAsyncCancelAll | ioringAsyncCancelAny, userData: udCancel << udKindShift}
	}
	timedOut := false
	if sqe := w.ring.sqe(); sqe != nil {
		*sqe = uringSQE{opcode: ioringOpTimeout, addr: w.timespec, len: 1, userData: udTimeout << udKindShift}
	}
	for (w.armed > 0 || w.wakeArmed || w.sending > 0) && !timedOut {
		if err := w.ring.enter(true); err != nil {
			break
		}
		timedOut = w.completions(time.Now().UnixNano())
	}
	if w.armed > 0 || w.wakeArmed || w.sending > 0 {
		// Leave the buffers mapped: the kernel may still write them.
		w.ring.close()
		w.ring = nil
		return errURingDrain
	}
	w.ring.register(ioringUnregisterPbufRing, unsafe.Pointer(&uringBufReg{bgid: uringBufGroup}), 1)
	w.release()
	return nil
}

// step is one round: submit what the last round queued and wait for at
// least one completion (one io_uring_enter), then process the completions
// and the control requests, queueing the next round's submissions.
func (w *uringWorker) step(wait bool) {
	err := w.ring.enter(wait)
	w.enters.Add(1)
	start := time.Now()
	if err != nil {
		w.plane.log.Error("io_uring_enter", slog.Any("error", err))
		time.Sleep(10 * time.Millisecond)
	}
	if w.ring.cqReady() > 0 {
		w.wakeups.Add(1)
		w.completions(start.UnixNano())
	}
	w.control()
	stopping := w.plane.stopping.Load()
	if len(w.rearm) > 0 && !stopping && w.nbufs-w.held >= w.nbufs/4 {
		w.rearmAll()
	}
	if len(w.cancels) > 0 {
		w.retryCancels()
	}
	if !w.wakeArmed && !stopping {
		w.armWake()
	}
	w.publishBufs()
	w.flushCounters()
	w.busyNanos.Add(uint64(time.Since(start)))
}

func (w *uringWorker) flushCounters() {
	if w.nRecv != 0 {
		w.received.Add(w.nRecv)
		w.nRecv = 0
	}
	if w.nSent != 0 {
		w.sent.Add(w.nSent)
		w.nSent = 0
	}
	if w.nSendErr != 0 {
		w.sendErrors.Add(w.nSendErr)
		w.nSendErr = 0
	}
}

// completions processes every completion in the CQ ring. It reports
// whether the shutdown timeout fired.
func (w *uringWorker) completions(now int64) (timedOut bool) {
	r := w.ring
	head := *r.cqHead
	for {
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			break
		}
		for ; head != tail; head++ {
			c := r.cqes[head&r.cqMask]
			switch c.userData >> udKindShift {
			case udRecv:
				w.onRecv(c, now)
			case udSend:
				w.onSend(c)
			case udWake:
				w.wakeArmed = false
			case udTimeout:
				timedOut = true
			}
		}
		// Free the entries once per batch. (A full SQ may submit
		// from inside onRecv before that: the CQ ring is sized so
		// that it still has room, and the kernel would keep any
		// overflow rather than drop it.)
		atomic.StoreUint32(r.cqHead, head)
	}
	return timedOut
}

// onRecv handles a completion of a stream's multishot receive.
func (w *uringWorker) onRecv(c uringCQE, now int64) {
	slot := uint32(c.userData)
	gen := uint32(c.userData>>32) & udGenMask
	hasBuf := c.flags&ioringCQEFBuffer != 0
	bid := uint16(c.flags >> ioringCQEBufferShift)
	if hasBuf {
		w.held++
	}
	if int(slot) >= len(w.plane.slots) || w.plane.slots[slot].gen&udGenMask != gen {
		// Cannot happen: a slot is reused only after its last
		// completion. Keep the buffer anyway.
		if hasBuf {
			w.putBuf(bid)
		}
		return
	}
	st := &w.plane.slots[slot]
	if hasBuf {
		if c.res >= 0 {
			w.nRecv++
			w.forward(st, bid, uint32(c.res), now)
		} else {
			w.putBuf(bid)
		}
	}
	if c.res == -int32(unix.ENOBUFS) {
		w.noBufs.Add(1)
	}
	if c.flags&ioringCQEFMore != 0 {
		return
	}
	// The receive ended: removed, out of buffers, or an error.
	st.armed = false
	w.armed--
	if st.removing {
		w.retire(slot)
		return
	}
	w.rearm = append(w.rearm, slotRef{slot, st.gen})
}

// forward decides the datagram in buffer bid and queues its send, or
// returns the buffer to the ring.
func (w *uringWorker) forward(st *uringSlot, bid uint16, n uint32, now int64) {
	s := st.stream.Load()
	buf := w.bufs[int(bid)*uringBufSize : (int(bid)+1)*uringBufSize]
	if s == nil || n < uringHdrLen {
		w.putBuf(bid)
		return
	}
	out := (*uringRecvmsgOut)(unsafe.Pointer(&buf[0]))
	if out.flags&unix.MSG_TRUNC != 0 || uringHdrLen+out.payloadlen > uint32(len(buf)) {
		s.Stats.Errors.Add(1)
		w.putBuf(bid)
		return
	}
	var src netip.AddrPort
	if out.namelen <= uringNameLen {
		src = addrPortFrom((*sockaddr)(unsafe.Pointer(&buf[unsafe.Sizeof(uringRecvmsgOut{})])))
	}
	sink, dst, plen, ok := s.receive(buf[uringHdrLen:], int(out.payloadlen), src, now)
	if !ok {
		w.putBuf(bid)
		return
	}
	// Pin the sink's socket: once remove cleared the slot, the socket
	// may be closing and its number reused.
	ss := &w.plane.slots[sink.slot]
	ss.inflight.Add(1)
	if ss.stream.Load() != sink {
		ss.inflight.Add(-1)
		w.putBuf(bid)
		return
	}
	alen := putSockaddr(&w.txAddrs[bid], dst, sink.local.Addr.Is6())
	var sqe *uringSQE
	if alen != 0 {
		sqe = w.ring.sqe()
	}
	if sqe == nil {
		ss.inflight.Add(-1)
		sink.sendErrors.Add(1)
		if alen != 0 {
			w.nSendErr++
		}
		w.putBuf(bid)
		return
	}
	*sqe = uringSQE{
		opcode:   ioringOpSend,
		fd:       int32(sink.fd),
		off:      uint64(uintptr(unsafe.Pointer(&w.txAddrs[bid]))),
		addr:     w.bufBase + uint64(bid)*uringBufSize + uint64(uringHdrLen),
		len:      uint32(plen),
		opFlags:  unix.MSG_DONTWAIT, // drop rather than queue when the socket is full, as sendmmsg does
		userData: udSend<<udKindShift | uint64(bid),
		addrLen:  uint16(alen),
	}
	w.bufSink[bid] = sink
	w.sending++
}

// onSend handles the completion of a forward.
func (w *uringWorker) onSend(c uringCQE) {
	bid := uint16(c.userData)
	sink := w.bufSink[bid]
	w.bufSink[bid] = nil
	w.sending--
	if c.res < 0 {
		sink.sendErrors.Add(1)
		w.nSendErr++
	} else {
		w.nSent++
	}
	w.plane.slots[sink.slot].inflight.Add(-1)
	w.putBuf(bid)
}

// control handles the control plane's requests.
func (w *uringWorker) control() {
	if !w.pending.Load() {
		return
	}
	w.pending.Store(false)
	w.mu.Lock()
	w.queue, w.work = w.work[:0], w.queue
	w.mu.Unlock()
	stopping := w.plane.stopping.Load()
	for _, m := range w.work {
		st := &w.plane.slots[m.slot]
		switch m.op {
		case msgAdd:
			st.gen, st.fd, st.armed, st.removing = m.gen, m.fd, false, false
			if !stopping && !w.armRecv(m.slot, st) {
				w.rearm = append(w.rearm, slotRef{m.slot, st.gen})
			}
		case msgRemove:
			st.removing = true
			if !st.armed {
				w.retire(m.slot)
			} else if !w.cancelRecv(m.slot, st) {
				w.cancels = append(w.cancels, slotRef{m.slot, st.gen})
			}
		}
	}
	w.work = w.work[:0]
}

// armRecv submits the stream's multishot receive.
func (w *uringWorker) armRecv(slot uint32, st *uringSlot) bool {
	sqe := w.ring.sqe()
	if sqe == nil {
		return false
	}
	*sqe = uringSQE{
		opcode:   ioringOpRecvmsg,
		flags:    iosqeBufferSelect,
		ioprio:   ioringRecvMultishot,
		fd:       st.fd,
		addr:     w.recvMsg,
		len:      1,
		userData: recvUserData(slot, st.gen),
		bufGroup: uringBufGroup,
	}
	st.armed = true
	w.armed++
	w.arms++
	return true
}

// cancelRecv submits the cancellation of the stream's receive.
func (w *uringWorker) cancelRecv(slot uint32, st *uringSlot) bool {
	sqe := w.ring.sqe()
	if sqe == nil {
		return false
	}
	*sqe = uringSQE{opcode: ioringOpAsyncCancel, fd: -1, addr: recvUserData(slot, st.gen), userData: udCancel << udKindShift}
	return true
}

// rearmAll arms again the receives that ended while the stream lives on.
func (w *uringWorker) rearmAll() {
	keep := w.rearm[:0]
	for _, r := range w.rearm {
		st := &w.plane.slots[r.slot]
		if st.gen != r.gen || st.armed || st.removing {
			continue
		}
		if !w.armRecv(r.slot, st) {
			keep = append(keep, r)
		}
	}
	w.rearm = keep
}

func (w *uringWorker) retryCancels() {
	keep := w.cancels[:0]
	for _, r := range w.cancels {
		st := &w.plane.slots[r.slot]
		if st.gen != r.gen || !st.armed {
			continue
		}
		if !w.cancelRecv(r.slot, st) {
			keep = append(keep, r)
		}
	}
	w.cancels = keep
}

// retire records that no completion will refer to the slot's socket any
// more. The slot then belongs to reap (and to whichever worker gets it
// next): the worker forgets it first.
func (w *uringWorker) retire(slot uint32) {
	drop := func(list []slotRef) []slotRef {
		keep := list[:0]
		for _, r := range list {
			if r.slot != slot {
				keep = append(keep, r)
			}
		}
		return keep
	}
	w.rearm = drop(w.rearm)
	w.cancels = drop(w.cancels)
	w.plane.slots[slot].recvDone.Store(true)
}

// armWake submits the read of the eventfd that control requests write.
func (w *uringWorker) armWake() {
	sqe := w.ring.sqe()
	if sqe == nil {
		return
	}
	*sqe = uringSQE{opcode: ioringOpRead, fd: int32(w.eventfd), addr: w.wakeAddr, len: 8, userData: udWake << udKindShift}
	w.wakeArmed = true
}

// putBuf returns buffer bid to the ring (published by publishBufs).
func (w *uringWorker) putBuf(bid uint16) {
	e := &w.bufRing[w.bufTail&w.bufMask]
	e.addr = w.bufBase + uint64(bid)*uringBufSize
	e.len = uringBufSize
	e.bid = bid
	w.bufTail++
	w.held--
}

// publishBufs makes the returned buffers visible to the kernel. The ring's
// 16-bit tail shares a 32-bit word with entry 0's buffer id, which only
// this thread writes: one atomic 32-bit store with that id unchanged
// publishes the tail with release ordering.
func (w *uringWorker) publishBufs() {
	if w.bufTail == w.bufPub {
		return
	}
	w.bufPub = w.bufTail
	word := (*uint32)(unsafe.Pointer(&w.bufRing[0].bid))
	bid0 := uint32(w.bufRing[0].bid)
	tail := uint32(w.bufTail)
	if nativeLittleEndian {
		atomic.StoreUint32(word, bid0|tail<<16)
	} else {
		atomic.StoreUint32(word, bid0<<16|tail)
	}
}

var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
