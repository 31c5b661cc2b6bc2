// Package clitest starts an in-process ngrelay with a CLI server for tests
// of the CLI and of its clients: loopback only, free ports, everything
// stopped at the end of the test.
package clitest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/cli"
	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/internal/daemon"
	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/ng/bencode"
)

// Relay is a running ngrelay (engine and NG over UDP) with a CLI server.
type Relay struct {
	Daemon  *daemon.Daemon
	CLI     *cli.Server
	CLIAddr netip.AddrPort
	NG      *ng.Client
	Level   *slog.LevelVar
	Syslog  *atomic.Int32
}

// Start starts a relay on loopback. setup, if not nil, may change the CLI
// server's limits before it serves.
func Start(t testing.TB, setup func(*cli.Server)) *Relay {
	t.Helper()
	cfg := config.Default()
	cfg.ListenNG = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	cfg.ListenTCPNG = nil
	cfg.ListenCLI = nil
	base := 20000 + 2*rand.IntN(10000)
	cfg.PortMin, cfg.PortMax = base, base+199
	cfg.DeleteDelay = 0
	cfg.NumThreads = 2

	r := &Relay{Level: new(slog.LevelVar), Syslog: new(atomic.Int32)}
	r.Syslog.Store(int32(cfg.LogLevel))
	r.Level.Set(daemon.SlogLevel(cfg.LogLevel))
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.Start(ctx, cfg, nil, nil)
	if err != nil {
		cancel()
		t.Fatalf("start daemon: %v", err)
	}
	r.Daemon = d
	r.CLI = cli.New(d.Engine, d.Handler, r.Level, r.Syslog, nil)
	if setup != nil {
		setup(r.CLI)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		cancel()
		d.Close()
		t.Fatal(err)
	}
	r.CLIAddr = ln.Addr().(*net.TCPAddr).AddrPort()
	served := make(chan error, 1)
	go func() { served <- r.CLI.Serve(ctx, ln) }()
	r.NG, err = ng.Dial("udp", d.NGAddrs()[0].String())
	if err != nil {
		cancel()
		d.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("CLI Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("CLI Serve did not return after cancel")
		}
		r.NG.Close()
		d.Close()
	})
	return r
}

// Command sends one command line to the CLI and returns the whole reply.
func (r *Relay) Command(t testing.TB, line string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.CLIAddr.String(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("CLI %q: %v", line, err)
	}
	return string(b)
}

// NGDo sends an NG command built from key/value pairs (string, int or
// []string values).
func (r *Relay) NGDo(t testing.TB, kv ...any) bencode.Value {
	t.Helper()
	d := bencode.Dict()
	for i := 0; i+1 < len(kv); i += 2 {
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
			t.Fatalf("bad NG value type %T", v)
		}
	}
	reply, err := r.NG.Do(d)
	if err != nil {
		t.Fatalf("NG %v: %v", kv, err)
	}
	if res, _ := reply.GetString("result"); res != "ok" {
		reason, _ := reply.GetString("error-reason")
		t.Fatalf("NG %v: result %q: %s", kv[:2], res, reason)
	}
	return reply
}

// Phone is an RTP endpoint on loopback: RTP and RTCP sockets.
type Phone struct {
	RTP, RTCP *net.UDPConn
}

// NewPhone opens an even/odd UDP port pair on 127.0.0.1.
func NewPhone(t testing.TB) *Phone {
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
		t.Cleanup(func() { a.Close(); b.Close() })
		return &Phone{RTP: a, RTCP: b}
	}
	t.Fatal("no free even/odd port pair")
	return nil
}

// Port is the phone's RTP port.
func (p *Phone) Port() int { return p.RTP.LocalAddr().(*net.UDPAddr).Port }

// SDP is a plain RTP/AVP offer or answer of the phone (PCMU, PCMA).
func (p *Phone) SDP() string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0 8\r\n", p.Port()) + "a=rtpmap:0 PCMU/8000\r\n"
}

// Call is an established call A <-> relay <-> B.
type Call struct {
	ID       string
	A, B     *Phone
	ToA, ToB int // relay RTP ports that A and B send to
}

// NewCall makes a call with an offer from A (from-tag "tagA") and an
// answer from B ("tagB").
func (r *Relay) NewCall(t testing.TB, id string) *Call {
	t.Helper()
	c := &Call{ID: id, A: NewPhone(t), B: NewPhone(t)}
	reply := r.NGDo(t, "command", "offer", "call-id", id, "from-tag", "tagA", "sdp", c.A.SDP())
	offer, _ := reply.GetString("sdp")
	c.ToB = mediaPort(t, offer)
	reply = r.NGDo(t, "command", "answer", "call-id", id, "from-tag", "tagA", "to-tag", "tagB", "sdp", c.B.SDP())
	answer, _ := reply.GetString("sdp")
	c.ToA = mediaPort(t, answer)
	return c
}

func mediaPort(t testing.TB, sdp string) int {
	t.Helper()
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			var port int
			if f := strings.Fields(l); len(f) > 1 {
				fmt.Sscan(f[1], &port)
			}
			if port > 0 {
				return port
			}
		}
	}
	t.Fatalf("no m= port in SDP:\n%s", sdp)
	return 0
}

// SendRTP sends n RTP packets of A to the relay and waits until B got
// them all.
func (c *Call) SendRTP(t testing.TB, n int) {
	t.Helper()
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(c.ToA))
	buf := make([]byte, 2048)
	for i := range n {
		pkt := []byte{0x80, 0, 0, byte(i), 0, 0, 0, 160, 0xaa, 0xaa, 0xaa, 0xaa}
		pkt = append(pkt, make([]byte, 160)...)
		if _, err := c.A.RTP.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatal(err)
		}
		c.B.RTP.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, _, err := c.B.RTP.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("RTP packet %d not relayed to B: %v", i, err)
		}
	}
}
