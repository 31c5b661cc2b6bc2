package ice

import (
	"errors"
	"testing"

	"github.com/pion/stun/v3"
)

// TestRoleConflict covers RFC 8445 section 7.3.1.1 from the receiving side.
func TestRoleConflict(t *testing.T) {
	user := relayCreds.Ufrag + ":" + browserCreds.Ufrag
	tests := []struct {
		name            string
		lite            bool
		controlling     bool
		tiebreaker      uint64
		peerControlling *uint64
		peerControlled  *uint64
		want487         bool
		wantControlling bool
	}{
		{name: "controlling vs ICE-CONTROLLING, our tiebreaker larger: 487", controlling: true, tiebreaker: 100,
			peerControlling: u64(50), want487: true, wantControlling: true},
		{name: "controlling vs ICE-CONTROLLING, tiebreakers equal: 487", controlling: true, tiebreaker: 50,
			peerControlling: u64(50), want487: true, wantControlling: true},
		{name: "controlling vs ICE-CONTROLLING, our tiebreaker smaller: switch to controlled", controlling: true, tiebreaker: 10,
			peerControlling: u64(50), wantControlling: false},
		{name: "controlled vs ICE-CONTROLLED, our tiebreaker larger: switch to controlling", tiebreaker: 100,
			peerControlled: u64(50), wantControlling: true},
		{name: "controlled vs ICE-CONTROLLED, tiebreakers equal: switch to controlling", tiebreaker: 50,
			peerControlled: u64(50), wantControlling: true},
		{name: "controlled vs ICE-CONTROLLED, our tiebreaker smaller: 487", tiebreaker: 10,
			peerControlled: u64(50), want487: true},
		{name: "lite vs ICE-CONTROLLED always 487", lite: true, tiebreaker: ^uint64(0),
			peerControlled: u64(1), want487: true},
		{name: "no conflict: controlled vs ICE-CONTROLLING", tiebreaker: 10, peerControlling: u64(50)},
		{name: "no conflict: controlling vs ICE-CONTROLLED", controlling: true, tiebreaker: 10,
			peerControlled: u64(50), wantControlling: true},
		{name: "no role attribute is tolerated", controlling: true, tiebreaker: 10, wantControlling: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Lite: tc.lite, Controlling: tc.controlling,
				Tiebreaker: tc.tiebreaker, Now: newClock().Now, Rand: detRand(3)})
			pkt := buildRequest(t, reqOpts{tid: tidOf("role-tid-123"), user: user, pwd: relayCreds.Pwd, priority: 1000,
				controlling: tc.peerControlling, controlled: tc.peerControlled, useCand: true})
			resp, _, err := a.HandleSTUN(pkt, browserAddr, 1)
			m := decodeResp(t, resp)
			if tc.want487 {
				if !errors.Is(err, ErrRoleConflict) || m.Type.Class != stun.ClassErrorResponse || errCode(t, m) != stun.CodeRoleConflict {
					t.Fatalf("want 487, got %v err %v", m.Type, err)
				}
				if err := stun.NewShortTermIntegrity(relayCreds.Pwd).Check(m); err != nil {
					t.Errorf("487 must be integrity-protected: %v", err)
				}
				if _, ok := a.Selected(1); ok {
					t.Error("a rejected request nominated")
				}
			} else if err != nil || m.Type.Class != stun.ClassSuccessResponse {
				t.Fatalf("want success, got %v err %v", m.Type, err)
			}
			if got := a.Controlling(); got != tc.wantControlling {
				t.Errorf("controlling = %v, want %v", got, tc.wantControlling)
			}
			conflict := tc.controlling && tc.peerControlling != nil || !tc.controlling && tc.peerControlled != nil
			if got := a.Stats().RoleConflicts; (got == 1) != conflict {
				t.Errorf("RoleConflicts = %d", got)
			}
		})
	}
}

// TestRoleConflictResponse covers RFC 8445 section 7.2.5.1: a 487 answer to
// our check switches our role and retries the pair.
func TestRoleConflictResponse(t *testing.T) {
	for _, controlling := range []bool{true, false} {
		clk := newClock()
		a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: controlling, Tiebreaker: 7, Now: clk.Now, Rand: detRand(4)})
		if err := a.AddRemoteCandidate(HostCandidate(browserAddr, 1, 65535)); err != nil {
			t.Fatal(err)
		}
		out, _ := a.Tick(clk.Now())
		if len(out) != 1 {
			t.Fatalf("checks %d", len(out))
		}
		req := decodeResp(t, out[0].Packet)
		wantAttr := stun.AttrICEControlled
		if controlling {
			wantAttr = stun.AttrICEControlling
		}
		if !req.Contains(wantAttr) {
			t.Fatalf("check lacks %v", wantAttr)
		}
		resp := stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingError, stun.CodeRoleConflict,
			stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint)
		if _, _, err := a.HandleSTUN(resp.Raw, browserAddr, 1); err != nil {
			t.Fatal(err)
		}
		if a.Controlling() == controlling {
			t.Errorf("role not switched from controlling=%v", controlling)
		}
		// A second 487 for the same (old-role) request must not switch back.
		out, _ = a.Tick(clk.Add(DefaultTa))
		if len(out) != 1 {
			t.Fatalf("pair not retried: %d", len(out))
		}
		req2 := decodeResp(t, out[0].Packet)
		flipped := stun.AttrICEControlling
		if controlling {
			flipped = stun.AttrICEControlled
		}
		if !req2.Contains(flipped) {
			t.Errorf("retried check lacks %v", flipped)
		}
		if a.Stats().RoleConflicts != 1 || a.Stats().ErrorsRecv != 1 {
			t.Errorf("stats %+v", a.Stats())
		}
	}
}
