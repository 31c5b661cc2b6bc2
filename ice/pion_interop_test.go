package ice

// Interoperability tests against a real full ICE implementation:
// github.com/pion/ice/v4 (the ICE agent of pion/webrtc) over real UDP
// sockets on the loopback interface. Our Agent is driven exactly as
// ng/webrtc.go drives it: a socket read loop hands STUN to HandleSTUN and
// sends the response back from the same socket, and a 20 ms ticker calls
// Tick and sends every Outgoing packet.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	pice "github.com/pion/ice/v4"
)

// interopWait bounds every wait in these tests.
const interopWait = 10 * time.Second

// ourPeer is our Agent on a loopback UDP socket.
type ourPeer struct {
	t      *testing.T
	agent  *Agent
	conn   *net.UDPConn
	addr   netip.AddrPort
	events chan Event
	data   chan datagram // non-STUN datagrams received
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

type datagram struct {
	from netip.AddrPort
	b    []byte
}

func startOurPeer(t *testing.T, cfg Config) *ourPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &ourPeer{
		t:      t,
		agent:  NewAgent(cfg),
		conn:   conn,
		addr:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		events: make(chan Event, 256),
		data:   make(chan datagram, 256),
		stop:   make(chan struct{}),
	}
	p.wg.Add(2)
	go p.readLoop()
	go p.tickLoop()
	t.Cleanup(p.close)
	return p
}

func (p *ourPeer) close() {
	p.once.Do(func() {
		close(p.stop)
		_ = p.conn.Close()
		p.wg.Wait()
	})
}

func (p *ourPeer) emit(ev Event) {
	select {
	case p.events <- ev:
	case <-p.stop:
	}
}

func (p *ourPeer) readLoop() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ECONNREFUSED after the peer closed its socket
		}
		if n > 0 && buf[0] <= 3 {
			resp, ev, _ := p.agent.HandleSTUN(buf[:n], from, 1)
			if resp != nil {
				_, _ = p.conn.WriteToUDPAddrPort(resp, from)
			}
			if ev != nil {
				p.emit(ev)
			}
			continue
		}
		select {
		case p.data <- datagram{from, bytes.Clone(buf[:n])}:
		default:
		}
	}
}

func (p *ourPeer) tickLoop() {
	defer p.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-tick.C:
			out, evs := p.agent.Tick(now)
			for _, o := range out {
				if o.Component == 1 {
					_, _ = p.conn.WriteToUDPAddrPort(o.Packet, o.To)
				}
			}
			for _, ev := range evs {
				p.emit(ev)
			}
		}
	}
}

// candidate is our host candidate as pion sees it.
func (p *ourPeer) candidate(t *testing.T) pice.Candidate {
	t.Helper()
	c, err := pice.UnmarshalCandidate(HostCandidate(p.addr, 1, 65535).String())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitEvent waits for an event of type T satisfying ok; other events are
// reported through the log and skipped.
func waitEvent[T Event](t *testing.T, p *ourPeer, d time.Duration, ok func(T) bool) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev := <-p.events:
			if e, is := ev.(T); is && (ok == nil || ok(e)) {
				return e
			}
			t.Logf("event %T %+v", ev, ev)
		case <-timer.C:
			var zero T
			t.Fatalf("no %T within %v; stats %+v", zero, d, p.agent.Stats())
			return zero
		}
	}
}

// pionPeer is a pion/ice Agent restricted to UDP4 on the loopback
// interface, without mDNS.
type pionPeer struct {
	agent *pice.Agent
	cands []pice.Candidate
	creds Credentials
	state chan pice.ConnectionState
}

func startPion(t *testing.T, lite bool) *pionPeer {
	t.Helper()
	opts := []pice.AgentOption{
		pice.WithNetworkTypes([]pice.NetworkType{pice.NetworkTypeUDP4}),
		pice.WithCandidateTypes([]pice.CandidateType{pice.CandidateTypeHost}),
		pice.WithIncludeLoopback(),
		pice.WithInterfaceFilter(func(name string) bool { return name == "lo" }),
		pice.WithIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }),
		pice.WithMulticastDNSMode(pice.MulticastDNSModeDisabled),
		pice.WithCheckInterval(50 * time.Millisecond),
		pice.WithKeepaliveInterval(500 * time.Millisecond),
	}
	if lite {
		opts = append(opts, pice.WithICELite(true))
	}
	a, err := pice.NewAgentWithOptions(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	pp := &pionPeer{agent: a, state: make(chan pice.ConnectionState, 32)}
	if err := a.OnConnectionStateChange(func(s pice.ConnectionState) {
		select {
		case pp.state <- s:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	pp.creds.Ufrag, pp.creds.Pwd, err = a.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	pp.gather(t)
	return pp
}

// gather gathers pion's candidates and waits for the end of gathering.
func (pp *pionPeer) gather(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var cands []pice.Candidate
	if err := pp.agent.OnCandidate(func(c pice.Candidate) {
		if c == nil {
			once.Do(func() { close(done) })
			return
		}
		mu.Lock()
		cands = append(cands, c)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := pp.agent.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(interopWait):
		t.Fatal("pion did not finish gathering")
	}
	mu.Lock()
	pp.cands = cands
	mu.Unlock()
	if len(pp.cands) == 0 {
		t.Fatal("pion gathered no candidate")
	}
	// GetLocalCandidates must agree with OnCandidate.
	if got, err := pp.agent.GetLocalCandidates(); err != nil || len(got) != len(pp.cands) {
		t.Fatalf("GetLocalCandidates: %d candidates, %v; OnCandidate gave %d", len(got), err, len(pp.cands))
	}
}

// addr is the address of pion's (only) host candidate.
func (pp *pionPeer) addr(t *testing.T) netip.AddrPort {
	t.Helper()
	c, err := ParseCandidate(pp.cands[0].Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return c.Addr
}

// giveCandidates hands pion's candidates to our agent as signalling would.
func (pp *pionPeer) giveCandidates(t *testing.T, a *Agent) {
	t.Helper()
	for _, pc := range pp.cands {
		c, err := ParseCandidate(pc.Marshal())
		if err != nil {
			t.Fatalf("ParseCandidate(%q): %v", pc.Marshal(), err)
		}
		if err := a.AddRemoteCandidate(c); err != nil {
			t.Fatal(err)
		}
	}
	a.EndOfCandidates()
}

func (pp *pionPeer) awaitConnected(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	if err := pp.agent.AwaitConnect(ctx); err != nil {
		t.Fatalf("pion did not connect: %v", err)
	}
}

// exchange sends application datagrams both ways over the selected pair.
func exchange(t *testing.T, us *ourPeer, conn *pice.Conn, remote netip.AddrPort) {
	t.Helper()
	got, ok := us.agent.Selected(1)
	if !ok || got != remote {
		t.Fatalf("Selected(1) = %v, %v; want %v", got, ok, remote)
	}
	// Drain datagrams from earlier phases.
	for len(us.data) > 0 {
		<-us.data
	}
	for i := range 3 {
		// pion -> us
		msg := fmt.Appendf(nil, "\x80pion->ngrelay %d", i) // first byte 128: RTP-like, not STUN
		if _, err := conn.Write(msg); err != nil {
			t.Fatalf("pion write: %v", err)
		}
		select {
		case d := <-us.data:
			if d.from != remote || !bytes.Equal(d.b, msg) {
				t.Fatalf("got %q from %v, want %q from %v", d.b, d.from, msg, remote)
			}
		case <-time.After(interopWait):
			t.Fatal("datagram from pion not received")
		}
		// us -> pion
		msg = fmt.Appendf(nil, "\x80ngrelay->pion %d", i)
		if _, err := us.conn.WriteToUDPAddrPort(msg, got); err != nil {
			t.Fatal(err)
		}
		rc := make(chan []byte, 1)
		go func() {
			buf := make([]byte, 1500)
			n, err := conn.Read(buf)
			if err != nil {
				rc <- nil
				return
			}
			rc <- buf[:n]
		}()
		select {
		case b := <-rc:
			if !bytes.Equal(b, msg) {
				t.Fatalf("pion read %q, want %q", b, msg)
			}
		case <-time.After(interopWait):
			t.Fatal("datagram to pion not received")
		}
	}
}

// fastConsent are consent timers short enough for tests.
func fastConfig(local Credentials, lite, controlling bool) Config {
	return Config{
		Local:           local,
		Lite:            lite,
		Controlling:     controlling,
		ConsentInterval: 200 * time.Millisecond,
		ConsentTimeout:  2 * time.Second,
		NominationDelay: 200 * time.Millisecond,
	}
}

// TestPionControlledUs: pion is the controlling full agent (it dials), we
// are a controlled full agent. Pion's candidates reach us before its
// credentials do.
func TestPionControlledUs(t *testing.T) {
	us := startOurPeer(t, fastConfig(NewCredentials(nil), false, false))
	pp := startPion(t, false)
	pp.giveCandidates(t, us.agent) // candidates before credentials
	us.agent.SetRemoteCredentials(pp.creds)
	if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
		t.Fatal(err)
	}
	local := us.agent.Local()
	conn, err := pp.agent.StartDial(local.Ufrag, local.Pwd)
	if err != nil {
		t.Fatal(err)
	}
	pp.awaitConnected(t)
	nom := waitEvent(t, us, interopWait, func(*Nominated) bool { return true })
	if nom.Component != 1 || nom.Remote != pp.addr(t) {
		t.Fatalf("Nominated %+v, want component 1, remote %v", nom, pp.addr(t))
	}
	if us.agent.Controlling() {
		t.Error("we became controlling")
	}
	exchange(t, us, conn, pp.addr(t))
	st := us.agent.Stats()
	if st.ChecksSent == 0 || st.Responses == 0 {
		t.Errorf("a full agent must check too: %+v", st)
	}
	if st.Unauthorized+st.BadIntegrity+st.BadRequests != 0 {
		t.Errorf("rejected checks: %+v", st)
	}
}

// TestPionControlledByUs: we are the controlling full agent, pion is
// controlled (it accepts). Our candidate reaches pion only through our
// checks (peer-reflexive), pion's candidates reach us after its
// credentials.
func TestPionControlledByUs(t *testing.T) {
	us := startOurPeer(t, fastConfig(NewCredentials(nil), false, true))
	pp := startPion(t, false)
	us.agent.SetRemoteCredentials(pp.creds)
	local := us.agent.Local()
	conn, err := pp.agent.StartAccept(local.Ufrag, local.Pwd)
	if err != nil {
		t.Fatal(err)
	}
	pp.giveCandidates(t, us.agent) // candidates after credentials
	pp.awaitConnected(t)
	nom := waitEvent(t, us, interopWait, func(*Nominated) bool { return true })
	if nom.Component != 1 || nom.Remote != pp.addr(t) {
		t.Fatalf("Nominated %+v, want component 1, remote %v", nom, pp.addr(t))
	}
	if !us.agent.Controlling() {
		t.Error("we lost the controlling role")
	}
	sel, err := pp.agent.GetSelectedCandidatePair()
	if err != nil || sel == nil {
		t.Fatalf("pion has no selected pair: %v", err)
	}
	if got := sel.Remote.Port(); got != int(us.addr.Port()) {
		t.Errorf("pion selected remote port %d, want %d", got, us.addr.Port())
	}
	exchange(t, us, conn, pp.addr(t))
}

// TestPionRoleConflict: both sides start controlling; RFC 8445 section
// 7.3.1.1 must leave exactly one of them controlling and connect them.
func TestPionRoleConflict(t *testing.T) {
	for _, weStartControlling := range []bool{true, false} {
		t.Run(fmt.Sprintf("controlling=%v", weStartControlling), func(t *testing.T) {
			us := startOurPeer(t, fastConfig(NewCredentials(nil), false, weStartControlling))
			pp := startPion(t, false)
			us.agent.SetRemoteCredentials(pp.creds)
			pp.giveCandidates(t, us.agent)
			if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
				t.Fatal(err)
			}
			local := us.agent.Local()
			var conn *pice.Conn
			var err error
			if weStartControlling {
				conn, err = pp.agent.StartDial(local.Ufrag, local.Pwd) // both controlling
			} else {
				conn, err = pp.agent.StartAccept(local.Ufrag, local.Pwd) // both controlled
			}
			if err != nil {
				t.Fatal(err)
			}
			pp.awaitConnected(t)
			waitEvent(t, us, interopWait, func(*Nominated) bool { return true })
			exchange(t, us, conn, pp.addr(t))
		})
	}
}

// TestPionLiteUs: we are ICE-lite, pion is the controlling full agent.
func TestPionLiteUs(t *testing.T) {
	us := startOurPeer(t, fastConfig(NewCredentials(nil), true, false))
	pp := startPion(t, false)
	us.agent.SetRemoteCredentials(pp.creds)
	if err := pp.agent.SetRemoteICELite(true); err != nil {
		t.Fatal(err)
	}
	if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
		t.Fatal(err)
	}
	local := us.agent.Local()
	conn, err := pp.agent.StartDial(local.Ufrag, local.Pwd)
	if err != nil {
		t.Fatal(err)
	}
	pp.awaitConnected(t)
	nom := waitEvent(t, us, interopWait, func(*Nominated) bool { return true })
	if nom.Remote != pp.addr(t) {
		t.Fatalf("Nominated %+v, want remote %v", nom, pp.addr(t))
	}
	exchange(t, us, conn, pp.addr(t))
	if n := us.agent.Stats().ChecksSent; n != 0 {
		t.Errorf("lite agent sent %d checks", n)
	}
}

// TestPionConsent: once connected, a full agent keeps sending consent
// checks (RFC 7675) that pion answers; when pion goes away, consent is lost
// within ConsentTimeout.
func TestPionConsent(t *testing.T) {
	for _, controlling := range []bool{false, true} {
		t.Run(fmt.Sprintf("controlling=%v", controlling), func(t *testing.T) {
			t.Parallel() // each subtest waits for several seconds
			cfg := fastConfig(NewCredentials(nil), false, controlling)
			us := startOurPeer(t, cfg)
			pp := startPion(t, false)
			us.agent.SetRemoteCredentials(pp.creds)
			pp.giveCandidates(t, us.agent)
			if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
				t.Fatal(err)
			}
			local := us.agent.Local()
			var err error
			if controlling {
				_, err = pp.agent.StartAccept(local.Ufrag, local.Pwd)
			} else {
				_, err = pp.agent.StartDial(local.Ufrag, local.Pwd)
			}
			if err != nil {
				t.Fatal(err)
			}
			pp.awaitConnected(t)
			waitEvent(t, us, interopWait, func(*Nominated) bool { return true })

			// Consent checks flow and are answered for several timeouts'
			// worth of time.
			before := us.agent.Stats()
			keep := 3 * cfg.ConsentTimeout / 2
			deadline := time.After(keep)
		wait:
			for {
				select {
				case ev := <-us.events:
					t.Fatalf("event while pion is alive: %T %+v", ev, ev)
				case <-deadline:
					break wait
				}
			}
			after := us.agent.Stats()
			sent := after.ChecksSent - before.ChecksSent
			answered := after.Responses - before.Responses
			// 3 s at 200 ms +-20 %: about 15 checks.
			if sent < 8 || answered < sent-2 {
				t.Errorf("in %v: %d consent checks sent, %d answered", keep, sent, answered)
			}
			if _, ok := us.agent.Selected(1); !ok {
				t.Fatal("selection lost while pion is alive")
			}

			// Pion goes away.
			closed := time.Now()
			if err := pp.agent.Close(); err != nil {
				t.Fatal(err)
			}
			lost := waitEvent(t, us, cfg.ConsentTimeout+2*time.Second, func(*ConsentLost) bool { return true })
			if el := time.Since(closed); el < cfg.ConsentTimeout-cfg.ConsentInterval*6/5-100*time.Millisecond {
				t.Errorf("consent lost after only %v", el)
			}
			if lost.Remote != pp.addr(t) {
				t.Errorf("ConsentLost %+v", lost)
			}
			if _, ok := us.agent.Selected(1); ok {
				t.Error("Selected still reports the pair")
			}
		})
	}
}

// TestPionPeerReflexive: signalling gives us none of pion's candidates
// (as with a browser's mDNS host candidates): we learn pion's address from
// its checks as a peer-reflexive candidate, check it with a triggered
// check and nominate or accept its nomination.
func TestPionPeerReflexive(t *testing.T) {
	for _, controlling := range []bool{false, true} {
		t.Run(fmt.Sprintf("controlling=%v", controlling), func(t *testing.T) {
			us := startOurPeer(t, fastConfig(NewCredentials(nil), false, controlling))
			pp := startPion(t, false)
			us.agent.SetRemoteCredentials(pp.creds)
			us.agent.EndOfCandidates()
			if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
				t.Fatal(err)
			}
			conn := pp.start(t, us, !controlling)
			pp.awaitConnected(t)
			nom := waitEvent(t, us, interopWait, func(*Nominated) bool { return true })
			if nom.Remote != pp.addr(t) {
				t.Fatalf("Nominated %+v, want remote %v", nom, pp.addr(t))
			}
			exchange(t, us, conn, pp.addr(t))
		})
	}
}

// start starts pion's connectivity checks towards us.
func (pp *pionPeer) start(t *testing.T, us *ourPeer, controlling bool) *pice.Conn {
	t.Helper()
	local := us.agent.Local()
	var conn *pice.Conn
	var err error
	if controlling {
		conn, err = pp.agent.StartDial(local.Ufrag, local.Pwd)
	} else {
		conn, err = pp.agent.StartAccept(local.Ufrag, local.Pwd)
	}
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// awaitState waits until pion reports state s.
func (pp *pionPeer) awaitState(t *testing.T, s pice.ConnectionState) {
	t.Helper()
	timer := time.NewTimer(interopWait)
	defer timer.Stop()
	for {
		select {
		case got := <-pp.state:
			if got == s {
				return
			}
		case <-timer.C:
			t.Fatalf("pion did not reach state %s", s)
		}
	}
}

// TestPionRestart: ICE restarts (RFC 8445 section 9) after a first
// connection; the new generation must be checked and nominated again.
//
//   - fresh-peer: both sides change credentials, the peer is a new pion
//     agent (new socket); we Restart before knowing its credentials.
//   - both-restart: pion restarts the same agent (Agent.Restart, new
//     credentials and candidates); we Restart with its new credentials.
//   - peer-restarts: only pion changes credentials; we only learn them
//     through SetRemoteCredentials and keep ours.
func TestPionRestart(t *testing.T) {
	for _, mode := range []string{"fresh-peer", "both-restart", "peer-restarts"} {
		for _, controlling := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/controlling=%v", mode, controlling), func(t *testing.T) {
				testPionRestart(t, mode, controlling)
			})
		}
	}
}

func testPionRestart(t *testing.T, mode string, controlling bool) {
	us := startOurPeer(t, fastConfig(NewCredentials(nil), false, controlling))
	pp := startPion(t, false)
	us.agent.SetRemoteCredentials(pp.creds)
	pp.giveCandidates(t, us.agent)
	if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
		t.Fatal(err)
	}
	conn := pp.start(t, us, !controlling)
	pp.awaitConnected(t)
	waitEvent(t, us, interopWait, func(e *Nominated) bool { return e.Remote == pp.addr(t) })
	exchange(t, us, conn, pp.addr(t))
	oldAddr, oldCreds, oldLocal := pp.addr(t), pp.creds, us.agent.Local()

	switch mode {
	case "fresh-peer":
		newLocal := NewCredentials(nil)
		us.agent.Restart(newLocal, Credentials{}) // our re-offer
		if us.agent.Local() != newLocal {
			t.Fatal("Local() does not return the new credentials")
		}
		if got, ok := us.agent.Selected(1); !ok || got != oldAddr {
			t.Errorf("old selection not kept during the restart: %v %v", got, ok)
		}
		_ = pp.agent.Close()
		pp = startPion(t, false)
		us.agent.SetRemoteCredentials(pp.creds) // its answer
		pp.giveCandidates(t, us.agent)
		if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
			t.Fatal(err)
		}
		conn = pp.start(t, us, !controlling)
		pp.awaitConnected(t)
	case "both-restart", "peer-restarts":
		for len(pp.state) > 0 {
			<-pp.state
		}
		if err := pp.agent.Restart("", ""); err != nil {
			t.Fatal(err)
		}
		var err error
		pp.creds.Ufrag, pp.creds.Pwd, err = pp.agent.GetLocalUserCredentials()
		if err != nil {
			t.Fatal(err)
		}
		if mode == "both-restart" {
			us.agent.Restart(NewCredentials(nil), pp.creds)
		} else {
			us.agent.SetRemoteCredentials(pp.creds)
		}
		local := us.agent.Local()
		if (local == oldLocal) != (mode == "peer-restarts") {
			t.Fatalf("local credentials %v, before %v", local, oldLocal)
		}
		if err := pp.agent.SetRemoteCredentials(local.Ufrag, local.Pwd); err != nil {
			t.Fatal(err)
		}
		pp.gather(t)
		pp.giveCandidates(t, us.agent)
		if err := pp.agent.AddRemoteCandidate(us.candidate(t)); err != nil {
			t.Fatal(err)
		}
		pp.awaitState(t, pice.ConnectionStateConnected)
	}
	if pp.creds == oldCreds {
		t.Fatal("pion reused its credentials")
	}
	if pp.addr(t) == oldAddr {
		t.Fatal("pion reused its address; the test cannot tell the generations apart")
	}
	nom := waitEvent(t, us, interopWait, func(e *Nominated) bool { return e.Remote == pp.addr(t) })
	if nom.Component != 1 {
		t.Fatalf("Nominated %+v", nom)
	}
	exchange(t, us, conn, pp.addr(t))
}
