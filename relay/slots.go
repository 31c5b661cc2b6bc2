package relay

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// errNoSlot is returned when every stream slot of a data plane is taken.
var errNoSlot = errors.New("data plane: no stream slot free")

// slotBook is the bookkeeping both data planes share: the free stream
// slots, and the sockets of removed streams that wait until no worker can
// still be using them. mu also guards what a plane keeps per slot for the
// control plane.
type slotBook struct {
	mu      sync.Mutex
	free    []uint32
	retired []retiredSocket
}

// retiredSocket is a removed stream's socket waiting to be closed.
type retiredSocket struct {
	fd     int
	slot   uint32
	epochs []uint64 // the epoll workers' epochs when it was removed
	done   func()
}

func newSlotBook(n int) slotBook {
	free := make([]uint32, n)
	for i := range free {
		free[i] = uint32(n - 1 - i) // pop from the end: lowest first
	}
	return slotBook{free: free}
}

// takeLocked hands out a free slot; the caller holds mu.
func (b *slotBook) takeLocked() (uint32, error) {
	if len(b.free) == 0 {
		return 0, errNoSlot
	}
	slot := b.free[len(b.free)-1]
	b.free = b.free[:len(b.free)-1]
	return slot, nil
}

// giveBack returns a slot that was taken but not used.
func (b *slotBook) giveBack(slot uint32) {
	b.mu.Lock()
	b.free = append(b.free, slot)
	b.mu.Unlock()
}

// retireLocked queues a removed stream's socket; the caller holds mu.
func (b *slotBook) retireLocked(r retiredSocket) { b.retired = append(b.retired, r) }

// reap closes the retired sockets that ready (called with mu held) says no
// worker can still use, frees their slots and calls their done functions.
func (b *slotBook) reap(ready func(retiredSocket) bool) {
	b.mu.Lock()
	var out []retiredSocket
	keep := b.retired[:0]
	for _, r := range b.retired {
		if ready(r) {
			out = append(out, r)
			b.free = append(b.free, r.slot)
		} else {
			keep = append(keep, r)
		}
	}
	b.retired = keep
	b.mu.Unlock()
	closeRetired(out)
}

// closeAll closes every retired socket (the plane has stopped).
func (b *slotBook) closeAll() {
	b.mu.Lock()
	ret := b.retired
	b.retired = nil
	b.mu.Unlock()
	closeRetired(ret)
}

func closeRetired(rs []retiredSocket) {
	for _, r := range rs {
		unix.Close(r.fd)
		if r.done != nil {
			r.done()
		}
	}
}

// workerCounters are the counters every forwarding worker keeps.
type workerCounters struct {
	wakeups, received, sent, sendErrors, busyNanos atomic.Uint64
}

func (c *workerCounters) snapshot() WorkerStats {
	return WorkerStats{
		Wakeups:    c.wakeups.Load(),
		Received:   c.received.Load(),
		Sent:       c.sent.Load(),
		SendErrors: c.sendErrors.Load(),
		Busy:       time.Duration(c.busyNanos.Load()),
	}
}

// workerStats snapshots the counters of a plane's workers.
func workerStats[W interface{ snapshot() WorkerStats }](workers []W) []WorkerStats {
	out := make([]WorkerStats, len(workers))
	for i, w := range workers {
		out[i] = w.snapshot()
	}
	return out
}
