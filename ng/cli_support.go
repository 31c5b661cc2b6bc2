package ng

import "time"

// Started returns when the handler was created: the daemon's start, for
// the CLI's uptime.
func (h *Handler) Started() time.Time { return h.started }
