package ice

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/stun/v3"
)

// RFC 5769 test vectors: short-term credentials, username "evtj:h6vY",
// password "VOkJxbRl1RmTxUk/WvJxBt".
var (
	rfc5769Creds    = Credentials{Ufrag: "evtj", Pwd: "VOkJxbRl1RmTxUk/WvJxBt"}
	rfc5769Remote   = Credentials{Ufrag: "h6vY", Pwd: "VOkJxbRl1RmTxUk/WvJxBt"}
	rfc5769TID      = []byte("\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae")
	rfc5769Tiebreak = uint64(0x932ff9b151263b36)

	// Section 2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED,
	// USERNAME, MESSAGE-INTEGRITY, FINGERPRINT).
	rfc5769Request = []byte("\x00\x01\x00\x58\x21\x12\xa4\x42" +
		"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae" +
		"\x80\x22\x00\x10STUN test client" +
		"\x00\x24\x00\x04\x6e\x00\x01\xff" +
		"\x80\x29\x00\x08\x93\x2f\xf9\xb1\x51\x26\x3b\x36" +
		"\x00\x06\x00\x09\x65\x76\x74\x6a\x3a\x68\x36\x76\x59\x20\x20\x20" +
		"\x00\x08\x00\x14\x9a\xea\xa7\x0c\xbf\xd8\xcb\x56\x78\x1e\xf2\xb5\xb2\xd3\xf2\x49\xc1\xb5\x71\xa2" +
		"\x80\x28\x00\x04\xe5\x7a\x3b\xcf")
	// Section 2.2: sample IPv4 response, mapped address 192.0.2.1:32853.
	rfc5769ResponseIPv4 = []byte("\x01\x01\x00\x3c\x21\x12\xa4\x42" +
		"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae" +
		"\x80\x22\x00\x0b\x74\x65\x73\x74\x20\x76\x65\x63\x74\x6f\x72\x20" +
		"\x00\x20\x00\x08\x00\x01\xa1\x47\xe1\x12\xa6\x43" +
		"\x00\x08\x00\x14\x2b\x91\xf5\x99\xfd\x9e\x90\xc3\x8c\x74\x89\xf9\x2a\xf9\xba\x53\xf0\x6b\xe7\xd7" +
		"\x80\x28\x00\x04\xc0\x7d\x4c\x96")
	// Section 2.3: sample IPv6 response, mapped address
	// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
	rfc5769ResponseIPv6 = []byte("\x01\x01\x00\x48\x21\x12\xa4\x42" +
		"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae" +
		"\x80\x22\x00\x0b\x74\x65\x73\x74\x20\x76\x65\x63\x74\x6f\x72\x20" +
		"\x00\x20\x00\x14\x00\x02\xa1\x47\x01\x13\xa9\xfa\xa5\xd3\xf1\x79\xbc\x25\xf4\xb5\xbe\xd2\xb9\xd9" +
		"\x00\x08\x00\x14\xa3\x82\x95\x4e\x4b\xe6\x7b\xf1\x17\x84\xc9\x7c\x82\x92\xc2\x75\xbf\xe3\xed\x41" +
		"\x80\x28\x00\x04\xc8\xfb\x0b\x4c")
)

// TestRFC5769SampleRequest feeds the RFC 5769 section 2.1 request (sent by
// a controlled agent with tiebreaker 0x932ff9b151263b36) to agents in
// different roles: the integrity must verify with the short-term password,
// and the role-conflict rules of RFC 8445 7.3.1.1 decide the answer.
func TestRFC5769SampleRequest(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantCode  stun.ErrorCode // 0: success
		wantErr   error
		wantCtrl  bool
		integrity bool // response integrity-protected
	}{
		{name: "controlling agent: no conflict, success", cfg: Config{Controlling: true, Tiebreaker: 1},
			wantCtrl: true, integrity: true},
		{name: "controlled agent with larger tiebreaker switches to controlling",
			cfg: Config{Tiebreaker: rfc5769Tiebreak + 1}, wantCtrl: true, integrity: true},
		{name: "controlled agent with smaller tiebreaker answers 487",
			cfg: Config{Tiebreaker: rfc5769Tiebreak - 1}, wantCode: stun.CodeRoleConflict, wantErr: ErrRoleConflict, integrity: true},
		{name: "lite agent answers 487", cfg: Config{Lite: true, Tiebreaker: ^uint64(0)},
			wantCode: stun.CodeRoleConflict, wantErr: ErrRoleConflict, integrity: true},
		{name: "wrong password answers 401", cfg: Config{Controlling: true, Tiebreaker: 1,
			Local: Credentials{Ufrag: "evtj", Pwd: "VOkJxbRl1RmTxUk/WvJxBT"}},
			wantCode: stun.CodeUnauthorized, wantErr: ErrBadIntegrity, wantCtrl: true},
		{name: "other local ufrag answers 401", cfg: Config{Controlling: true, Tiebreaker: 1,
			Local: Credentials{Ufrag: "evtk", Pwd: rfc5769Creds.Pwd}},
			wantCode: stun.CodeUnauthorized, wantErr: ErrUnknownUsername, wantCtrl: true},
	}
	from := netip.MustParseAddrPort("192.0.2.1:32853")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.Local == (Credentials{}) {
				cfg.Local = rfc5769Creds
			}
			cfg.Remote = rfc5769Remote
			cfg.Now = newClock().Now
			a := NewAgent(cfg)
			resp, _, err := a.HandleSTUN(bytes.Clone(rfc5769Request), from, 1)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			m := decodeResp(t, resp)
			if !bytes.Equal(m.TransactionID[:], rfc5769TID) {
				t.Error("transaction ID not echoed")
			}
			if tc.wantCode == 0 {
				if m.Type != stun.BindingSuccess || xorMapped(t, m) != from {
					t.Errorf("response %v", m)
				}
			} else if m.Type != stun.BindingError || errCode(t, m) != tc.wantCode {
				t.Errorf("response %v, want %d", m, tc.wantCode)
			}
			if got := m.Contains(stun.AttrMessageIntegrity); got != tc.integrity {
				t.Errorf("MESSAGE-INTEGRITY present = %v", got)
			} else if got {
				if err := stun.NewShortTermIntegrity(rfc5769Creds.Pwd).Check(m); err != nil {
					t.Errorf("integrity: %v", err)
				}
			}
			if a.Controlling() != tc.wantCtrl {
				t.Errorf("controlling = %v", a.Controlling())
			}
			if tc.wantCode == 0 {
				// The peer-reflexive candidate carries the vector's PRIORITY.
				if p := a.comp(1, false).find(from); p == nil || p.rprio != 0x6e0001ff {
					t.Errorf("prflx pair %+v", p)
				}
			}
		})
	}
}

// TestRFC5769SampleResponses checks that responses to our own check are
// verified with the remote password: the check's transaction ID is drawn
// from Config.Rand, which here yields the RFC 5769 transaction ID.
func TestRFC5769SampleResponses(t *testing.T) {
	remoteAddr := netip.MustParseAddrPort("192.0.2.200:3478")
	tests := []struct {
		name    string
		resp    []byte
		pwd     string
		from    netip.AddrPort
		wantErr error
	}{
		{name: "2.2 IPv4 response verifies", resp: rfc5769ResponseIPv4, pwd: rfc5769Remote.Pwd, from: remoteAddr},
		{name: "2.3 IPv6 response verifies", resp: rfc5769ResponseIPv6, pwd: rfc5769Remote.Pwd, from: remoteAddr},
		{name: "2.2 with wrong remote password is dropped", resp: rfc5769ResponseIPv4,
			pwd: "VOkJxbRl1RmTxUk/WvJxBT", from: remoteAddr, wantErr: ErrBadIntegrity},
		{name: "2.2 from another address is not accepted (RFC 8445 7.2.5.2.1)", resp: rfc5769ResponseIPv4,
			pwd: rfc5769Remote.Pwd, from: netip.MustParseAddrPort("192.0.2.201:3478"), wantErr: ErrUnknownTransaction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			a := NewAgent(Config{Local: rfc5769Creds, Remote: Credentials{Ufrag: rfc5769Remote.Ufrag, Pwd: tc.pwd},
				Controlling: true, Tiebreaker: 1, Now: clk.Now, Rand: bytes.NewReader(rfc5769TID)})
			if err := a.AddRemoteCandidate(Candidate{Foundation: "x", Component: 1, Transport: "udp", Priority: 1,
				Addr: remoteAddr, Type: TypeHost}); err != nil {
				t.Fatal(err)
			}
			out, _ := a.Tick(clk.Now())
			if len(out) != 1 || !bytes.Equal(out[0].Packet[8:20], rfc5769TID) {
				t.Fatalf("check not sent with the vector's transaction ID: %+v", out)
			}
			_, _, err := a.HandleSTUN(bytes.Clone(tc.resp), tc.from, 1)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			st := a.Stats()
			if succeeded := a.comp(1, false).find(remoteAddr).state == stateSucceeded; succeeded != (tc.wantErr == nil) {
				t.Errorf("pair succeeded = %v", succeeded)
			}
			if tc.wantErr == nil && st.Responses != 1 || tc.wantErr == ErrBadIntegrity && st.BadIntegrity != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
