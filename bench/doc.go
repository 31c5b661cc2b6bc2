// Package bench is a load generator for media relays controlled over
// rtpengine's NG protocol (ngrelay, rtpengine). cmd/ngrelay-bench is its
// command line.
//
// A steady run sets up calls with offer/answer (plain RTP/AVP, PCMU, the
// SDP naming the generator's own sockets on 127.0.0.1), sends RTP both ways
// through the relay at a fixed rate per stream, and measures delivery,
// loss, reordering, one-way latency (send time written into the payload,
// CLOCK_REALTIME, against the kernel receive timestamp, SO_TIMESTAMPNS),
// the relay's CPU time and resident memory (/proc/PID), the machine's busy
// CPU (/proc/stat) and the generator's own CPU.
//
// The generator runs one goroutine locked to an OS thread per generator
// CPU. Each wakes once per 1 ms slot (timerfd), receives with recvmmsg on
// whichever of its sockets its epoll reports readable, and sends each
// socket's due packets with one sendmmsg (every endpoint has its own
// connected, non-blocking UDP socket). The per-packet path does not
// allocate.
//
// In SRTP mode (SteadyConfig.SRTP, -srtp SUITE) each call's B leg is
// SDES-keyed RTP/SAVP while A stays plain, so the relay encrypts A->B and
// decrypts B->A; the generator's B endpoints protect and unprotect in
// place in the batch buffers, one crypto/srtp context per stream
// direction, still without allocating per packet (see srtp.go).
//
// In WebRTC mode (SteadyConfig.WebRTC, -webrtc) each call's A leg is a
// browser's: a WebRTC offer with the NG flags Kamailio uses for JsSIP to a
// phone, ICE as the controlling agent (pion/stun) and DTLS-SRTP
// (crypto/dtls) on A's socket, then SRTP with the DTLS keys; B stays a
// plain phone. RunDTLSSetup (ngrelay-bench dtls) is a WebRTC call-setup
// storm that counts DTLS handshakes per second (see webrtc.go).
package bench
