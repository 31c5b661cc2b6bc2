package replycache

import (
	"testing"
	"time"
)

func TestRetransmissionsGetTheCachedReplyAndInFlightOnesAreDropped(t *testing.T) {
	c := New(time.Minute, 10)
	now := time.Unix(100, 0)
	c.now = func() time.Time { return now }
	if r, inFlight := c.Begin("p", "ck"); r != nil || inFlight {
		t.Fatal("a new request is neither cached nor in flight")
	}
	if _, inFlight := c.Begin("p", "ck"); !inFlight {
		t.Fatal("the same request while executing is not in flight")
	}
	c.Finish("p", "ck", []byte("reply"))
	if r, _ := c.Begin("p", "ck"); string(r) != "reply" {
		t.Fatalf("cached reply %q", r)
	}
	if r, inFlight := c.Begin("other-peer", "ck"); r != nil || inFlight {
		t.Fatal("another peer's cookie hit the cache")
	}
	now = now.Add(2 * time.Minute)
	if r, _ := c.Begin("p", "ck"); r != nil {
		t.Fatal("an expired reply was returned")
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := New(time.Minute, 3)
	for _, ck := range []string{"a", "b", "c", "d", "e"} {
		c.Begin("p", ck)
		c.Finish("p", ck, []byte(ck))
	}
	if c.Len() > 3 {
		t.Fatalf("%d entries, want at most 3", c.Len())
	}
}
