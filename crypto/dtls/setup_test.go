package dtls

import (
	"errors"
	"testing"
)

func TestParseSetup(t *testing.T) {
	for in, want := range map[string]Setup{
		"":             SetupNone,
		"actpass":      SetupActPass,
		"ACTPASS":      SetupActPass,
		" active ":     SetupActive,
		"passive":      SetupPassive,
		"holdconn":     SetupHoldConn,
		"HoldConn\r\n": SetupHoldConn,
	} {
		got, err := ParseSetup(in)
		if err != nil || got != want {
			t.Errorf("ParseSetup(%q) = %v, %v; want %v", in, got, err, want)
		}
		if want != SetupNone {
			if back, _ := ParseSetup(got.String()); back != want {
				t.Errorf("%v does not round trip", want)
			}
		}
	}
	for _, in := range []string{"act", "actpassive", "server", "1"} {
		if _, err := ParseSetup(in); !errors.Is(err, ErrInvalidSetup) {
			t.Errorf("ParseSetup(%q): %v", in, err)
		}
	}
}

func TestAnswerSetup(t *testing.T) {
	for _, tc := range []struct {
		offered string
		prefer  Role
		want    string
	}{
		{"actpass", Active, "active"},
		{"actpass", 0, "active"},
		{"actpass", Passive, "passive"},
		{"active", Active, "passive"},
		{"active", Passive, "passive"},
		{"passive", Passive, "active"},
		{"passive", Active, "active"},
		{"holdconn", Active, "holdconn"},
		{"", Active, "passive"},
		{"bogus", Passive, "passive"},
		{"bogus", Active, "active"},
	} {
		if got := AnswerSetup(tc.offered, tc.prefer); got != tc.want {
			t.Errorf("AnswerSetup(%q, %v) = %q, want %q", tc.offered, tc.prefer, got, tc.want)
		}
	}
}

func TestRoles(t *testing.T) {
	// The answerer's role follows from its answer, the offerer's from the
	// peer's answer, and the two are opposite.
	for _, offered := range []string{"actpass", "active", "passive", ""} {
		for _, prefer := range []Role{Active, Passive} {
			answer := AnswerSetup(offered, prefer)
			s, err := ParseSetup(answer)
			if err != nil {
				t.Fatal(err)
			}
			answerer, ok := s.Role()
			if !ok {
				t.Fatalf("answer %q has no role", answer)
			}
			answererToo, err := RoleForPeerSetup(offered, true)
			if offered != "actpass" && (err != nil || answererToo != answerer) {
				t.Errorf("offer %q: RoleForPeerSetup = %v, %v; answer says %v", offered, answererToo, err, answerer)
			}
			offerer, err := RoleForPeerSetup(answer, false)
			if err != nil {
				t.Fatal(err)
			}
			if offerer != answerer.Opposite() {
				t.Errorf("offer %q answer %q: offerer %v, answerer %v", offered, answer, offerer, answerer)
			}
		}
	}
	if r, err := RoleForPeerSetup("", false); err != nil || r != Active {
		t.Errorf("answer without a=setup: %v, %v", r, err)
	}
	if r, err := RoleForPeerSetup("", true); err != nil || r != Passive {
		t.Errorf("offer without a=setup: %v, %v", r, err)
	}
	if _, err := RoleForPeerSetup("actpass", false); !errors.Is(err, ErrInvalidSetup) {
		t.Errorf("actpass answer: %v", err)
	}
	if _, err := RoleForPeerSetup("holdconn", false); !errors.Is(err, ErrHoldConn) {
		t.Errorf("holdconn: %v", err)
	}
	if _, err := RoleForPeerSetup("x", false); !errors.Is(err, ErrInvalidSetup) {
		t.Errorf("x: %v", err)
	}
	for _, s := range []Setup{SetupNone, SetupActPass, SetupHoldConn} {
		if _, ok := s.Role(); ok {
			t.Errorf("%v has a role", s)
		}
	}
	if Active.Setup() != "active" || Passive.Setup() != "passive" || Role(0).Setup() != "" || Role(9).String() != "Role(9)" {
		t.Error("Role strings")
	}
	if Role(0).Valid() || Role(0).Opposite() != 0 {
		t.Error("zero Role")
	}
}
