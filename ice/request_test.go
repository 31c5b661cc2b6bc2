package ice

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/pion/stun/v3"
)

// TestBindingRequest covers the STUN server side of a lite agent towards a
// browser: RFC 8445 section 7.3 with the authentication of RFC 5389
// sections 10.1.2 and 7.3.
func TestBindingRequest(t *testing.T) {
	okUser := relayCreds.Ufrag + ":" + browserCreds.Ufrag
	tests := []struct {
		name      string
		remote    *Credentials // overrides Config.Remote; &Credentials{} = unknown yet
		pkt       func(t *testing.T) []byte
		from      netip.AddrPort
		wantClass stun.MessageClass // 0xff: no response
		wantCode  stun.ErrorCode
		wantMI    bool
		wantErr   error
		wantNom   bool
		stat      func(Stats) uint64
	}{
		{
			name: "RFC8445-7.3 Chrome check answered with XOR-MAPPED-ADDRESS",
			pkt:  func(t *testing.T) []byte { return chromeCheck(t, "chrome-tid-1", false) },
			from: browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true,
			stat: func(s Stats) uint64 { return s.Requests },
		},
		{
			name: "RFC8445-7.3 Firefox attribute order",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("firefox-tid1"), firefox: true, user: okUser, pwd: relayCreds.Pwd,
					priority: 2122252543, controlling: u64(42)})
			},
			from: browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true,
		},
		{
			name: "RFC8445-7.3 IPv6 source",
			pkt:  func(t *testing.T) []byte { return chromeCheck(t, "ipv6-tid-123", false) },
			from: netip.MustParseAddrPort("[2001:db8::7]:40000"), wantClass: stun.ClassSuccessResponse, wantMI: true,
		},
		{
			name: "RFC8445-7.3.1.5 USE-CANDIDATE nominates",
			pkt:  func(t *testing.T) []byte { return chromeCheck(t, "use-cand-tid", true) },
			from: browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true, wantNom: true,
			stat: func(s Stats) uint64 { return s.Nominations },
		},
		{
			name:   "RFC8445-7.3 remote credentials not yet known",
			remote: &Credentials{},
			pkt:    func(t *testing.T) []byte { return chromeCheck(t, "early-tid-12", true) },
			from:   browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true, wantNom: true,
		},
		{
			name: "RFC5389-10.1.2 wrong password is 401 and no nomination",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("bad-pwd-tid1"), user: okUser, pwd: "wrongPasswordWrongPassw",
					priority: 1, controlling: u64(1), useCand: true})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeUnauthorized, wantErr: ErrBadIntegrity,
			stat: func(s Stats) uint64 { return s.BadIntegrity },
		},
		{
			name: "RFC5389-10.1.2 unknown local ufrag is 401",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("bad-user-tid"), user: "XXXXXXXX:" + browserCreds.Ufrag, pwd: relayCreds.Pwd,
					priority: 1, controlling: u64(1), useCand: true})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeUnauthorized, wantErr: ErrUnknownUsername,
			stat: func(s Stats) uint64 { return s.Unauthorized },
		},
		{
			name: "RFC5389-10.1.2 wrong remote ufrag is 401",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("bad-rem-tid1"), user: relayCreds.Ufrag + ":OLDU", pwd: relayCreds.Pwd,
					priority: 1, controlling: u64(1)})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeUnauthorized, wantErr: ErrUnknownUsername,
		},
		{
			name: "RFC5389-10.1.2 ufrag prefix without colon is 401",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("prefix-tid-1"), user: relayCreds.Ufrag + "x:" + browserCreds.Ufrag, pwd: relayCreds.Pwd})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeUnauthorized, wantErr: ErrUnknownUsername,
		},
		{
			name: "RFC5389-10.1.2 missing MESSAGE-INTEGRITY is 400",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("no-mi-tid-12"), user: okUser, priority: 1, controlling: u64(1), useCand: true})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeBadRequest, wantErr: ErrBadRequest,
			stat: func(s Stats) uint64 { return s.BadRequests },
		},
		{
			name: "RFC5389-10.1.2 missing USERNAME is 400",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("no-user-tid1"), pwd: relayCreds.Pwd, priority: 1})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeBadRequest, wantErr: ErrBadRequest,
		},
		{
			name: "RFC5389-7.3.1 unknown comprehension-required attribute is 420",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("unknown-attr"), user: okUser, pwd: relayCreds.Pwd, priority: 1,
					controlling: u64(1), extra: []stun.RawAttribute{{Type: 0x7777, Value: []byte{1, 2, 3, 4}}}})
			},
			from: browserAddr, wantClass: stun.ClassErrorResponse, wantCode: stun.CodeUnknownAttribute, wantMI: true, wantErr: ErrUnknownAttribute,
		},
		{
			name: "RFC5389-7.3.1 unknown comprehension-optional attribute is ignored",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("optional-att"), user: okUser, pwd: relayCreds.Pwd, priority: 1,
					controlling: u64(1), extra: []stun.RawAttribute{{Type: 0xC059, Value: []byte{0, 0}}}})
			},
			from: browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true,
		},
		{
			name: "RFC5389-15.4 USE-CANDIDATE after MESSAGE-INTEGRITY is ignored",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("smuggled-uc1"), user: okUser, pwd: relayCreds.Pwd, priority: 1,
					controlling: u64(1), afterMI: []stun.RawAttribute{{Type: stun.AttrUseCandidate}}})
			},
			from: browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true, wantNom: false,
		},
		{
			name: "RFC5389-15.5 bad FINGERPRINT is dropped",
			pkt: func(t *testing.T) []byte {
				b := chromeCheck(t, "bad-fp-tid-1", true)
				b[len(b)-1] ^= 1
				return b
			},
			from: browserAddr, wantClass: 0xff, wantErr: ErrBadFingerprint,
			stat: func(s Stats) uint64 { return s.Dropped },
		},
		{
			name: "RFC5389-15.5 missing FINGERPRINT is tolerated",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("no-fp-tid-12"), user: okUser, pwd: relayCreds.Pwd, priority: 1,
					controlling: u64(1), noFP: true})
			},
			from: browserAddr, wantClass: stun.ClassSuccessResponse, wantMI: true,
		},
		{
			name: "RFC8445-11 binding indication is a silent keepalive",
			pkt: func(t *testing.T) []byte {
				return buildRequest(t, reqOpts{tid: tidOf("indication-1"), indication: true})
			},
			from: browserAddr, wantClass: 0xff,
			stat: func(s Stats) uint64 { return s.Indications },
		},
		{
			name: "RFC5389-7.3.3 response to unknown transaction is dropped",
			pkt: func(t *testing.T) []byte {
				m := stun.MustBuild(stun.NewTransactionIDSetter(tidOf("unknown-txn1")), stun.BindingSuccess,
					stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint)
				return m.Raw
			},
			from: browserAddr, wantClass: 0xff, wantErr: ErrUnknownTransaction,
		},
		{
			name: "RFC5389-6 non-Binding method is unsupported",
			pkt: func(t *testing.T) []byte {
				return stun.MustBuild(stun.NewTransactionIDSetter(tidOf("allocate-tid")),
					stun.NewType(stun.MethodAllocate, stun.ClassRequest), stun.Fingerprint).Raw
			},
			from: browserAddr, wantClass: 0xff, wantErr: ErrUnsupported,
		},
		{
			name: "RFC7983 RTP is not STUN",
			pkt: func(t *testing.T) []byte {
				return []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
			},
			from:      browserAddr,
			wantClass: 0xff, wantErr: ErrNotSTUN,
		},
		{
			name: "RFC5389-7.3 trailing bytes after message are not STUN",
			pkt: func(t *testing.T) []byte {
				return append(chromeCheck(t, "trailing-tid", false), 0, 0, 0, 0)
			},
			from: browserAddr, wantClass: 0xff, wantErr: ErrNotSTUN,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			a := newLite(clk)
			if tc.remote != nil {
				a.SetRemoteCredentials(*tc.remote)
			}
			pkt := tc.pkt(t)
			orig := slices.Clone(pkt)
			resp, ev, err := a.HandleSTUN(pkt, tc.from, 1)
			if !slices.Equal(pkt, orig) {
				t.Error("HandleSTUN modified its input")
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantClass == 0xff {
				if resp != nil {
					t.Fatalf("unexpected response %x", resp)
				}
			} else {
				m := decodeResp(t, resp)
				req := new(stun.Message)
				req.Raw = orig
				_ = req.Decode()
				if m.Type.Method != stun.MethodBinding || m.Type.Class != tc.wantClass {
					t.Fatalf("response type %v, want class %v", m.Type, tc.wantClass)
				}
				if m.TransactionID != req.TransactionID {
					t.Error("transaction ID not echoed")
				}
				if tc.wantClass == stun.ClassSuccessResponse {
					if got := xorMapped(t, m); got != tc.from {
						t.Errorf("XOR-MAPPED-ADDRESS %v, want %v", got, tc.from)
					}
				} else if got := errCode(t, m); got != tc.wantCode {
					t.Errorf("error code %d, want %d", got, tc.wantCode)
				}
				if tc.wantCode == stun.CodeUnknownAttribute {
					var ua stun.UnknownAttributes
					if err := ua.GetFrom(m); err != nil || len(ua) != 1 || ua[0] != 0x7777 {
						t.Errorf("UNKNOWN-ATTRIBUTES %v %v", ua, err)
					}
				}
				hasMI := m.Contains(stun.AttrMessageIntegrity)
				if hasMI != tc.wantMI {
					t.Errorf("MESSAGE-INTEGRITY present %v, want %v", hasMI, tc.wantMI)
				}
				if hasMI {
					if err := stun.NewShortTermIntegrity(relayCreds.Pwd).Check(m); err != nil {
						t.Errorf("response integrity with our pwd: %v", err)
					}
				}
			}
			_, nom := ev.(*Nominated)
			if nom != tc.wantNom {
				t.Errorf("event %#v, want nomination %v", ev, tc.wantNom)
			}
			sel, ok := a.Selected(1)
			if ok != tc.wantNom || ok && sel != tc.from {
				t.Errorf("Selected = %v %v", sel, ok)
			}
			if tc.stat != nil && tc.stat(a.Stats()) != 1 {
				t.Errorf("counter not incremented: %+v", a.Stats())
			}
		})
	}
}

// TestBindingRequestMappedIPv4 checks that a dual-stack socket's
// IPv4-mapped source is reported as IPv4 (RFC 8445 5.1.1.2 and RFC 5389
// 15.2: the family is the one the peer sees).
func TestBindingRequestMappedIPv4(t *testing.T) {
	a := newLite(newClock())
	from := netip.AddrPortFrom(netip.AddrFrom16(browserAddr.Addr().As16()), browserAddr.Port())
	resp, ev, err := a.HandleSTUN(chromeCheck(t, "mapped-tid-1", true), from, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := xorMapped(t, decodeResp(t, resp)); got != browserAddr {
		t.Errorf("XOR-MAPPED-ADDRESS %v, want %v", got, browserAddr)
	}
	if n, ok := ev.(*Nominated); !ok || n.Remote != browserAddr || n.Component != 1 {
		t.Errorf("event %#v", ev)
	}
}

// TestRenomination: a browser moving to another pair (RFC 8445 8.1.1 allows
// the controlling agent to nominate again) changes the selection; repeated
// USE-CANDIDATE on the selected pair does not raise new events.
func TestRenomination(t *testing.T) {
	a := newLite(newClock())
	other := netip.MustParseAddrPort("192.0.2.99:1234")
	steps := []struct {
		from    netip.AddrPort
		useCand bool
		wantEv  bool
	}{
		{browserAddr, false, false},
		{browserAddr, true, true},
		{browserAddr, true, false},
		{other, false, false},
		{other, true, true},
	}
	for i, s := range steps {
		_, ev, err := a.HandleSTUN(chromeCheck(t, "renominate-"+string(rune('a'+i)), s.useCand), s.from, 1)
		if err != nil {
			t.Fatal(err)
		}
		if (ev != nil) != s.wantEv {
			t.Fatalf("step %d: event %#v", i, ev)
		}
		if s.wantEv {
			if got, _ := a.Selected(1); got != s.from {
				t.Fatalf("step %d: selected %v", i, got)
			}
		}
	}
}

// TestPeerReflexive: RFC 8445 7.3.1.3, a check from an unknown address
// adds a peer-reflexive remote candidate with the request's PRIORITY, and
// a full agent schedules a triggered check to it (7.3.1.4).
func TestPeerReflexive(t *testing.T) {
	clk := newClock()
	a := NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: false, Now: clk.Now, Rand: detRand(2), Tiebreaker: 1})
	known := netip.MustParseAddrPort("192.0.2.10:1000")
	if err := a.AddRemoteCandidate(Candidate{Foundation: "1", Component: 1, Transport: "udp", Priority: 100, Addr: known, Type: TypeHost}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.HandleSTUN(chromeCheck(t, "prflx-tid-12", false), browserAddr, 1); err != nil {
		t.Fatal(err)
	}
	c := a.comp(1, false)
	p := c.find(browserAddr)
	if p == nil || p.rprio != 1853817087 {
		t.Fatalf("peer-reflexive pair not recorded: %+v", p)
	}
	out, _ := a.Tick(clk.Now())
	if len(out) != 1 || out[0].To != browserAddr {
		t.Fatalf("first check %+v, want triggered check to %v", out, browserAddr)
	}
}

// TestAgentErrorsNeverPanic: malformed inputs of every class are errors.
func TestAgentErrorsNeverPanic(t *testing.T) {
	a := newLite(newClock())
	good := chromeCheck(t, "never-panic1", true)
	for n := 0; n <= len(good); n++ {
		_, _, _ = a.HandleSTUN(good[:n], browserAddr, 1)
	}
	if _, _, err := a.HandleSTUN(good, browserAddr, 0); !errors.Is(err, ErrBadComponent) {
		t.Errorf("component 0: %v", err)
	}
	if _, _, err := a.HandleSTUN(good, netip.AddrPort{}, 1); !errors.Is(err, ErrBadAddress) {
		t.Errorf("invalid address: %v", err)
	}
	if _, _, err := a.HandleSTUN(nil, browserAddr, 1); !errors.Is(err, ErrNotSTUN) {
		t.Errorf("nil: %v", err)
	}
}
