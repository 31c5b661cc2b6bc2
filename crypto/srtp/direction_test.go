package srtp

import (
	"errors"
	"runtime"
	"testing"
)

// TestOneDirectionContexts: a context made for one direction refuses the
// other with ErrDirection, and keeps markedly less state than one made for
// both (a relay stream only ever uses one direction).
func TestOneDirectionContexts(t *testing.T) {
	p := Params{Suite: AES128CMSHA1_80, MasterKey: make([]byte, 16), MasterSalt: make([]byte, 14)}
	buf := make([]byte, 256)
	copy(buf, []byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	tx, err := NewContextFor(p, ProtectOnly)
	if err != nil {
		t.Fatal(err)
	}
	n, err := tx.ProtectRTP(buf, 172)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.UnprotectRTP(buf, n); !errors.Is(err, ErrDirection) {
		t.Fatalf("protect-only context unprotects: %v", err)
	}
	rx, err := NewContextFor(p, UnprotectOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rx.ProtectRTCP(buf, 8); !errors.Is(err, ErrDirection) {
		t.Fatalf("unprotect-only context protects: %v", err)
	}
	if m, err := rx.UnprotectRTP(buf, n); err != nil || m != 172 {
		t.Fatalf("unprotect-only context: %d, %v", m, err)
	}

	heap := func(d Direction) float64 {
		const count = 300
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		keep := make([]*Context, count)
		for i := range keep {
			if keep[i], err = NewContextFor(p, d); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(keep)
		return float64(after.HeapAlloc-before.HeapAlloc) / count
	}
	both, one := heap(Both), heap(ProtectOnly)
	t.Logf("live heap per context: %.0f bytes for both directions, %.0f for one", both, one)
	if one > 0.7*both {
		t.Fatalf("a one-direction context keeps %.0f bytes, a two-direction one %.0f", one, both)
	}
}
