// Package replycache remembers the replies of control protocols (NG and
// rtpproxy) by peer and cookie, so that a retransmitted request is answered
// again without being executed twice.
package replycache

import (
	"sync"
	"time"
)

// Cache remembers the reply to each (peer, cookie) for a while, so
// that a retransmitted command is answered again without being executed
// twice. A command being executed is marked in flight: its retransmissions
// are dropped (the proxy retransmits again and then gets the cached reply).
type Cache struct {
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

// New returns a cache keeping replies for ttl, at most max entries.
func New(ttl time.Duration, max int) *Cache {
	return &Cache{ttl: ttl, max: max, entries: map[cacheKey]*cacheEntry{}, now: time.Now}
}

// Begin looks the command up: it returns the cached reply if there is one,
// inFlight if the same command is being executed, or neither, and then the
// caller executes it and calls finish.
func (c *Cache) Begin(peer, cookie string) (reply []byte, inFlight bool) {
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

// Finish stores the reply of an executed command; a nil reply forgets it.
func (c *Cache) Finish(peer, cookie string, reply []byte) {
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
func (c *Cache) expire(now time.Time) {
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

// Len is the number of entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
