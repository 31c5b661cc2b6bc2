// Package relay is ngrelay's data plane and the small control API in front
// of it: calls, legs, media and streams; the port allocator; the sockets and
// the forwarding loop; timeouts and counters.
//
// The control plane (package ng) changes calls under each call's lock and
// then publishes, per stream, an immutable forwarding record with one atomic
// store. The forwarding loop reads that record with one atomic load per
// packet and takes no lock.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Config is what the engine needs from the daemon's configuration.
type Config struct {
	Interfaces []InterfaceConfig
	PortMin    int
	PortMax    int
	// PortQuarantine is how long a freed port pair rests before reuse.
	PortQuarantine time.Duration
	// Timeout ends a call whose media has been silent this long.
	Timeout time.Duration
	// SilentTimeout is Timeout for calls whose media is all on hold.
	SilentTimeout time.Duration
	// FinalTimeout ends any call this long after it was created (0: off).
	FinalTimeout time.Duration
	// OfferTimeout ends a call that got no answer this long after its
	// offer (0: off).
	OfferTimeout time.Duration
	// DeleteDelay is how long a deleted call lingers (the NG delete-delay).
	DeleteDelay time.Duration
	// TOS is the IP TOS / traffic class of media packets.
	TOS int
	// SocketRcvBuf and SocketSndBuf size media sockets' buffers in bytes
	// (0: the OS default).
	SocketRcvBuf, SocketSndBuf int
	// TickInterval is how often timeouts are checked (default 1s).
	TickInterval time.Duration
	// Workers is the number of forwarding threads (0: one per CPU).
	Workers int
	// IOEngine selects the data plane: IOEngineEpoll (default) or
	// IOEngineIOURing.
	IOEngine string
}

// Engine owns the calls and the media sockets.
type Engine struct {
	cfg    atomic.Pointer[Config]
	log    *slog.Logger
	ifaces *interfaces
	plane  dataPlane

	mu    sync.RWMutex
	calls map[string]*Call

	totals Totals
	rates  atomic.Pointer[Rates]
	// lastSample and lastSampleAt belong to the janitor goroutine.
	lastSample   Traffic
	lastSampleAt time.Time
	now          func() time.Time
	cancel       context.CancelFunc
	done         chan struct{}
	closeOne     sync.Once
}

// Totals are engine-wide counters, kept across calls.
type Totals struct {
	// Packets, bytes and errors received on streams of calls that have
	// ended; the live calls' counters are added on read.
	RTPPackets, RTPBytes, RTPErrors    atomic.Uint64
	RTCPPackets, RTCPBytes, RTCPErrors atomic.Uint64

	CallsCreated   atomic.Uint64
	CallsDeleted   atomic.Uint64
	Timeouts       atomic.Uint64
	SilentTimeouts atomic.Uint64
	FinalTimeouts  atomic.Uint64
	OfferTimeouts  atomic.Uint64
	// ForcedTerminations counts calls ended by an operator (CLI
	// "terminate").
	ForcedTerminations atomic.Uint64
}

// New creates an engine and starts its timeout checker. Close stops it.
func New(cfg Config, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ifs, err := newInterfaces(cfg.Interfaces, cfg.PortMin, cfg.PortMax, cfg.PortQuarantine)
	if err != nil {
		return nil, err
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = time.Second
	}
	maxStreams := 0
	for _, la := range ifs.all() {
		maxStreams += 2 * la.Ports.Size()
	}
	plane, err := newDataPlane(cfg.IOEngine, cfg.Workers, maxStreams, log)
	if err != nil {
		return nil, fmt.Errorf("data plane: %w", err)
	}
	e := &Engine{log: log, ifaces: ifs, plane: plane, calls: map[string]*Call{}, now: time.Now, done: make(chan struct{})}
	e.cfg.Store(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go e.janitor(ctx)
	return e, nil
}

// Config returns the engine's current configuration.
func (e *Engine) Config() Config { return *e.cfg.Load() }

// SetTimeouts changes the timeouts at run time (SIGHUP reload, CLI).
func (e *Engine) SetTimeouts(timeout, silent, final, offer time.Duration) {
	for {
		old := e.cfg.Load()
		c := *old
		c.Timeout, c.SilentTimeout, c.FinalTimeout, c.OfferTimeout = timeout, silent, final, offer
		if e.cfg.CompareAndSwap(old, &c) {
			return
		}
	}
}

// Totals returns the engine-wide counters.
func (e *Engine) Totals() *Totals { return &e.totals }

// Close destroys every call and stops the engine.
func (e *Engine) Close() {
	e.closeOne.Do(func() {
		e.cancel()
		<-e.done
		for _, c := range e.CallList() {
			c.Lock()
			e.destroy(c, "shutdown")
			c.Unlock()
		}
		e.plane.close()
	})
}

// LocalAddr picks the address of a logical interface ("" for the first
// configured) in the given family ("IP4", "IP6", or "" for any).
func (e *Engine) LocalAddr(iface, family string) (*LocalAddr, error) {
	return e.ifaces.pick(iface, family)
}

// LocalAddrs lists every configured local address.
func (e *Engine) LocalAddrs() []*LocalAddr { return e.ifaces.all() }

// Call returns the live call with the given ID, or nil.
func (e *Engine) Call(id string) *Call {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.calls[id]
}

// CallOrCreate returns the call with the given ID, creating it if needed.
func (e *Engine) CallOrCreate(id string) (c *Call, created bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.calls[id]; c != nil {
		return c, false
	}
	now := e.now()
	c = &Call{ID: id, Created: now, LastSignal: now, engine: e, Log: e.log.With(slog.String("call-id", id)), done: make(chan struct{})}
	e.calls[id] = c
	e.totals.CallsCreated.Add(1)
	return c, true
}

// NumCalls is the number of live calls.
func (e *Engine) NumCalls() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.calls)
}

// CallList returns the live calls, oldest first.
func (e *Engine) CallList() []*Call {
	e.mu.RLock()
	out := make([]*Call, 0, len(e.calls))
	for _, c := range e.calls {
		out = append(out, c)
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// destroy removes the call and frees everything it holds. The call must be
// locked.
func (e *Engine) destroy(c *Call, why string) {
	if c.gone {
		return
	}
	c.gone = true
	close(c.done)
	e.mu.Lock()
	if e.calls[c.ID] == c {
		delete(e.calls, c.ID)
	}
	e.mu.Unlock()
	for _, l := range c.legs {
		l.release(e)
	}
	c.legs = nil
	e.totals.CallsDeleted.Add(1)
	c.Log.Info("call deleted", slog.String("reason", why))
}

// allocPair binds an RTP and an RTCP socket on a fresh port pair of local
// and hands them to the data plane.
func (e *Engine) allocPair(local *LocalAddr) (rtp, rtcp *Stream, err error) {
	cfg := e.cfg.Load()
	opts := sockOpts{tos: cfg.TOS, rcvBuf: cfg.SocketRcvBuf, sndBuf: cfg.SocketSndBuf}
	_, err = local.Ports.Allocate(func(port int) error {
		fd1, err := openUDP(local.Addr, port, opts)
		if err != nil {
			return err
		}
		fd2, err := openUDP(local.Addr, port+1, opts)
		if err != nil {
			unix.Close(fd1)
			return err
		}
		now := e.now().UnixNano()
		rtp = &Stream{local: local, port: port, kind: KindRTP, fd: fd1}
		rtcp = &Stream{local: local, port: port + 1, kind: KindRTCP, fd: fd2}
		rtp.lastPacket.Store(now)
		rtcp.lastPacket.Store(now)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNoPorts) {
			return nil, nil, fmt.Errorf("interface %s/%s: %w", local.Interface, local.Addr, err)
		}
		return nil, nil, err
	}
	if err := e.plane.add(rtp); err != nil {
		unix.Close(rtp.fd)
		unix.Close(rtcp.fd)
		local.Ports.Release(rtp.port)
		return nil, nil, err
	}
	if err := e.plane.add(rtcp); err != nil {
		e.plane.remove(rtp, nil)
		unix.Close(rtcp.fd)
		local.Ports.Release(rtp.port)
		return nil, nil, err
	}
	return rtp, rtcp, nil
}

// freePair stops the streams, keeps their counters in the totals and
// returns their ports to the pool once the sockets are closed.
func (e *Engine) freePair(rtp, rtcp *Stream) {
	for _, s := range []*Stream{rtp, rtcp} {
		if s == nil {
			continue
		}
		s.fwd.Store(nil)
		if s.closed.Swap(true) {
			continue
		}
		if s.kind == KindRTP {
			e.totals.RTPPackets.Add(s.Stats.Packets.Load())
			e.totals.RTPBytes.Add(s.Stats.Bytes.Load())
			e.totals.RTPErrors.Add(s.Stats.Errors.Load())
		} else {
			e.totals.RTCPPackets.Add(s.Stats.Packets.Load())
			e.totals.RTCPBytes.Add(s.Stats.Bytes.Load())
			e.totals.RTCPErrors.Add(s.Stats.Errors.Load())
		}
	}
	var pending atomic.Int32
	pending.Store(2)
	release := func() {
		if pending.Add(-1) == 0 {
			rtp.local.Ports.Release(rtp.port)
		}
	}
	e.plane.remove(rtp, release)
	if rtcp != nil {
		e.plane.remove(rtcp, release)
	} else {
		release()
	}
}

// WorkerStats returns the forwarding workers' counters.
func (e *Engine) WorkerStats() []WorkerStats { return e.plane.stats() }

// reapInterval is how often removed sockets are checked for closing.
const reapInterval = 50 * time.Millisecond

// janitor ends calls whose time is up.
func (e *Engine) janitor(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.cfg.Load().TickInterval)
	defer t.Stop()
	// Removed sockets are closed, and their ports returned, soon after
	// the workers move on, so that call churn does not hold ports.
	r := time.NewTicker(reapInterval)
	defer r.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.C:
			e.plane.reap()
		case <-t.C:
			now := e.now()
			e.expire(now)
			e.plane.reap()
			e.sampleRates(now)
		}
	}
}

// expire applies delete-delay and the timeouts at time now.
func (e *Engine) expire(now time.Time) {
	cfg := e.cfg.Load()
	for _, c := range e.CallList() {
		c.Lock()
		c.reportErrors(now)
		if why := c.expired(cfg, now); why != "" {
			switch why {
			case "timeout":
				e.totals.Timeouts.Add(1)
			case "silent-timeout":
				e.totals.SilentTimeouts.Add(1)
			case "final-timeout":
				e.totals.FinalTimeouts.Add(1)
			case "offer-timeout":
				e.totals.OfferTimeouts.Add(1)
			}
			e.destroy(c, why)
		}
		c.Unlock()
	}
}

// expired says why the call must end now, or "".
func (c *Call) expired(cfg *Config, now time.Time) string {
	if c.gone {
		return ""
	}
	if !c.deleteAt.IsZero() && !now.Before(c.deleteAt) {
		return "delete-delay"
	}
	if cfg.FinalTimeout > 0 && now.Sub(c.Created) >= cfg.FinalTimeout {
		return "final-timeout"
	}
	if !c.answered && cfg.OfferTimeout > 0 && now.Sub(c.LastSignal) >= cfg.OfferTimeout {
		return "offer-timeout"
	}
	last := c.LastSignal.UnixNano()
	silent := true
	for _, l := range c.legs {
		for _, m := range l.Medias {
			for _, s := range []*Stream{m.RTP, m.RTCP} {
				if s != nil {
					last = max(last, s.LastPacket())
				}
			}
			if m.RTP != nil && m.Direction != "inactive" && m.Endpoint.IsValid() && !m.Endpoint.Addr().IsUnspecified() {
				silent = false
			}
		}
	}
	idle := now.Sub(time.Unix(0, last))
	if !c.answered {
		// Only the offer timeout applies before the answer (rtpengine).
		return ""
	}
	if silent {
		if cfg.SilentTimeout > 0 && idle >= cfg.SilentTimeout {
			return "silent-timeout"
		}
		return ""
	}
	if cfg.Timeout > 0 && idle >= cfg.Timeout {
		return "timeout"
	}
	return ""
}
