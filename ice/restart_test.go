package ice

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// TestRemoteCredentialsChange covers a restart by the peer that the caller
// only sees as new remote credentials: setting the same credentials again
// changes nothing, new ones start a new generation (check list and
// transactions discarded, a controlling agent nominates again) while our
// credentials stay.
func TestRemoteCredentialsChange(t *testing.T) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: true, Tiebreaker: 9,
		Now: clk.Now, Rand: detRand(7), NominationDelay: time.Millisecond})
	if err := a.AddRemoteCandidate(HostCandidate(browserAddr, 1, 65535)); err != nil {
		t.Fatal(err)
	}
	// respond answers our check as the browser with credentials c.
	respond := func(out []Outgoing, c Credentials) Event {
		t.Helper()
		if len(out) != 1 {
			t.Fatalf("%d packets, want 1", len(out))
		}
		req := decodeResp(t, out[0].Packet)
		var u stun.Username
		if err := u.GetFrom(req); err != nil || u.String() != c.Ufrag+":"+relayCreds.Ufrag {
			t.Fatalf("USERNAME %q %v", u, err)
		}
		resp := stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: relayAddr.Addr().AsSlice(), Port: int(relayAddr.Port())},
			stun.NewShortTermIntegrity(c.Pwd), stun.Fingerprint)
		_, ev, err := a.HandleSTUN(resp.Raw, out[0].To, 1)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	out, _ := a.Tick(clk.Now())
	if ev := respond(out, browserCreds); ev != nil {
		t.Fatalf("event %#v before nomination", ev)
	}
	out, _ = a.Tick(clk.Add(DefaultTa))
	if _, ok := respond(out, browserCreds).(*Nominated); !ok {
		t.Fatal("not nominated")
	}

	// The same credentials again (a re-INVITE without restart).
	a.SetRemoteCredentials(browserCreds)
	if out, _ := a.Tick(clk.Add(DefaultTa)); len(out) != 0 {
		t.Fatalf("%d packets after setting the same credentials", len(out))
	}

	// A pending check of the old generation, then the peer restarts.
	newRemote := Credentials{Ufrag: "NewR", Pwd: "newRemotePasswordNewRemo"}
	oldCheck, _ := a.Tick(clk.Add(DefaultConsentInterval * 2))
	if len(oldCheck) != 1 {
		t.Fatalf("no consent check: %d packets", len(oldCheck))
	}
	a.SetRemoteCredentials(newRemote)
	if a.Local() != relayCreds {
		t.Error("our credentials changed")
	}
	if sel, ok := a.Selected(1); !ok || sel != browserAddr {
		t.Error("selection dropped by the peer's restart")
	}
	req := decodeResp(t, oldCheck[0].Packet)
	late := stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
		stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint)
	if _, _, err := a.HandleSTUN(late.Raw, browserAddr, 1); !errors.Is(err, ErrUnknownTransaction) {
		t.Errorf("old generation's transaction: %v", err)
	}
	// The new generation's candidate: checked and nominated again, with
	// the new credentials, and reported although the address is the same.
	if err := a.AddRemoteCandidate(HostCandidate(browserAddr, 1, 65535)); err != nil {
		t.Fatal(err)
	}
	out, _ = a.Tick(clk.Add(DefaultTa))
	var checks []Outgoing
	for _, o := range out {
		if !decodeResp(t, o.Packet).Contains(stun.AttrUseCandidate) {
			checks = append(checks, o)
		}
	}
	if len(checks) == 0 {
		t.Fatal("no check of the new generation")
	}
	if ev := respond(checks[:1], newRemote); ev != nil {
		t.Fatalf("event %#v before nomination", ev)
	}
	out, _ = a.Tick(clk.Add(DefaultTa))
	if n, ok := respond(out, newRemote).(*Nominated); !ok || n.Remote != browserAddr {
		t.Fatalf("not nominated again: %#v", n)
	}
}
