// Package cli serves rtpengine's CLI protocol (--listen-cli) so that
// rtpengine-ctl, and ngrelay-ctl, work against ngrelay unchanged: a client
// connects over TCP, sends one command line ("list totals\n"), and reads
// the reply text until the server closes the connection.
//
// Commands and reply formats follow rtpengine 10.5 (daemon/cli.c): the
// same words, the same matching (each word is matched as a prefix and one
// separator character is skipped after it), the same texts and alignment,
// with the values taken from ngrelay's engine. What ngrelay does not have
// (kernel forwarding, transcoding, Redis, MOS, foreign calls) reads as
// zero or empty, as on an rtpengine that does not use it.
package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/relay"
)

// Defaults of the connection limits; see the fields of Server.
const (
	DefaultReadTimeout  = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultMaxLine      = 4096
	DefaultMaxConns     = 64
)

// Server executes CLI commands against an engine and its NG handler.
type Server struct {
	// ReadTimeout bounds the time from accepting a connection until its
	// command line has arrived; a client that is slower is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time to write the reply.
	WriteTimeout time.Duration
	// MaxLine is the longest command line accepted, newline included; a
	// client sending more without a newline is cut off.
	MaxLine int
	// MaxConns is how many connections are served at once; further ones
	// wait in the listen backlog.
	MaxConns int

	engine  *relay.Engine
	handler *ng.Handler
	level   *slog.LevelVar
	syslog  *atomic.Int32
	log     *slog.Logger
	started time.Time

	// setMu serialises read-modify-write changes of the engine's
	// configuration ("set timeout" and friends).
	setMu sync.Mutex
	now   func() time.Time
}

// New returns a CLI server for engine and handler. level is the daemon's
// log level and syslogLevel the syslog number (0-7) it was set from; "set
// loglevel" changes both, "list loglevel" prints the number. Any of
// handler, level, syslogLevel and log may be nil.
func New(engine *relay.Engine, handler *ng.Handler, level *slog.LevelVar, syslogLevel *atomic.Int32, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if level == nil {
		level = new(slog.LevelVar)
	}
	if syslogLevel == nil {
		syslogLevel = new(atomic.Int32)
		syslogLevel.Store(syslogFromSlog(level.Level()))
	}
	started := time.Now()
	if handler != nil {
		started = handler.Started()
	}
	return &Server{
		ReadTimeout:  DefaultReadTimeout,
		WriteTimeout: DefaultWriteTimeout,
		MaxLine:      DefaultMaxLine,
		MaxConns:     DefaultMaxConns,
		engine:       engine,
		handler:      handler,
		level:        level,
		syslog:       syslogLevel,
		log:          log,
		started:      started,
		now:          time.Now,
	}
}

// ForcedTerminations is the number of calls ended by "terminate": the
// "forcedterminatedsessions" of the statistics.
func (s *Server) ForcedTerminations() uint64 { return s.engine.Totals().ForcedTerminations.Load() }

// Execute runs one command line (without its newline) and returns the
// reply text, as sent to a CLI client.
func (s *Server) Execute(line string) string {
	var w out
	s.dispatch(topCommands, line, &w)
	return w.String()
}

// Serve accepts CLI connections on ln until ctx ends or ln is closed, and
// returns once every connection is finished. It returns nil when stopped
// by ctx or by closing ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	slots := make(chan struct{}, maxConns)
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Warn("CLI accept", slog.Any("error", err))
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() { <-slots }()
			s.serveConn(ctx, c)
		}()
	}
}

// serveConn reads one command line, executes it, writes the reply and
// closes the connection.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	peer := c.RemoteAddr().String()

	readTimeout := s.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = DefaultReadTimeout
	}
	maxLine := s.MaxLine
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	c.SetReadDeadline(time.Now().Add(readTimeout))
	line, err := readLine(c, maxLine)
	if err != nil {
		s.log.Debug("CLI connection dropped", slog.String("peer", peer), slog.Any("error", err))
		return
	}
	s.log.Debug("CLI command", slog.String("peer", peer), slog.String("command", line))
	reply := s.Execute(line)

	writeTimeout := s.WriteTimeout
	if writeTimeout <= 0 {
		writeTimeout = DefaultWriteTimeout
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(c, reply); err != nil {
		s.log.Debug("CLI reply", slog.String("peer", peer), slog.Any("error", err))
		return
	}
	// Close gracefully: closing with unread input would reset the
	// connection and could destroy the reply in flight. Signal the end of
	// the reply, then drain (boundedly) until the client closes.
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		c.SetReadDeadline(time.Now().Add(time.Second))
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}
}

// out collects a reply. call is the call of a "call CALL-ID ..." command,
// for its sub-commands.
type out struct {
	bytes.Buffer
	call *relay.Call
}

// errLineTooLong is returned for a command line longer than the limit.
var errLineTooLong = errors.New("command line too long")

// readLine reads up to the first newline, at most max bytes. A client that
// closes its side after a command without newline gets it executed too.
// A trailing carriage return is removed.
func readLine(r io.Reader, max int) (string, error) {
	buf := make([]byte, max)
	n := 0
	for {
		if n == len(buf) {
			return "", errLineTooLong
		}
		m, err := r.Read(buf[n:])
		if i := bytes.IndexByte(buf[n:n+m], '\n'); i >= 0 {
			line := buf[:n+i]
			return string(bytes.TrimSuffix(line, []byte("\r"))), nil
		}
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				return string(bytes.TrimSuffix(buf[:n], []byte("\r"))), nil
			}
			return "", err
		}
	}
}
