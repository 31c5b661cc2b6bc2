package relay

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// udpEndpoint is a test phone: one UDP socket on loopback.
func udpEndpoint(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// bridge sets up call id between endpoints a and b; it returns the relay
// ports a and b send to.
func bridge(t *testing.T, e *Engine, id string, a, b netip.AddrPort) (toA, toB int) {
	t.Helper()
	c, _ := e.CallOrCreate(id)
	c.Lock()
	defer c.Unlock()
	la, lb := c.NewLeg("a", ""), c.NewLeg("b", "")
	la.Peer, lb.Peer = lb, la
	local, _ := e.LocalAddr("", "IP4")
	ma, mb := la.Media(0), lb.Media(0)
	for _, m := range []*Media{ma, mb} {
		// Freed ports come back once the data plane has let go of
		// their sockets: wait a little for them.
		var err error
		for try := 0; try < 300; try++ {
			if err = m.Allocate(local); err == nil {
				break
			}
			c.Unlock()
			time.Sleep(10 * time.Millisecond)
			c.Lock()
		}
		if err != nil {
			t.Fatalf("allocate: %v", err)
		}
	}
	ma.SetEndpoints(a, netip.AddrPort{})
	mb.SetEndpoints(b, netip.AddrPort{})
	c.MarkAnswered()
	c.Publish()
	return ma.RTP.LocalPort(), mb.RTP.LocalPort()
}

// TestForwardingStaysCorrectUnderConcurrentSignalling sends media on many
// calls while other goroutines re-point endpoints, delete and recreate
// calls. Every packet that arrives must belong to the receiver's own call:
// a deleted stream never sends through a port that a new call got.
func TestForwardingStaysCorrectUnderConcurrentSignalling(t *testing.T) {
	forwardingUnderSignalling(t, IOEngineEpoll)
}

// forwardingUnderSignalling is the body of the concurrency tests for a
// chosen data plane (epoll here, io_uring in uring_test.go).
func forwardingUnderSignalling(t *testing.T, kind string) {
	const calls = 6
	e := testEngineOn(t, kind, calls*2+6)
	type phone struct {
		a, b *net.UDPConn
	}
	phones := make([]phone, calls)
	var toA, toB [calls]atomic.Int32
	for i := range phones {
		phones[i] = phone{udpEndpoint(t), udpEndpoint(t)}
		x, y := bridge(t, e, fmt.Sprint("c", i), addrOf(phones[i].a), addrOf(phones[i].b))
		toA[i].Store(int32(x))
		toB[i].Store(int32(y))
	}
	stop := make(chan struct{})
	var wrong, stale, delivered atomic.Int64
	var wg sync.WaitGroup
	// Receivers: check the call index in each payload.
	for i := range phones {
		for _, c := range []*net.UDPConn{phones[i].a, phones[i].b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1500)
				for {
					c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
					n, _, err := c.ReadFromUDPAddrPort(buf)
					select {
					case <-stop:
						return
					default:
					}
					if err != nil || n < 16 {
						continue
					}
					delivered.Add(1)
					k := int(binary.BigEndian.Uint32(buf[12:]))
					if k == i || k >= calls {
						continue
					}
					// Call k's packet reached call i. That is the relay's
					// fault only if k sent it to a port k still owns; a
					// sender that paused past the quarantine with a stale
					// port is the late packet quarantine can only bound.
					target := int32(binary.BigEndian.Uint16(buf[16:]))
					if target == toA[k].Load() || target == toB[k].Load() {
						wrong.Add(1)
					} else {
						stale.Add(1)
					}
				}
			}()
		}
	}
	// Senders.
	for i := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := make([]byte, 172)
			pkt[0] = 0x80
			binary.BigEndian.PutUint32(pkt[12:], uint32(i))
			to := func(p int32) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(p)) }
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				binary.BigEndian.PutUint16(pkt[2:], uint16(seq))
				for _, p := range []struct {
					c    *net.UDPConn
					port int32
				}{{phones[i].a, toA[i].Load()}, {phones[i].b, toB[i].Load()}} {
					binary.BigEndian.PutUint16(pkt[16:], uint16(p.port))
					p.c.WriteToUDPAddrPort(pkt, to(p.port))
				}
				if seq%50 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	// Signalling: re-INVITEs (endpoint swaps A/B ports' peers back and forth)
	// and delete + recreate.
	deadline := time.Now().Add(3 * time.Second)
	for round := 0; time.Now().Before(deadline); round++ {
		i := round % calls
		id := fmt.Sprint("c", i)
		if round%2 == 0 {
			c := e.Call(id)
			c.Lock()
			for _, l := range c.Legs() {
				m := l.Medias[0]
				m.SetEndpoints(m.Endpoint, netip.AddrPort{})
				l.Opts.MediaHandover = round%4 == 0
			}
			c.Publish()
			c.Unlock()
		} else {
			c := e.Call(id)
			c.Lock()
			c.ScheduleDelete(0)
			c.Unlock()
			x, y := bridge(t, e, id, addrOf(phones[i].a), addrOf(phones[i].b))
			toA[i].Store(int32(x))
			toB[i].Store(int32(y))
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if delivered.Load() == 0 {
		t.Fatal("no packet was delivered at all")
	}
	if wrong.Load() != 0 {
		t.Fatalf("%d of %d packets reached another call's endpoint", wrong.Load(), delivered.Load())
	}
	t.Logf("%d packets delivered, none misrouted (%d sent late to a port the sender no longer owned)", delivered.Load(), stale.Load())
}
