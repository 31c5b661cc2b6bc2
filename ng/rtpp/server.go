package rtpp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/ng/internal/replycache"
	"github.com/ngrelay/ngrelay/ng/internal/serve"
	"github.com/ngrelay/ngrelay/relay"
)

// Limits of the listeners.
const (
	// MaxLine bounds a command: a longer datagram is dropped, a longer TCP
	// line closes the connection (rtpproxy reads commands into 8 KiB).
	MaxLine = 8192
	// TCPIdle closes a TCP connection that sent nothing for this long.
	TCPIdle      = 5 * time.Minute
	cacheTTL     = 60 * time.Second
	cacheEntries = 100000
)

// Server executes rtpproxy-protocol commands against a relay engine and
// serves them over UDP and TCP. It is safe for concurrent use.
type Server struct {
	engine    *relay.Engine
	log       *slog.Logger
	promptDir string
	cache     *replycache.Cache
	now       func() time.Time
	wg        sync.WaitGroup

	// Stats counts commands.
	Stats Stats

	draining    atomic.Bool
	maxSessions atomic.Int64
	observe     atomic.Pointer[func(command string, d time.Duration, failed bool)]
}

// Stats counts commands by kind. Errors counts E replies; Retransmits
// counts commands answered from the reply cache.
type Stats struct {
	Update, Lookup, Delete, Query, Version, Info, DeleteAll, Play, StopPlay atomic.Uint64
	Unsupported, Errors, Retransmits                                        atomic.Uint64
}

// NewServer returns a server driving engine. Prompts for P are read from
// promptDir ("" refuses P).
func NewServer(engine *relay.Engine, promptDir string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{engine: engine, log: log, promptDir: promptDir, cache: replycache.New(cacheTTL, cacheEntries), now: time.Now}
	s.maxSessions.Store(-1)
	return s
}

// SetObserver sets a function called after each executed command (not
// after answers from the reply cache) with the command ("U", "L", "D",
// "Q", "V", "VF", "I", "X", "P", "S"; "?" for unknown or refused ones), how
// long it took, and whether it failed (an E reply).
func (s *Server) SetObserver(f func(command string, d time.Duration, failed bool)) {
	s.observe.Store(&f)
}

// Drain makes every later U that would create a call fail (E8): the daemon
// is shutting down.
func (s *Server) Drain() { s.draining.Store(true) }

// SetMaxSessions limits the number of concurrent calls: a U that would
// create a call beyond it fails (E8). -1 is no limit.
func (s *Server) SetMaxSessions(n int) { s.maxSessions.Store(int64(n)) }

// Process executes one command (a datagram, or a line) from peer and
// returns the reply, "COOKIE RESULT\n", or nil when nothing is to be sent:
// the command has no cookie, or it is a retransmission of a command still
// being executed. A retransmission of an executed command gets the first
// reply again. peer keys the reply cache ("" disables it).
func (s *Server) Process(peer string, msg []byte) []byte {
	req, perr := Parse(string(msg))
	if req.Cookie == "" {
		return nil
	}
	if peer != "" {
		if cached, inFlight := s.cache.Begin(peer, req.Cookie); cached != nil {
			s.Stats.Retransmits.Add(1)
			return cached
		} else if inFlight {
			return nil
		}
	}
	start := s.now()
	var body string
	if perr != nil {
		body = s.fail(req, perr)
	} else {
		body = s.execute(req)
	}
	if f := s.observe.Load(); f != nil {
		(*f)(req.Op.Name(), s.now().Sub(start), len(body) > 1 && body[0] == 'E' && body[1] >= '0' && body[1] <= '9')
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("rtpproxy command", slog.String("peer", peer), slog.String("command", string(bytes.TrimSpace(msg))), slog.String("reply", body))
	}
	out := make([]byte, 0, len(req.Cookie)+len(body)+2)
	out = append(out, req.Cookie...)
	out = append(out, ' ')
	out = append(out, body...)
	out = append(out, '\n')
	if peer != "" {
		s.cache.Finish(peer, req.Cookie, out)
	}
	return out
}

// fail turns an error into its reply body, "E<code>".
func (s *Server) fail(req *Request, err error) string {
	code := ECodeFailed
	var e *Error
	if errors.As(err, &e) {
		code = e.Code
	}
	if req.Op == OpRecord || req.Op == OpCopy || req.Op == OpNoRecord || req.Op == OpStats {
		s.Stats.Unsupported.Add(1)
	}
	s.Stats.Errors.Add(1)
	s.log.Debug("rtpproxy command failed", slog.String("cookie", req.Cookie), slog.String("call-id", req.CallID),
		slog.String("command", string(req.Op)), slog.Any("error", err))
	return "E" + strconv.Itoa(code)
}

// ServeUDP reads commands from conn until ctx ends or conn is closed.
func (s *Server) ServeUDP(ctx context.Context, conn *net.UDPConn) error {
	return serve.UDP(ctx, conn, "rtpproxy", s.log, &s.wg, func(peer netip.AddrPort, msg []byte) []byte {
		if len(msg) > MaxLine {
			s.log.Debug("rtpproxy UDP datagram too long", slog.String("peer", peer.String()), slog.Int("bytes", len(msg)))
			return nil
		}
		return s.Process(peer.String(), msg)
	})
}

// ServeTCP accepts connections on ln until ctx ends or ln is closed. A
// connection carries commands one per line ("\n", optionally "\r\n"),
// answered in order, each reply one "COOKIE RESULT\n". TCP does not lose
// commands, so its replies are not cached.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	return serve.TCP(ctx, ln, "rtpproxy", s.log, s.serveConn)
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	peer := c.RemoteAddr().String()
	r := bufio.NewReaderSize(c, MaxLine)
	for {
		c.SetReadDeadline(time.Now().Add(TCPIdle))
		line, err := r.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				s.log.Warn("rtpproxy TCP line too long: closing", slog.String("peer", peer))
				return
			}
			if len(bytes.TrimSpace(line)) == 0 || !errors.Is(err, io.EOF) {
				return
			}
			// A last command without its newline before EOF.
		}
		if out := s.Process("", line); out != nil {
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, werr := c.Write(out); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
