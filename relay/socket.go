package relay

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockOpts are the socket options of media sockets.
type sockOpts struct {
	tos            int
	rcvBuf, sndBuf int
}

// openUDP creates a non-blocking UDP socket bound on addr:port. The socket
// is not known to the Go runtime's network poller: the data plane drives it
// with epoll and recvmmsg/sendmmsg.
func openUDP(addr netip.Addr, port int, o sockOpts) (int, error) {
	family := unix.AF_INET
	if addr.Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", what, err)
	}
	if addr.Is6() {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
	}
	if o.tos != 0 {
		if err := setTOSFd(fd, addr.Is4(), o.tos); err != nil {
			return fail("TOS", err)
		}
	}
	if o.rcvBuf > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvBuf); err != nil {
			return fail("SO_RCVBUF", err)
		}
	}
	if o.sndBuf > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, o.sndBuf); err != nil {
			return fail("SO_SNDBUF", err)
		}
	}
	var sa unix.Sockaddr
	if addr.Is4() {
		sa = &unix.SockaddrInet4{Port: port, Addr: addr.As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: port, Addr: addr.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail(fmt.Sprintf("bind %s", netip.AddrPortFrom(addr, uint16(port))), err)
	}
	return fd, nil
}

// setTOSFd sets IP_TOS or IPV6_TCLASS.
func setTOSFd(fd int, v4 bool, tos int) error {
	if v4 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tos)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
}

// sockaddr is a raw socket address buffer, large enough for IPv6.
type sockaddr = unix.RawSockaddrInet6

// addrPortFrom decodes a raw socket address filled in by the kernel. It
// allocates nothing.
func addrPortFrom(sa *sockaddr) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// putSockaddr encodes ap for a socket of the given family (IPv4 or IPv6)
// into sa and returns its length, or 0 when ap cannot be reached from such
// a socket.
func putSockaddr(sa *sockaddr, ap netip.AddrPort, v6Socket bool) uint32 {
	a := ap.Addr()
	if !v6Socket {
		if !a.Is4() {
			return 0
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], ap.Port())
		sa4.Addr = a.As4()
		sa4.Zero = [8]uint8{}
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], ap.Port())
	sa.Flowinfo = 0
	sa.Addr = a.As16() // an IPv4 address becomes v4-mapped; V6ONLY sockets will refuse it
	sa.Scope_id = 0
	return unix.SizeofSockaddrInet6
}
