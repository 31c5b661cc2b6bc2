package ng

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/ng/framing"
	"github.com/ngrelay/ngrelay/ng/internal/replycache"
	"github.com/ngrelay/ngrelay/ng/internal/serve"
)

// Limits on what the NG listeners accept.
const (
	maxTCPMessage = 1 << 20
	cacheTTL      = 60 * time.Second
	cacheEntries  = 100000
	tcpIdle       = 5 * time.Minute
)

// Server serves NG over UDP and TCP listeners.
type Server struct {
	h     *Handler
	log   *slog.Logger
	cache *replycache.Cache
	wg    sync.WaitGroup
}

// NewServer returns a server executing requests with h.
func NewServer(h *Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{h: h, log: log, cache: replycache.New(cacheTTL, cacheEntries)}
}

// Process executes one framed message from peer and returns the framed
// reply, or nil when there is nothing to send (a retransmission of a request
// still in flight, or a message too broken to have a cookie).
func (s *Server) Process(peer string, datagram []byte) []byte {
	msg, err := framing.Parse(datagram)
	if err != nil {
		s.log.Debug("bad NG message", slog.String("peer", peer), slog.Any("error", err))
		if msg.Cookie == "" {
			return nil
		}
		return s.errorReply(msg.Cookie, msg.JSON, "Invalid NG data format: "+strings.TrimPrefix(err.Error(), "framing: "))
	}
	return s.process(peer, msg)
}

func (s *Server) process(peer string, msg framing.Message) []byte {
	if cached, inFlight := s.cache.Begin(peer, msg.Cookie); cached != nil {
		return cached
	} else if inFlight {
		return nil
	}
	var (
		req bencode.Value
		err error
	)
	if msg.JSON {
		req, err = bencode.FromJSON(msg.Body, bencode.DefaultLimits)
	} else {
		req, err = bencode.Decode(msg.Body)
	}
	var out []byte
	if err != nil {
		out = s.errorReply(msg.Cookie, msg.JSON, "Failed to decode dictionary: "+err.Error())
	} else {
		out = s.encode(msg.Cookie, msg.JSON, s.h.HandleFrom(proxyHost(peer), req))
	}
	s.cache.Finish(peer, msg.Cookie, out)
	return out
}

func (s *Server) encode(cookie string, json bool, v bencode.Value) []byte {
	body := make([]byte, 0, 512)
	if json {
		body = bencode.AppendJSON(body, v)
	} else {
		body = bencode.Append(body, v)
	}
	return framing.AppendReply(make([]byte, 0, len(cookie)+1+len(body)), cookie, body)
}

func (s *Server) errorReply(cookie string, json bool, reason string) []byte {
	s.h.Stats.Errors.Add(1)
	return s.encode(cookie, json, bencode.Dict(bencode.P("result", bencode.String("error")), bencode.P("error-reason", bencode.String(reason))))
}

// ServeUDP reads NG datagrams from conn until ctx ends or conn is closed.
func (s *Server) ServeUDP(ctx context.Context, conn *net.UDPConn) error {
	return serve.UDP(ctx, conn, "NG", s.log, &s.wg, func(peer netip.AddrPort, msg []byte) []byte {
		return s.Process(peer.String(), msg)
	})
}

// ServeTCP accepts NG connections on ln until ctx ends or ln is closed.
// Each connection carries COOKIE SP DICT messages back to back; replies are
// written in the order of the requests.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	return serve.TCP(ctx, ln, "NG", s.log, s.serveConn)
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	peer := c.RemoteAddr().String()
	r := framing.NewReader(bufio.NewReader(c), maxTCPMessage)
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdle))
		msg, err := r.Next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && err.Error() != "EOF" {
				s.log.Debug("NG TCP connection closed", slog.String("peer", peer), slog.Any("error", err))
			}
			return
		}
		out := s.process(peer, msg)
		if out == nil {
			continue
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// proxyHost is the address part of a peer "ADDR:PORT".
func proxyHost(peer string) string {
	if ap, err := netip.ParseAddrPort(peer); err == nil {
		return ap.Addr().String()
	}
	return peer
}
