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
// # Driving an agent
//
// One [Agent] serves one ICE session (one m-line or BUNDLE transport):
//
//   - [NewAgent] with our credentials ([NewCredentials]), [Config.Lite]
//     and, for a full agent, the initial role [Config.Controlling] (the
//     offerer is controlling, RFC 8445 section 6.1.1; an ICE-lite peer
//     makes us controlling).
//   - [Agent.SetRemoteCredentials] with the peer's a=ice-ufrag/a=ice-pwd,
//     [Agent.AddRemoteCandidate] for each of its a=candidate lines (in any
//     order relative to the credentials, but after them on an ICE
//     restart), and [Agent.EndOfCandidates] on a=end-of-candidates. A full
//     agent sends no check before it knows the remote credentials.
//   - Every STUN packet received on the session's sockets goes to
//     [Agent.HandleSTUN]; its response, if any, is sent back to the source
//     from the same socket (also when an error is returned).
//   - [Agent.Tick] every 20-50 ms (or at [Agent.NextTick]); each [Outgoing]
//     packet is sent from the socket of its component to its address.
//   - Events from both: [*Nominated] (send media for the component to the
//     address: the selected pair), [*ConsentLost] (stop sending) and
//     [*Failed] (no pair works after end-of-candidates).
//
// # Modes
//
//   - ICE-lite ([Config.Lite]): the relay is reachable on public addresses,
//     so it only answers connectivity checks, is always controlled (a
//     controlled request from a full peer is answered 487 so that the peer
//     takes the controlling role), and takes the pair nominated by the
//     peer's USE-CANDIDATE. It sends nothing by itself; its consent ends
//     when the selected peer sent no authenticated check for
//     [Config.ConsentTimeout]. The SDP must then carry a=ice-lite.
//   - Full ICE: the agent forms a check list from the remote candidates
//     and from peer-reflexive candidates learned from incoming checks
//     (RFC 8445 section 7.3.1.3; this is how a browser's mDNS host
//     candidates, which are ignored, still work). It paces one new check
//     per Ta ([Config.Ta], default 50 ms): triggered checks first (one is
//     queued for the pair of every incoming check whose own check has not
//     succeeded, section 7.3.1.4), then a controlling agent's nomination,
//     then ordinary checks in pair-priority order. Checks carry USERNAME
//     "remote-ufrag:local-ufrag", PRIORITY (our peer-reflexive priority),
//     ICE-CONTROLLING or ICE-CONTROLLED with our tiebreaker,
//     MESSAGE-INTEGRITY keyed with the remote password and FINGERPRINT,
//     and are retransmitted per RFC 5389 (RTO from max(500 ms, Ta*N)
//     doubling, Rc = 7, Rm = 16). Responses must come from the address the
//     check went to and verify with the remote password. Role conflicts
//     are resolved in both directions per section 7.3.1.1 and 7.2.5.1.
//
// # Nomination
//
// A controlling full agent uses regular nomination (RFC 8445 section
// 8.1.1): once the best pair of a component has succeeded and no pair of
// higher priority is still waiting or in progress, or at the latest
// [Config.NominationDelay] (default 1 s) after the first success, it
// repeats the check on that pair with USE-CANDIDATE, and the pair is
// selected when that check succeeds. A controlled full agent selects a pair
// when the peer's USE-CANDIDATE arrives on a pair whose own check already
// succeeded, or as soon as that check succeeds (section 7.3.1.5); peers
// using aggressive nomination (USE-CANDIDATE on every check) work the same
// way. Ordinary checks of a component stop once it has a selected pair.
//
// # Consent freshness
//
// Once a pair is selected, a full agent sends a consent check (a Binding
// request with a new transaction ID, RFC 7675) every [Config.ConsentInterval]
// (default 5 s, each interval randomised to 0.8-1.2 times) and reports
// [*ConsentLost] when no authenticated response from the selected address
// arrived for [Config.ConsentTimeout] (default 30 s). A later nomination
// (for instance after an ICE restart) selects a pair again.
//
// # ICE restart
//
// [Agent.Restart] starts a new generation with our new credentials (to be
// sent in the restarting offer or its answer) and the peer's new ones, or
// the zero Credentials when they are not known yet, to be set later with
// [Agent.SetRemoteCredentials]. When the peer restarts and the caller only
// learns new remote credentials, [Agent.SetRemoteCredentials] with
// credentials different from those already set starts the new generation
// by itself, keeping ours. Either way the check list and pending
// transactions are discarded, the new generation's candidates must be
// added afterwards, and the old selection stays in use (and keeps being
// reported by [Agent.Selected]) until the new generation nominates a pair,
// which is reported with a [*Nominated] event even for the same address.
//
// Besides the [Agent], the package provides ICE credentials
// ([NewCredentials]) and the SDP candidate attribute (RFC 8839, with RFC
// 6544 TCP candidates): [ParseCandidate], [Candidate.String] and
// [HostCandidate].
//
// The package is tested against pion/ice (the ICE agent of pion/webrtc)
// over loopback UDP in both roles, as ICE-lite, with peer-reflexive
// candidates only, consent freshness and ICE restarts.
package ice
