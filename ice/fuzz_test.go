package ice

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// fuzzAgents returns the agents FuzzHandleSTUN feeds: a lite agent and a
// full controlling agent with one check to browserAddr in flight.
func fuzzAgents(tb testing.TB) (lite, full *Agent, clk *fakeClock) {
	clk = newClock()
	lite = NewAgent(Config{Local: relayCreds, Remote: browserCreds, Lite: true, Tiebreaker: 3, Now: clk.Now, Rand: detRand(41)})
	full = NewAgent(Config{Local: relayCreds, Remote: browserCreds, Controlling: true, Tiebreaker: 3, Now: clk.Now, Rand: detRand(42)})
	if err := full.AddRemoteCandidate(HostCandidate(browserAddr, 1, 65535)); err != nil {
		tb.Fatal(err)
	}
	if out, _ := full.Tick(clk.Now()); len(out) != 1 {
		tb.Fatal("fuzz agent sent no check")
	}
	return lite, full, clk
}

// fuzzSeeds are browser-like binding requests, the RFC 5769 vectors and
// responses to the full fuzz agent's pending check.
func fuzzSeeds(tb testing.TB) map[string][]byte {
	_, full, _ := fuzzAgents(tb)
	tid := full.txns[0].id
	user := relayCreds.Ufrag + ":" + browserCreds.Ufrag
	respond := func(setters ...stun.Setter) []byte {
		return stun.MustBuild(append([]stun.Setter{stun.NewTransactionIDSetter(tid)}, setters...)...).Raw
	}
	mapped := &stun.XORMappedAddress{IP: relayAddr.Addr().AsSlice(), Port: int(relayAddr.Port())}
	return map[string][]byte{
		"chrome-check":              chromeCheck(tb, "seed-chrome1", false),
		"chrome-check-use-cand":     chromeCheck(tb, "seed-chrome2", true),
		"firefox-check-use-cand":    buildRequest(tb, reqOpts{tid: tidOf("seed-firefox"), firefox: true, user: user, pwd: relayCreds.Pwd, priority: 2122252543, controlling: u64(0xdeadbeefcafe), useCand: true}),
		"controlled-check":          buildRequest(tb, reqOpts{tid: tidOf("seed-ctrled1"), user: user, pwd: relayCreds.Pwd, priority: 1, controlled: u64(9)}),
		"check-wrong-pwd":           buildRequest(tb, reqOpts{tid: tidOf("seed-badpwd1"), user: user, pwd: "wrongPasswordWrongPassw", priority: 1, controlling: u64(1), useCand: true}),
		"check-unknown-attr":        buildRequest(tb, reqOpts{tid: tidOf("seed-unknown"), user: user, pwd: relayCreds.Pwd, extra: []stun.RawAttribute{{Type: 0x7777, Value: []byte{1}}}}),
		"indication":                buildRequest(tb, reqOpts{tid: tidOf("seed-indicat"), indication: true}),
		"rfc5769-request":           rfc5769Request,
		"rfc5769-response-ipv4":     rfc5769ResponseIPv4,
		"rfc5769-response-ipv6":     rfc5769ResponseIPv6,
		"response-success":          respond(stun.BindingSuccess, mapped, stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint),
		"response-role-conflict":    respond(stun.BindingError, stun.CodeRoleConflict, stun.NewShortTermIntegrity(browserCreds.Pwd), stun.Fingerprint),
		"response-unauthorized":     respond(stun.BindingError, stun.CodeUnauthorized, stun.Fingerprint),
		"response-success-wrong-mi": respond(stun.BindingSuccess, mapped, stun.NewShortTermIntegrity(relayCreds.Pwd), stun.Fingerprint),
	}
}

func fuzzCorpusFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%+q)\n", b)
}

// TestFuzzSeedCorpus keeps the committed seed corpus of FuzzHandleSTUN in
// step with fuzzSeeds. Regenerate with ICE_UPDATE_CORPUS=1 go test -run
// TestFuzzSeedCorpus ./ice/.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzHandleSTUN")
	update := os.Getenv("ICE_UPDATE_CORPUS") != ""
	if update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range fuzzSeeds(t) {
		path := filepath.Join(dir, name)
		want := fuzzCorpusFile(b)
		if update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed %s missing or stale (run with ICE_UPDATE_CORPUS=1): %v", path, err)
		}
	}
}

// TestFuzzSeedsBehave checks that the seeds exercise the paths they are
// named after, so that the corpus stays meaningful.
func TestFuzzSeedsBehave(t *testing.T) {
	seeds := fuzzSeeds(t)
	lite, full, _ := fuzzAgents(t)
	if _, ev, err := lite.HandleSTUN(seeds["chrome-check-use-cand"], browserAddr, 1); err != nil || ev == nil {
		t.Errorf("chrome-check-use-cand: %v %v", ev, err)
	}
	if _, _, err := full.HandleSTUN(seeds["response-success"], browserAddr, 1); err != nil || full.Stats().Responses != 1 {
		t.Errorf("response-success: %v", err)
	}
	_, full, _ = fuzzAgents(t)
	if _, _, err := full.HandleSTUN(seeds["response-role-conflict"], browserAddr, 1); err != nil || full.Controlling() {
		t.Errorf("response-role-conflict: %v", err)
	}
}

// FuzzHandleSTUN: arbitrary bytes never panic, and every response we send
// is a well-formed STUN message with a valid FINGERPRINT.
func FuzzHandleSTUN(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		lite, full, clk := fuzzAgents(t)
		for _, a := range []*Agent{lite, full} {
			for comp := 1; comp <= 2; comp++ {
				resp, _, _ := a.HandleSTUN(pkt, browserAddr, comp)
				if resp != nil {
					m := new(stun.Message)
					m.Raw = append(m.Raw, resp...)
					if err := m.Decode(); err != nil {
						t.Fatalf("response does not decode: %v", err)
					}
					if err := stun.Fingerprint.Check(m); err != nil {
						t.Fatalf("response FINGERPRINT: %v", err)
					}
					if m.Contains(stun.AttrMessageIntegrity) {
						if err := stun.NewShortTermIntegrity(relayCreds.Pwd).Check(m); err != nil {
							t.Fatalf("response integrity: %v", err)
						}
					}
				}
			}
			a.Tick(clk.Add(time.Second))
			_, _ = a.Selected(1)
		}
	})
}
