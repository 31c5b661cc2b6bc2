package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Packet layout: a 12-byte RTP header (V=2, PT 0, sequence number,
// timestamp, SSRC) and a payload whose first bytes carry what the receiver
// needs; the rest is PCMU silence (0xff).
const (
	rtpHeaderLen = 12
	offSendNs    = rtpHeaderLen + 0  // int64, CLOCK_REALTIME ns just before sendmmsg
	offStream    = rtpHeaderLen + 8  // uint32 stream id
	offSeq       = rtpHeaderLen + 12 // uint32 sequence number of the stream
	offFlags     = rtpHeaderLen + 16 // byte: flagMeasured
	// MinPayload is the smallest payload size the generator can send.
	MinPayload = 17
	// MaxPayload keeps a packet within the receive buffers.
	MaxPayload = recvBufSize - rtpHeaderLen - 64

	flagMeasured = 1

	// batchSize is how many datagrams one sendmmsg or recvmmsg moves.
	batchSize   = 64
	recvBufSize = 2048
	// ctrlSize holds an SO_TIMESTAMPNS control message (16-byte header and
	// a 16-byte timespec) with room to spare.
	ctrlSize = 64
)

var ne = binary.NativeEndian

// udpSocket opens a non-blocking UDP socket bound to addr (port 0: any)
// with kernel receive timestamps on, and returns it and its local address.
func udpSocket(addr netip.AddrPort, rcvbuf int) (int, netip.AddrPort, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, netip.AddrPort{}, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, netip.AddrPort, error) {
		unix.Close(fd)
		return -1, netip.AddrPort{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	if rcvbuf > 0 {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, rcvbuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}); err != nil {
		return fail("bind "+addr.String(), err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	s4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return fail("getsockname", fmt.Errorf("not IPv4: %T", sa))
	}
	return fd, netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(s4.Port)), nil
}

func connectUDP(fd int, to netip.AddrPort) error {
	if !to.Addr().Is4() {
		return fmt.Errorf("connect %s: only IPv4 is supported", to)
	}
	return unix.Connect(fd, &unix.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()})
}

// sendBatch holds up to batchSize outgoing packets of one size and the
// mmsghdrs pointing at them. Each packet has a slot of stride bytes, with
// room after the packet for an SRTP tag. Nothing is allocated after
// newSendBatch.
type sendBatch struct {
	msgs     []unix.Mmsghdr
	iovs     []unix.Iovec
	bufs     []byte
	pktLen   int // RTP packet length, header and payload
	stride   int // bytes per packet slot
	measured [batchSize]bool
	// dirty marks slots whose packet was encrypted in place: the next
	// fill restores the filler and the length.
	dirty [batchSize]bool
}

// srtpRoom is the room kept after each outgoing packet for what SRTP
// appends (a 16-byte tag at most with the suites used, no MKI).
const srtpRoom = 32

func newSendBatch(payload int) *sendBatch {
	b := &sendBatch{
		msgs:   make([]unix.Mmsghdr, batchSize),
		iovs:   make([]unix.Iovec, batchSize),
		pktLen: rtpHeaderLen + payload,
	}
	b.stride = b.pktLen + srtpRoom
	b.bufs = make([]byte, batchSize*b.stride)
	for i := range b.bufs {
		b.bufs[i] = 0xff
	}
	for i := range b.msgs {
		p := b.packet(i)
		p[0], p[1] = 0x80, 0 // V=2, PT 0 (PCMU)
		b.iovs[i].Base = &p[0]
		b.iovs[i].SetLen(len(p))
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
	}
	return b
}

// packet returns the RTP packet of slot i.
func (b *sendBatch) packet(i int) []byte {
	return b.bufs[i*b.stride : i*b.stride+b.pktLen : i*b.stride+b.pktLen]
}

// slot returns the whole slot i: the packet and the room after it.
func (b *sendBatch) slot(i int) []byte {
	return b.bufs[i*b.stride : (i+1)*b.stride : (i+1)*b.stride]
}

// protected records that packet i was encrypted in place and is now n
// bytes long.
func (b *sendBatch) protected(i, n int) {
	b.iovs[i].SetLen(n)
	b.dirty[i] = true
}

// fill writes packet i of a stream. If the slot's previous packet was
// encrypted in place, it first restores the payload's filler and the
// plain length (the batch is shared by a worker's plain and SRTP
// endpoints).
func (b *sendBatch) fill(i int, stream, ssrc, seq, rtpTS uint32, measured bool) {
	p := b.packet(i)
	binary.BigEndian.PutUint16(p[2:], uint16(seq))
	binary.BigEndian.PutUint32(p[4:], rtpTS)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	ne.PutUint32(p[offStream:], stream)
	ne.PutUint32(p[offSeq:], seq)
	if measured {
		p[offFlags] = flagMeasured
	} else {
		p[offFlags] = 0
	}
	if b.dirty[i] {
		for j := offFlags + 1; j < len(p); j++ {
			p[j] = 0xff
		}
		b.iovs[i].SetLen(len(p))
		b.dirty[i] = false
	}
	b.measured[i] = measured
}

// stamp writes the send time into packets 0..n-1.
func (b *sendBatch) stamp(n int, ns int64) {
	for i := range n {
		ne.PutUint64(b.bufs[i*b.stride+offSendNs:], uint64(ns))
	}
}

// send sends packets 0..n-1 on the connected socket fd with one sendmmsg
// and returns how many the kernel took. Like every system call of the
// generator's loop it is a raw one: it does not block (MSG_DONTWAIT), and
// telling the Go scheduler about 100k calls a second keeps its sysmon
// thread busy (about 15% of a CPU at 100k packets/s).
func (b *sendBatch) send(fd, n int) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.msgs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// recvBatch holds batchSize receive buffers with room for a timestamp
// control message each.
type recvBatch struct {
	msgs []unix.Mmsghdr
	iovs []unix.Iovec
	bufs []byte
	ctrl []byte
}

func newRecvBatch() *recvBatch {
	b := &recvBatch{
		msgs: make([]unix.Mmsghdr, batchSize),
		iovs: make([]unix.Iovec, batchSize),
		bufs: make([]byte, batchSize*recvBufSize),
		ctrl: make([]byte, batchSize*ctrlSize),
	}
	for i := range b.msgs {
		b.iovs[i].Base = &b.bufs[i*recvBufSize]
		b.iovs[i].SetLen(recvBufSize)
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
		b.msgs[i].Hdr.Control = &b.ctrl[i*ctrlSize]
	}
	return b
}

// recv reads up to batchSize datagrams from fd without blocking (raw
// system call, see send).
func (b *recvBatch) recv(fd int) (int, unix.Errno) {
	for i := range b.msgs {
		b.msgs[i].Hdr.SetControllen(ctrlSize)
		b.msgs[i].Hdr.Flags = 0
	}
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.msgs[0])), batchSize, unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// packet returns datagram i and whether it was truncated.
func (b *recvBatch) packet(i int) ([]byte, bool) {
	n := int(b.msgs[i].Len)
	return b.bufs[i*recvBufSize : i*recvBufSize+n], b.msgs[i].Hdr.Flags&unix.MSG_TRUNC != 0
}

// kernelTime returns the SO_TIMESTAMPNS receive time of datagram i in
// CLOCK_REALTIME ns, or 0 if there is none.
func (b *recvBatch) kernelTime(i int) int64 {
	c := b.ctrl[i*ctrlSize : i*ctrlSize+int(b.msgs[i].Hdr.Controllen)]
	for len(c) >= unix.SizeofCmsghdr {
		l := int(ne.Uint64(c[0:]))
		level := int32(ne.Uint32(c[8:]))
		typ := int32(ne.Uint32(c[12:]))
		if l < unix.SizeofCmsghdr || l > len(c) {
			return 0
		}
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && l >= unix.SizeofCmsghdr+16 {
			sec := int64(ne.Uint64(c[unix.SizeofCmsghdr:]))
			nsec := int64(ne.Uint64(c[unix.SizeofCmsghdr+8:]))
			return sec*1e9 + nsec
		}
		step := (l + 7) &^ 7
		if step > len(c) {
			return 0
		}
		c = c[step:]
	}
	return 0
}

// epollPoll returns the ready events of epfd without waiting (raw system
// call, see sendBatch.send).
func epollPoll(epfd int, events []unix.EpollEvent) (int, unix.Errno) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// timerWait blocks in read(2) on the (blocking) timerfd tfd until it
// expires and returns the number of expirations. It is a raw system call
// although it blocks, for up to one slot: were it a normal one, the Go
// scheduler would take the thread's P away at every slot, and its sysmon
// thread would wake every 20 us to do so. The thread keeps its P (the
// worker is its only user), and a garbage collection waits for the slot.
func timerWait(tfd int, buf *[8]byte) (uint64, unix.Errno) {
	_, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(tfd), uintptr(unsafe.Pointer(&buf[0])), 8)
	if e != 0 {
		return 0, e
	}
	return ne.Uint64(buf[:]), 0
}

// parsed fields of a generator packet.
type rxPacket struct {
	sendNs   int64
	stream   uint32
	seq      uint32
	measured bool
}

func parsePacket(p []byte) (rxPacket, bool) {
	if len(p) < rtpHeaderLen+MinPayload || p[0]&0xc0 != 0x80 {
		return rxPacket{}, false
	}
	return rxPacket{
		sendNs:   int64(ne.Uint64(p[offSendNs:])),
		stream:   ne.Uint32(p[offStream:]),
		seq:      ne.Uint32(p[offSeq:]),
		measured: p[offFlags]&flagMeasured != 0,
	}, true
}
