package relay

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// StreamKind says whether a stream carries RTP or RTCP.
type StreamKind uint8

// Stream kinds.
const (
	KindRTP StreamKind = iota
	KindRTCP
)

func (k StreamKind) String() string {
	if k == KindRTCP {
		return "RTCP"
	}
	return "RTP"
}

// Counters count what a stream received. They are written by the data plane
// and read by the control plane, both without locks.
type Counters struct {
	Packets atomic.Uint64
	Bytes   atomic.Uint64
	Errors  atomic.Uint64
}

// Latching says how a stream learns its peer's address from media.
type Latching uint8

// Latching modes, rtpengine's flags.
const (
	// LatchSymmetric learns the peer from the first packet received and
	// sends there (rtpengine's default, "symmetric").
	LatchSymmetric Latching = iota
	// LatchAsymmetric never learns: media goes to the address from SDP
	// ("asymmetric").
	LatchAsymmetric
)

// forwarding is the immutable forwarding record of a stream: everything the
// data plane needs to move a packet received on the stream. The control
// plane builds a new one and publishes it with one atomic store.
type forwarding struct {
	// sink is the stream on the other leg that packets leave from, or nil
	// when there is nowhere to send yet (offer not answered).
	sink *Stream
	// latch is how the peer endpoint is learned.
	latch Latching
	// strictSource drops packets whose source is not the peer endpoint
	// once it is known ("strict-source").
	strictSource bool
	// handover lets a confirmed peer move to a new source address
	// ("media-handover").
	handover bool
}

// Stream is one local port bound on one interface address: the port that
// was advertised to one leg, on which that leg's media arrives and from
// which media to that leg leaves.
type Stream struct {
	local *LocalAddr
	port  int
	kind  StreamKind
	conn  *net.UDPConn
	media *Media // owner; read by the control plane only

	fwd       atomic.Pointer[forwarding]
	peer      atomic.Pointer[netip.AddrPort] // where media to this leg goes
	confirmed atomic.Bool                    // peer learned from media
	closed    atomic.Bool

	// Stats counts packets received on this stream.
	Stats      Counters
	lastPacket atomic.Int64  // unix nanoseconds of the last packet received
	sendErrors atomic.Uint64 // sends from this stream that failed
}

// LocalPort returns the stream's bound port.
func (s *Stream) LocalPort() int { return s.port }

// Local returns the stream's interface address.
func (s *Stream) Local() *LocalAddr { return s.local }

// Kind reports RTP or RTCP.
func (s *Stream) Kind() StreamKind { return s.kind }

// Peer returns where media to this stream's leg is sent, and whether the
// address was learned from received media.
func (s *Stream) Peer() (netip.AddrPort, bool) {
	p := s.peer.Load()
	if p == nil {
		return netip.AddrPort{}, false
	}
	return *p, s.confirmed.Load()
}

// LastPacket returns the unix time in nanoseconds of the last packet
// received (or of the stream's creation).
func (s *Stream) LastPacket() int64 { return s.lastPacket.Load() }

// setPeer sets the endpoint announced in SDP. A change of address undoes
// what latching learned, as a re-INVITE to a new address must.
func (s *Stream) setPeer(ap netip.AddrPort) {
	old := s.peer.Load()
	if old != nil && *old == ap {
		return
	}
	if !ap.IsValid() || ap.Port() == 0 || ap.Addr().IsUnspecified() {
		s.peer.Store(nil)
	} else {
		s.peer.Store(&ap)
	}
	s.confirmed.Store(false)
}

func (s *Stream) close() {
	if s.closed.Swap(true) {
		return
	}
	s.conn.Close()
}

// setTOS sets IP_TOS or IPV6_TCLASS on a bound socket.
func setTOS(c *net.UDPConn, v4 bool, tos int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if v4 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, tos)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// sockOpts are the socket options of media sockets.
type sockOpts struct {
	tos            int
	rcvBuf, sndBuf int
}

// bindUDP binds a UDP socket on addr:port with the given options.
func bindUDP(addr netip.Addr, port int, o sockOpts) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			set := func(level, opt, v int) {
				if v != 0 && serr == nil {
					serr = unix.SetsockoptInt(int(fd), level, opt, v)
				}
			}
			if addr.Is4() {
				set(unix.IPPROTO_IP, unix.IP_TOS, o.tos)
			} else {
				set(unix.IPPROTO_IPV6, unix.IPV6_TCLASS, o.tos)
			}
			set(unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvBuf)
			set(unix.SOL_SOCKET, unix.SO_SNDBUF, o.sndBuf)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network := "udp4"
	if addr.Is6() {
		network = "udp6"
	}
	pc, err := lc.ListenPacket(context.Background(), network, netip.AddrPortFrom(addr, uint16(port)).String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}
