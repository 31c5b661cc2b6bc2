package interop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/internal/daemon"
	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/sdp"
)

// TestSRTPChainThroughRtpengine checks ngrelay's SDES-SRTP against an
// independent SRTP implementation, the real rtpengine: two plain RTP
// endpoints talk through both relays in a row, with SRTP on the hop
// between the relays only.
//
//   - "ngrelay-offers-SDES": A (plain) -> ngrelay (offer with
//     transport-protocol RTP/SAVP and SDES only-SUITE, so ngrelay offers
//     one crypto line) -> rtpengine (offer with transport-protocol RTP/AVP:
//     rtpengine accepts the SDES line and terminates SRTP) -> B (plain).
//     B's answer goes back the same way: rtpengine answers ngrelay with
//     RTP/SAVP and its own key, ngrelay answers A plain.
//   - "rtpengine-offers-SDES": the mirror: A (plain) -> rtpengine (offer
//     with transport-protocol RTP/SAVP: rtpengine offers all its suites) ->
//     ngrelay (offer with transport-protocol RTP/AVP and SDES only-SUITE,
//     so ngrelay accepts rtpengine's line of SUITE and terminates SRTP) ->
//     B (plain).
//
// Each runs for every suite both relays implement: AEAD_AES_256_GCM,
// AEAD_AES_128_GCM, AES_256_CM_HMAC_SHA1_80/32, AES_CM_128_HMAC_SHA1_80/32.
// The NULL_HMAC_SHA1_* suites are left out: rtpengine 10.5.3 was seen to
// crash forwarding media on a leg that negotiated one. rtpengine 10.5 does
// not know SDES only-SUITE (it logs "Unknown 'SDES' flag" and offers all
// its suites), so the suite is always chosen through ngrelay's only-SUITE:
// in the first chain ngrelay offers nothing else, in the mirror chain
// ngrelay accepts nothing else.
//
// A sends 25 RTP packets to B and B 25 to A, each with its own payload,
// then 5 RTCP sender reports each way; every packet must arrive at the
// other end byte for byte as sent (each is awaited before the next is
// sent, at most 2 s). The SDP between the relays must be RTP/SAVP with the
// suite's crypto line, and both relays must report the suite in use.
func TestSRTPChainThroughRtpengine(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped in -short mode")
	}
	Require(t, "rtpengine", "rtpengine-daemon")
	re := StartRtpengine(t, RtpengineOptions{Ports: 400})
	d := startNgrelay(t)
	chain := &srtpChain{
		rtpe: dialChainNG(t, re.NGAddr),
		ngr:  dialChainNG(t, d.NGAddrs()[0]),
		d:    d,
		re:   re,
	}
	suites := []srtp.Suite{
		srtp.AEADAES256GCM, srtp.AEADAES128GCM,
		srtp.AES256CMSHA1_80, srtp.AES256CMSHA1_32,
		srtp.AES128CMSHA1_80, srtp.AES128CMSHA1_32,
		// NULL_HMAC_SHA1_80/32: not run, rtpengine 10.5.3 crashes on them.
	}
	for _, suite := range suites {
		t.Run(suite.Name(), func(t *testing.T) {
			t.Run("ngrelay-offers-SDES", func(t *testing.T) { chain.ngrelayOffers(t, suite, false) })
			t.Run("rtpengine-offers-SDES", func(t *testing.T) { chain.rtpengineOffers(t, suite) })
		})
	}
	// The control: with one bit of ngrelay's key changed on its way to
	// rtpengine, rtpengine must drop what ngrelay sends (so the packets
	// above really were SRTP, checked by rtpengine).
	t.Run("tampered-key", func(t *testing.T) { chain.ngrelayOffers(t, srtp.AES128CMSHA1_80, true) })
	if re.proc.exited() {
		t.Fatalf("rtpengine exited during the test; log:\n%s", tailFile(re.LogPath, 40, 8000))
	}
}

type srtpChain struct {
	rtpe, ngr *ng.Client
	d         *daemon.Daemon
	re        *Rtpengine
}

// ngrelayOffers: A -> ngrelay (RTP/AVP -> RTP/SAVP) -> rtpengine (RTP/SAVP
// -> RTP/AVP) -> B. With tamper, rtpengine gets ngrelay's key with one bit
// changed, and nothing A sends may reach B.
func (c *srtpChain) ngrelayOffers(t *testing.T, suite srtp.Suite, tamper bool) {
	a, b := newChainEndpoint(t, "A"), newChainEndpoint(t, "B")
	callID := "chain-ngr-" + suite.Name()
	if tamper {
		callID += "-tampered"
	}
	only := []string{"only-" + suite.Name()}

	toRtpe := c.sdp(t, "ngrelay", c.ngr, chainReq("offer", callID, "from-A", "", a.sdp(),
		"transport-protocol", "RTP/SAVP", "SDES", only))
	offered := mustCryptos(t, "ngrelay's offer", toRtpe, "RTP/SAVP")
	if len(offered) != 1 || offered[0].Suite != suite || offered[0].Tag != 1 {
		t.Fatalf("ngrelay offered %v, want one line 1 %s:\n%s", offered, suite, toRtpe)
	}
	if tamper {
		orig := offered[0].String()
		offered[0].Keys[0].Key[0] ^= 1
		toRtpe = strings.Replace(toRtpe, orig, offered[0].String(), 1)
	}
	toB := c.sdp(t, "rtpengine", c.rtpe, chainReq("offer", callID, "from-A", "", toRtpe, "transport-protocol", "RTP/AVP"))
	mustPlain(t, "rtpengine's offer to B", toB)

	fromRtpe := c.sdp(t, "rtpengine", c.rtpe, chainReq("answer", callID, "from-A", "to-B", b.sdp()))
	answered := mustCryptos(t, "rtpengine's answer", fromRtpe, "RTP/SAVP")
	if len(answered) != 1 || answered[0].Suite != suite || answered[0].Tag != 1 {
		t.Fatalf("rtpengine answered %v, want one line 1 %s:\n%s", answered, suite, fromRtpe)
	}
	toA := c.sdp(t, "ngrelay", c.ngr, chainReq("answer", callID, "from-A", "to-B", fromRtpe))
	mustPlain(t, "ngrelay's answer to A", toA)

	c.checkSuites(t, callID, "to-B", "from-A", suite)
	if tamper {
		for i := range 3 {
			if _, err := a.rtp.WriteToUDPAddrPort(a.rtpPacket(i), relayAddrs(t, toA)[0]); err != nil {
				t.Fatal(err)
			}
		}
		b.rtp.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, _, err := b.rtp.ReadFromUDPAddrPort(make([]byte, 2048)); err == nil {
			t.Fatalf("B got %d bytes although rtpengine had a wrong key", n)
		}
		c.delete(t, callID)
		return
	}
	exchange(t, a, b, relayAddrs(t, toA), relayAddrs(t, toB))
	c.checkSuites(t, callID, "to-B", "from-A", suite)
	c.delete(t, callID)
}

// rtpengineOffers: A -> rtpengine (RTP/AVP -> RTP/SAVP) -> ngrelay
// (RTP/SAVP -> RTP/AVP) -> B.
func (c *srtpChain) rtpengineOffers(t *testing.T, suite srtp.Suite) {
	a, b := newChainEndpoint(t, "A"), newChainEndpoint(t, "B")
	callID := "chain-rtpe-" + suite.Name()

	toNgr := c.sdp(t, "rtpengine", c.rtpe, chainReq("offer", callID, "from-A", "", a.sdp(), "transport-protocol", "RTP/SAVP"))
	offered := mustCryptos(t, "rtpengine's offer", toNgr, "RTP/SAVP")
	var tag int
	for _, cr := range offered {
		if cr.Suite == suite {
			tag = cr.Tag
		}
	}
	if tag == 0 {
		t.Fatalf("rtpengine did not offer %s:\n%s", suite, toNgr)
	}
	toB := c.sdp(t, "ngrelay", c.ngr, chainReq("offer", callID, "from-A", "", toNgr,
		"transport-protocol", "RTP/AVP", "SDES", []string{"only-" + suite.Name()}))
	mustPlain(t, "ngrelay's offer to B", toB)

	fromNgr := c.sdp(t, "ngrelay", c.ngr, chainReq("answer", callID, "from-A", "to-B", b.sdp()))
	answered := mustCryptos(t, "ngrelay's answer", fromNgr, "RTP/SAVP")
	if len(answered) != 1 || answered[0].Suite != suite || answered[0].Tag != tag {
		t.Fatalf("ngrelay answered %v, want one line %d %s:\n%s", answered, tag, suite, fromNgr)
	}
	toA := c.sdp(t, "rtpengine", c.rtpe, chainReq("answer", callID, "from-A", "to-B", fromNgr))
	mustPlain(t, "rtpengine's answer to A", toA)

	c.checkSuites(t, callID, "from-A", "to-B", suite)
	exchange(t, a, b, relayAddrs(t, toA), relayAddrs(t, toB))
	c.checkSuites(t, callID, "from-A", "to-B", suite)
	c.delete(t, callID)
}

// checkSuites checks that ngrelay's leg ngrTag and rtpengine's monologue
// rtpeTag, the two ends of the SRTP hop, use suite.
func (c *srtpChain) checkSuites(t *testing.T, callID, ngrTag, rtpeTag string, suite srtp.Suite) {
	t.Helper()
	call := c.d.Engine.Call(callID)
	if call == nil {
		t.Fatalf("ngrelay has no call %q", callID)
	}
	call.Lock()
	leg := call.Leg(ngrTag)
	var in, out *srtp.Params
	if leg != nil && len(leg.Medias) > 0 {
		in, out = leg.Medias[0].SRTPIn, leg.Medias[0].SRTPOut
	}
	call.Unlock()
	if in == nil || out == nil || in.Suite != suite || out.Suite != suite {
		t.Fatalf("ngrelay leg %s: SRTP in %v, out %v; want %s both ways", ngrTag, in, out, suite)
	}

	q := c.do(t, "rtpengine", c.rtpe, bencode.Dict(
		bencode.P("command", bencode.String("query")),
		bencode.P("call-id", bencode.String(callID))))
	tags, _ := q.Get("tags")
	ml, _ := tags.Get(rtpeTag)
	medias, _ := ml.GetList("medias")
	if len(medias) == 0 {
		t.Fatalf("rtpengine query: no media for %s", rtpeTag)
	}
	streams, _ := medias[0].GetList("streams")
	for i, s := range streams {
		if got, _ := s.GetString("crypto suite"); got != suite.Name() {
			t.Fatalf("rtpengine %s stream %d: crypto suite %q, want %s", rtpeTag, i, got, suite)
		}
	}
}

func (c *srtpChain) delete(t *testing.T, callID string) {
	t.Helper()
	for name, cl := range map[string]*ng.Client{"ngrelay": c.ngr, "rtpengine": c.rtpe} {
		c.do(t, name, cl, bencode.Dict(
			bencode.P("command", bencode.String("delete")),
			bencode.P("call-id", bencode.String(callID))))
	}
}

// do sends an NG request and returns the reply, failing the test on an
// error reply.
func (c *srtpChain) do(t *testing.T, name string, cl *ng.Client, req bencode.Value) bencode.Value {
	t.Helper()
	if c.re.proc.exited() {
		t.Fatalf("rtpengine has exited; log:\n%s", tailFile(c.re.LogPath, 40, 8000))
	}
	r, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res, _ := r.GetString("result"); res != "ok" {
		reason, _ := r.GetString("error-reason")
		cmd, _ := req.GetString("command")
		t.Fatalf("%s %s: %s: %s", name, cmd, res, reason)
	}
	return r
}

// sdp is do for offer and answer: it returns the reply's SDP.
func (c *srtpChain) sdp(t *testing.T, name string, cl *ng.Client, req bencode.Value) string {
	t.Helper()
	s, ok := c.do(t, name, cl, req).GetString("sdp")
	if !ok {
		t.Fatalf("%s: reply without SDP", name)
	}
	return s
}

func dialChainNG(t *testing.T, addr netip.AddrPort) *ng.Client {
	t.Helper()
	cl, err := ng.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	cl.SetTimeout(time.Second)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// chainReq builds an offer or answer; extra are key/value pairs (string or
// []string values).
func chainReq(cmd, callID, fromTag, toTag, body string, extra ...any) bencode.Value {
	req := bencode.Dict(
		bencode.P("command", bencode.String(cmd)),
		bencode.P("call-id", bencode.String(callID)),
		bencode.P("from-tag", bencode.String(fromTag)),
		bencode.P("sdp", bencode.String(body)),
	)
	if toTag != "" {
		req.Set("to-tag", bencode.String(toTag))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		switch v := extra[i+1].(type) {
		case string:
			req.Set(extra[i].(string), bencode.String(v))
		case []string:
			l := bencode.List()
			for _, s := range v {
				l.List = append(l.List, bencode.String(s))
			}
			req.Set(extra[i].(string), l)
		}
	}
	return req
}

// mustCryptos checks that the SDP's single m-line has protocol proto and
// returns its crypto lines.
func mustCryptos(t *testing.T, what string, body, proto string) []sdes.Crypto {
	t.Helper()
	s, err := sdp.Parse([]byte(body))
	if err != nil || len(s.Media) != 1 {
		t.Fatalf("%s: want one m-line (%v):\n%s", what, err, body)
	}
	m := s.Media[0]
	if m.Proto != proto {
		t.Fatalf("%s: protocol %s, want %s:\n%s", what, m.Proto, proto, body)
	}
	var out []sdes.Crypto
	for _, v := range m.Attrs("crypto") {
		c, err := sdes.Parse(v)
		if err != nil {
			continue // a suite ngrelay does not implement (AES-192, F8)
		}
		out = append(out, c)
	}
	return out
}

// mustPlain checks that the SDP offers or answers plain RTP/AVP.
func mustPlain(t *testing.T, what, body string) {
	t.Helper()
	s, err := sdp.Parse([]byte(body))
	if err != nil || len(s.Media) != 1 {
		t.Fatalf("%s: want one m-line (%v):\n%s", what, err, body)
	}
	if m := s.Media[0]; m.Proto != "RTP/AVP" || m.HasAttr("crypto") || m.Port == 0 {
		t.Fatalf("%s: want plain RTP/AVP:\n%s", what, body)
	}
}

// relayAddrs returns where the SDP tells its receiver to send RTP and RTCP.
func relayAddrs(t *testing.T, body string) [2]netip.AddrPort {
	t.Helper()
	s, err := sdp.Parse([]byte(body))
	if err != nil || len(s.Media) == 0 {
		t.Fatalf("SDP (%v):\n%s", err, body)
	}
	m := s.Media[0]
	conn, ok := m.EffectiveConnection()
	if !ok {
		t.Fatalf("no connection address:\n%s", body)
	}
	addr, ok := conn.Addr()
	if !ok {
		t.Fatalf("connection address %q:\n%s", conn.Address, body)
	}
	rtcp := m.Port + 1
	if r, ok := m.RTCP(); ok {
		rtcp = r.Port
	}
	return [2]netip.AddrPort{netip.AddrPortFrom(addr, uint16(m.Port)), netip.AddrPortFrom(addr, uint16(rtcp))}
}

// chainEndpoint is a plain RTP endpoint: an RTP and an RTCP socket.
type chainEndpoint struct {
	name      string
	rtp, rtcp *net.UDPConn
	ssrc      uint32
}

func newChainEndpoint(t *testing.T, name string) *chainEndpoint {
	t.Helper()
	e := &chainEndpoint{name: name, ssrc: 0x10000000 + uint32(name[0])}
	for _, c := range []**net.UDPConn{&e.rtp, &e.rtcp} {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		*c = conn
	}
	return e
}

func (e *chainEndpoint) port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// sdp is the endpoint's plain offer or answer: PCMU, RTCP on its own port.
func (e *chainEndpoint) sdp() string {
	return fmt.Sprintf("v=0\r\no=%s 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:%d\r\na=sendrecv\r\n",
		e.name, e.port(e.rtp), e.port(e.rtcp))
}

// rtpPacket is the endpoint's i-th RTP packet: PCMU, 160 payload bytes
// that name the sender and the packet.
func (e *chainEndpoint) rtpPacket(i int) []byte {
	p := make([]byte, 12+160)
	p[0], p[1] = 0x80, 0
	binary.BigEndian.PutUint16(p[2:], uint16(1000+i))
	binary.BigEndian.PutUint32(p[4:], uint32(8000+160*i))
	binary.BigEndian.PutUint32(p[8:], e.ssrc)
	for j := range p[12:] {
		p[12+j] = byte(int(e.name[0]) + 7*i + j)
	}
	copy(p[12:], fmt.Sprintf("%s->%d", e.name, i))
	return p
}

// rtcpPacket is the endpoint's i-th RTCP packet: a sender report without
// report blocks.
func (e *chainEndpoint) rtcpPacket(i int) []byte {
	p := make([]byte, 28)
	p[0], p[1] = 0x80, 200
	binary.BigEndian.PutUint16(p[2:], 6)
	binary.BigEndian.PutUint32(p[4:], e.ssrc)
	binary.BigEndian.PutUint32(p[8:], 0xe0000000+uint32(i)) // NTP seconds
	binary.BigEndian.PutUint32(p[12:], uint32(i)*0x1000000) // NTP fraction
	binary.BigEndian.PutUint32(p[16:], uint32(8000+160*i))  // RTP timestamp
	binary.BigEndian.PutUint32(p[20:], uint32(i+1))         // packets
	binary.BigEndian.PutUint32(p[24:], uint32(160*(i+1)))   // octets
	return p
}

// exchange sends RTP and RTCP from A to B and from B to A through the
// relays (toA: where A sends, from the SDP A got; toB: where B sends) and
// checks every packet arrives unchanged.
func exchange(t *testing.T, a, b *chainEndpoint, toA, toB [2]netip.AddrPort) {
	t.Helper()
	const nRTP, nRTCP = 25, 5
	for i := range nRTP {
		relayOne(t, a, a.rtp, toA[0], b, b.rtp, a.rtpPacket(i), "RTP")
		relayOne(t, b, b.rtp, toB[0], a, a.rtp, b.rtpPacket(i), "RTP")
	}
	for i := range nRTCP {
		relayOne(t, a, a.rtcp, toA[1], b, b.rtcp, a.rtcpPacket(i), "RTCP")
		relayOne(t, b, b.rtcp, toB[1], a, a.rtcp, b.rtcpPacket(i), "RTCP")
	}
}

// relayOne sends pkt from one endpoint's socket to dst and waits (2 s at
// most) for it on the other endpoint's socket, which must get it exactly.
func relayOne(t *testing.T, from *chainEndpoint, src *net.UDPConn, dst netip.AddrPort, to *chainEndpoint, rcv *net.UDPConn, pkt []byte, kind string) {
	t.Helper()
	if _, err := src.WriteToUDPAddrPort(pkt, dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	deadline := time.Now().Add(2 * time.Second)
	for {
		rcv.SetReadDeadline(deadline)
		n, _, err := rcv.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("%s %s->%s (sent to %s): nothing arrived: %v", kind, from.name, to.name, dst, err)
		}
		got := buf[:n]
		if bytes.Equal(got, pkt) {
			return
		}
		if kind == "RTCP" && len(got) >= 8 && got[1] != 200 {
			// A relay's own RTCP (none expected, but tolerated): wait on.
			continue
		}
		t.Fatalf("%s %s->%s: got\n%x\nwant\n%x", kind, from.name, to.name, got, pkt)
	}
}
