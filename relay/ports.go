package relay

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoPorts is returned when a port pool has no free RTP/RTCP pair left.
// The NG layer turns it into rtpengine's "Ran out of ports" reply.
var ErrNoPorts = errors.New("ran out of ports")

// PortPool hands out RTP/RTCP port pairs (an even port and the odd port
// after it) from a fixed range, next-fit, so a freed pair is reused only
// after the rest of the range. Freed pairs also sit in quarantine before
// they can be handed out again, so late packets of an ended call never reach
// a new one; only when no other pair is free is the longest-quarantined pair
// handed out early (counted in Overrides) rather than refusing a call. A
// PortPool is safe for concurrent use.
type PortPool struct {
	mu         sync.Mutex
	min, max   int // first and last usable even port
	inUse      []bool
	free       int // pairs neither in use nor quarantined
	next       int // next pair index to try (next-fit)
	quarantine []quarantined
	hold       time.Duration
	now        func() time.Time
	overrides  uint64
}

// Overrides counts pairs handed out before their quarantine ended, because
// nothing else was free.
func (p *PortPool) Overrides() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.overrides
}

type quarantined struct {
	pair  int
	until time.Time
}

// NewPortPool returns a pool over the even ports in [portMin, portMax] whose
// odd successor is also within the range. hold is the quarantine time of a
// freed pair.
func NewPortPool(portMin, portMax int, hold time.Duration) (*PortPool, error) {
	if portMin%2 != 0 {
		portMin++
	}
	if portMin < 1 || portMax > 65535 || portMin+1 > portMax {
		return nil, fmt.Errorf("port range %d-%d holds no RTP/RTCP pair", portMin, portMax)
	}
	last := portMax
	if last%2 != 0 {
		last--
	}
	if last+1 > portMax {
		last -= 2
	}
	n := (last-portMin)/2 + 1
	return &PortPool{min: portMin, max: last, inUse: make([]bool, n), free: n, hold: hold, now: time.Now}, nil
}

// Size is the number of pairs the pool manages.
func (p *PortPool) Size() int { return len(p.inUse) }

// Free is the number of pairs that can be allocated now (quarantined pairs
// whose time is up count as free).
func (p *PortPool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.release(p.now())
	return p.free
}

// Allocate returns the even RTP port of a free pair. tryBind is called with
// the candidate port while the pool is not locked; when it fails (another
// process holds the port) the next pair is tried. Allocate returns ErrNoPorts
// when every free pair was tried.
func (p *PortPool) Allocate(tryBind func(rtpPort int) error) (int, error) {
	tried := 0
	var lastErr error
	for {
		p.mu.Lock()
		p.release(p.now())
		idx := -1
		if p.free == 0 && tried < len(p.inUse) && len(p.quarantine) > 0 {
			// Exhausted but for quarantined pairs: end the oldest one's
			// quarantine early rather than refuse the call, and take it
			// (it stays marked in use).
			idx = p.quarantine[0].pair
			p.quarantine = p.quarantine[1:]
			p.overrides++
		} else if p.free == 0 || tried >= len(p.inUse) {
			p.mu.Unlock()
			if lastErr != nil {
				return 0, fmt.Errorf("%w (last bind error: %v)", ErrNoPorts, lastErr)
			}
			return 0, ErrNoPorts
		}
		if idx < 0 {
			idx = p.next
			for p.inUse[idx] {
				idx = (idx + 1) % len(p.inUse)
			}
			p.inUse[idx] = true
			p.free--
			p.next = (idx + 1) % len(p.inUse)
		}
		p.mu.Unlock()

		port := p.min + 2*idx
		err := tryBind(port)
		if err == nil {
			return port, nil
		}
		lastErr = err
		tried++
		// Busy outside our control: quarantine it so the next attempt
		// moves on, and it is retried later.
		p.mu.Lock()
		p.quarantine = append(p.quarantine, quarantined{pair: idx, until: p.now().Add(p.hold)})
		p.mu.Unlock()
	}
}

// Release returns the pair whose RTP port is rtpPort to the pool, after the
// quarantine time.
func (p *PortPool) Release(rtpPort int) {
	idx := (rtpPort - p.min) / 2
	if rtpPort < p.min || rtpPort > p.max || (rtpPort-p.min)%2 != 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inUse[idx] {
		return
	}
	if p.hold <= 0 {
		p.inUse[idx] = false
		p.free++
		return
	}
	p.quarantine = append(p.quarantine, quarantined{pair: idx, until: p.now().Add(p.hold)})
}

// release frees quarantined pairs whose time is up. p.mu must be held.
func (p *PortPool) release(now time.Time) {
	n := 0
	for n < len(p.quarantine) && !now.Before(p.quarantine[n].until) {
		q := p.quarantine[n]
		p.inUse[q.pair] = false
		p.free++
		n++
	}
	if n > 0 {
		p.quarantine = append(p.quarantine[:0], p.quarantine[n:]...)
	}
}
