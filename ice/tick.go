package ice

import (
	"encoding/binary"
	"time"

	"github.com/pion/stun/v3"
)

// Tick advances the agent's timers to now and returns the packets to send
// now and the events that occurred. A full agent sends at most one new
// connectivity check per Ta (triggered checks first, then the nomination
// check of a controlling agent, then ordinary checks by pair priority),
// retransmits pending checks per RFC 5389 (RTO doubling from
// max(500 ms, Ta*N), Rc = 7, Rm = 16) and fails pairs whose checks time out,
// nominates the best succeeded pair when controlling (regular nomination:
// once no better pair is still being checked, or NominationDelay after the
// first success), and once a pair is selected sends a consent check every
// ConsentInterval (randomised to 0.8-1.2 times, RFC 7675) and reports
// ConsentLost when no response came for ConsentTimeout. A lite agent
// sends nothing; it reports ConsentLost when the selected peer sent no
// authenticated check for ConsentTimeout.
//
// The packets in Outgoing must not be modified. Call Tick again at
// NextTick, or simply every Ta while ICE is running and about once a
// second afterwards.
func (a *Agent) Tick(now time.Time) ([]Outgoing, []Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Outgoing
	var evs []Event

	// Retransmissions and timeouts.
	keep := a.txns[:0]
	for _, t := range a.txns {
		if now.Before(t.next) {
			keep = append(keep, t)
			continue
		}
		if t.consent {
			continue // consent checks are not retransmitted; expire
		}
		if t.n >= MaxTransmissions {
			a.failPair(a.comp(t.p.comp, true), t.p)
			continue
		}
		out = append(out, Outgoing{Component: t.p.comp, To: t.p.remote, Packet: t.raw})
		a.stats.ChecksSent++
		t.n++
		if t.n == MaxTransmissions {
			t.next = now.Add(FinalWaitFactor * t.rto0)
		} else {
			t.rto *= 2
			t.next = now.Add(t.rto)
		}
		keep = append(keep, t)
	}
	clear(a.txns[len(keep):])
	a.txns = keep

	haveRemote := a.remote.Ufrag != "" && a.remote.Pwd != ""
	for _, c := range a.comps {
		// Consent freshness (RFC 7675).
		if c.hasSel && !c.lost {
			if now.Sub(c.consentAt) >= a.cfg.ConsentTimeout {
				c.lost = true
				a.stats.ConsentLosses++
				evs = append(evs, &ConsentLost{Component: c.id, Remote: c.sel})
			} else if !a.lite && haveRemote && !now.Before(c.nextConsent) {
				p := c.find(c.sel)
				if p == nil {
					p = &pair{comp: c.id, remote: c.sel}
				}
				out = append(out, a.sendCheck(p, now, false, true))
				c.nextConsent = now.Add(a.consentInterval())
			}
		}
		// Failure after end-of-candidates.
		if a.eoc && !a.lite && !c.failedSent && !c.current && len(c.pairs) > 0 && a.allFailed(c) {
			c.failedSent = true
			evs = append(evs, &Failed{Component: c.id})
		}
	}

	// One new check per Ta.
	if !a.lite && haveRemote && (a.lastCheck.IsZero() || now.Sub(a.lastCheck) >= a.cfg.Ta) {
		if p, useCand := a.nextCheck(now); p != nil {
			out = append(out, a.sendCheck(p, now, useCand, false))
			a.lastCheck = now
		}
	}
	return out, evs
}

func (a *Agent) allFailed(c *component) bool {
	for _, p := range c.pairs {
		if p.state != stateFailed {
			return false
		}
	}
	for _, t := range a.txns {
		if t.p.comp == c.id && !t.consent {
			return false
		}
	}
	return true
}

// nextCheck picks the pair for the next new check.
func (a *Agent) nextCheck(now time.Time) (*pair, bool) {
	for len(a.triggered) > 0 {
		p := a.triggered[0]
		a.triggered[0] = nil
		a.triggered = a.triggered[1:]
		p.triggered = false
		if p.state == stateWaiting && a.comp(p.comp, false).find(p.remote) == p {
			return p, false
		}
	}
	if a.controlling {
		for _, c := range a.comps {
			if c.current || c.nominating != nil {
				continue
			}
			var best *pair
			for _, p := range c.pairs {
				if p.state == stateSucceeded && (best == nil || p.prio > best.prio) {
					best = p
				}
			}
			if best == nil {
				continue
			}
			ready := now.Sub(c.firstValid) >= a.cfg.NominationDelay
			if !ready {
				ready = true
				for _, p := range c.pairs {
					if p.prio > best.prio && (p.state == stateWaiting || p.state == stateInProgress) {
						ready = false
						break
					}
				}
			}
			if ready {
				c.nominating = best
				return best, true
			}
		}
	}
	var best *pair
	for _, c := range a.comps {
		if c.current {
			continue // completed: ordinary checks stop once nominated
		}
		for _, p := range c.pairs {
			if p.state == stateWaiting && (best == nil || p.prio > best.prio) {
				best = p
			}
		}
	}
	return best, false
}

// sendCheck builds a Binding request for p, records its transaction and
// returns it as Outgoing.
func (a *Agent) sendCheck(p *pair, now time.Time, useCand, consent bool) Outgoing {
	t := &txn{p: p, useCand: useCand, consent: consent, controlling: a.controlling, n: 1}
	a.readRand(t.id[:])
	var prio [4]byte
	binary.BigEndian.PutUint32(prio[:], a.prflxPriority(p.comp))
	var tie [8]byte
	binary.BigEndian.PutUint64(tie[:], a.tiebreaker)
	role := stun.AttrICEControlled
	if a.controlling {
		role = stun.AttrICEControlling
	}
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(t.id),
		stun.BindingRequest,
		stun.NewUsername(a.remote.Ufrag + ":" + a.local.Ufrag),
		stun.RawAttribute{Type: stun.AttrPriority, Value: prio[:]},
		stun.RawAttribute{Type: role, Value: tie[:]},
	}
	if useCand {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	setters = append(setters, stun.NewShortTermIntegrity(a.remote.Pwd), stun.Fingerprint)
	m := new(stun.Message)
	_ = m.Build(setters...) // cannot fail: all values are well-formed
	t.raw = m.Raw
	if consent {
		t.next = now.Add(a.cfg.ConsentTimeout)
	} else {
		n := 0
		for _, c := range a.comps {
			for _, q := range c.pairs {
				if q.state == stateWaiting || q.state == stateInProgress {
					n++
				}
			}
		}
		t.rto0 = max(MinRTO, a.cfg.Ta*time.Duration(n))
		t.rto = t.rto0
		t.next = now.Add(t.rto0)
		if p.state == stateWaiting {
			p.state = stateInProgress
		}
	}
	a.txns = append(a.txns, t)
	a.stats.ChecksSent++
	return Outgoing{Component: p.comp, To: p.remote, Packet: t.raw}
}

// consentInterval returns ConsentInterval randomised to 0.8-1.2 times.
func (a *Agent) consentInterval() time.Duration {
	var b [2]byte
	a.readRand(b[:])
	f := 0.8 + 0.4*float64(binary.BigEndian.Uint16(b[:]))/65535
	return time.Duration(f * float64(a.cfg.ConsentInterval))
}

// NextTick returns when Tick next has something to do, and false when
// nothing is scheduled (no checks pending, no selection to keep fresh).
func (a *Agent) NextTick() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var next time.Time
	set := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, t := range a.txns {
		set(t.next)
	}
	haveRemote := a.remote.Ufrag != "" && a.remote.Pwd != ""
	pending := len(a.triggered) > 0
	for _, c := range a.comps {
		if c.hasSel && !c.lost {
			set(c.consentAt.Add(a.cfg.ConsentTimeout))
			if !a.lite && haveRemote {
				set(c.nextConsent)
			}
		}
		if a.lite {
			continue
		}
		for _, p := range c.pairs {
			if p.state == stateWaiting && !c.current || a.controlling && !c.current && c.nominating == nil && p.state == stateSucceeded {
				pending = true
			}
		}
		if a.eoc && !c.failedSent && !c.current && len(c.pairs) > 0 && a.allFailed(c) {
			set(a.cfg.Now()) // due now
		}
	}
	if pending && haveRemote && !a.lite {
		if a.lastCheck.IsZero() {
			set(a.cfg.Now())
		} else {
			set(a.lastCheck.Add(a.cfg.Ta))
		}
	}
	return next, !next.IsZero()
}
