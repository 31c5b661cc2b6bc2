// Package serve runs the listener loops the control protocols share: one
// goroutine per UDP command, one per TCP connection, all ending with a
// context.
package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxDatagram is the largest UDP payload read.
const maxDatagram = 65535

// UDP reads datagrams on conn until ctx ends or conn is closed. Each
// datagram is handled on its own goroutine, counted in inflight (so that a
// server can wait for the commands under way); a non-nil reply goes back to
// the sender. proto names the protocol in log lines ("NG", "rtpproxy").
func UDP(ctx context.Context, conn *net.UDPConn, proto string, log *slog.Logger, inflight *sync.WaitGroup, handle func(peer netip.AddrPort, msg []byte) []byte) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, maxDatagram)
	for {
		n, peer, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				inflight.Wait()
				return nil
			}
			log.Warn(proto+" UDP read", slog.Any("error", err))
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			if out := handle(peer, msg); out != nil {
				if _, err := conn.WriteToUDPAddrPort(out, peer); err != nil {
					log.Warn(proto+" UDP reply", slog.String("peer", peer.String()), slog.Any("error", err))
				}
			}
		}()
	}
}

// TCP accepts connections on ln until ctx ends or ln is closed, serving
// each on its own goroutine, and returns once they have all ended.
func TCP(ctx context.Context, ln net.Listener, proto string, log *slog.Logger, serve func(context.Context, net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			log.Warn(proto+" TCP accept", slog.Any("error", err))
			time.Sleep(10 * time.Millisecond)
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			serve(ctx, c)
		}()
	}
}
