package dtls

// DTLS 1.2 record layer (RFC 6347 section 4.1): content type (1), version
// (2), epoch (2), sequence number (6), length (2), fragment.
const (
	recordHeaderLen = 13
	// maxRecordLen is the largest fragment length allowed in a DTLSCiphertext
	// (2^14 + 2048, RFC 6347 section 4.1 via RFC 5246 section 6.2.3).
	maxRecordLen = 1<<14 + 2048

	contentChangeCipherSpec = 20
	contentAlert            = 21
	contentHandshake        = 22
	contentApplicationData  = 23
)

// IsDTLSRecord reports whether a datagram received on a media socket is a
// DTLS datagram (RFC 7983 section 7): its first byte is in 20..63 and it is
// a plausible sequence of DTLS 1.0/1.2 records. Every record must have a
// content type that DTLS 1.2 uses without extensions (20 change_cipher_spec,
// 21 alert, 22 handshake, 23 application_data), the version DTLS 1.0
// (0xFEFF, as in many first ClientHellos) or DTLS 1.2 (0xFEFD), a length of
// 1 to 2^14+2048, and the records must fill the datagram exactly.
//
// Other datagrams whose first byte is in 20..63 are not DTLS that this
// package can process and are to be dropped: DTLS 1.3 ciphertexts with the
// unified header (first byte 32..63, RFC 9147), heartbeats (24) and
// connection-ID records (25, never negotiated here). IsDTLSRecord does not
// allocate; it is meant for the data plane's demultiplexing.
func IsDTLSRecord(pkt []byte) bool {
	if len(pkt) < recordHeaderLen || pkt[0] < 20 || pkt[0] > 63 {
		return false
	}
	for len(pkt) > 0 {
		n := recordLen(pkt)
		if n <= 0 {
			return false
		}
		pkt = pkt[n:]
	}
	return true
}

// recordLen returns the length (header included) of the plausible DTLS 1.2
// record at the start of b, or 0 if there is none.
func recordLen(b []byte) int {
	if len(b) < recordHeaderLen {
		return 0
	}
	if b[0] < contentChangeCipherSpec || b[0] > contentApplicationData {
		return 0
	}
	if b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) {
		return 0
	}
	n := int(b[11])<<8 | int(b[12])
	// pion/dtls drops a datagram with an empty record
	// (recordlayer.UnpackDatagram); none is ever sent.
	if n == 0 || n > maxRecordLen || recordHeaderLen+n > len(b) {
		return 0
	}
	return recordHeaderLen + n
}

// recordInfo is what one walk over a datagram's records counts.
type recordInfo struct {
	alerts, appData int
	// lastAlert holds the level and description of the last plaintext
	// (epoch 0) alert, or zeros.
	lastAlertLevel, lastAlertDesc uint8
	// clientHello reports an epoch-0 handshake record carrying a
	// ClientHello (handshake type 1).
	clientHello bool
}

// inspectRecords walks the records of a datagram that IsDTLSRecord
// accepted (or that pion wrote) and counts what it carries.
func inspectRecords(pkt []byte) recordInfo {
	var ri recordInfo
	for len(pkt) > 0 {
		n := recordLen(pkt)
		if n <= 0 {
			break
		}
		epoch0 := pkt[3] == 0 && pkt[4] == 0
		switch pkt[0] {
		case contentAlert:
			ri.alerts++
			if epoch0 && n == recordHeaderLen+2 {
				ri.lastAlertLevel, ri.lastAlertDesc = pkt[recordHeaderLen], pkt[recordHeaderLen+1]
			}
		case contentApplicationData:
			ri.appData++
		case contentHandshake:
			if epoch0 && n > recordHeaderLen && pkt[recordHeaderLen] == 1 {
				ri.clientHello = true
			}
		}
		pkt = pkt[n:]
	}
	return ri
}

// Handshake message header (RFC 6347 section 4.2.2): msg_type (1), length
// (3), message_seq (2), fragment_offset (3), fragment_length (3).
const (
	handshakeHeaderLen = 12
	// maxMessageSeq bounds the message_seq of a plausible handshake
	// message: a full DTLS 1.2 handshake with a cookie exchange numbers
	// its messages up to 6 or 7 per side.
	maxMessageSeq = 31
	// maxHandshakeLen bounds a plausible handshake message: certificate
	// chains of WebRTC peers are a few kilobytes.
	maxHandshakeLen = 1 << 16
)

// plausibleHandshakeType reports the handshake message types of a DTLS
// 1.2 certificate handshake (RFC 5246 section 7.4, RFC 6347 section 4.3.2).
func plausibleHandshakeType(t byte) bool {
	switch t {
	case 0, 1, 2, 3, 11, 12, 13, 14, 15, 16, 20:
		return true
	}
	return false
}

// screen checks a datagram that IsDTLSRecord accepted more closely before
// it reaches pion/dtls, which aborts a handshake on some malformed
// plaintext records instead of discarding them (RFC 6347 section 4.1.2.7)
// and keeps handshake fragments of any message_seq until its fragment
// buffer overflows. It rejects datagrams with a record that is
//
//   - of an epoch other than 0 and 1 (pion never renegotiates);
//   - a change_cipher_spec other than the single byte 1 (pion does not
//     decrypt change_cipher_spec records, in any epoch);
//   - a plaintext alert that is not two bytes of a warning or fatal level,
//     or any plaintext alert once keyed (the peer's alerts are encrypted
//     then, and an unauthenticated one would tear the association down);
//   - plaintext application data;
//   - a plaintext handshake record whose fragments are not well-formed
//     headers of known message types, with message_seq up to 31 and
//     fragments within the message, filling the record.
//
// Encrypted records (epoch 1) are authenticated by pion, which drops the
// ones that do not decrypt.
func screen(pkt []byte, keyed bool) bool {
	for len(pkt) > 0 {
		n := recordLen(pkt)
		if n <= 0 {
			return false
		}
		rec := pkt[:n]
		pkt = pkt[n:]
		if rec[3] != 0 || rec[4] > 1 {
			return false
		}
		body := rec[recordHeaderLen:]
		if rec[0] == contentChangeCipherSpec {
			// Never encrypted, in any epoch.
			if len(body) != 1 || body[0] != 1 {
				return false
			}
			continue
		}
		if rec[4] == 1 {
			continue
		}
		switch rec[0] {
		case contentAlert:
			if keyed || len(body) != 2 || body[0] < 1 || body[0] > 2 {
				return false
			}
		case contentApplicationData:
			return false
		case contentHandshake:
			if !screenHandshake(body) {
				return false
			}
		}
	}
	return true
}

// screenHandshake checks the handshake fragments filling a plaintext
// handshake record.
func screenHandshake(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		if len(b) < handshakeHeaderLen || !plausibleHandshakeType(b[0]) {
			return false
		}
		length := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		seq := int(b[4])<<8 | int(b[5])
		off := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
		flen := int(b[9])<<16 | int(b[10])<<8 | int(b[11])
		if length > maxHandshakeLen || seq > maxMessageSeq || off+flen > length ||
			handshakeHeaderLen+flen > len(b) {
			return false
		}
		b = b[handshakeHeaderLen+flen:]
	}
	return true
}
