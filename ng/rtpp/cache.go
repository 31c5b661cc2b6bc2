package rtpp

import (
	"sync"
	"time"
)

// replyCache remembers the reply to each (peer, cookie) for a while, so
// that a retransmitted command is answered again without being executed
// twice. A command being executed is marked in flight: its retransmissions
// are dropped (the proxy retransmits again and then gets the cached reply).
type replyCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[cacheKey]*cacheEntry
	order   []cacheKey // insertion order, for expiry
	now     func() time.Time
}

type cacheKey struct{ peer, cookie string }

type cacheEntry struct {
	reply   []byte // nil while in flight
	expires time.Time
}

func newReplyCache(ttl time.Duration, max int) *replyCache {
	return &replyCache{ttl: ttl, max: max, entries: map[cacheKey]*cacheEntry{}, now: time.Now}
}

// begin looks the command up: it returns the cached reply if there is one,
// inFlight if the same command is being executed, or neither, and then the
// caller executes it and calls finish.
func (c *replyCache) begin(peer, cookie string) (reply []byte, inFlight bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expire(now)
	k := cacheKey{peer, cookie}
	if e, ok := c.entries[k]; ok {
		return e.reply, e.reply == nil
	}
	if len(c.entries) >= c.max && len(c.order) > 0 {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[k] = &cacheEntry{expires: now.Add(c.ttl)}
	c.order = append(c.order, k)
	return nil, false
}

// finish stores the reply of an executed command; a nil reply forgets it.
func (c *replyCache) finish(peer, cookie string, reply []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{peer, cookie}
	if e, ok := c.entries[k]; ok {
		if reply == nil {
			delete(c.entries, k)
			return
		}
		e.reply = reply
		e.expires = c.now().Add(c.ttl)
	}
}

// expire drops the entries past their time. c.mu is held.
func (c *replyCache) expire(now time.Time) {
	n := 0
	for n < len(c.order) {
		e, ok := c.entries[c.order[n]]
		if ok && now.Before(e.expires) {
			break
		}
		if ok {
			delete(c.entries, c.order[n])
		}
		n++
	}
	if n > 0 {
		c.order = c.order[n:]
	}
}

func (c *replyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
