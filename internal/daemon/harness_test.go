package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/ng/bencode"
)

// testConfig is a configuration on loopback with ephemeral NG ports and a
// random media port range.
func testConfig() config.Config {
	cfg := config.Default()
	cfg.ListenNG = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	cfg.ListenTCPNG = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	cfg.ListenCLI = nil
	base := 20000 + 2*rand.IntN(10000)
	cfg.PortMin, cfg.PortMax = base, base+199
	cfg.DeleteDelay = 0
	return cfg
}

type testDaemon struct {
	*Daemon
	udp *ng.Client
	tcp *ng.Client
}

func startDaemon(t testing.TB, mutate func(*config.Config)) *testDaemon {
	t.Helper()
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	var log *slog.Logger
	if os.Getenv("NGRELAY_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := Start(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	td := &testDaemon{Daemon: d}
	td.udp, err = ng.Dial("udp", d.NGAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.udp.Close() })
	if len(d.NGTCPAddrs()) > 0 {
		td.tcp, err = ng.Dial("tcp", d.NGTCPAddrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { td.tcp.Close() })
	}
	return td
}

// cmd sends a command dictionary built from key/value pairs over UDP.
func (td *testDaemon) cmd(t testing.TB, kv ...any) bencode.Value {
	t.Helper()
	return do(t, td.udp, kv...)
}

func do(t testing.TB, c *ng.Client, kv ...any) bencode.Value {
	t.Helper()
	d := bencode.Dict()
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			d.Set(k, bencode.String(v))
		case int:
			d.Set(k, bencode.Int(int64(v)))
		case []string:
			var l []bencode.Value
			for _, s := range v {
				l = append(l, bencode.String(s))
			}
			d.Set(k, bencode.List(l...))
		default:
			t.Fatalf("bad value type %T", v)
		}
	}
	r, err := c.Do(d)
	if err != nil {
		t.Fatalf("NG %v: %v", kv[:2], err)
	}
	return r
}

func mustOK(t testing.TB, r bencode.Value) {
	t.Helper()
	if res, _ := r.GetString("result"); res != "ok" {
		reason, _ := r.GetString("error-reason")
		t.Fatalf("result %q: %s", res, reason)
	}
}

func mustError(t *testing.T, r bencode.Value, reason string) {
	t.Helper()
	res, _ := r.GetString("result")
	got, _ := r.GetString("error-reason")
	if res != "error" || !strings.HasPrefix(got, reason) {
		t.Fatalf("got result %q reason %q, want error %q", res, got, reason)
	}
}

// endpoint is a plain RTP phone on loopback: an RTP and an RTCP socket.
type endpoint struct {
	rtp, rtcp *net.UDPConn
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	for range 50 {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p == 65534 {
			a.Close()
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err != nil {
			a.Close()
			continue
		}
		e := &endpoint{rtp: a, rtcp: b}
		t.Cleanup(func() { a.Close(); b.Close() })
		return e
	}
	t.Fatal("no free even/odd port pair")
	return nil
}

func (e *endpoint) port() int { return e.rtp.LocalAddr().(*net.UDPAddr).Port }

// sdp is a plain RTP/AVP offer or answer naming the endpoint.
func (e *endpoint) sdp(extra ...string) string {
	return plainSDP("127.0.0.1", e.port(), extra...)
}

func plainSDP(addr string, port int, extra ...string) string {
	s := "v=0\r\no=- 1 1 IN IP4 " + addr + "\r\ns=test\r\nc=IN IP4 " + addr + "\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0 8\r\n", port) + "a=rtpmap:0 PCMU/8000\r\n"
	for _, x := range extra {
		s += x + "\r\n"
	}
	return s
}

// rtpPacket builds an RTP packet with the given sequence number.
func rtpPacket(seq uint16, ssrc uint32, payload string) []byte {
	p := []byte{0x80, 0, byte(seq >> 8), byte(seq), 0, 0, 0, 160, byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc)}
	return append(p, payload...)
}

// rtcpPacket builds an RTCP receiver report with no blocks.
func rtcpPacket(ssrc uint32) []byte {
	return []byte{0x80, 201, 0, 1, byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc)}
}

// relayPorts returns the media port and the a=rtcp port from rewritten SDP.
func relayPorts(t *testing.T, sdp string) (addr string, rtp, rtcp int) {
	t.Helper()
	for _, l := range strings.Split(sdp, "\r\n") {
		switch {
		case strings.HasPrefix(l, "m="):
			f := strings.Fields(l)
			fmt.Sscan(f[1], &rtp)
		case strings.HasPrefix(l, "a=rtcp:"):
			fmt.Sscan(strings.TrimPrefix(l, "a=rtcp:"), &rtcp)
		case strings.HasPrefix(l, "c=IN IP4 "):
			addr = strings.TrimPrefix(l, "c=IN IP4 ")
		}
	}
	if rtp == 0 {
		t.Fatalf("no m= port in SDP:\n%s", sdp)
	}
	return addr, rtp, rtcp
}

// expectPacket reads one datagram on c within a bounded time and checks it.
func expectPacket(t *testing.T, c *net.UDPConn, want []byte) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("waiting for packet on %s: %v", c.LocalAddr(), err)
	}
	if string(buf[:n]) != string(want) {
		t.Fatalf("got packet %x, want %x", buf[:n], want)
	}
	return from
}

// expectNothing checks that no datagram arrives on c for a short while.
func expectNothing(t *testing.T, c *net.UDPConn) {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, from, err := c.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatalf("unexpected packet %x from %s", buf[:n], from)
	}
}

func sendTo(t *testing.T, c *net.UDPConn, port int, pkt []byte) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func deadline() time.Time { return time.Now().Add(2 * time.Second) }
