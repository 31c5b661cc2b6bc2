package relay

import (
	"log/slog"
	"time"
)

// errorReportInterval is the least time between two warnings about one
// stream's errors.
const errorReportInterval = 10 * time.Second

// reportErrors logs, at most once per errorReportInterval per stream, how
// many bad packets (malformed, failed authentication, replayed, from a
// stranger under strict-source, ...) each stream dropped since the last
// warning. The data plane only counts; the warnings come from here, on the
// janitor's tick. The call must be locked.
func (c *Call) reportErrors(now time.Time) {
	for _, l := range c.legs {
		for _, m := range l.Medias {
			for _, s := range []*Stream{m.RTP, m.RTCP} {
				if s == nil {
					continue
				}
				n := s.Stats.Errors.Load()
				if n == s.errReported || now.Sub(s.errReportedAt) < errorReportInterval {
					continue
				}
				c.Log.Warn("media errors", slog.String("tag", l.Tag), slog.Int("local-port", s.port),
					slog.String("kind", s.kind.String()), slog.Uint64("dropped", n-s.errReported),
					slog.Uint64("total", n))
				s.errReported, s.errReportedAt = n, now
			}
		}
	}
}
