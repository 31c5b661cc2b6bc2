// Package dtls terminates DTLS-SRTP (RFC 5763, RFC 5764) on the WebRTC
// legs of a call: it runs the DTLS 1.2 handshake with the peer and turns
// its keying material into the SRTP master keys and salts of package
// github.com/ngrelay/ngrelay/crypto/srtp. The handshake itself is
// github.com/pion/dtls/v3 (imported as piondtls); this package adds the
// packet transport, the fingerprint checks, the SDP helpers and the key
// export.
//
// # Certificates and SDP
//
// The daemon makes one Certificate at start (GenerateCertificate: ECDSA
// P-256, self-signed) or loads one (LoadCertificate), and advertises it in
// every SDP it sends as a=fingerprint:sha-256 followed by
// Certificate.Fingerprint("sha-256"). The peer's a=fingerprint values are
// parsed with ParseFingerprint and passed to the Endpoint, which accepts
// the peer's certificate only if it matches them (VerifyFingerprints, RFC
// 8122 section 5); certificates are self-signed, so no CA is involved.
//
// The a=setup attribute decides who is the DTLS client (Role Active) and
// who the server (Passive): an offer says actpass, the answer active or
// passive (AnswerSetup makes it, answering active by default as RFC 8842
// recommends), and RoleForPeerSetup gives our role from the peer's value.
//
// # Endpoint and the data plane
//
// An Endpoint is one association on one stream. The handshake runs on
// the control plane but over the stream's own UDP socket:
//
//   - the data plane demultiplexes received datagrams (RFC 7983): those
//     that IsDTLSRecord accepts (first byte 20..63 and a plausible DTLS
//     record sequence) it hands to Endpoint.Deliver, which copies them into
//     a bounded queue and never blocks;
//   - whatever the handshake sends comes out of Config.Send, which the
//     caller sends from the same socket to the peer's current address;
//   - when the handshake has completed, Config.OnKeys (and Endpoint.Keys)
//     give two srtp.Params: local, to protect what we send to the peer, and
//     remote, to unprotect what it sends us. RFC 5764 section 4.2: the
//     exporter "EXTRACTOR-dtls_srtp" yields client key | server key |
//     client salt | server salt, and each side writes with its own role's
//     key and salt.
//
// Failures come through Config.OnFailure with errors that errors.Is can
// tell apart: ErrFingerprintMismatch (the peer's certificate is not the
// one in its SDP), ErrPeerAlert (the peer ended the handshake, typically
// with bad_certificate because it rejected ours; the error is an
// *AlertError), ErrHandshakeTimeout, or pion's own error for anything
// else.
//
// After the handshake the association stays up until Close, answering the
// peer's retransmissions of its last flight. DTLS application data (SCTP
// of WebRTC data channels) is counted and discarded. An Endpoint never
// renegotiates: when a re-INVITE or new offer brings a new a=fingerprint
// (a new certificate), or the peer starts a new association, the caller
// closes the Endpoint and starts a new one; the old keys stay in use until
// the new Endpoint is keyed.
//
// # pion/dtls
//
// pion/dtls wants a net.PacketConn; the Endpoint gives it one whose
// ReadFrom returns the delivered datagrams (with working read deadlines,
// which pion uses to cancel reads) and whose WriteTo calls Config.Send
// and, like UDP, never reports a failed send: the retransmission timer
// (initially 1 s, doubling up to 60 s) recovers from it. pion aborts a
// handshake on some malformed plaintext records (a change_cipher_spec that
// is not the single byte 1, plaintext application data) instead of
// discarding them as RFC 6347 section 4.1.2.7 says, and keeps handshake
// fragments of any message sequence number until its fragment buffer
// overflows; Deliver therefore screens plaintext records before pion sees
// them, and once keyed it drops unauthenticated plaintext alerts, which
// would otherwise tear the association down. Plaintext records during the
// handshake cannot be authenticated by anyone, so the data plane should
// deliver only datagrams from the peer's ICE-validated address.
package dtls
