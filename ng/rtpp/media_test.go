package rtpp

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// endpoint is a SIP user agent's media socket.
type endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	addr netip.AddrPort
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &endpoint{t: t, conn: c, addr: c.LocalAddr().(*net.UDPAddr).AddrPort()}
}

func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload))
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return append(b, payload...)
}

// send sends n RTP packets with the given SSRC to the relay port, one
// every interval.
func (e *endpoint) send(port int, ssrc uint32, n int, interval time.Duration) {
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	for i := 0; i < n; i++ {
		if _, err := e.conn.WriteToUDPAddrPort(rtpPacket(0, uint16(i), uint32(i*160), ssrc, make([]byte, 160)), to); err != nil {
			e.t.Errorf("send: %v", err)
			return
		}
		if interval > 0 {
			time.Sleep(interval)
		}
	}
}

// rtp is a received RTP packet's header.
type rtp struct {
	from    netip.AddrPort
	marker  bool
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
	at      time.Time
}

// receive collects packets until d has passed.
func (e *endpoint) receive(d time.Duration) []rtp { return e.receiveN(d, 0, 0) }

// receiveN collects packets until d has passed or, when n > 0, n packets
// with the SSRC arrived.
func (e *endpoint) receiveN(d time.Duration, ssrc uint32, want int) []rtp {
	var out []rtp
	buf := make([]byte, 2048)
	deadline := time.Now().Add(d)
	for {
		e.conn.SetReadDeadline(deadline)
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return out
		}
		if n < 12 {
			continue
		}
		b := buf[:n]
		out = append(out, rtp{from: from, marker: b[1]&0x80 != 0, pt: b[1] & 0x7f,
			seq: binary.BigEndian.Uint16(b[2:]), ts: binary.BigEndian.Uint32(b[4:]),
			ssrc: binary.BigEndian.Uint32(b[8:]), payload: append([]byte(nil), b[12:]...), at: time.Now()})
		if want > 0 && countSSRC(out, ssrc) >= want {
			return out
		}
	}
}

func countSSRC(pkts []rtp, ssrc uint32) int {
	n := 0
	for _, p := range pkts {
		if p.ssrc == ssrc {
			n++
		}
	}
	return n
}

// client talks to a server over UDP or TCP.
type client struct {
	t      testing.TB
	udp    *net.UDPConn
	tcp    net.Conn
	r      *bufio.Reader
	cookie int
}

func (c *client) do(line string) string {
	c.t.Helper()
	c.cookie++
	ck := fmt.Sprintf("%d_%d", 4242, c.cookie)
	msg := ck + " " + line
	var reply string
	if c.udp != nil {
		if _, err := c.udp.Write([]byte(msg)); err != nil {
			c.t.Fatal(err)
		}
		buf := make([]byte, 4096)
		c.udp.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.udp.Read(buf)
		if err != nil {
			c.t.Fatalf("%q: %v", line, err)
		}
		reply = string(buf[:n])
	} else {
		if _, err := c.tcp.Write([]byte(msg + "\r\n")); err != nil {
			c.t.Fatal(err)
		}
		c.tcp.SetReadDeadline(time.Now().Add(3 * time.Second))
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("%q: %v", line, err)
		}
		reply = l
	}
	if !strings.HasPrefix(reply, ck+" ") || !strings.HasSuffix(reply, "\n") {
		c.t.Fatalf("%q: reply %q", line, reply)
	}
	return strings.TrimSuffix(strings.TrimPrefix(reply, ck+" "), "\n")
}

func serveUDP(t testing.TB, s *Server) *client {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.ServeUDP(ctx, conn) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	c, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, udp: c}
}

func serveTCP(t testing.TB, s *Server) (*client, net.Addr) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.ServeTCP(ctx, ln) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, tcp: c, r: bufio.NewReader(c)}, ln.Addr()
}

// call sets up a call between endpoints a (caller, tag "ft") and b
// (callee, "tt") with U and L and returns the relay ports a and b send to.
func call(t testing.TB, c *client, id, mods string, a, b *endpoint) (toA, toB int) {
	t.Helper()
	bPort := portOf(t, c.do(fmt.Sprintf("U%s %s %s %d ft;1", mods, id, a.addr.Addr(), a.addr.Port())), "127.0.0.1", "4")
	aPort := portOf(t, c.do(fmt.Sprintf("L%s %s %s %d ft;1 tt;1", mods, id, b.addr.Addr(), b.addr.Port())), "127.0.0.1", "4")
	return aPort, bPort
}

// checkBothWays sends RTP from a to b and back through the relay.
func checkBothWays(t *testing.T, a, b *endpoint, aPort, bPort int) {
	t.Helper()
	go a.send(aPort, 0xaaaa, 10, 2*time.Millisecond)
	got := b.receiveN(3*time.Second, 0xaaaa, 10)
	if n := countSSRC(got, 0xaaaa); n != 10 {
		t.Fatalf("callee received %d of 10 packets", n)
	}
	if got[0].from.Port() != uint16(bPort) {
		t.Errorf("callee got media from %v, want the relay's port %d", got[0].from, bPort)
	}
	go b.send(bPort, 0xbbbb, 10, 2*time.Millisecond)
	got = a.receiveN(3*time.Second, 0xbbbb, 10)
	if n := countSSRC(got, 0xbbbb); n != 10 {
		t.Fatalf("caller received %d of 10 packets", n)
	}
	if got[0].from.Port() != uint16(aPort) {
		t.Errorf("caller got media from %v, want the relay's port %d", got[0].from, aPort)
	}
}

func TestCallOverUDP(t *testing.T) {
	s := newTestServer(t)
	c := serveUDP(t, s)
	a, b := newEndpoint(t), newEndpoint(t)
	aPort, bPort := call(t, c, "udp-call", "", a, b)
	checkBothWays(t, a, b, aPort, bPort)
	if got := c.do("Q udp-call ft;1 tt;1"); !strings.HasSuffix(got, " 20 0 0 0") {
		t.Errorf("Q = %q, want 20 RTP packets", got)
	}
	if got := c.do("D udp-call ft tt"); got != "0" {
		t.Errorf("D = %q", got)
	}
	if s.engine.NumCalls() != 0 {
		t.Errorf("call not deleted")
	}
}

func TestCallOverTCP(t *testing.T) {
	s := newTestServer(t)
	c, addr := serveTCP(t, s)
	a, b := newEndpoint(t), newEndpoint(t)
	aPort, bPort := call(t, c, "tcp-call", "", a, b)
	checkBothWays(t, a, b, aPort, bPort)
	if got := c.do("Q tcp-call ft tt"); !strings.HasSuffix(got, " 20 0 0 0") {
		t.Errorf("Q = %q", got)
	}
	// Several commands in one write are answered in order.
	if _, err := c.tcp.Write([]byte("x1 V\nx2 VF 20050322\r\nx3 D tcp-call ft tt\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"x1 20040107\n", "x2 1\n", "x3 0\n"} {
		if l, err := c.r.ReadString('\n'); err != nil || l != want {
			t.Fatalf("got %q (%v), want %q", l, err, want)
		}
	}
	// A line that is too long closes the connection.
	c2, err := net.Dial("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte("big U " + strings.Repeat("x", MaxLine+10) + "\n"))
	c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c2.Read(make([]byte, 100)); err == nil {
		t.Errorf("long line answered (%d bytes)", n)
	}
}

// TestAsymmetric: with "a" the relay sends to the address from the
// command, not to where media comes from.
func TestAsymmetric(t *testing.T) {
	s := newTestServer(t)
	c := serveUDP(t, s)
	a, b, other := newEndpoint(t), newEndpoint(t), newEndpoint(t)
	aPort, bPort := call(t, c, "asym", "a", a, b)
	go other.send(bPort, 0xcccc, 5, time.Millisecond) // b's port, another source
	go a.send(aPort, 0xaaaa, 5, time.Millisecond)
	if n := countSSRC(b.receive(200*time.Millisecond), 0xaaaa); n != 5 {
		t.Errorf("callee received %d of 5", n)
	}
	if n := countSSRC(a.receive(200*time.Millisecond), 0xcccc); n != 5 {
		t.Errorf("caller received %d of 5 from the other source", n)
	}
	if n := len(other.receive(100 * time.Millisecond)); n != 0 {
		t.Errorf("asymmetric leg latched: the other source got %d packets", n)
	}
}

func TestPlay(t *testing.T) {
	s := newTestServer(t)
	c := serveUDP(t, s)
	a, b := newEndpoint(t), newEndpoint(t)
	// The caller's SDP offers PCMA then PCMU: "session" plays PCMA.
	aPort, bPort := call(t, c, "play", "c8,0,101", a, b)
	checkBothWays(t, a, b, aPort, bPort)

	for l, want := range map[string]string{
		"P nocall tone 8 ft;1":         "E50",
		"P play tone 8 zz;1":           "E50",
		"P play tone 8 ft;2":           "E50",
		"P play missing 0,8 ft;1 tt;1": "E60",
		"P play ../prompts/tone 8 ft":  "E60",
		"P play tone 101 ft":           "E60",
		"S nocall ft":                  "E50",
		"S play zz":                    "E50",
	} {
		if got := c.do(l); got != want {
			t.Errorf("%s = %q, want %q", l, got, want)
		}
	}
	// The callee's L had codecs too (same modifiers); without them:
	cmdU := fmt.Sprintf("U play2 %s %d ft;1", a.addr.Addr(), a.addr.Port())
	portOf(t, c.do(cmdU), "127.0.0.1", "4")
	if got := c.do("P play2 tone session ft;1"); got != "E35" {
		t.Errorf("P session without codecs = %q, want E35", got)
	}

	// Loop the prompt to the caller while the callee keeps talking.
	if got := c.do("P-1 play tone 0,8 ft;1 tt;1"); got != "0" {
		t.Fatalf("P = %q", got)
	}
	done := make(chan struct{})
	go func() { defer close(done); b.send(bPort, 0xbbbb, 25, 20*time.Millisecond) }()
	go a.send(aPort, 0xaaaa, 10, 20*time.Millisecond)
	toA := a.receive(500 * time.Millisecond)
	<-done
	if n := countSSRC(toA, 0xbbbb); n != 0 {
		t.Errorf("caller received %d packets of the callee while the prompt played", n)
	}
	if n := countSSRC(b.receive(100*time.Millisecond), 0xaaaa); n != 10 {
		t.Errorf("callee received %d of 10 of the caller's packets during the prompt", n)
	}
	checkPrompt(t, toA, 0, aPort, 15, true)

	if got := c.do("S play ft;1 tt;1"); got != "0" {
		t.Fatalf("S = %q", got)
	}
	a.receive(50 * time.Millisecond) // drain
	go b.send(bPort, 0xbbbb, 10, 5*time.Millisecond)
	after := a.receive(300 * time.Millisecond)
	if n := countSSRC(after, 0xbbbb); n != 10 {
		t.Errorf("after S the caller received %d of 10 of the callee's packets", n)
	}
	if len(after) != 10 {
		t.Errorf("after S: %d packets, want only the callee's 10", len(after))
	}

	// Once, in the session's first codec (PCMA): 50 frames, then the
	// callee is heard again.
	if got := c.do("P1 play tone session ft;1 tt;1"); got != "0" {
		t.Fatalf("P1 = %q", got)
	}
	once := a.receive(1400 * time.Millisecond)
	checkPrompt(t, once, 8, aPort, 50, true)
	if len(once) != 50 {
		t.Errorf("P1 sent %d packets, want the 50 frames of tone.8", len(once))
	}
	for i, p := range once {
		if string(p.payload) != string(promptFrame(t, "tone", 8, i)) {
			t.Fatalf("packet %d: payload is not frame %d of tone.8", i, i)
		}
	}
	go b.send(bPort, 0xbbbb, 5, 5*time.Millisecond)
	if n := countSSRC(a.receive(200*time.Millisecond), 0xbbbb); n != 5 {
		t.Errorf("after the prompt ended the caller received %d of 5", n)
	}

	// The player stops when the call ends.
	c.do("P-1 play tone 0 tt;1 ft;1")
	if n := len(b.receive(100 * time.Millisecond)); n == 0 {
		t.Fatalf("no prompt to the callee")
	}
	c.do("D play ft tt")
	b.receive(50 * time.Millisecond)
	if n := len(b.receive(200 * time.Millisecond)); n != 0 {
		t.Errorf("%d prompt packets after the call was deleted", n)
	}
}

// checkPrompt checks packets of a prompt: from the relay's port, one
// payload type and SSRC, consecutive sequence numbers, timestamps 160
// apart, about 20 ms apart, at least min of them.
func checkPrompt(t *testing.T, pkts []rtp, pt uint8, port, min int, marker bool) {
	t.Helper()
	if len(pkts) < min {
		t.Fatalf("%d prompt packets, want at least %d", len(pkts), min)
	}
	first := pkts[0]
	if first.marker != marker {
		t.Errorf("first packet marker %v", first.marker)
	}
	for i, p := range pkts {
		if p.from.Port() != uint16(port) {
			t.Fatalf("packet %d from %v, want port %d", i, p.from, port)
		}
		if p.pt != pt || p.ssrc != first.ssrc || len(p.payload) != 160 {
			t.Fatalf("packet %d: pt %d ssrc %#x len %d; want pt %d ssrc %#x len 160", i, p.pt, p.ssrc, len(p.payload), pt, first.ssrc)
		}
		if i > 0 {
			prev := pkts[i-1]
			if p.seq != prev.seq+1 || p.ts != prev.ts+160 {
				t.Fatalf("packet %d: seq %d ts %d after seq %d ts %d", i, p.seq, p.ts, prev.seq, prev.ts)
			}
			if i > 1 && p.marker {
				t.Errorf("packet %d has the marker", i)
			}
		}
	}
	if d := pkts[len(pkts)-1].at.Sub(first.at); len(pkts) > 10 && (d < time.Duration(len(pkts)-3)*20*time.Millisecond || d > time.Duration(len(pkts)+10)*20*time.Millisecond) {
		t.Errorf("%d packets over %v: not paced at 20 ms", len(pkts), d)
	}
}

func promptFrame(t *testing.T, name string, pt, i int) []byte {
	p, err := LoadPrompt("../../prompts", name, pt)
	if err != nil {
		t.Fatal(err)
	}
	return p.Frames[i%len(p.Frames)]
}
