package relay

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batch sizes of the epoll data plane.
const (
	// IdealBatchSize is how many datagrams one recvmmsg reads from a socket
	// and one sendmmsg writes to it.
	IdealBatchSize = 32
	// maxEvents is how many ready sockets one epoll_wait returns.
	maxEvents = 128
	// bufSize is the size of a receive buffer; longer datagrams are
	// truncated by the kernel and dropped as errors.
	bufSize = 4096
	// wakeSlot marks the worker's eventfd in epoll events.
	wakeSlot int32 = -1
)

// dataPlane moves packets between the streams' sockets. The control plane
// adds a stream once its socket is bound and removes it when the stream
// ends; the plane closes the socket once no worker can still be using it.
type dataPlane interface {
	// add starts delivering packets received on s.fd to s.receive.
	add(s *Stream) error
	// remove stops delivering packets to s. The socket is closed, and
	// done is called, later, once no worker can be using it.
	remove(s *Stream, done func())
	// reap closes the sockets of removed streams that no worker can still
	// be using. The control plane calls it periodically.
	reap()
	// stats returns the workers' counters.
	stats() []WorkerStats
	// close stops the workers and closes every socket.
	close()
}

// WorkerStats are the counters of one forwarding worker.
type WorkerStats struct {
	// Wakeups counts returns from epoll_wait with work.
	Wakeups uint64
	// Received and Sent count datagrams.
	Received, Sent uint64
	// SendErrors counts datagrams the kernel refused to send.
	SendErrors uint64
	// Busy is the time the worker spent processing (not waiting).
	Busy time.Duration
}

// epollPlane is the data plane of worker goroutines locked to OS threads,
// each owning one epoll instance, reading with recvmmsg and writing with
// sendmmsg.
type epollPlane struct {
	log     *slog.Logger
	workers []*worker
	next    atomic.Uint32

	// slots maps an epoll event's slot number to its stream. The slice is
	// allocated once; entries are swapped atomically.
	slots []atomic.Pointer[Stream]

	slotBook
	wg       sync.WaitGroup
	stopping atomic.Bool
}

// newEpollPlane starts n workers for at most maxStreams streams.
func newEpollPlane(n, maxStreams int, log *slog.Logger) (*epollPlane, error) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &epollPlane{log: log, slots: make([]atomic.Pointer[Stream], maxStreams), slotBook: newSlotBook(maxStreams)}
	for i := range n {
		w, err := newWorker(p, i)
		if err != nil {
			p.close()
			return nil, err
		}
		p.workers = append(p.workers, w)
	}
	for _, w := range p.workers {
		p.wg.Add(1)
		go w.run()
	}
	return p, nil
}

func (p *epollPlane) add(s *Stream) error {
	p.mu.Lock()
	slot, err := p.takeLocked()
	p.mu.Unlock()
	if err != nil {
		return err
	}

	s.slot = slot
	p.slots[slot].Store(s)
	w := p.workers[p.next.Add(1)%uint32(len(p.workers))]
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(slot)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.slots[slot].Store(nil)
		p.giveBack(slot)
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	s.worker = w
	return nil
}

func (p *epollPlane) remove(s *Stream, done func()) {
	if s.worker != nil {
		unix.EpollCtl(s.worker.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	}
	p.slots[s.slot].Store(nil)
	epochs := make([]uint64, len(p.workers))
	for i, w := range p.workers {
		epochs[i] = w.epoch.Load()
	}
	p.mu.Lock()
	p.retireLocked(retiredSocket{fd: s.fd, slot: s.slot, epochs: epochs, done: done})
	p.mu.Unlock()
}

// quiescent reports whether every worker has, since the epochs were taken,
// either been idle or finished the round it was in.
func (p *epollPlane) quiescent(epochs []uint64) bool {
	for i, w := range p.workers {
		if e := epochs[i]; e%2 == 1 && w.epoch.Load() == e {
			return false
		}
	}
	return true
}

func (p *epollPlane) reap() {
	p.slotBook.reap(func(r retiredSocket) bool { return p.quiescent(r.epochs) })
}

func (p *epollPlane) stats() []WorkerStats { return workerStats(p.workers) }

func (p *epollPlane) close() {
	if p.stopping.Swap(true) {
		return
	}
	for _, w := range p.workers {
		w.wake()
	}
	p.wg.Wait()
	for _, w := range p.workers {
		unix.Close(w.epfd)
		unix.Close(w.eventfd)
	}
	p.closeAll()
	for i := range p.slots {
		if s := p.slots[i].Swap(nil); s != nil {
			unix.Close(s.fd)
		}
	}
}

// worker is one forwarding thread: an epoll instance and the buffers of
// its batches.
type worker struct {
	plane   *epollPlane
	id      int
	epfd    int
	eventfd int
	events  [maxEvents]unix.EpollEvent

	// Receive batch: buffers, source addresses and message headers.
	rxBufs  [IdealBatchSize][bufSize]byte
	rxNames [IdealBatchSize]sockaddr
	rxIov   [IdealBatchSize]unix.Iovec
	rxMsgs  [IdealBatchSize]unix.Mmsghdr

	// Send batch: destination addresses and headers pointing into the
	// receive buffers.
	txNames [IdealBatchSize]sockaddr
	txIov   [IdealBatchSize]unix.Iovec
	txMsgs  [IdealBatchSize]unix.Mmsghdr

	// epoch is odd while the worker processes events, even while it
	// waits; removed sockets are closed once every worker moved on.
	epoch atomic.Uint64

	workerCounters
}

func newWorker(p *epollPlane, id int) (*worker, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeSlot}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(efd)
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	w := &worker{plane: p, id: id, epfd: epfd, eventfd: efd}
	for i := range IdealBatchSize {
		w.rxIov[i].Base = &w.rxBufs[i][0]
		w.rxIov[i].SetLen(bufSize)
		h := &w.rxMsgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&w.rxNames[i]))
		h.Iov = &w.rxIov[i]
		h.SetIovlen(1)
		t := &w.txMsgs[i].Hdr
		t.Name = (*byte)(unsafe.Pointer(&w.txNames[i]))
		t.Iov = &w.txIov[i]
		t.SetIovlen(1)
	}
	return w, nil
}

// wake interrupts the worker's epoll_wait.
func (w *worker) wake() {
	var one = [8]byte{1}
	unix.Write(w.eventfd, one[:])
}

// run is the worker's loop.
func (w *worker) run() {
	defer w.plane.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !w.plane.stopping.Load() {
		n := w.wait()
		if n <= 0 {
			continue
		}
		w.epoch.Add(1) // busy
		start := time.Now()
		now := start.UnixNano()
		w.wakeups.Add(1)
		for i := range n {
			slot := w.events[i].Fd
			if slot == wakeSlot {
				var buf [8]byte
				unix.Read(w.eventfd, buf[:])
				continue
			}
			if s := w.plane.slots[uint32(slot)].Load(); s != nil {
				w.drain(s, now)
			}
		}
		w.busyNanos.Add(uint64(time.Since(start)))
		w.epoch.Add(1) // idle
	}
}

// wait returns the number of ready events. It first polls without
// blocking, with a raw system call that skips the scheduler's bookkeeping;
// only when nothing is ready does it block in a system call the Go
// scheduler knows about, so that the thread's P is handed off.
func (w *worker) wait() int {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(w.epfd), uintptr(unsafe.Pointer(&w.events[0])), maxEvents, 0, 0, 0)
	if errno == 0 && n > 0 {
		return int(n)
	}
	for {
		n, err := unix.EpollWait(w.epfd, w.events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			w.plane.log.Error("epoll_wait", slog.Any("error", err))
			time.Sleep(10 * time.Millisecond)
			return 0
		}
		return n
	}
}

// drain reads one batch from s's socket, decides each packet and sends the
// forwarded ones in batches per destination socket.
func (w *worker) drain(s *Stream, now int64) {
	for i := range IdealBatchSize {
		w.rxMsgs[i].Hdr.Namelen = uint32(unsafe.Sizeof(sockaddr{}))
		w.rxMsgs[i].Hdr.Flags = 0
	}
	r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&w.rxMsgs[0])), IdealBatchSize, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 || r == 0 {
		return
	}
	n := int(r)
	w.received.Add(uint64(n))
	var out *Stream
	tx := 0
	for i := range n {
		m := &w.rxMsgs[i]
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
			s.Stats.Errors.Add(1)
			continue
		}
		sink, dst, plen, ok := s.receive(w.rxBufs[i][:], int(m.Len), addrPortFrom(&w.rxNames[i]), now)
		if !ok {
			continue
		}
		if sink != out && tx > 0 {
			w.flush(out, tx)
			tx = 0
		}
		out = sink
		t := &w.txMsgs[tx]
		t.Hdr.Namelen = putSockaddr(&w.txNames[tx], dst, sink.local.Addr.Is6())
		if t.Hdr.Namelen == 0 {
			sink.sendErrors.Add(1)
			continue
		}
		w.txIov[tx].Base = &w.rxBufs[i][0]
		w.txIov[tx].SetLen(plen)
		tx++
	}
	if tx > 0 {
		w.flush(out, tx)
	}
}

// flush sends the first n messages of the send batch from out's socket.
func (w *worker) flush(out *Stream, n int) {
	sent := 0
	for try := 0; sent < n && try < 2; try++ {
		r, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(out.fd), uintptr(unsafe.Pointer(&w.txMsgs[sent])), uintptr(n-sent), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			if errno == unix.EAGAIN || errno == unix.ENOBUFS {
				break
			}
			// A refused destination (e.g. ICMP port unreachable
			// reported on this socket) fails one message: skip it.
			sent++
			out.sendErrors.Add(1)
			w.sendErrors.Add(1)
			continue
		}
		sent += int(r)
	}
	w.sent.Add(uint64(sent))
	if sent < n {
		out.sendErrors.Add(uint64(n - sent))
		w.sendErrors.Add(uint64(n - sent))
	}
}
