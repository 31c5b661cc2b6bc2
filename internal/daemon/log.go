package daemon

import (
	"io"
	"log/slog"

	"github.com/ngrelay/ngrelay/internal/config"
)

// SlogLevel maps a syslog priority (rtpengine's --log-level, 0 emerg to 7
// debug) to the slog level that shows the same messages.
func SlogLevel(syslog int) slog.Level {
	switch {
	case syslog >= 7:
		return slog.LevelDebug
	case syslog >= 5: // notice, info
		return slog.LevelInfo
	case syslog == 4:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// NewLogger returns the daemon's logger writing to w, in the configured
// format, at a level that can change at run time.
func NewLogger(w io.Writer, cfg config.Config, level *slog.LevelVar) *slog.Logger {
	level.Set(SlogLevel(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.NoLogTimestamps {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	if cfg.LogFormat == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
