package dtls

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// levelTrace is the slog level of pion's trace messages, below Debug.
const levelTrace = slog.LevelDebug - 4

// pionLogFactory makes pion loggers that write to a slog.Logger.
type pionLogFactory struct{ log *slog.Logger }

func (f pionLogFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

// pionLogger is a pion logging.LeveledLogger over slog. Formatting is
// skipped for levels the handler does not want.
type pionLogger struct{ log *slog.Logger }

func (l pionLogger) out(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l pionLogger) outf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.out(levelTrace, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.outf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.out(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.outf(slog.LevelDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.out(slog.LevelInfo, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.outf(slog.LevelInfo, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.out(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.outf(slog.LevelWarn, format, args...) }
func (l pionLogger) Error(msg string)                  { l.out(slog.LevelError, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.outf(slog.LevelError, format, args...) }
