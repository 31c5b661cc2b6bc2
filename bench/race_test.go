//go:build race

package bench

// raceEnabled: the race detector changes allocation counts (pion/srtp
// and the standard library use sync.Pool, whose items it drops), so the
// SRTP allocation check is skipped.
const raceEnabled = true
