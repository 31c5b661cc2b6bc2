package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
	"golang.org/x/sys/unix"
)

const (
	// slot is the pacing granularity.
	slot = time.Millisecond
	// lateThreshold: a slot processed, or a packet sent, later than this
	// after it was due counts as late.
	lateThreshold = 5 * time.Millisecond
	maxEvents     = 256
)

// endpoint is one side (A or B) of a call in the generator: a connected
// UDP socket that sends one stream to the relay and receives the peer's.
type endpoint struct {
	fd     int
	sendID uint32 // stream sent
	recvID uint32 // stream expected (the peer's)
	ssrc   uint32
	period int64 // ns between packets
	next   int64 // ns since the worker base when the next packet is due
	seq    uint32
	rtpTS  uint32
	tsStep uint32

	sent, sentMeasured uint64
	sendFailed         uint64
	rx                 SeqTracker // measured packets only
	rxAll              uint64     // every datagram, warm-up included
	mismatch           uint64     // datagrams of another stream

	// SRTP (nil: plain RTP): srtpTx protects what the endpoint sends (its own
	// key), srtpRx unprotects what it receives (the relay's key). Each is used
	// in one direction only, by the endpoint's worker.
	srtpTx, srtpRx *srtp.Context
	srtpFailed     uint64 // datagrams that failed to unprotect (counted as lost)
	srtpReplayed   uint64 // of which rejected as replays

	// ctrl, on a WebRTC endpoint, takes the datagrams that are not RTP
	// (STUN, DTLS, RTCP: RFC 7983 demultiplexing) and sends consent checks.
	ctrl   *rtcPeer
	ctrlRx uint64
}

// timing is the schedule shared by the workers of one run, in ns since
// base (monotonic).
type timing struct {
	base                       time.Time
	startNs, measureNs, stopNs int64
	drain                      time.Duration
}

func (t *timing) now() int64 { return int64(time.Since(t.base)) }

// worker is one generator thread: it paces and sends the packets of its
// endpoints and receives on all of them through one epoll.
type worker struct {
	cpu  int // -1: not pinned
	eps  []endpoint
	epfd int
	tfd  int
	sb   *sendBatch
	rb   *recvBatch
	hist Histogram
	tm   *timing

	events [maxEvents]unix.EpollEvent
	tbuf   [8]byte

	sendCalls, recvCalls uint64
	epollCalls           uint64
	sendErrors, recvErrs uint64
	lastSendErr          unix.Errno
	bad, noKernelTS      uint64
	protectErrs          uint64 // packets SRTP could not protect (sent plain)
	firstSRTPErr         string
	lateSlots, latePkts  uint64
	maxGap, maxLate      int64
	measuredCPU          time.Duration // thread CPU during the measured window
	measuredWall         time.Duration
	cpu0                 time.Duration
	wall0                int64
	measuring, stopped   bool
	hasCtrl              bool  // some endpoint has a ctrl
	nextCtrl             int64 // when to look for due consent checks next
	firstMismatch        string
	err                  error
}

func newWorker(cpu, payload int) *worker {
	return &worker{cpu: cpu, epfd: -1, tfd: -1, sb: newSendBatch(payload), rb: newRecvBatch()}
}

// open creates the worker's epoll and timer and registers its sockets.
func (w *worker) open() error {
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	// Blocking: the worker sleeps in read(2) on it between slots.
	if w.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC); err != nil {
		return fmt.Errorf("timerfd_create: %w", err)
	}
	for i := range w.eps {
		if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, w.eps[i].fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return nil
}

func (w *worker) close() {
	if w.epfd >= 0 {
		unix.Close(w.epfd)
	}
	if w.tfd >= 0 {
		unix.Close(w.tfd)
	}
	w.epfd, w.tfd = -1, -1
}

// run is the worker's loop; it returns once the drain after the stop time
// is over (or every measured packet has arrived).
//
// The worker wakes once per slot (timerfd), receives whatever the epoll
// reports readable without waiting, then sends what is due. Receiving in
// slot batches costs no latency accuracy, since the receive time is the
// kernel's timestamp, and saves a wakeup per packet.
func (w *worker) run() {
	runtime.LockOSThread()
	// No UnlockOSThread: the thread (with its affinity) ends with the
	// goroutine.
	if w.cpu >= 0 {
		if err := pinThread(w.cpu); err != nil {
			w.err = fmt.Errorf("pin generator thread to CPU %d: %w", w.cpu, err)
			return
		}
	}
	tm := w.tm
	if d := time.Duration(tm.startNs - tm.now()); d > 0 {
		time.Sleep(d)
	}
	ts := unix.NsecToTimespec(int64(slot))
	if err := unix.TimerfdSettime(w.tfd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil); err != nil {
		w.err = fmt.Errorf("timerfd_settime: %w", err)
		return
	}
	last := tm.now()
	var drainEnd int64
	for {
		if _, e := timerWait(w.tfd, &w.tbuf); e != 0 {
			if e == unix.EINTR || e == unix.EAGAIN {
				continue
			}
			w.err = fmt.Errorf("timerfd read: %w", e)
			return
		}
		if err := w.receiveReady(); err != nil {
			w.err = err
			return
		}
		now := tm.now()
		if gap := now - last; gap > w.maxGap {
			w.maxGap = gap
		}
		if now-last > int64(slot+lateThreshold) {
			w.lateSlots++
		}
		last = now
		if w.hasCtrl && now >= w.nextCtrl {
			w.nextCtrl = now + int64(100*time.Millisecond)
			for i := range w.eps {
				if c := w.eps[i].ctrl; c != nil {
					c.consent(now)
				}
			}
		}
		if !w.measuring && !w.stopped && now >= tm.measureNs {
			w.measuring = true
			w.cpu0, w.wall0 = ThreadCPU(), now
		}
		if !w.stopped {
			if now < tm.stopNs {
				w.sendDue(now)
				continue
			}
			w.sendDue(tm.stopNs - 1) // what was due before the stop
			w.stopped = true
			if w.measuring {
				w.measuredCPU = ThreadCPU() - w.cpu0
				w.measuredWall = time.Duration(now - w.wall0)
			}
			drainEnd = now + int64(tm.drain)
			continue
		}
		if now >= drainEnd || w.allArrived() {
			return
		}
	}
}

// receiveReady receives on every socket the epoll reports readable,
// without blocking.
func (w *worker) receiveReady() error {
	for {
		n, e := epollPoll(w.epfd, w.events[:])
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return fmt.Errorf("epoll_pwait: %w", e)
		}
		w.epollCalls++
		for i := range n {
			w.receive(int(w.events[i].Fd))
		}
		if n < len(w.events) {
			return nil
		}
	}
}

// allArrived reports whether every measured packet sent has arrived; an
// endpoint's peer is its neighbour in eps (calls are kept in pairs).
func (w *worker) allArrived() bool {
	for i := range w.eps {
		if w.eps[i].rx.Received < w.eps[i^1].sentMeasured {
			return false
		}
	}
	return true
}

// sendDue sends every packet due at or before now.
func (w *worker) sendDue(now int64) {
	sb := w.sb
	tm := w.tm
	for i := range w.eps {
		ep := &w.eps[i]
		for ep.next <= now {
			k := 0
			for k < batchSize && ep.next <= now {
				late := now - ep.next
				if late > int64(lateThreshold) {
					w.latePkts++
				}
				if late > w.maxLate {
					w.maxLate = late
				}
				sb.fill(k, ep.sendID, ep.ssrc, ep.seq, ep.rtpTS, ep.next >= tm.measureNs && ep.next < tm.stopNs)
				ep.seq++
				ep.rtpTS += ep.tsStep
				ep.next += ep.period
				k++
			}
			// The send time is taken before encrypting: the latency of an
			// SRTP stream includes the generator's encryption of its batch.
			sb.stamp(k, time.Now().UnixNano())
			if ep.srtpTx != nil {
				w.protect(ep, k)
			}
			r, e := sb.send(ep.fd, k)
			w.sendCalls++
			if e != 0 {
				w.sendErrors++
				w.lastSendErr = e
			}
			for j := range r {
				if sb.measured[j] {
					ep.sentMeasured++
				}
			}
			ep.sent += uint64(r)
			ep.sendFailed += uint64(k - r)
		}
	}
}

// protect encrypts packets 0..k-1 of the send batch in place with ep's
// SRTP context. A packet that cannot be protected goes out plain, and its
// receiver counts it as an SRTP failure.
func (w *worker) protect(ep *endpoint, k int) {
	sb := w.sb
	for j := range k {
		n, err := ep.srtpTx.ProtectRTP(sb.slot(j), sb.pktLen)
		if err != nil {
			w.protectErrs++
			if w.firstSRTPErr == "" {
				w.firstSRTPErr = "protect: " + err.Error()
			}
			continue
		}
		sb.protected(j, n)
	}
}

// unprotect decrypts the SRTP datagram p in place with ep's context and
// returns the RTP packet, or false (counted) if it does not authenticate.
func (w *worker) unprotect(ep *endpoint, p []byte) ([]byte, bool) {
	n, err := ep.srtpRx.UnprotectRTP(p, len(p))
	if err != nil {
		ep.srtpFailed++
		if errors.Is(err, srtp.ErrReplay) {
			ep.srtpReplayed++
		}
		if w.firstSRTPErr == "" {
			w.firstSRTPErr = fmt.Sprintf("unprotect on the endpoint of stream %d: %v", ep.recvID, err)
		}
		return nil, false
	}
	return p[:n], true
}

// receive reads everything queued on endpoint i.
func (w *worker) receive(i int) {
	ep := &w.eps[i]
	rb := w.rb
	for {
		n, e := rb.recv(ep.fd)
		w.recvCalls++
		if e != 0 {
			if e != unix.EAGAIN && e != unix.EINTR {
				w.recvErrs++
			}
			return
		}
		w.account(ep, n)
		if n < batchSize {
			return
		}
	}
}

// account processes datagrams 0..n-1 of the receive batch, which arrived
// on ep.
func (w *worker) account(ep *endpoint, n int) {
	rb := w.rb
	for j := range n {
		p, trunc := rb.packet(j)
		if trunc {
			w.bad++
			continue
		}
		if ep.ctrl != nil && !isRTP(p) {
			ep.ctrlRx++
			ep.ctrl.handleCtrl(p)
			continue
		}
		if ep.srtpRx != nil {
			var ok bool
			if p, ok = w.unprotect(ep, p); !ok {
				continue
			}
		}
		pk, ok := parsePacket(p)
		if !ok {
			w.bad++
			continue
		}
		ep.rxAll++
		if pk.stream != ep.recvID {
			if ep.mismatch == 0 && w.firstMismatch == "" {
				w.firstMismatch = fmt.Sprintf("stream %d seq %d (measured %v) arrived on the endpoint of stream %d at %.3f s",
					pk.stream, pk.seq, pk.measured, ep.recvID, float64(w.tm.now())/1e9)
			}
			ep.mismatch++
			continue
		}
		if !pk.measured || !ep.rx.Add(pk.seq) {
			continue
		}
		rx := rb.kernelTime(j)
		if rx == 0 {
			w.noKernelTS++
			rx = time.Now().UnixNano()
		}
		w.hist.Record(rx - pk.sendNs)
	}
}

// TrafficConfig is the traffic of a run.
type TrafficConfig struct {
	PPS      int           // packets per second per stream
	Size     int           // RTP payload bytes
	Warmup   time.Duration // traffic before the measured window
	Duration time.Duration // the measured window
	Drain    time.Duration // max wait for stragglers after the stop
	Threads  int           // generator threads (0: one per CPU in CPUs, or 1)
	CPUs     []int         // pin thread i to CPUs[i%len]; nil: no pinning
}

// trafficStats aggregates the workers of a run.
type trafficStats struct {
	Streams                   int
	Sent, SentMeasured        uint64
	SendFailed, SendErrors    uint64
	LastSendErr               string
	Received, RxAll           uint64
	Duplicates, Reordered     uint64
	Mismatch, Bad, NoKernelTS uint64
	FirstMismatch             string
	SRTPFailed, SRTPReplayed  uint64
	SRTPProtectErrs           uint64
	CtrlRx                    uint64
	ReceivedA, ReceivedB      uint64 // measured packets received by A's, B's endpoints
	FirstSRTPErr              string
	RecvErrors                uint64
	SendCalls, RecvCalls      uint64
	EpollCalls                uint64
	LateSlots, LatePackets    uint64
	MaxGap, MaxLate           time.Duration
	ThreadCPU                 []float64 // per thread: CPU/wall in the measured window
	Latency                   Histogram
}

// pair is the two connected sockets of one call: A sends stream 2i, B
// stream 2i+1. With SRTP, bTx and bRx are B's contexts (A stays plain).
// With WebRTC, aTx and aRx are A's contexts and aCtrl its browser end.
type pair struct {
	a, b     int
	bTx, bRx *srtp.Context
	aTx, aRx *srtp.Context
	aCtrl    *rtcPeer
}

// runTraffic paces traffic on the calls' sockets. It calls atMeasure when
// the measured window starts and atStop when it ends (from the calling
// goroutine), and returns once the workers have drained.
func runTraffic(pairs []pair, cfg TrafficConfig, atMeasure, atStop func()) (*trafficStats, error) {
	threads := cfg.Threads
	if threads <= 0 {
		threads = max(len(cfg.CPUs), 1)
	}
	threads = min(threads, max(len(pairs), 1))
	if cfg.PPS <= 0 || cfg.PPS > 1_000_000 {
		return nil, fmt.Errorf("pps %d out of range", cfg.PPS)
	}
	if cfg.Size < MinPayload || cfg.Size > MaxPayload {
		return nil, fmt.Errorf("payload size %d out of range %d..%d", cfg.Size, MinPayload, MaxPayload)
	}
	if cfg.Drain <= 0 {
		cfg.Drain = time.Second
	}
	period := int64(time.Second) / int64(cfg.PPS)
	tsStep := uint32(max(8000/cfg.PPS, 1))
	ws := make([]*worker, threads)
	for t := range ws {
		cpu := -1
		if len(cfg.CPUs) > 0 {
			cpu = cfg.CPUs[t%len(cfg.CPUs)]
		}
		ws[t] = newWorker(cpu, cfg.Size)
	}
	ssrcBase := uint32(time.Now().UnixNano())
	for i, p := range pairs {
		w := ws[i%threads]
		for side, fd := range []int{p.a, p.b} {
			id := uint32(2*i + side)
			ep := endpoint{
				fd: fd, sendID: id, recvID: id ^ 1, ssrc: ssrcBase + id*7919,
				period: period, tsStep: tsStep, rtpTS: id * 1000,
			}
			if side == 1 {
				ep.srtpTx, ep.srtpRx = p.bTx, p.bRx
			} else if p.aTx != nil {
				ep.srtpTx, ep.srtpRx, ep.ctrl = p.aTx, p.aRx, p.aCtrl
				w.hasCtrl = w.hasCtrl || p.aCtrl != nil
			}
			w.eps = append(w.eps, ep)
		}
	}
	tm := &timing{base: time.Now(), drain: cfg.Drain}
	tm.startNs = int64(50 * time.Millisecond)
	tm.measureNs = tm.startNs + int64(cfg.Warmup)
	tm.stopNs = tm.measureNs + int64(cfg.Duration)
	defer func() {
		for _, w := range ws {
			w.close()
		}
	}()
	for _, w := range ws {
		w.tm = tm
		// Spread the first packets of the worker's streams over a period.
		for j := range w.eps {
			w.eps[j].next = tm.startNs + int64(j)*period/int64(len(w.eps))
		}
		if err := w.open(); err != nil {
			return nil, err
		}
	}
	// Each worker keeps a P for the whole run (see timerWait); leave one
	// for the rest of the process.
	if procs := runtime.GOMAXPROCS(0); procs < threads+1 {
		runtime.GOMAXPROCS(threads + 1)
		defer runtime.GOMAXPROCS(procs)
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(w.run)
	}
	sleepUntil(tm, tm.measureNs)
	if atMeasure != nil {
		atMeasure()
	}
	sleepUntil(tm, tm.stopNs)
	if atStop != nil {
		atStop()
	}
	wg.Wait()

	st := &trafficStats{}
	var errs []error
	for _, w := range ws {
		if w.err != nil {
			errs = append(errs, w.err)
		}
		st.Streams += len(w.eps)
		for i := range w.eps {
			ep := &w.eps[i]
			st.Sent += ep.sent
			st.SentMeasured += ep.sentMeasured
			st.SendFailed += ep.sendFailed
			st.Received += ep.rx.Received
			st.Duplicates += ep.rx.Duplicates
			st.Reordered += ep.rx.Reordered
			st.RxAll += ep.rxAll
			st.Mismatch += ep.mismatch
			st.SRTPFailed += ep.srtpFailed
			st.SRTPReplayed += ep.srtpReplayed
			st.CtrlRx += ep.ctrlRx
			if ep.sendID%2 == 0 {
				st.ReceivedA += ep.rx.Received
			} else {
				st.ReceivedB += ep.rx.Received
			}
		}
		st.SRTPProtectErrs += w.protectErrs
		if st.FirstSRTPErr == "" {
			st.FirstSRTPErr = w.firstSRTPErr
		}
		st.SendErrors += w.sendErrors
		if w.lastSendErr != 0 {
			st.LastSendErr = w.lastSendErr.Error()
		}
		if st.FirstMismatch == "" {
			st.FirstMismatch = w.firstMismatch
		}
		st.Bad += w.bad
		st.NoKernelTS += w.noKernelTS
		st.RecvErrors += w.recvErrs
		st.SendCalls += w.sendCalls
		st.RecvCalls += w.recvCalls
		st.EpollCalls += w.epollCalls
		st.LateSlots += w.lateSlots
		st.LatePackets += w.latePkts
		st.MaxGap = max(st.MaxGap, time.Duration(w.maxGap))
		st.MaxLate = max(st.MaxLate, time.Duration(w.maxLate))
		if w.measuredWall > 0 {
			st.ThreadCPU = append(st.ThreadCPU, float64(w.measuredCPU)/float64(w.measuredWall))
		}
		st.Latency.Merge(&w.hist)
	}
	return st, errors.Join(errs...)
}

// isRTP reports whether datagram p is RTP rather than STUN, DTLS or RTCP
// (RFC 7983 by the first byte, RFC 5761 by the payload type).
func isRTP(p []byte) bool {
	return len(p) >= 2 && p[0] >= 128 && p[0] <= 191 && (p[1] < 192 || p[1] > 223)
}

func sleepUntil(tm *timing, ns int64) {
	if d := time.Duration(ns - tm.now()); d > 0 {
		time.Sleep(d)
	}
}
