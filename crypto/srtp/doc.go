// Package srtp protects and unprotects RTP and RTCP packets with SRTP and
// SRTCP (RFC 3711, RFC 6188, RFC 7714) in place, in the data plane's own
// packet buffers, on top of github.com/pion/srtp/v3 (imported as pionsrtp).
//
// A Context holds the crypto state of one direction of one stream: the
// master key of one sender as given by an SDES a=crypto line (see package
// github.com/ngrelay/ngrelay/crypto/sdes) or by DTLS-SRTP, and per SSRC the
// rollover counter, the SRTCP index and the replay window. Its four
// methods, ProtectRTP, UnprotectRTP, ProtectRTCP and UnprotectRTCP, take a
// buffer and the length of the packet at its start, transform the packet
// in place and return the new length. Protecting appends RTPOverhead() or
// RTCPOverhead() bytes, so the buffer passed must extend past the packet:
// the data plane passes its whole 4096-byte receive buffer and the packet
// length, not a slice cut to the packet.
//
// # Allocation
//
// For a packet of an SSRC the context already knows, the four methods do
// not allocate (the tests check this with testing.AllocsPerRun for every
// suite). They parse headers into headers owned by the context and hand
// pion destination slices that alias the packet, which pion then encrypts,
// decrypts and tags in place. The exceptions, all in pion/srtp v3.1.3:
//
//   - the first packet of a new SSRC allocates its state (and, when
//     unprotecting, so does every packet of an SSRC whose first packet has
//     not yet authenticated);
//   - a rejected packet may allocate its error: pion allocates the error of
//     a replayed packet and wraps AEAD tag failures with fmt.Errorf;
//     packets rejected as too short or not RTP/RTCP are caught here first
//     and do not allocate;
//   - with an AEAD suite, protecting RTCP with UnencryptedSRTCP and
//     unprotecting an SRTCP packet whose E flag is clear allocate a small
//     buffer per packet (pion's encryptRTCP and decryptRTCP).
//
// # Suites
//
// Supported are the suites pion implements: AES_CM_128_HMAC_SHA1_80/32,
// AES_256_CM_HMAC_SHA1_80/32, AEAD_AES_128_GCM, AEAD_AES_256_GCM and
// NULL_HMAC_SHA1_80/32. The AES-192 and F8 suites that rtpengine also
// offers are not in pion, nor are FreeSWITCH's AEAD_AES_*_GCM_8 suites,
// which use an 8-octet GCM tag (libsrtp's *_8_auth policies) and are
// therefore not the same as RFC 7714's AEAD_AES_*_GCM with its 16-octet tag.
package srtp
