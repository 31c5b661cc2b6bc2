//go:build race

package srtp

// raceEnabled: the race detector changes allocation counts (and makes
// sync.Pool drop items), so allocation checks are skipped.
const raceEnabled = true
