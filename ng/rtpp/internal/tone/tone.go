// Package tone makes the prompts that ngrelay ships: one second of a
// 440 Hz tone, 8000 samples/s, as raw G.711 payload files laid out as
// rtpproxy's makeann writes them (NAME.PT).
package tone

import (
	"math"

	"github.com/ngrelay/ngrelay/ng/rtpp/internal/g711"
)

// Samples returns the tone: 1 s of 440 Hz at -12 dBFS with 10 ms fades at
// both ends, so that a looped prompt does not click.
func Samples() []int16 {
	const rate, freq, amp, fade = 8000, 440.0, 0.25 * 32767, 80
	out := make([]int16, rate)
	for i := range out {
		g := 1.0
		if i < fade {
			g = float64(i) / fade
		} else if rate-1-i < fade {
			g = float64(rate-1-i) / fade
		}
		out[i] = int16(math.Round(amp * g * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return out
}

// Files returns the prompt files by name: tone.0 (PCMU) and tone.8 (PCMA).
func Files() map[string][]byte {
	s := Samples()
	u, a := make([]byte, len(s)), make([]byte, len(s))
	for i, v := range s {
		u[i], a[i] = g711.ULaw(v), g711.ALaw(v)
	}
	return map[string][]byte{"tone.0": u, "tone.8": a}
}
