package ng

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/ng/framing"
)

// Client speaks NG to a relay (ngrelay or rtpengine) over UDP or TCP: one
// request at a time, retransmitted over UDP until a reply with its cookie
// arrives. Tests and ngrelay-bench use it.
type Client struct {
	mu      sync.Mutex
	conn    net.Conn
	tcp     *framing.Reader
	timeout time.Duration
	retries int
	buf     []byte
}

// Dial connects to an NG listener; network is "udp" or "tcp".
func Dial(network, addr string) (*Client, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, fmt.Errorf("ng dial %s %s: %w", network, addr, err)
	}
	cl := &Client{conn: c, timeout: time.Second, retries: 4, buf: make([]byte, 65536)}
	if network == "tcp" || network == "tcp4" || network == "tcp6" {
		cl.tcp = framing.NewReader(bufio.NewReader(c), 1<<20)
		cl.retries = 0
		cl.timeout = 10 * time.Second
	}
	return cl, nil
}

// SetTimeout sets how long to wait for each reply (UDP: per transmission).
func (c *Client) SetTimeout(d time.Duration) { c.timeout = d }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// ErrNoReply is returned when no reply arrived in time.
var ErrNoReply = errors.New("ng: no reply")

// Do sends a request dictionary and returns the reply dictionary.
func (c *Client) Do(req bencode.Value) (bencode.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ck [8]byte
	rand.Read(ck[:])
	cookie := hex.EncodeToString(ck[:])
	msg := framing.AppendReply(nil, cookie, bencode.Encode(req))
	for try := 0; try <= c.retries; try++ {
		if _, err := c.conn.Write(msg); err != nil {
			return bencode.Value{}, fmt.Errorf("ng send: %w", err)
		}
		deadline := time.Now().Add(c.timeout)
		for {
			c.conn.SetReadDeadline(deadline)
			var m framing.Message
			var err error
			if c.tcp != nil {
				m, err = c.tcp.Next()
			} else {
				var n int
				n, err = c.conn.Read(c.buf)
				if err == nil {
					m, err = framing.Parse(c.buf[:n])
				}
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return bencode.Value{}, fmt.Errorf("ng receive: %w", err)
			}
			if m.Cookie != cookie {
				continue // a late reply to an earlier request
			}
			if m.JSON {
				return bencode.FromJSON(m.Body, bencode.DefaultLimits)
			}
			return bencode.Decode(m.Body)
		}
	}
	return bencode.Value{}, ErrNoReply
}
