package dtls

import (
	"net"
	"os"
	"sync"
	"time"
)

// maxDatagram is the largest datagram handed to pion/dtls: its read buffer
// (inboundBufferSize in pion/dtls v3) is 8192 bytes, and a longer datagram
// would be truncated.
const maxDatagram = 8192

// peerAddr is the address that the packet transport reports for the peer.
// The transport has one peer, whose real address the caller tracks.
type peerAddr struct{}

func (peerAddr) Network() string { return "udp" }
func (peerAddr) String() string  { return "dtls-peer" }

// localAddr is the transport's own address.
type localAddr struct{}

func (localAddr) Network() string { return "udp" }
func (localAddr) String() string  { return "dtls-local" }

// packetConn is the net.PacketConn that pion/dtls runs over: ReadFrom
// returns the datagrams pushed into a bounded queue (by Endpoint.Deliver),
// WriteTo hands datagrams to a send function. Read deadlines interrupt a
// blocked ReadFrom, as pion's netctx needs to cancel reads.
type packetConn struct {
	in   chan []byte
	send func([]byte) error
	// onSendErr is called for each failed send (counting).
	onSendErr func(error)

	closeOnce sync.Once
	closed    chan struct{}

	mu sync.Mutex
	// rdDone is closed when the read deadline passes; rdFired says it
	// is; rdGen counts SetReadDeadline calls so that a stale timer does
	// not fire.
	rdDone        chan struct{}
	rdFired       bool
	rdGen         uint64
	rdTimer       *time.Timer
	writeDeadline time.Time
}

func newPacketConn(queueLen int, send func([]byte) error, onSendErr func(error)) *packetConn {
	return &packetConn{
		in:        make(chan []byte, queueLen),
		send:      send,
		onSendErr: onSendErr,
		closed:    make(chan struct{}),
		rdDone:    make(chan struct{}),
	}
}

// push queues a copy of pkt for ReadFrom without blocking. It reports
// false, dropping the datagram, when the queue is full or the transport
// closed.
func (c *packetConn) push(pkt []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	b := make([]byte, len(pkt))
	copy(b, pkt)
	select {
	case c.in <- b:
		return true
	default:
		return false
	}
}

// ReadFrom implements net.PacketConn.
func (c *packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	expired := c.rdDone
	c.mu.Unlock()
	select {
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-expired:
		return 0, nil, os.ErrDeadlineExceeded
	default:
	}
	select {
	case b := <-c.in:
		return copy(p, b), peerAddr{}, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-expired:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo implements net.PacketConn. The datagram goes to the send
// function whatever addr is. Like a UDP socket, it does not report a
// failed send to pion (which would abort the handshake): the datagram is
// counted as lost and the DTLS retransmission timer recovers.
func (c *packetConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.mu.Lock()
	wd := c.writeDeadline
	c.mu.Unlock()
	if !wd.IsZero() && !time.Now().Before(wd) {
		return 0, os.ErrDeadlineExceeded
	}
	if err := c.send(p); err != nil && c.onSendErr != nil {
		c.onSendErr(err)
	}
	return len(p), nil
}

// Close implements net.PacketConn.
func (c *packetConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// LocalAddr implements net.PacketConn.
func (c *packetConn) LocalAddr() net.Addr { return localAddr{} }

// SetDeadline implements net.PacketConn.
func (c *packetConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline implements net.PacketConn. It interrupts a ReadFrom in
// progress when t has passed.
func (c *packetConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rdTimer != nil {
		c.rdTimer.Stop()
		c.rdTimer = nil
	}
	c.rdGen++
	if c.rdFired {
		c.rdDone = make(chan struct{})
		c.rdFired = false
	}
	if t.IsZero() {
		return nil
	}
	d := time.Until(t)
	if d <= 0 {
		close(c.rdDone)
		c.rdFired = true
		return nil
	}
	gen := c.rdGen
	c.rdTimer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.rdGen == gen && !c.rdFired {
			close(c.rdDone)
			c.rdFired = true
		}
	})
	return nil
}

// SetWriteDeadline implements net.PacketConn. Sends never block, so the
// deadline only fails writes attempted after it.
func (c *packetConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDeadline = t
	c.mu.Unlock()
	return nil
}
