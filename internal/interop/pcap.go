package interop

import (
	"encoding/binary"
	"os"
)

// RTP stream that the SIPp scenarios play (play_pcap_audio): G.711 A-law
// (payload type 8), one packet every 20 ms with 160 bytes of silence.
const (
	rtpPayloadType = 8
	rtpPtime       = 20 // ms
	rtpPayloadLen  = 160
)

// writeRTPPcap writes a libpcap capture (Ethernet link type) of n RTP
// packets, 20 ms apart, from 10.0.0.1:6000 to 10.0.0.2:6000. SIPp replays
// it with its own addresses and ports, keeping the timing.
func writeRTPPcap(path string, n int) error {
	const (
		ethLen = 14
		ipLen  = 20
		udpLen = 8
		rtpLen = 12
	)
	pktLen := ethLen + ipLen + udpLen + rtpLen + rtpPayloadLen
	out := make([]byte, 0, 24+n*(16+pktLen))
	le := binary.LittleEndian
	be := binary.BigEndian

	// Global header: magic, version 2.4, thiszone, sigfigs, snaplen,
	// link type 1 (Ethernet).
	out = le.AppendUint32(out, 0xa1b2c3d4)
	out = le.AppendUint16(out, 2)
	out = le.AppendUint16(out, 4)
	out = le.AppendUint32(out, 0)
	out = le.AppendUint32(out, 0)
	out = le.AppendUint32(out, 65535)
	out = le.AppendUint32(out, 1)

	const ssrc = 0x6e67726c // "ngrl"
	for i := 0; i < n; i++ {
		usec := uint64(i) * rtpPtime * 1000
		out = le.AppendUint32(out, uint32(1700000000+usec/1e6))
		out = le.AppendUint32(out, uint32(usec%1e6))
		out = le.AppendUint32(out, uint32(pktLen))
		out = le.AppendUint32(out, uint32(pktLen))

		// Ethernet: zero MACs, IPv4.
		out = append(out, make([]byte, 12)...)
		out = be.AppendUint16(out, 0x0800)

		// IPv4.
		ip := len(out)
		out = append(out, 0x45, 0)
		out = be.AppendUint16(out, uint16(ipLen+udpLen+rtpLen+rtpPayloadLen))
		out = be.AppendUint16(out, uint16(i))
		out = be.AppendUint16(out, 0)
		out = append(out, 64, 17, 0, 0) // TTL, UDP, checksum below
		out = append(out, 10, 0, 0, 1, 10, 0, 0, 2)
		be.PutUint16(out[ip+10:], ipChecksum(out[ip:ip+ipLen]))

		// UDP (checksum 0: SIPp computes the real one when it replays).
		out = be.AppendUint16(out, 6000)
		out = be.AppendUint16(out, 6000)
		out = be.AppendUint16(out, uint16(udpLen+rtpLen+rtpPayloadLen))
		out = be.AppendUint16(out, 0)

		// RTP.
		out = append(out, 0x80, rtpPayloadType)
		out = be.AppendUint16(out, uint16(1000+i))
		out = be.AppendUint32(out, uint32(i*rtpPtime*8))
		out = be.AppendUint32(out, ssrc)
		for j := 0; j < rtpPayloadLen; j++ {
			out = append(out, 0xd5) // A-law silence
		}
	}
	return os.WriteFile(path, out, 0o644)
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
