package relay

import (
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// ControlPacket is a STUN message or DTLS record that arrived on a media
// socket (RFC 7983 demultiplexing) and is handed from the data plane to the
// control plane, which runs ICE and the DTLS handshake.
type ControlPacket struct {
	// Stream is where the packet arrived; replies leave from its socket.
	Stream *Stream
	// From is the packet's source address.
	From netip.AddrPort
	// Data is a copy of the datagram, owned by the receiver.
	Data []byte
}

// Packet kinds by first byte (RFC 7983 section 7).
func isSTUN(b byte) bool { return b <= 3 }
func isDTLS(b byte) bool { return b >= 20 && b <= 63 }

// SendTo sends a datagram from the stream's socket (control plane: STUN
// responses, checks and DTLS records). It does not block: a full socket
// buffer drops the datagram with an error.
func (s *Stream) SendTo(pkt []byte, to netip.AddrPort) error {
	if s.closed.Load() {
		return errors.New("stream closed")
	}
	var sa unix.Sockaddr
	a := to.Addr()
	if s.local.Addr.Is4() {
		if !a.Is4() {
			return errors.New("IPv6 destination from an IPv4 socket")
		}
		sa = &unix.SockaddrInet4{Port: int(to.Port()), Addr: a.As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
	}
	return unix.Sendto(s.fd, pkt, unix.MSG_DONTWAIT, sa)
}

// SetPeer sets where media to the stream's leg goes, as learned by the
// control plane (the ICE nominated pair): it counts as confirmed, so that
// latching does not move it (unless media-handover).
func (s *Stream) SetPeer(ap netip.AddrPort) {
	s.storePeer(ap)
	s.confirmed.Store(true)
}

// StopSending stops media to the stream's leg until SetPeer names a peer
// again (ICE consent lost, RFC 7675 section 5.1): the peer is forgotten
// and, being confirmed, is not learned again from received packets.
func (s *Stream) StopSending() {
	s.peer.Store(nil)
	s.confirmed.Store(true)
}

// Media returns the media the stream belongs to (control plane).
func (s *Stream) Media() *Media { return s.media }
