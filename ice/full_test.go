package ice

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

func remoteHost(addr string, prio uint32) Candidate {
	return Candidate{Foundation: "1", Component: 1, Transport: "udp", Priority: prio,
		Addr: netip.MustParseAddrPort(addr), Type: TypeHost}
}

// checkRequest verifies one of our checks as the peer would.
func checkRequest(t *testing.T, pkt []byte, wantUseCand bool) *stun.Message {
	t.Helper()
	m := decodeResp(t, pkt)
	if m.Type != stun.BindingRequest {
		t.Fatalf("type %v", m.Type)
	}
	var u stun.Username
	if err := u.GetFrom(m); err != nil || u.String() != browserCreds.Ufrag+":"+relayCreds.Ufrag {
		t.Errorf("USERNAME %q %v", u, err)
	}
	if err := stun.NewShortTermIntegrity(browserCreds.Pwd).Check(m); err != nil {
		t.Errorf("integrity with the remote pwd: %v", err)
	}
	if v, err := m.Get(stun.AttrPriority); err != nil || binary.BigEndian.Uint32(v) != CandidatePriority(TypePrflx, 65535, 1) {
		t.Errorf("PRIORITY %x %v", v, err)
	}
	if m.Contains(stun.AttrUseCandidate) != wantUseCand {
		t.Errorf("USE-CANDIDATE = %v", !wantUseCand)
	}
	return m
}

// TestTickPacing covers RFC 8445 section 6.1.4.2: one new check per Ta, in
// pair-priority order, none without remote credentials, none when lite.
func TestTickPacing(t *testing.T) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Controlling: true, Tiebreaker: 9, Now: clk.Now, Rand: detRand(5)})
	cands := []Candidate{remoteHost("192.0.2.1:1000", 100), remoteHost("192.0.2.3:1000", 300), remoteHost("192.0.2.2:1000", 200)}
	for _, c := range cands {
		if err := a.AddRemoteCandidate(c); err != nil {
			t.Fatal(err)
		}
	}
	// Ignored candidates: TCP, mDNS, duplicates.
	tcp := remoteHost("192.0.2.9:9", 500)
	tcp.Transport, tcp.TCPType = "tcp", "active"
	mdns := remoteHost("0.0.0.0:5000", 500)
	mdns.Addr, mdns.Host = netip.AddrPortFrom(netip.Addr{}, 5000), "abc.local"
	for _, c := range []Candidate{tcp, mdns, cands[0]} {
		if err := a.AddRemoteCandidate(c); err != nil {
			t.Fatal(err)
		}
	}
	if out, _ := a.Tick(clk.Now()); len(out) != 0 {
		t.Fatalf("checks sent without remote credentials: %d", len(out))
	}
	a.SetRemoteCredentials(browserCreds)
	type sent struct {
		at time.Duration
		to string
	}
	var got []sent
	start := clk.Now()
	for i := 0; i <= 20; i++ { // 10 ms steps for 200 ms
		now := clk.Now()
		out, _ := a.Tick(now)
		for _, o := range out {
			checkRequest(t, o.Packet, false)
			got = append(got, sent{now.Sub(start), o.To.String()})
		}
		clk.Add(10 * time.Millisecond)
	}
	want := []sent{{0, "192.0.2.3:1000"}, {50 * time.Millisecond, "192.0.2.2:1000"}, {100 * time.Millisecond, "192.0.2.1:1000"}}
	if !slices.Equal(got, want) {
		t.Errorf("checks %v, want %v", got, want)
	}
	if a.Stats().ChecksSent != 3 {
		t.Errorf("ChecksSent %d", a.Stats().ChecksSent)
	}

	lite := newLite(clk)
	if err := lite.AddRemoteCandidate(cands[0]); err != nil {
		t.Fatal(err)
	}
	if out, _ := lite.Tick(clk.Now()); len(out) != 0 {
		t.Error("lite agent sent checks")
	}
}

// TestRetransmission covers the RFC 5389 section 7.2.1 schedule used for
// checks (RTO 500 ms doubling, Rc = 7, Rm = 16): transmissions at 0, 0.5,
// 1.5, 3.5, 7.5, 15.5 and 31.5 s with the same transaction ID, then the pair
// fails at 39.5 s, and after end-of-candidates the component is Failed.
func TestRetransmission(t *testing.T) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: true, Tiebreaker: 9, Now: clk.Now, Rand: detRand(6)})
	if err := a.AddRemoteCandidate(remoteHost("192.0.2.1:1000", 100)); err != nil {
		t.Fatal(err)
	}
	a.EndOfCandidates()
	start := clk.Now()
	var times []time.Duration
	var tids [][12]byte
	var failedAt time.Duration
	for now := start; now.Sub(start) <= 45*time.Second; now = clk.Add(10 * time.Millisecond) {
		out, evs := a.Tick(now)
		for _, o := range out {
			times = append(times, now.Sub(start))
			tids = append(tids, checkRequest(t, o.Packet, false).TransactionID)
		}
		for _, ev := range evs {
			if f, ok := ev.(*Failed); ok && f.Component == 1 && failedAt == 0 {
				failedAt = now.Sub(start)
			} else {
				t.Errorf("unexpected event %#v", ev)
			}
		}
	}
	want := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond,
		7500 * time.Millisecond, 15500 * time.Millisecond, 31500 * time.Millisecond}
	if !slices.Equal(times, want) {
		t.Errorf("transmissions at %v, want %v", times, want)
	}
	for _, id := range tids {
		if id != tids[0] {
			t.Error("retransmission changed the transaction ID")
		}
	}
	if failedAt != 39500*time.Millisecond {
		t.Errorf("Failed at %v, want 39.5s", failedAt)
	}
}

// link connects two agents in memory: it delivers Tick output and
// responses until quiet, returning the events of each side.
type link struct {
	t          *testing.T
	clk        *fakeClock
	a, b       *Agent
	aAddr      map[int]netip.AddrPort // a's socket per component
	bAddr      map[int]netip.AddrPort
	evA, evB   []Event
	dropToB    bool // lose everything sent to b
	dropToA    bool
	exchangedA int
}

func (l *link) deliver(from *Agent, out []Outgoing) {
	for _, o := range out {
		to, toAddrs, fromAddrs, drop := l.b, l.bAddr, l.aAddr, l.dropToB
		if from == l.b {
			to, toAddrs, fromAddrs, drop = l.a, l.aAddr, l.bAddr, l.dropToA
		}
		if toAddrs[o.Component] != o.To {
			l.t.Fatalf("packet to %v on component %d, peer socket is %v", o.To, o.Component, toAddrs[o.Component])
		}
		if drop {
			continue
		}
		src := fromAddrs[o.Component]
		resp, ev, err := to.HandleSTUN(o.Packet, src, o.Component)
		if err != nil {
			l.t.Logf("request %v -> %v: %v", src, o.To, err)
		}
		l.record(to, ev)
		if resp == nil {
			continue
		}
		back, toBack := from, fromAddrs
		if (to == l.a && l.dropToB) || (to == l.b && l.dropToA) {
			continue
		}
		_, ev, err = back.HandleSTUN(resp, toAddrs[o.Component], o.Component)
		if err != nil {
			l.t.Logf("response %v -> %v: %v", o.To, toBack[o.Component], err)
		}
		l.record(back, ev)
	}
}

func (l *link) record(who *Agent, ev Event) {
	if ev == nil {
		return
	}
	if who == l.a {
		l.evA = append(l.evA, ev)
	} else {
		l.evB = append(l.evB, ev)
	}
}

func (l *link) run(d time.Duration) {
	end := l.clk.Now().Add(d)
	for now := l.clk.Now(); !now.After(end); now = l.clk.Add(10 * time.Millisecond) {
		for _, ag := range []*Agent{l.a, l.b} {
			out, evs := ag.Tick(now)
			for _, ev := range evs {
				l.record(ag, ev)
			}
			l.deliver(ag, out)
		}
	}
}

func nominatedEvents(evs []Event) []Nominated {
	var n []Nominated
	for _, ev := range evs {
		if x, ok := ev.(*Nominated); ok {
			n = append(n, *x)
		}
	}
	return n
}

// TestTwoAgents runs our own agents against each other in memory until
// nomination: a full controlling agent towards a lite one (the relay
// towards an ICE-lite peer), two full agents, and two full agents that
// both start controlling (RFC 8445 7.3.1.1 resolves the conflict), each
// with and without rtcp-mux.
func TestTwoAgents(t *testing.T) {
	credsA := Credentials{Ufrag: "AAAAaaaa", Pwd: "passwordAAAAAAAAAAAAAAAA"}
	credsB := Credentials{Ufrag: "BBBBbbbb", Pwd: "passwordBBBBBBBBBBBBBBBB"}
	tests := []struct {
		name       string
		bLite      bool
		bCtrl      bool
		components int
	}{
		{"full controlling vs lite", true, false, 1},
		{"full controlling vs lite, RTP and RTCP", true, false, 2},
		{"full controlling vs full controlled", false, false, 1},
		{"full controlling vs full controlled, RTP and RTCP", false, false, 2},
		{"both controlling: role conflict resolved", false, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			a := NewAgent(Config{Local: credsA, Remote: credsB, Controlling: true, Tiebreaker: 1000, Now: clk.Now, Rand: detRand(7)})
			b := NewAgent(Config{Local: credsB, Remote: credsA, Lite: tc.bLite, Controlling: tc.bCtrl, Tiebreaker: 2000, Now: clk.Now, Rand: detRand(8)})
			l := &link{t: t, clk: clk, a: a, b: b, aAddr: map[int]netip.AddrPort{}, bAddr: map[int]netip.AddrPort{}}
			for comp := 1; comp <= tc.components; comp++ {
				l.aAddr[comp] = netip.AddrPortFrom(netip.MustParseAddr("203.0.113.1"), uint16(30000+comp-1))
				l.bAddr[comp] = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.2"), uint16(40000+comp-1))
				if err := a.AddRemoteCandidate(HostCandidate(l.bAddr[comp], comp, 65535)); err != nil {
					t.Fatal(err)
				}
				if !tc.bLite {
					if err := b.AddRemoteCandidate(HostCandidate(l.aAddr[comp], comp, 65535)); err != nil {
						t.Fatal(err)
					}
				}
			}
			a.EndOfCandidates()
			b.EndOfCandidates()
			l.run(3 * time.Second)
			nomA, nomB := nominatedEvents(l.evA), nominatedEvents(l.evB)
			if len(nomA) != tc.components || len(nomB) != tc.components {
				t.Fatalf("nominations A %v, B %v", nomA, nomB)
			}
			for comp := 1; comp <= tc.components; comp++ {
				if got, ok := a.Selected(comp); !ok || got != l.bAddr[comp] {
					t.Errorf("A selected %v %v for component %d", got, ok, comp)
				}
				if got, ok := b.Selected(comp); !ok || got != l.aAddr[comp] {
					t.Errorf("B selected %v %v for component %d", got, ok, comp)
				}
			}
			if a.Controlling() == b.Controlling() {
				t.Error("both agents in the same role")
			}
			if tc.bCtrl && a.Stats().RoleConflicts+b.Stats().RoleConflicts == 0 {
				t.Error("no role conflict counted")
			}
			if b.Stats().Requests == 0 || a.Stats().Responses == 0 {
				t.Errorf("stats A %+v B %+v", a.Stats(), b.Stats())
			}
			// Keep running: consent keeps the selection alive.
			l.run(70 * time.Second)
			for comp := 1; comp <= tc.components; comp++ {
				if _, ok := a.Selected(comp); !ok {
					t.Errorf("A lost component %d", comp)
				}
				if _, ok := b.Selected(comp); !ok {
					t.Errorf("B lost component %d", comp)
				}
			}
			for _, ev := range append(l.evA, l.evB...) {
				if _, ok := ev.(*Nominated); !ok {
					t.Errorf("unexpected event %#v", ev)
				}
			}
		})
	}
}

// TestNominationWaitsForBetterPair covers regular nomination (RFC 8445
// 8.1.1): the controlling agent nominates the best succeeded pair, not the
// first one.
func TestNominationWaitsForBetterPair(t *testing.T) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: true, Tiebreaker: 9, Now: clk.Now, Rand: detRand(9)})
	lo, hi := netip.MustParseAddrPort("192.0.2.1:1000"), netip.MustParseAddrPort("192.0.2.2:1000")
	_ = a.AddRemoteCandidate(remoteHost(lo.String(), 100))
	_ = a.AddRemoteCandidate(remoteHost(hi.String(), 200))
	respond := func(o Outgoing) Event {
		m := checkRequest(t, o.Packet, o.Packet != nil && decodeResp(t, o.Packet).Contains(stun.AttrUseCandidate))
		r := stun.MustBuild(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: relayAddr.Addr().AsSlice(), Port: int(relayAddr.Port())},
			stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint)
		_, ev, err := a.HandleSTUN(r.Raw, o.To, o.Component)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	out, _ := a.Tick(clk.Now()) // check to hi, left unanswered for now
	if len(out) != 1 || out[0].To != hi {
		t.Fatalf("first check %+v", out)
	}
	hiCheck := out[0]
	out, _ = a.Tick(clk.Add(DefaultTa)) // check to lo, answered
	if len(out) != 1 || out[0].To != lo {
		t.Fatalf("second check %+v", out)
	}
	respond(out[0])
	out, _ = a.Tick(clk.Add(DefaultTa))
	if len(out) != 0 {
		t.Fatalf("nominated before the better pair completed: %+v", out)
	}
	respond(hiCheck)
	out, _ = a.Tick(clk.Add(DefaultTa))
	if len(out) != 1 || out[0].To != hi || !decodeResp(t, out[0].Packet).Contains(stun.AttrUseCandidate) {
		t.Fatalf("nomination check %+v", out)
	}
	ev := respond(out[0])
	if n, ok := ev.(*Nominated); !ok || n.Remote != hi {
		t.Fatalf("event %#v", ev)
	}
}

// TestConsentFreshness covers RFC 7675: after nomination a full agent sends
// a consent check every 4-6 s; without responses consent is lost 30 s after
// the last one, and Selected stops reporting the pair.
func TestConsentFreshness(t *testing.T) {
	clk := newClock()
	credsA := Credentials{Ufrag: "AAAAaaaa", Pwd: "passwordAAAAAAAAAAAAAAAA"}
	credsB := Credentials{Ufrag: "BBBBbbbb", Pwd: "passwordBBBBBBBBBBBBBBBB"}
	a := NewAgent(Config{Local: credsA, Remote: credsB, Controlling: true, Tiebreaker: 1, Now: clk.Now, Rand: detRand(10)})
	b := NewAgent(Config{Local: credsB, Remote: credsA, Lite: true, Now: clk.Now, Rand: detRand(11)})
	l := &link{t: t, clk: clk, a: a, b: b,
		aAddr: map[int]netip.AddrPort{1: relayAddr}, bAddr: map[int]netip.AddrPort{1: browserAddr}}
	_ = a.AddRemoteCandidate(HostCandidate(browserAddr, 1, 65535))
	l.run(time.Second)
	if _, ok := a.Selected(1); !ok {
		t.Fatal("not nominated")
	}
	// Consent checks while the peer answers: every 4-6 s.
	var sentAt []time.Time
	for end := clk.Now().Add(60 * time.Second); clk.Now().Before(end); clk.Add(10 * time.Millisecond) {
		out, evs := a.Tick(clk.Now())
		if len(evs) != 0 {
			t.Fatalf("events %v", evs)
		}
		for _, o := range out {
			checkReq := decodeResp(t, o.Packet)
			if checkReq.Contains(stun.AttrUseCandidate) {
				t.Error("consent check with USE-CANDIDATE")
			}
			sentAt = append(sentAt, clk.Now())
		}
		l.deliver(a, out)
	}
	if len(sentAt) < 10 || len(sentAt) > 15 {
		t.Errorf("%d consent checks in 60 s", len(sentAt))
	}
	for i := 1; i < len(sentAt); i++ {
		if d := sentAt[i].Sub(sentAt[i-1]); d < 4*time.Second || d > 6*time.Second+10*time.Millisecond {
			t.Errorf("consent interval %v", d)
		}
	}
	// The peer goes away.
	l.dropToB = true
	lastOK := clk.Now()
	var lostAt time.Time
	for end := clk.Now().Add(40 * time.Second); clk.Now().Before(end); clk.Add(10 * time.Millisecond) {
		out, evs := a.Tick(clk.Now())
		l.deliver(a, out)
		for _, ev := range evs {
			if cl, ok := ev.(*ConsentLost); ok && cl.Remote == browserAddr && cl.Component == 1 {
				lostAt = clk.Now()
			} else {
				t.Errorf("event %#v", ev)
			}
		}
	}
	if d := lostAt.Sub(lastOK); d < 24*time.Second || d > 30*time.Second {
		t.Errorf("consent lost %v after the last refresh window", d)
	}
	if _, ok := a.Selected(1); ok {
		t.Error("Selected after consent loss")
	}
	if a.Stats().ConsentLosses != 1 {
		t.Errorf("stats %+v", a.Stats())
	}
}

// TestLiteConsentTimeout: a lite agent reports ConsentLost when the
// browser stops its consent checks for 30 s (RFC 7675 seen from the
// answering side).
func TestLiteConsentTimeout(t *testing.T) {
	clk := newClock()
	a := newLite(clk)
	if _, ev, _ := a.HandleSTUN(chromeCheck(t, "consent-tid0", true), browserAddr, 1); ev == nil {
		t.Fatal("not nominated")
	}
	for i := 1; i <= 12; i++ { // 60 s of checks every 5 s
		clk.Add(5 * time.Second)
		if _, _, err := a.HandleSTUN(chromeCheck(t, fmt.Sprintf("consent-%05d", i), false), browserAddr, 1); err != nil {
			t.Fatal(err)
		}
		if _, evs := a.Tick(clk.Now()); len(evs) != 0 {
			t.Fatalf("events %v", evs)
		}
	}
	last := clk.Now()
	// Checks from another address do not refresh consent of the selected pair.
	clk.Add(10 * time.Second)
	_, _, _ = a.HandleSTUN(chromeCheck(t, "consent-othr", false), netip.MustParseAddrPort("192.0.2.5:5"), 1)
	var lost time.Time
	for clk.Now().Sub(last) < 40*time.Second {
		if _, evs := a.Tick(clk.Now()); len(evs) == 1 {
			if _, ok := evs[0].(*ConsentLost); !ok {
				t.Fatalf("event %#v", evs[0])
			}
			lost = clk.Now()
		}
		clk.Add(100 * time.Millisecond)
	}
	if d := lost.Sub(last); d != 30*time.Second {
		t.Errorf("consent lost after %v", d)
	}
	if _, ok := a.Selected(1); ok {
		t.Error("still selected")
	}
	// A new nomination restores the selection.
	if _, ev, _ := a.HandleSTUN(chromeCheck(t, "consent-back", true), browserAddr, 1); ev == nil {
		t.Error("no Nominated after consent loss")
	}
}

// TestRestart covers ICE restarts (RFC 8445 section 9): new credentials
// take effect at once, the old selection stays until the new generation
// nominates, and that nomination is reported even for the same address.
func TestRestart(t *testing.T) {
	clk := newClock()
	a := newLite(clk)
	if _, ev, _ := a.HandleSTUN(chromeCheck(t, "restart-tid0", true), browserAddr, 1); ev == nil {
		t.Fatal("not nominated")
	}
	newLocal := Credentials{Ufrag: "NewLocal", Pwd: "newLocalPasswordNewLocal"}
	newRemote := Credentials{Ufrag: "NewR", Pwd: "newRemotePasswordNewRemo"}
	a.Restart(newLocal, newRemote)
	if a.Local() != newLocal {
		t.Error("Local not updated")
	}
	if sel, ok := a.Selected(1); !ok || sel != browserAddr {
		t.Error("selection dropped by restart")
	}
	resp, _, err := a.HandleSTUN(chromeCheck(t, "restart-old1", true), browserAddr, 1)
	if err == nil || errCode(t, decodeResp(t, resp)) != stun.CodeUnauthorized {
		t.Errorf("old credentials accepted: %v", err)
	}
	pkt := buildRequest(t, reqOpts{tid: tidOf("restart-new1"), user: newLocal.Ufrag + ":" + newRemote.Ufrag, pwd: newLocal.Pwd,
		priority: 1, controlling: u64(1), useCand: true})
	resp, ev, err := a.HandleSTUN(pkt, browserAddr, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := stun.NewShortTermIntegrity(newLocal.Pwd).Check(decodeResp(t, resp)); err != nil {
		t.Errorf("response not signed with the new pwd: %v", err)
	}
	if n, ok := ev.(*Nominated); !ok || n.Remote != browserAddr {
		t.Errorf("event after restart %#v", ev)
	}
}

// TestControlledNominationOnSuccess covers RFC 8445 7.3.1.5 for a full
// controlled agent: USE-CANDIDATE on a pair whose own check has not yet
// succeeded nominates it when the triggered check succeeds.
func TestControlledNominationOnSuccess(t *testing.T) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Tiebreaker: 1, Now: clk.Now, Rand: detRand(12)})
	_, ev, err := a.HandleSTUN(chromeCheck(t, "ctrl-nom-tid", true), browserAddr, 1)
	if err != nil || ev != nil {
		t.Fatalf("nominated before our check succeeded: %v %v", ev, err)
	}
	if _, ok := a.Selected(1); ok {
		t.Fatal("selected too early")
	}
	if at, ok := a.NextTick(); !ok || at.After(clk.Now()) {
		t.Errorf("NextTick = %v %v, want due now", at, ok)
	}
	out, _ := a.Tick(clk.Now())
	if len(out) != 1 || out[0].To != browserAddr {
		t.Fatalf("triggered check %+v", out)
	}
	m := checkRequest(t, out[0].Packet, false)
	if !m.Contains(stun.AttrICEControlled) {
		t.Error("check lacks ICE-CONTROLLED")
	}
	if at, ok := a.NextTick(); !ok || !at.Equal(clk.Now().Add(MinRTO)) {
		t.Errorf("NextTick = %v %v, want the retransmission at +500ms", at, ok)
	}
	r := stun.MustBuild(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: relayAddr.Addr().AsSlice(), Port: int(relayAddr.Port())},
		stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint)
	_, ev, err = a.HandleSTUN(r.Raw, browserAddr, 1)
	if n, ok := ev.(*Nominated); err != nil || !ok || n.Remote != browserAddr {
		t.Fatalf("event %#v, err %v", ev, err)
	}
	// A repeated USE-CANDIDATE on the selected pair is no new event.
	if _, ev, _ := a.HandleSTUN(chromeCheck(t, "ctrl-nom-ti2", true), browserAddr, 1); ev != nil {
		t.Errorf("event %#v", ev)
	}
	if at, ok := a.NextTick(); !ok || at.Before(clk.Now().Add(4*time.Second)) || at.After(clk.Now().Add(6*time.Second)) {
		t.Errorf("NextTick = %v, want the consent check in 4-6 s", at.Sub(clk.Now()))
	}
}
