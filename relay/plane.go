package relay

import (
	"fmt"
	"log/slog"
)

// IO engine names for Config.IOEngine.
const (
	IOEngineEpoll   = "epoll"
	IOEngineIOURing = "io_uring"
)

// newDataPlane starts the data plane of the named kind.
func newDataPlane(kind string, workers, maxStreams int, log *slog.Logger) (dataPlane, error) {
	switch kind {
	case "", IOEngineEpoll:
		return newEpollPlane(workers, maxStreams, log)
	case IOEngineIOURing, "io-uring", "iouring":
		return newURingPlane(workers, maxStreams, log)
	}
	return nil, fmt.Errorf("unknown IO engine %q (want %s or %s)", kind, IOEngineEpoll, IOEngineIOURing)
}
