package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"strings"
	"sync"

	"github.com/ngrelay/ngrelay/internal/config"
)

// facilities maps rtpengine's --log-facility names to syslog facilities.
var facilities = map[string]syslog.Priority{
	"kern": syslog.LOG_KERN, "user": syslog.LOG_USER, "mail": syslog.LOG_MAIL, "daemon": syslog.LOG_DAEMON,
	"auth": syslog.LOG_AUTH, "syslog": syslog.LOG_SYSLOG, "lpr": syslog.LOG_LPR, "news": syslog.LOG_NEWS,
	"uucp": syslog.LOG_UUCP, "cron": syslog.LOG_CRON, "authpriv": syslog.LOG_AUTHPRIV, "ftp": syslog.LOG_FTP,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
	"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

// NewSyslogLogger returns a logger that sends to syslog with the configured
// facility (rtpengine's default when --log-stderr is not given). network and
// raddr name the syslog socket ("" and "" for the local default). Each
// record is one syslog message, its priority from the record's level, its
// text in the configured format without the time (syslog adds it).
func NewSyslogLogger(network, raddr string, cfg config.Config, level *slog.LevelVar) (*slog.Logger, error) {
	fac, ok := facilities[strings.ToLower(cfg.LogFacility)]
	if !ok {
		fac = syslog.LOG_DAEMON
	}
	w, err := syslog.Dial(network, raddr, fac|syslog.LOG_INFO, "ngrelay")
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	level.Set(SlogLevel(cfg.LogLevel))
	h := &syslogHandler{shared: &syslogShared{w: w}}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return slog.Attr{}
		}
		return a
	}}
	if cfg.LogFormat == config.LogFormatJSON {
		h.inner = slog.NewJSONHandler(&h.shared.buf, opts)
	} else {
		h.inner = slog.NewTextHandler(&h.shared.buf, opts)
	}
	return slog.New(h), nil
}

type syslogShared struct {
	mu  sync.Mutex
	buf bytes.Buffer
	w   *syslog.Writer
}

// syslogHandler formats with a standard slog handler into a buffer and
// sends the result at the record's priority.
type syslogHandler struct {
	inner  slog.Handler
	shared *syslogShared
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	msg := strings.TrimRight(s.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return s.w.Err(msg)
	case r.Level >= slog.LevelWarn:
		return s.w.Warning(msg)
	case r.Level >= slog.LevelInfo:
		return s.w.Info(msg)
	}
	return s.w.Debug(msg)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syslogHandler{inner: h.inner.WithAttrs(as), shared: h.shared}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{inner: h.inner.WithGroup(name), shared: h.shared}
}
