package relay

import "time"

// Traffic is a sum of stream counters.
type Traffic struct {
	RTPPackets, RTPBytes, RTPErrors    uint64
	RTCPPackets, RTCPBytes, RTCPErrors uint64
}

// Packets is RTP plus RTCP packets.
func (t Traffic) Packets() uint64 { return t.RTPPackets + t.RTCPPackets }

// Bytes is RTP plus RTCP bytes.
func (t Traffic) Bytes() uint64 { return t.RTPBytes + t.RTCPBytes }

// Errors is RTP plus RTCP errors.
func (t Traffic) Errors() uint64 { return t.RTPErrors + t.RTCPErrors }

func (t *Traffic) add(s *Stream) {
	p, b, e := s.Stats.Packets.Load(), s.Stats.Bytes.Load(), s.Stats.Errors.Load()
	if s.kind == KindRTP {
		t.RTPPackets += p
		t.RTPBytes += b
		t.RTPErrors += e
	} else {
		t.RTCPPackets += p
		t.RTCPBytes += b
		t.RTCPErrors += e
	}
}

// Traffic sums the counters of the call's streams. The call must be locked.
func (c *Call) Traffic() Traffic {
	var t Traffic
	for _, l := range c.legs {
		for _, m := range l.Medias {
			for _, s := range []*Stream{m.RTP, m.RTCP} {
				if s != nil {
					t.add(s)
				}
			}
		}
	}
	return t
}

// Traffic sums every stream's counters since the engine started: the
// ended calls' and the live ones'.
func (e *Engine) Traffic() Traffic {
	t := Traffic{
		RTPPackets: e.totals.RTPPackets.Load(), RTPBytes: e.totals.RTPBytes.Load(), RTPErrors: e.totals.RTPErrors.Load(),
		RTCPPackets: e.totals.RTCPPackets.Load(), RTCPBytes: e.totals.RTCPBytes.Load(), RTCPErrors: e.totals.RTCPErrors.Load(),
	}
	for _, c := range e.CallList() {
		c.Lock()
		t2 := c.Traffic()
		c.Unlock()
		t.RTPPackets += t2.RTPPackets
		t.RTPBytes += t2.RTPBytes
		t.RTPErrors += t2.RTPErrors
		t.RTCPPackets += t2.RTCPPackets
		t.RTCPBytes += t2.RTCPBytes
		t.RTCPErrors += t2.RTCPErrors
	}
	return t
}

// Rates are per-second rates over the last sampling interval.
type Rates struct {
	Packets, Bytes, Errors float64
}

// Rates returns the traffic rates measured by the engine's last sample.
func (e *Engine) Rates() Rates {
	if r := e.rates.Load(); r != nil {
		return *r
	}
	return Rates{}
}

// sampleRates updates the rates from the traffic since the last sample.
func (e *Engine) sampleRates(now time.Time) {
	t := e.Traffic()
	if !e.lastSampleAt.IsZero() {
		dt := now.Sub(e.lastSampleAt).Seconds()
		if dt > 0 {
			e.rates.Store(&Rates{
				Packets: float64(t.Packets()-e.lastSample.Packets()) / dt,
				Bytes:   float64(t.Bytes()-e.lastSample.Bytes()) / dt,
				Errors:  float64(t.Errors()-e.lastSample.Errors()) / dt,
			})
		}
	}
	e.lastSample, e.lastSampleAt = t, now
}
