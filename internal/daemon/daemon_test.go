package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/ng/bencode"
)

// call is an established plain call A <-> relay <-> B.
type call struct {
	id       string
	a, b     *endpoint
	toA, toB int // relay RTP ports that A and B send to
	toARTCP  int
	toBRTCP  int
}

func setupCall(t *testing.T, td *testDaemon, id string, flags ...string) *call {
	t.Helper()
	c := &call{id: id, a: newEndpoint(t), b: newEndpoint(t)}
	kv := []any{"command", "offer", "call-id", id, "from-tag", "tagA", "sdp", c.a.sdp()}
	if len(flags) > 0 {
		kv = append(kv, "flags", flags)
	}
	r := td.cmd(t, kv...)
	mustOK(t, r)
	offer, _ := r.GetString("sdp")
	_, c.toB, c.toBRTCP = relayPorts(t, offer)
	r = td.cmd(t, "command", "answer", "call-id", id, "from-tag", "tagA", "to-tag", "tagB", "sdp", c.b.sdp())
	mustOK(t, r)
	answer, _ := r.GetString("sdp")
	_, c.toA, c.toARTCP = relayPorts(t, answer)
	return c
}

func TestPingOverUDPAndTCP(t *testing.T) {
	td := startDaemon(t, nil)
	for name, r := range map[string]bencode.Value{
		"udp": td.cmd(t, "command", "ping"),
		"tcp": do(t, td.tcp, "command", "ping"),
	} {
		if res, _ := r.GetString("result"); res != "pong" {
			t.Errorf("%s: ping result %q, want pong", name, res)
		}
	}
}

func TestRTPAndRTCPFlowBothWaysThroughTheRelay(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "flow-1")
	if c.toA == c.toB || c.toARTCP != c.toA+1 || c.toBRTCP != c.toB+1 {
		t.Fatalf("relay ports toA=%d/%d toB=%d/%d", c.toA, c.toARTCP, c.toB, c.toBRTCP)
	}
	for i := range 5 {
		p := rtpPacket(uint16(i), 0xaaaa, "from-a")
		sendTo(t, c.a.rtp, c.toA, p)
		from := expectPacket(t, c.b.rtp, p)
		if int(from.Port()) != c.toB {
			t.Fatalf("media to B left from port %d, want %d (the port B was given)", from.Port(), c.toB)
		}
		q := rtpPacket(uint16(i), 0xbbbb, "from-b")
		sendTo(t, c.b.rtp, c.toB, q)
		from = expectPacket(t, c.a.rtp, q)
		if int(from.Port()) != c.toA {
			t.Fatalf("media to A left from port %d, want %d", from.Port(), c.toA)
		}
	}
	sendTo(t, c.a.rtcp, c.toARTCP, rtcpPacket(0xaaaa))
	expectPacket(t, c.b.rtcp, rtcpPacket(0xaaaa))
	sendTo(t, c.b.rtcp, c.toBRTCP, rtcpPacket(0xbbbb))
	expectPacket(t, c.a.rtcp, rtcpPacket(0xbbbb))

	r := td.cmd(t, "command", "query", "call-id", c.id)
	mustOK(t, r)
	totals, _ := r.Get("totals")
	rtp, _ := totals.Get("RTP")
	rtcp, _ := totals.Get("RTCP")
	if n, _ := rtp.GetInt("packets"); n != 10 {
		t.Errorf("query RTP packets = %d, want 10", n)
	}
	if n, _ := rtcp.GetInt("packets"); n != 2 {
		t.Errorf("query RTCP packets = %d, want 2", n)
	}
	tags, _ := r.Get("tags")
	if _, ok := tags.Get("tagA"); !ok {
		t.Errorf("query has no tag tagA: %v", tags)
	}
}

func TestLatchingLearnsTheRealSourceAddress(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "latch-1")
	// B sends from a socket other than the one its SDP named (NAT).
	nat, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer nat.Close()
	p := rtpPacket(1, 0xbbbb, "behind-nat")
	sendTo(t, nat, c.toB, p)
	expectPacket(t, c.a.rtp, p)
	// A's media must now go to the learned address, not to B's SDP port.
	q := rtpPacket(1, 0xaaaa, "to-nat")
	sendTo(t, c.a.rtp, c.toA, q)
	expectPacket(t, nat, q)
	expectNothing(t, c.b.rtp)
}

func TestStrictSourceDropsPacketsFromOthersOnceLatched(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "strict-1")
	// Answer again with strict-source for B's side.
	r := td.cmd(t, "command", "answer", "call-id", c.id, "from-tag", "tagA", "to-tag", "tagB", "sdp", c.b.sdp(), "flags", []string{"strict-source"})
	mustOK(t, r)
	p := rtpPacket(1, 0xbbbb, "genuine")
	sendTo(t, c.b.rtp, c.toB, p)
	expectPacket(t, c.a.rtp, p)
	stranger, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer stranger.Close()
	sendTo(t, stranger, c.toB, rtpPacket(2, 0xcccc, "intruder"))
	expectNothing(t, c.a.rtp)
	r = td.cmd(t, "command", "query", "call-id", c.id)
	totals, _ := r.Get("totals")
	rtp, _ := totals.Get("RTP")
	if n, _ := rtp.GetInt("errors"); n != 1 {
		t.Errorf("errors = %d, want 1 (the intruder's packet)", n)
	}
}

func TestReInviteKeepsPorts(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "reinvite-1")
	r := td.cmd(t, "command", "offer", "call-id", c.id, "from-tag", "tagA", "to-tag", "tagB", "sdp", c.a.sdp("a=sendonly"))
	mustOK(t, r)
	s, _ := r.GetString("sdp")
	if _, port, _ := relayPorts(t, s); port != c.toB {
		t.Fatalf("re-INVITE moved B's port from %d to %d", c.toB, port)
	}
	r = td.cmd(t, "command", "answer", "call-id", c.id, "from-tag", "tagA", "to-tag", "tagB", "sdp", c.b.sdp("a=recvonly"))
	mustOK(t, r)
	s, _ = r.GetString("sdp")
	if _, port, _ := relayPorts(t, s); port != c.toA {
		t.Fatalf("re-INVITE moved A's port from %d to %d", c.toA, port)
	}
	p := rtpPacket(9, 1, "after-reinvite")
	sendTo(t, c.a.rtp, c.toA, p)
	expectPacket(t, c.b.rtp, p)
}

func TestReInviteFromTheCalleeSide(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "reinvite-2")
	// B re-INVITEs: from-tag is B's tag now; B moves to a new port.
	b2 := newEndpoint(t)
	r := td.cmd(t, "command", "offer", "call-id", c.id, "from-tag", "tagB", "to-tag", "tagA", "sdp", b2.sdp())
	mustOK(t, r)
	s, _ := r.GetString("sdp")
	if _, port, _ := relayPorts(t, s); port != c.toA {
		t.Fatalf("callee re-INVITE gave A port %d, want the same %d", port, c.toA)
	}
	r = td.cmd(t, "command", "answer", "call-id", c.id, "from-tag", "tagB", "to-tag", "tagA", "sdp", c.a.sdp())
	mustOK(t, r)
	s, _ = r.GetString("sdp")
	if _, port, _ := relayPorts(t, s); port != c.toB {
		t.Fatalf("callee re-INVITE gave B port %d, want the same %d", port, c.toB)
	}
	p := rtpPacket(1, 1, "to-new-b")
	sendTo(t, c.a.rtp, c.toA, p)
	expectPacket(t, b2.rtp, p)
}

func TestForkedAnswerTakesOver(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "fork-1")
	// A second fork answers with another to-tag and another endpoint.
	b2 := newEndpoint(t)
	r := td.cmd(t, "command", "answer", "call-id", c.id, "from-tag", "tagA", "to-tag", "tagB2", "sdp", b2.sdp())
	mustOK(t, r)
	s, _ := r.GetString("sdp")
	if _, port, _ := relayPorts(t, s); port != c.toA {
		t.Fatalf("fork answer gave A port %d, want %d", port, c.toA)
	}
	p := rtpPacket(1, 1, "to-fork-2")
	sendTo(t, c.a.rtp, c.toA, p)
	expectPacket(t, b2.rtp, p)
	r = td.cmd(t, "command", "query", "call-id", c.id)
	tags, _ := r.Get("tags")
	if _, ok := tags.Get("tagB2"); !ok {
		t.Fatalf("query after fork has no tagB2")
	}
}

func TestViaBranchForksGetTheirOwnPortsAndDeleteAlone(t *testing.T) {
	td := startDaemon(t, nil)
	a := newEndpoint(t)
	r1 := td.cmd(t, "command", "offer", "call-id", "branch-1", "from-tag", "tagA", "via-branch", "z9hG4bK1", "sdp", a.sdp())
	mustOK(t, r1)
	r2 := td.cmd(t, "command", "offer", "call-id", "branch-1", "from-tag", "tagA", "via-branch", "z9hG4bK2", "sdp", a.sdp())
	mustOK(t, r2)
	s1, _ := r1.GetString("sdp")
	s2, _ := r2.GetString("sdp")
	_, p1, _ := relayPorts(t, s1)
	_, p2, _ := relayPorts(t, s2)
	if p1 == p2 {
		t.Fatalf("two branches share port %d", p1)
	}
	b := newEndpoint(t)
	mustOK(t, td.cmd(t, "command", "answer", "call-id", "branch-1", "from-tag", "tagA", "to-tag", "tagB", "via-branch", "z9hG4bK2", "sdp", b.sdp()))
	mustOK(t, td.cmd(t, "command", "delete", "call-id", "branch-1", "from-tag", "tagA", "via-branch", "z9hG4bK1"))
	if td.Engine.Call("branch-1") == nil {
		t.Fatal("deleting one branch deleted the call")
	}
	mustOK(t, td.cmd(t, "command", "delete", "call-id", "branch-1", "from-tag", "tagA"))
	if td.Engine.Call("branch-1") != nil {
		t.Fatal("call still there after delete")
	}
}

func TestHoldAnnouncesNoDestination(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "hold-1")
	hold := strings.Replace(c.a.sdp(), "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1)
	r := td.cmd(t, "command", "offer", "call-id", c.id, "from-tag", "tagA", "to-tag", "tagB", "sdp", hold)
	mustOK(t, r)
	s, _ := r.GetString("sdp")
	if !strings.Contains(s, "c=IN IP4 0.0.0.0") || !strings.Contains(s, "a=sendonly") {
		t.Fatalf("hold offer not kept as hold:\n%s", s)
	}
	if _, port, _ := relayPorts(t, s); port != c.toB {
		t.Fatalf("hold moved the port")
	}
	// B's media towards A (now on hold, not yet learned) goes nowhere.
	sendTo(t, c.b.rtp, c.toB, rtpPacket(1, 1, "x"))
	expectNothing(t, c.a.rtp)
}

func TestDeleteEndsTheCallAndFreesItsPorts(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "delete-1")
	r := td.cmd(t, "command", "delete", "call-id", c.id, "from-tag", "tagA")
	mustOK(t, r)
	if _, ok := r.Get("totals"); !ok {
		t.Errorf("delete reply has no totals")
	}
	if td.Engine.NumCalls() != 0 {
		t.Fatalf("%d calls after delete", td.Engine.NumCalls())
	}
	sendTo(t, c.a.rtp, c.toA, rtpPacket(1, 1, "late"))
	expectNothing(t, c.b.rtp)
	// Unknown calls: a warning, or an error with "fatal".
	r = td.cmd(t, "command", "delete", "call-id", c.id)
	if w, _ := r.GetString("warning"); w != "Call-ID not found or tags didn't match" {
		t.Errorf("delete of a gone call: warning %q", w)
	}
	mustError(t, td.cmd(t, "command", "delete", "call-id", c.id, "flags", []string{"fatal"}), "Call-ID not found")
}

func TestDeleteDelayKeepsTheCallForAWhile(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "delay-1")
	mustOK(t, td.cmd(t, "command", "delete", "call-id", c.id, "delete-delay", 1))
	if td.Engine.Call(c.id) == nil {
		t.Fatal("call gone at once despite delete-delay=1")
	}
	p := rtpPacket(1, 1, "during-delay")
	sendTo(t, c.a.rtp, c.toA, p)
	expectPacket(t, c.b.rtp, p)
	eventually(t, "delayed delete", func() bool { return td.Engine.Call(c.id) == nil })
}

func TestErrorReplies(t *testing.T) {
	td := startDaemon(t, func(c *config.Config) { c.PortMax = c.PortMin + 3 })
	a := newEndpoint(t)
	mustError(t, td.cmd(t, "command", "answer", "call-id", "nope", "from-tag", "x", "to-tag", "y", "sdp", a.sdp()), "Unknown call-id")
	mustError(t, td.cmd(t, "command", "offer", "call-id", "e1", "from-tag", "x"), "No SDP body in message")
	mustError(t, td.cmd(t, "command", "offer", "call-id", "e1", "from-tag", "x", "sdp", "this is not SDP"), "Failed to parse SDP: ")
	mustError(t, td.cmd(t, "command", "offer", "from-tag", "x", "sdp", a.sdp()), "No call-id in message")
	mustError(t, td.cmd(t, "command", "frobnicate"), "Unrecognized command")
	mustError(t, td.cmd(t, "command", "query", "call-id", "nope"), "Unknown call-id")
	// Two port pairs: one call takes both; the next one runs out.
	mustOK(t, td.cmd(t, "command", "offer", "call-id", "e2", "from-tag", "x", "sdp", a.sdp()))
	mustError(t, td.cmd(t, "command", "offer", "call-id", "e3", "from-tag", "x", "sdp", a.sdp()), "Ran out of ports")
	if td.Engine.Call("e3") != nil {
		t.Error("a call that ran out of ports was kept")
	}
	if td.Engine.Call("e2") == nil {
		t.Error("the existing call was disturbed by port exhaustion")
	}
}

func TestRetransmittedCookieIsAnsweredFromCacheNotExecutedAgain(t *testing.T) {
	td := startDaemon(t, nil)
	a := newEndpoint(t)
	conn, err := net.Dial("udp", td.NGAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := bencode.Encode(bencode.Dict(
		bencode.P("command", bencode.String("offer")),
		bencode.P("call-id", bencode.String("retrans-1")),
		bencode.P("from-tag", bencode.String("x")),
		bencode.P("sdp", bencode.String(a.sdp())),
	))
	msg := append([]byte("cookie42 "), body...)
	var replies []string
	buf := make([]byte, 65536)
	for range 2 {
		conn.Write(msg)
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, string(buf[:n]))
	}
	if replies[0] != replies[1] {
		t.Fatalf("retransmission got a different reply:\n%s\n%s", replies[0], replies[1])
	}
	if !strings.HasPrefix(replies[0], "cookie42 d") {
		t.Fatalf("reply does not start with the cookie: %.40q", replies[0])
	}
	if n := td.Handler.Stats.Offer.Load(); n != 1 {
		t.Fatalf("offer executed %d times, want 1", n)
	}
}

func TestJSONRequestsGetJSONReplies(t *testing.T) {
	td := startDaemon(t, nil)
	conn, err := net.Dial("udp", td.NGAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`ck1 {"command":"ping"}`))
	buf := make([]byte, 1024)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != `ck1 {"result":"pong"}` {
		t.Fatalf("JSON ping reply %q", got)
	}
}

func TestGarbageDoesNotDisturbOtherCalls(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "garbage-1")
	conn, err := net.Dial("udp", td.NGAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, g := range []string{"", " ", "x", "cookie", "cookie d", "cookie d4:spam", "cookie i3e", "ck l", "ck {", "ck {\"command\":", "\x00\xff\xfe", strings.Repeat("9", 5000)} {
		conn.Write([]byte(g))
	}
	// A reply for garbage with a cookie is an error reply; nothing crashes.
	stranger, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer stranger.Close()
	for _, g := range [][]byte{{}, {0}, {0x80}, {0x00, 0x01, 0, 0}, make([]byte, 9000), []byte("\x16\xfe\xfd garbage dtls")} {
		sendTo(t, stranger, c.toB, g)
		sendTo(t, stranger, c.toBRTCP, g)
	}
	p := rtpPacket(1, 1, "still-works")
	sendTo(t, c.a.rtp, c.toA, p)
	expectPacket(t, c.b.rtp, p)
	r := td.cmd(t, "command", "ping")
	if res, _ := r.GetString("result"); res != "pong" {
		t.Fatal("daemon stopped answering after garbage")
	}
}

func TestTimeoutEndsSilentCalls(t *testing.T) {
	td := startDaemon(t, func(c *config.Config) { c.Timeout = time.Second })
	c := setupCall(t, td, "timeout-1")
	eventually(t, "media timeout", func() bool { return td.Engine.Call(c.id) == nil })
	if n := td.Engine.Totals().Timeouts.Load(); n != 1 {
		t.Fatalf("timeouts = %d, want 1", n)
	}
}

func TestFinalTimeoutEndsCallsWithMedia(t *testing.T) {
	td := startDaemon(t, func(c *config.Config) { c.FinalTimeout = 2 * time.Second })
	c := setupCall(t, td, "final-1")
	deadline := time.Now().Add(10 * time.Second)
	for td.Engine.Call(c.id) != nil && time.Now().Before(deadline) {
		sendTo(t, c.a.rtp, c.toA, rtpPacket(1, 1, "keepalive"))
		time.Sleep(50 * time.Millisecond)
	}
	if td.Engine.Call(c.id) != nil {
		t.Fatal("call outlived final-timeout")
	}
	if n := td.Engine.Totals().FinalTimeouts.Load(); n != 1 {
		t.Fatalf("final timeouts = %d, want 1", n)
	}
}

func TestListAndStatistics(t *testing.T) {
	td := startDaemon(t, nil)
	setupCall(t, td, "list-1")
	setupCall(t, td, "list-2")
	r := td.cmd(t, "command", "list")
	mustOK(t, r)
	calls, _ := r.GetList("calls")
	if len(calls) != 2 {
		t.Fatalf("list: %v", calls)
	}
	r = td.cmd(t, "command", "statistics")
	mustOK(t, r)
	st, _ := r.Get("statistics")
	cur, _ := st.Get("currentstatistics")
	if n, _ := cur.GetInt("sessionstotal"); n != 2 {
		t.Fatalf("sessionstotal = %d", n)
	}
}

func TestMaxSessionsRefusesNewCallsButKeepsExistingOnes(t *testing.T) {
	td := startDaemon(t, func(c *config.Config) { c.MaxSessions = 1 })
	c := setupCall(t, td, "max-1")
	a := newEndpoint(t)
	mustError(t, td.cmd(t, "command", "offer", "call-id", "max-2", "from-tag", "x", "sdp", a.sdp()), "Parallel session limit reached")
	// A re-INVITE of the existing call is not a new session.
	mustOK(t, td.cmd(t, "command", "offer", "call-id", c.id, "from-tag", "tagA", "to-tag", "tagB", "sdp", c.a.sdp()))
	p := rtpPacket(1, 1, "existing")
	sendTo(t, c.a.rtp, c.toA, p)
	expectPacket(t, c.b.rtp, p)
}

func TestRtpproxyProtocolListenerServes(t *testing.T) {
	cfg := testConfig()
	cfg.ListenUDP = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	d, err := Start(t.Context(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := net.Dial("udp", d.RTPPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("k1 V"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil || strings.TrimSpace(string(buf[:n])) != "k1 20040107" {
		t.Fatalf("V reply %q, %v", buf[:n], err)
	}
}

func TestOfferAndAnswerOverTCP(t *testing.T) {
	td := startDaemon(t, nil)
	a, b := newEndpoint(t), newEndpoint(t)
	r := do(t, td.tcp, "command", "offer", "call-id", "tcp-1", "from-tag", "A", "sdp", a.sdp(), "TOS", 184)
	mustOK(t, r)
	s, _ := r.GetString("sdp")
	_, toB, _ := relayPorts(t, s)
	r = do(t, td.tcp, "command", "answer", "call-id", "tcp-1", "from-tag", "A", "to-tag", "B", "sdp", b.sdp())
	mustOK(t, r)
	s, _ = r.GetString("sdp")
	_, toA, _ := relayPorts(t, s)
	p := rtpPacket(1, 1, "over-tcp-signalled")
	sendTo(t, a.rtp, toA, p)
	expectPacket(t, b.rtp, p)
	q := rtpPacket(1, 2, "back")
	sendTo(t, b.rtp, toB, q)
	expectPacket(t, a.rtp, q)
}

func TestBadMediaIsCountedPerStreamAndDropped(t *testing.T) {
	td := startDaemon(t, nil)
	c := setupCall(t, td, "bad-1", "strict-source")
	good := rtpPacket(1, 1, "good")
	sendTo(t, c.a.rtp, c.toA, good) // latch A
	expectPacket(t, c.b.rtp, good)
	bad := [][]byte{
		rtpPacket(2, 1, "")[:10],                         // truncated RTP header
		append([]byte{0x40}, rtpPacket(3, 1, "")[1:]...), // RTP version 1
		make([]byte, 9000),                               // oversized (and version 0)
	}
	for _, p := range bad {
		sendTo(t, c.a.rtp, c.toA, p)
	}
	stranger, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer stranger.Close()
	sendTo(t, stranger, c.toA, rtpPacket(4, 9, "not-from-a"))
	after := rtpPacket(5, 1, "after")
	sendTo(t, c.a.rtp, c.toA, after)
	expectPacket(t, c.b.rtp, after) // nothing bad got through before it
	r := td.cmd(t, "command", "query", "call-id", c.id)
	tags, _ := r.Get("tags")
	a, _ := tags.Get("tagA")
	medias, _ := a.GetList("medias")
	streams, _ := medias[0].GetList("streams")
	stats, _ := streams[0].Get("stats")
	if n, _ := stats.GetInt("errors"); n != 4 {
		t.Fatalf("A's RTP stream counted %d errors, want 4: %v", n, stats)
	}
	if n, _ := stats.GetInt("packets"); n != 2 {
		t.Fatalf("A's RTP stream counted %d packets, want 2", n)
	}
}

func TestT38OverUDPTLIsRelayedAsPlainDatagrams(t *testing.T) {
	td := startDaemon(t, nil)
	a, b := newEndpoint(t), newEndpoint(t)
	fax := func(e *endpoint) string {
		return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=image %d udptl t38\r\na=T38FaxVersion:0\r\n", e.port())
	}
	r := td.cmd(t, "command", "offer", "call-id", "t38-1", "from-tag", "A", "sdp", fax(a))
	mustOK(t, r)
	s, _ := r.GetString("sdp")
	if strings.Contains(s, "a=rtcp") {
		t.Fatalf("a=rtcp on a UDPTL line:\n%s", s)
	}
	_, toB, _ := relayPorts(t, s)
	r = td.cmd(t, "command", "answer", "call-id", "t38-1", "from-tag", "A", "to-tag", "B", "sdp", fax(b))
	mustOK(t, r)
	s, _ = r.GetString("sdp")
	_, toA, _ := relayPorts(t, s)
	// UDPTL datagrams are not RTP: the first byte is a sequence number.
	ifp := []byte{0x00, 0x01, 0x06, 0xd0, 0x01, 0x01, 0x80}
	sendTo(t, a.rtp, toA, ifp)
	expectPacket(t, b.rtp, ifp)
	sendTo(t, b.rtp, toB, ifp)
	expectPacket(t, a.rtp, ifp)
}

func TestIOURingEngineRelaysACall(t *testing.T) {
	td := startDaemon(t, func(c *config.Config) { c.IOEngine = "io_uring" })
	c := setupCall(t, td, "uring-1")
	for i := range 5 {
		p := rtpPacket(uint16(i), 1, "over-io_uring")
		sendTo(t, c.a.rtp, c.toA, p)
		expectPacket(t, c.b.rtp, p)
		sendTo(t, c.b.rtp, c.toB, p)
		expectPacket(t, c.a.rtp, p)
	}
	sendTo(t, c.a.rtcp, c.toARTCP, rtcpPacket(1))
	expectPacket(t, c.b.rtcp, rtcpPacket(1))
}
