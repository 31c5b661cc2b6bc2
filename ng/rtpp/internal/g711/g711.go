// Package g711 encodes 16-bit linear PCM to G.711 mu-law (PCMU) and A-law
// (PCMA), ITU-T G.711's segment tables, for the prompt generator.
package g711

// segment returns the first segment whose end is at least v, or 8.
func segment(v int, ends *[8]int) int {
	for i, e := range ends {
		if v <= e {
			return i
		}
	}
	return 8
}

var (
	uEnds = [8]int{0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff}
	aEnds = [8]int{0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff}
)

// ULaw encodes one sample in mu-law.
func ULaw(sample int16) byte {
	const clip, bias = 8159, 0x84 >> 2
	v := int(sample) >> 2
	mask := byte(0xff)
	if v < 0 {
		v, mask = -v, 0x7f
	}
	v = min(v, clip) + bias
	seg := segment(v, &uEnds)
	if seg >= 8 {
		return 0x7f ^ mask
	}
	return (byte(seg<<4) | byte((v>>(seg+1))&0x0f)) ^ mask
}

// ALaw encodes one sample in A-law.
func ALaw(sample int16) byte {
	v := int(sample) >> 3
	mask := byte(0xd5)
	if v < 0 {
		v, mask = -v-1, 0x55
	}
	seg := segment(v, &aEnds)
	if seg >= 8 {
		return 0x7f ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte((v >> 1) & 0x0f)
	} else {
		a |= byte((v >> seg) & 0x0f)
	}
	return a ^ mask
}
