package g711

import "testing"

func TestKnownValues(t *testing.T) {
	for _, c := range []struct {
		in   int16
		u, a byte
	}{
		{0, 0xff, 0xd5},
		{32767, 0x80, 0xaa},
		{-32768, 0x00, 0x2a},
		{-1, 0x7e, 0x55}, // as the reference (Sun) encoder: -1>>2 is -1
	} {
		if got := ULaw(c.in); got != c.u {
			t.Errorf("ULaw(%d) = %#x, want %#x", c.in, got, c.u)
		}
		if got := ALaw(c.in); got != c.a {
			t.Errorf("ALaw(%d) = %#x, want %#x", c.in, got, c.a)
		}
	}
}

// TestMonotonic: a larger positive sample never encodes to a smaller
// magnitude code.
func TestMonotonic(t *testing.T) {
	prevU, prevA := -1, -1
	for s := 0; s <= 32767; s++ {
		u := int(^ULaw(int16(s)) & 0x7f)
		a := int((ALaw(int16(s)) ^ 0xd5) & 0x7f)
		if u < prevU || a < prevA {
			t.Fatalf("not monotonic at %d: u %d<%d or a %d<%d", s, u, prevU, a, prevA)
		}
		prevU, prevA = u, a
	}
}
