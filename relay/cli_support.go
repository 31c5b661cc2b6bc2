package relay

import "time"

// Accessors for the CLI (package internal/cli): read-only views of state
// that the control plane keeps unexported, plus the delete-delay setter of
// "set deletedelay".

// Offerer returns the leg whose offer created this one, or nil for a leg
// that was created by its own offer (rtpengine's FROM_TAG side). The call
// must be locked.
func (l *Leg) Offerer() *Leg { return l.offerer }

// DeleteAt returns when a delayed delete will end the call, or the zero
// time when none is pending (rtpengine's "deletionmark"). The call must be
// locked.
func (c *Call) DeleteAt() time.Time { return c.deleteAt }

// Answered reports whether the call got an answer. The call must be locked.
func (c *Call) Answered() bool { return c.answered }

// LastUsed returns the RTP port of the pair handed out last, or 0 when the
// pool never handed one out.
func (p *PortPool) LastUsed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.inUse)
	if n == 0 {
		return 0
	}
	if p.next == 0 && p.free == n && len(p.quarantine) == 0 {
		return 0
	}
	return p.min + 2*((p.next-1+n)%n)
}

// SetDeleteDelay changes the delete-delay at run time (CLI "set
// deletedelay").
func (e *Engine) SetDeleteDelay(d time.Duration) {
	for {
		old := e.cfg.Load()
		c := *old
		c.DeleteDelay = d
		if e.cfg.CompareAndSwap(old, &c) {
			return
		}
	}
}
