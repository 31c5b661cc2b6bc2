package relay

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestPortPoolHandsOutEvenPortsOfPairsInsideTheRange(t *testing.T) {
	p, err := NewPortPool(30001, 30010, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Pairs inside 30001-30010: 30002/3, 30004/5, 30006/7, 30008/9.
	if p.Size() != 4 {
		t.Fatalf("size %d, want 4", p.Size())
	}
	seen := map[int]bool{}
	for range 4 {
		port, err := p.Allocate(func(int) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if port%2 != 0 || port < 30002 || port+1 > 30010 || seen[port] {
			t.Fatalf("bad port %d (seen %v)", port, seen)
		}
		seen[port] = true
	}
	if _, err := p.Allocate(func(int) error { return nil }); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted pool: err %v, want ErrNoPorts", err)
	}
}

func TestPortPoolRejectsARangeWithoutAPair(t *testing.T) {
	if _, err := NewPortPool(30001, 30002, 0); err == nil {
		t.Fatal("a range without an even/odd pair was accepted")
	}
}

func TestPortPoolNeverHandsOutAPortTwiceUnderConcurrentAllocation(t *testing.T) {
	p, err := NewPortPool(40000, 40999, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				port, err := p.Allocate(func(int) error { return nil })
				if err != nil {
					if errors.Is(err, ErrNoPorts) {
						return
					}
					t.Error(err)
					return
				}
				mu.Lock()
				got[port]++
				mu.Unlock()
				if (g+i)%3 == 0 {
					// give some back while others allocate
					mu.Lock()
					got[port]--
					mu.Unlock()
					p.Release(port)
				}
			}
		}()
	}
	wg.Wait()
	for port, n := range got {
		if n > 1 {
			t.Fatalf("port %d held %d times at once", port, n)
		}
	}
}

func TestPortPoolPrefersFreePairsOverQuarantinedOnes(t *testing.T) {
	p, err := NewPortPool(50000, 50005, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(int) error { return nil }
	a, _ := p.Allocate(ok)
	p.Release(a)
	for range 2 {
		if got, _ := p.Allocate(ok); got == a {
			t.Fatalf("quarantined pair %d handed out while others were free", a)
		}
	}
}

func TestPortPoolQuarantinesFreedPairs(t *testing.T) {
	p, err := NewPortPool(50000, 50003, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	ok := func(int) error { return nil }
	a, _ := p.Allocate(ok)
	b, _ := p.Allocate(ok)
	p.Release(b)
	p.Release(a)
	if p.Free() != 0 {
		t.Fatalf("free %d during quarantine", p.Free())
	}
	// Exhausted but for quarantined pairs: the longest-quarantined one (b)
	// is handed out early and counted, rather than refusing.
	c, err := p.Allocate(ok)
	if err != nil || c != b || p.Overrides() != 1 {
		t.Fatalf("got %d, %v, overrides %d; want %d, nil, 1", c, err, p.Overrides(), b)
	}
	now = now.Add(time.Minute)
	if p.Free() != 1 {
		t.Fatalf("free %d after quarantine, want 1", p.Free())
	}
	d, err := p.Allocate(ok)
	if err != nil || d != a || p.Overrides() != 1 {
		t.Fatalf("after quarantine got %d, %v; want %d without override", d, err, a)
	}
}

func TestPortPoolSkipsPortsItCannotBind(t *testing.T) {
	p, err := NewPortPool(50000, 50005, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	busy := errors.New("address in use")
	port, err := p.Allocate(func(port int) error {
		if port == 50000 {
			return busy
		}
		return nil
	})
	if err != nil || port != 50002 {
		t.Fatalf("got %d, %v; want 50002", port, err)
	}
	_, err = p.Allocate(func(int) error { return busy })
	if !errors.Is(err, ErrNoPorts) {
		t.Fatalf("all busy: err %v, want ErrNoPorts", err)
	}
}
