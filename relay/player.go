package relay

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Prompt is pre-encoded media to play to a leg: RTP payloads of one
// payload type, one per packet.
type Prompt struct {
	// PayloadType is the RTP payload type of every packet.
	PayloadType uint8
	// Frames are the packets' payloads, in order.
	Frames [][]byte
	// Samples is the RTP timestamp step from one packet to the next
	// (160 for 20 ms at 8000 Hz).
	Samples uint32
	// Interval is the time between packets (default 20 ms).
	Interval time.Duration
}

// Player plays a Prompt to a leg from the stream that was advertised to
// it, with its own SSRC and continuous sequence numbers and timestamps.
// While it plays, RTP from the leg's peer is not forwarded to the leg.
type Player struct {
	stream *Stream
	fd     int // the player's own duplicate of the stream's socket
	prompt *Prompt
	count  int
	ssrc   uint32

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	sent     atomic.Uint64
}

// players maps a stream to the player playing from it. A player removes
// itself when it ends.
var players sync.Map // *Stream -> *Player

// rtpHeaderLen is the fixed RTP header (RFC 3550 section 5.1).
const rtpHeaderLen = 12

// Play starts playing p to the media's leg from the media's RTP stream,
// count times over (count < 0: until stopped; 0 plays nothing). A player
// already playing to the leg is stopped first. While the player runs, RTP
// that the peer leg sends to this leg is dropped (RTCP still passes); it
// flows again when the player ends. The player ends after its last
// packet, on Stop, or when the stream is freed (the call or media ends).
// The call must be locked.
func (m *Media) Play(p *Prompt, count int) (*Player, error) {
	s := m.RTP
	if s == nil || s.closed.Load() {
		return nil, errors.New("media has no RTP port")
	}
	if m.SRTPOut != nil {
		return nil, errors.New("cannot play to an SRTP leg")
	}
	if p == nil || len(p.Frames) == 0 {
		return nil, errors.New("empty prompt")
	}
	for _, f := range p.Frames {
		if len(f) > 1400 {
			return nil, errors.New("prompt frame too large for one packet")
		}
	}
	m.StopPlaying()
	if count == 0 {
		return nil, nil
	}
	// The player sends on its own descriptor of the socket: the data
	// plane closes the stream's descriptor some time after the stream is
	// freed, and the number could be reused meanwhile.
	fd, err := unix.FcntlInt(uintptr(s.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("player socket: %w", err)
	}
	var id [10]byte
	rand.Read(id[:])
	pl := &Player{
		stream: s, fd: fd, prompt: p, count: count,
		ssrc: binary.BigEndian.Uint32(id[0:4]),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	players.Store(s, pl)
	s.muted.Store(true)
	go pl.run(binary.BigEndian.Uint16(id[4:6]), binary.BigEndian.Uint32(id[6:10]))
	return pl, nil
}

// StopPlaying stops the player playing to the media's leg and waits for
// it to end. It reports whether one was playing. The call must be locked.
func (m *Media) StopPlaying() bool {
	if m.RTP == nil {
		return false
	}
	pl := m.Player()
	if pl == nil {
		return false
	}
	pl.Stop()
	return true
}

// Player returns the player playing to the media's leg, or nil.
func (m *Media) Player() *Player {
	if m.RTP == nil {
		return nil
	}
	if v, ok := players.Load(m.RTP); ok {
		return v.(*Player)
	}
	return nil
}

// Muted reports whether RTP to the stream's leg from its peer is muted (a
// prompt plays to the leg).
func (s *Stream) Muted() bool { return s.muted.Load() }

// Stop ends the player and waits until it has.
func (p *Player) Stop() {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.done
}

// Done is closed when the player has ended.
func (p *Player) Done() <-chan struct{} { return p.done }

// Sent is the number of packets sent so far.
func (p *Player) Sent() uint64 { return p.sent.Load() }

// SSRC is the player's RTP SSRC.
func (p *Player) SSRC() uint32 { return p.ssrc }

// run sends one packet per interval until the prompt was played count
// times, the player is stopped or its stream is freed. It sends on its
// own descriptor of the stream's socket: datagram sends are atomic, so
// they mix safely with the data plane's.
func (p *Player) run(seq uint16, ts uint32) {
	s := p.stream
	defer func() {
		unix.Close(p.fd)
		if players.CompareAndDelete(s, p) {
			s.muted.Store(false)
		}
		close(p.done)
	}()
	interval := p.prompt.Interval
	if interval <= 0 {
		interval = 20 * time.Millisecond
	}
	samples := p.prompt.Samples
	if samples == 0 {
		samples = 160
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	buf := make([]byte, rtpHeaderLen+1400)
	first := true
	for rep := 0; p.count < 0 || rep < p.count; rep++ {
		for _, f := range p.prompt.Frames {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			if s.closed.Load() {
				return
			}
			if dst, _ := s.Peer(); dst.IsValid() {
				buf[0] = 0x80 // version 2
				buf[1] = p.prompt.PayloadType & 0x7f
				if first {
					buf[1] |= 0x80 // marker: start of a talkspurt
				}
				binary.BigEndian.PutUint16(buf[2:], seq)
				binary.BigEndian.PutUint32(buf[4:], ts)
				binary.BigEndian.PutUint32(buf[8:], p.ssrc)
				n := copy(buf[rtpHeaderLen:], f)
				if p.send(buf[:rtpHeaderLen+n], dst) == nil {
					p.sent.Add(1)
				}
				seq++
				first = false
			}
			ts += samples
		}
	}
}

// send sends one datagram to dst without blocking.
func (p *Player) send(pkt []byte, dst netip.AddrPort) error {
	var sa unix.Sockaddr
	a := dst.Addr()
	if p.stream.local.Addr.Is4() {
		if !a.Is4() {
			return errors.New("IPv6 destination from an IPv4 socket")
		}
		sa = &unix.SockaddrInet4{Port: int(dst.Port()), Addr: a.As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(dst.Port()), Addr: a.As16()}
	}
	return unix.Sendto(p.fd, pkt, unix.MSG_DONTWAIT, sa)
}
