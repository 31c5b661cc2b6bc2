// Package ice is ngrelay's ICE agent (RFC 8445) for the relay's side of a
// WebRTC leg.
//
// The package is transport-free: the data plane hands it STUN packets
// (first byte 0-3, RFC 7983) together with the source address and the ICE
// component of the socket they arrived on, and sends whatever the package
// returns from that same socket. Addresses are [netip.AddrPort]; time comes
// from [Config.Now] and from the argument of [Agent.Tick], so everything can
// be driven by a fake clock in tests.
//
// Two modes are supported:
//
//   - ICE-lite ([Config.Lite]): the relay is reachable on public addresses,
//     so towards browsers it only answers connectivity checks, is always
//     controlled, and takes the pair nominated by the browser's
//     USE-CANDIDATE. This is enough for most calls.
//   - Full ICE: the agent also forms a check list from the remote
//     candidates, paces its own connectivity checks (Ta = 50 ms, RTO
//     retransmissions per RFC 5389), nominates with regular nomination when
//     controlling, and keeps consent fresh per RFC 7675 once a pair is
//     selected. This is needed when the peer is itself ICE-lite, or with
//     ICE=force towards a non-browser.
//
// Besides the [Agent], the package provides ICE credentials
// ([NewCredentials]) and the SDP candidate attribute (RFC 8839, with RFC
// 6544 TCP candidates): [ParseCandidate], [Candidate.String] and
// [HostCandidate].
package ice
