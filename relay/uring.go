package relay

import (
	"errors"
	"log/slog"
)

// newURingPlane starts the io_uring data plane.
func newURingPlane(workers, maxStreams int, log *slog.Logger) (dataPlane, error) {
	return nil, errors.New("the io_uring engine is not available in this build")
}
