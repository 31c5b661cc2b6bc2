package serve

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestUDPRepliesAndStops: each datagram is handled and its reply sent back;
// cancelling the context ends the loop after the handlers under way.
func TestUDPRepliesAndStops(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var inflight sync.WaitGroup
	done := make(chan error, 1)
	go func() {
		done <- UDP(ctx, conn, "test", slog.New(slog.DiscardHandler), &inflight, func(_ netip.AddrPort, msg []byte) []byte {
			if string(msg) == "quiet" {
				return nil
			}
			return append([]byte("re: "), msg...)
		})
	}()
	c, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("quiet"))
	c.Write([]byte("ping"))
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "re: ping" {
		t.Fatalf("reply %q, %v", buf[:n], err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("UDP did not stop with its context")
	}
}

// TestTCPServesConnections: every accepted connection is served; the loop
// ends with its context once the connections have ended.
func TestTCPServesConnections(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- TCP(ctx, ln, "test", slog.New(slog.DiscardHandler), func(ctx context.Context, c net.Conn) {
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("re: " + line))
		})
	}()
	for range 2 {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("hello\n"))
		got, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || got != "re: hello\n" {
			t.Fatalf("reply %q, %v", got, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TCP did not stop with its context")
	}
}
