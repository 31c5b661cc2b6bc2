package interop

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago
// (the kernel picks it from the ephemeral range; it is released before
// returning, so a race with other processes is possible but rare).
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("interop: free UDP port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("interop: free TCP port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// portRanges are the ranges FreePortRange handed out and not yet released
// (at the end of the test that asked): two ranges of one process never
// overlap, even though each is free again once checked.
var portRanges struct {
	sync.Mutex
	taken [][2]int // [first, last]
}

// FreePortRange returns the first port of n consecutive UDP ports on
// 127.0.0.1, all free when checked (each is bound, then all are released
// before returning). The first port is even (RTP convention). The range
// lies below the kernel's ephemeral range when there is room (so that
// ports picked by the kernel for other sockets do not land in it), and
// does not overlap any other range this process handed out to a running
// test.
func FreePortRange(t testing.TB, n int) int {
	t.Helper()
	if n < 1 || n > 4096 {
		t.Fatalf("interop: FreePortRange(%d): n out of range", n)
	}
	lo, hi := portSearchSpace()
	if hi-lo < n {
		t.Fatalf("interop: FreePortRange(%d): no room in %d-%d", n, lo, hi)
	}
	for attempt := 0; attempt < 200; attempt++ {
		first := lo + rand.IntN(hi-lo-n+1)
		first &^= 1
		if first < lo {
			first += 2
		}
		last := first + n - 1
		if last > hi || !reservePorts(first, last) {
			continue
		}
		if portsFree(first, last) {
			t.Cleanup(func() { releasePorts(first, last) })
			return first
		}
		releasePorts(first, last)
	}
	t.Fatalf("interop: FreePortRange(%d): no free range found", n)
	return 0
}

// portSearchSpace is the range FreePortRange picks from: 20000 up to the
// start of the ephemeral range if that leaves room, else above it.
func portSearchSpace() (lo, hi int) {
	lo, hi = 20000, 32767
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	eLo, err1 := strconv.Atoi(f[0])
	eHi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return lo, hi
	}
	switch {
	case eLo-1-lo >= 2048:
		return lo, eLo - 1
	case 65535-eHi >= 2048:
		return eHi + 1, 65535
	default:
		return 10000, 65535
	}
}

func reservePorts(first, last int) bool {
	portRanges.Lock()
	defer portRanges.Unlock()
	for _, r := range portRanges.taken {
		if first <= r[1] && r[0] <= last {
			return false
		}
	}
	portRanges.taken = append(portRanges.taken, [2]int{first, last})
	return true
}

func releasePorts(first, last int) {
	portRanges.Lock()
	defer portRanges.Unlock()
	for i, r := range portRanges.taken {
		if r == [2]int{first, last} {
			portRanges.taken = append(portRanges.taken[:i], portRanges.taken[i+1:]...)
			return
		}
	}
}

// portsFree binds every UDP port of first..last on 127.0.0.1, then
// releases them all.
func portsFree(first, last int) bool {
	conns := make([]net.PacketConn, 0, last-first+1)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for p := first; p <= last; p++ {
		c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		conns = append(conns, c)
	}
	return true
}
