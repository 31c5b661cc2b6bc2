package daemon

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	pice "github.com/pion/ice/v4"
)

// TestICEForceTowardsAPlainPhone: a SIP phone that speaks ICE over plain
// RTP/AVP (here pion's ICE agent) offers with its candidates; the proxy
// sends the offer on with ICE=remove and asks for ICE=force on the answer.
// The phone runs ICE against ngrelay's candidates (ngrelay is a full agent,
// controlled), and RTP flows both ways over the selected pair.
func TestICEForceTowardsAPlainPhone(t *testing.T) {
	td := startDaemon(t, nil)
	agent, err := pice.NewAgentWithOptions(
		pice.WithNetworkTypes([]pice.NetworkType{pice.NetworkTypeUDP4}),
		pice.WithCandidateTypes([]pice.CandidateType{pice.CandidateTypeHost}),
		pice.WithIncludeLoopback(),
		pice.WithInterfaceFilter(func(name string) bool { return name == "lo" }),
		pice.WithIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }),
		pice.WithMulticastDNSMode(pice.MulticastDNSModeDisabled),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	var (
		mu    sync.Mutex
		cands []pice.Candidate
	)
	gathered := make(chan struct{})
	agent.OnCandidate(func(c pice.Candidate) {
		if c == nil {
			close(gathered)
			return
		}
		mu.Lock()
		cands = append(cands, c)
		mu.Unlock()
	})
	if err := agent.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("pion did not finish gathering")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cands) == 0 {
		t.Fatal("no candidate")
	}
	ufrag, pwd, err := agent.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=ice-phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", cands[0].Port(), ufrag, pwd)
	for _, c := range cands {
		offer += "a=candidate:" + c.Marshal() + "\r\n"
	}
	r := td.cmd(t, "command", "offer", "call-id", "ice-phone", "from-tag", "phone", "sdp", offer, "ICE", "remove")
	mustOK(t, r)
	toB, _ := r.GetString("sdp")
	if strings.Contains(toB, "a=ice-") || strings.Contains(toB, "a=candidate") {
		t.Fatalf("ICE=remove: the other side got ICE:\n%s", toB)
	}
	_, relayForB, _ := relayPorts(t, toB)
	b := newEndpoint(t)
	r = td.cmd(t, "command", "answer", "call-id", "ice-phone", "from-tag", "phone", "to-tag", "b", "sdp", b.sdp(), "ICE", "force")
	mustOK(t, r)
	toPhone, _ := r.GetString("sdp")
	var relayUfrag, relayPwd string
	var relayCands []pice.Candidate
	for _, l := range strings.Split(toPhone, "\r\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			relayUfrag = strings.TrimPrefix(l, "a=ice-ufrag:")
		case strings.HasPrefix(l, "a=ice-pwd:"):
			relayPwd = strings.TrimPrefix(l, "a=ice-pwd:")
		case strings.HasPrefix(l, "a=candidate:"):
			c, err := pice.UnmarshalCandidate(strings.TrimPrefix(l, "a=candidate:"))
			if err != nil {
				t.Fatalf("pion cannot read ngrelay's candidate %q: %v", l, err)
			}
			if c.Component() == 1 {
				relayCands = append(relayCands, c)
			}
		}
	}
	if relayUfrag == "" || relayPwd == "" || len(relayCands) != 1 || strings.Contains(toPhone, "a=ice-lite") {
		t.Fatalf("ICE=force: the phone's answer needs ngrelay's full ICE:\n%s", toPhone)
	}
	for _, c := range relayCands {
		if err := agent.AddRemoteCandidate(c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := agent.Dial(ctx, relayUfrag, relayPwd) // the offerer controls
	if err != nil {
		t.Fatalf("ICE with ngrelay failed: %v", err)
	}
	// Phone -> B over the selected pair.
	buf := make([]byte, 2048)
	seen := 0
	for i := 0; i < 50 && seen < 5; i++ {
		if _, err := conn.Write(rtpPacket(uint16(i), 0x1CE, "from-ice-phone")); err != nil {
			t.Fatal(err)
		}
		b.rtp.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, _, err := b.rtp.ReadFromUDPAddrPort(buf); err == nil && strings.HasSuffix(string(buf[:n]), "from-ice-phone") {
			seen++
		}
	}
	if seen < 5 {
		t.Fatalf("B got %d packets from the ICE phone, want 5", seen)
	}
	// B -> phone: ngrelay sends to the nominated pair.
	got := 0
	for i := 0; i < 50 && got < 5; i++ {
		sendTo(t, b.rtp, relayForB, rtpPacket(uint16(i), 0xB, "from-b"))
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				break
			}
			if strings.HasSuffix(string(buf[:n]), "from-b") {
				got++
			}
		}
	}
	if got < 5 {
		t.Fatalf("the ICE phone got %d packets from B, want 5", got)
	}
	if td.Handler.Stats.STUNAccepted.Load() == 0 {
		t.Fatal("no STUN counted")
	}
}

// TestNoChecksToALegNotGivenICE: a phone offers ICE; when ngrelay's answer
// to it carries no ICE (the answerer had none, no ICE key), ngrelay must not
// send connectivity checks to the phone's candidates; with ICE=force on the
// answer it does.
func TestNoChecksToALegNotGivenICE(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			td := startDaemon(t, nil)
			phone := newEndpoint(t)
			offer := phone.sdp("a=ice-ufrag:phon", "a=ice-pwd:phonephonephonephonephone",
				fmt.Sprintf("a=candidate:1 1 udp 2130706431 127.0.0.1 %d typ host", phone.port()))
			id := fmt.Sprintf("nochecks-%v", force)
			mustOK(t, td.cmd(t, "command", "offer", "call-id", id, "from-tag", "phone", "sdp", offer))
			b := newEndpoint(t)
			kv := []any{"command", "answer", "call-id", id, "from-tag", "phone", "to-tag", "b", "sdp", b.sdp()}
			if force {
				kv = append(kv, "ICE", "force")
			}
			r := td.cmd(t, kv...)
			mustOK(t, r)
			toPhone, _ := r.GetString("sdp")
			if strings.Contains(toPhone, "a=ice-ufrag") != force {
				t.Fatalf("ICE in the phone's answer should be %v:\n%s", force, toPhone)
			}
			stun := 0
			buf := make([]byte, 1500)
			until := time.Now().Add(time.Second)
			for time.Now().Before(until) {
				phone.rtp.SetReadDeadline(until)
				n, _, err := phone.rtp.ReadFromUDPAddrPort(buf)
				if err != nil {
					break
				}
				if n >= 20 && buf[0] < 4 {
					stun++
				}
			}
			if force && stun == 0 {
				t.Fatal("ngrelay gave the phone its ICE but sent it no checks")
			}
			if !force && stun != 0 {
				t.Fatalf("ngrelay sent %d STUN packets to a phone it gave no ICE", stun)
			}
		})
	}
}
