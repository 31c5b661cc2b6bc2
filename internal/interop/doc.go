// Package interop runs ngrelay's peers for real: sipwise rtpengine,
// Kamailio (with its rtpengine or rtpproxy module) and SIPp, all on
// 127.0.0.1, so tests can drive whole SIP calls with RTP through a media
// relay, first the real rtpengine (proving the harness), then ngrelay
// (RunKamailioSIPpScenario only needs the relay's NG address and a way to
// count its calls).
//
// Every helper takes a testing.TB and ties what it starts to it: processes
// run in their own process group and are stopped (SIGTERM, then SIGKILL)
// in t.Cleanup; their output goes to files under t.TempDir() whose tails
// are printed when the test fails; every wait is bounded. A missing tool
// skips the test, unless NGRELAY_INTEROP=1, which makes it a failure (see
// Require). Tools: Debian packages rtpengine-daemon, kamailio and
// sip-tester (SIPp 3.6.1 built with PCAP play).
//
// # Media
//
// Each call's two SIPp endpoints play 2 s of G.711 A-law RTP (a pcap
// written at run time) with SIPp's play_pcap_audio, from the media
// address their SDP names, to the address of the other side's SDP as
// rewritten by the relay. SIPp 3.6.1 cannot count what it receives:
// rtp_stream only shows an input rate on its screen, and -rtp_echo counts
// echoed packets but two echoing ends bounce each packet forever. PCAP
// play, though, sends through raw sockets, so no SIPp socket owns the
// per-call media port ([auto_media_port+4] = -mp + 4*call_number): the
// test binds those ports itself and counts, per call and side, the RTP
// packets that arrive and who sent them. As the endpoint sends from the
// very port it receives on, symmetric-RTP learning in the relay finds the
// same address as the SDP. The scenarios are testdata/uac.xml and
// testdata/uas.xml (embedded).
//
// # Pitfalls
//
//   - PCAP play needs raw sockets (root or CAP_NET_RAW); without them the
//     SIPp helpers skip.
//   - SIPp always binds -mp and -mp+2 (its echo sockets) and a UDP control
//     socket (default 0.0.0.0:8888, so -ci/-cp are always given); the
//     scenarios' media ports start at -mp+4 for that reason.
//   - Kamailio 5.6: -DD keeps the main process in the foreground (workers
//     are still forked), -E logs to stderr, -Y sets the runtime directory
//     (default /run/kamailio). Its workers outlive a SIGKILLed main
//     process, so Kamailio runs in its own PID namespace when permitted
//     (then they die with it). xlog needs xlog.so loaded. The rtpengine
//     module pings the relay when its workers start and disables an
//     unreachable relay for a minute: start the relay first.
//   - rtpengine accepts --config-file=none (skips
//     /etc/rtpengine/rtpengine.conf); --table=-1 keeps forwarding in
//     userspace; --delete-delay=0 makes NG list show no call right after
//     the BYE.
package interop
