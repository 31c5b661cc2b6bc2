package ng

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/sdp"
)

// Expectations below that mention rtpengine were checked against rtpengine
// 10.5.3 (Debian 12) with the same SDP and flags.

// fsFixture reads a FreeSWITCH fixture; empty c= and o= addresses (the
// capture hid them) become 203.0.113.30.
func fsFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Skipf("fixture: %v", err)
	}
	return strings.ReplaceAll(string(b), "IN IP4\r\n", "IN IP4 203.0.113.30\r\n")
}

// mediaOf parses an SDP body and returns its m-lines.
func mediaOf(t *testing.T, body string) []*sdp.Media {
	t.Helper()
	s, err := sdp.Parse([]byte(body))
	if err != nil {
		t.Fatalf("SDP does not parse: %v\n%s", err, body)
	}
	return s.Media
}

// cryptosOf returns the a=crypto values of m-line i.
func cryptosOf(t *testing.T, body string, i int) []string {
	t.Helper()
	ms := mediaOf(t, body)
	if i >= len(ms) {
		t.Fatalf("no m-line %d:\n%s", i, body)
	}
	return ms[i].Attrs("crypto")
}

func mustParseCrypto(t *testing.T, v string) sdes.Crypto {
	t.Helper()
	c, err := sdes.Parse(v)
	if err != nil {
		t.Fatalf("a=crypto:%s: %v", v, err)
	}
	return c
}

// srtpOf returns the SRTP parameters of media i of leg tag.
func srtpOf(t *testing.T, h *Handler, callID, tag string, i int) (in, out *srtp.Params) {
	t.Helper()
	c := h.engine.Call(callID)
	if c == nil {
		t.Fatalf("no call %q", callID)
	}
	c.Lock()
	defer c.Unlock()
	l := c.Leg(tag)
	if l == nil || i >= len(l.Medias) {
		t.Fatalf("call %q: no media %d on leg %q", callID, i, tag)
	}
	return l.Medias[i].SRTPIn, l.Medias[i].SRTPOut
}

// hasPorts reports whether media i of leg tag has ports allocated.
func hasPorts(t *testing.T, h *Handler, callID, tag string, i int) bool {
	t.Helper()
	c := h.engine.Call(callID)
	c.Lock()
	defer c.Unlock()
	l := c.Leg(tag)
	return l != nil && i < len(l.Medias) && l.Medias[i].RTP != nil
}

func keyOf(t *testing.T, v string) []byte {
	t.Helper()
	c := mustParseCrypto(t, v)
	return append(append([]byte(nil), c.Keys[0].Key...), c.Keys[0].Salt...)
}

func paramsKey(p *srtp.Params) []byte {
	if p == nil {
		return nil
	}
	return append(append([]byte(nil), p.MasterKey...), p.MasterSalt...)
}

// savpOffer is a one-m-line RTP/SAVP offer with the given crypto values.
func savpOffer(addr string, port int, cryptos ...string) string {
	s := strings.Replace(plain(addr, port), "RTP/AVP", "RTP/SAVP", 1)
	for _, c := range cryptos {
		s += "a=crypto:" + c + "\r\n"
	}
	return s
}

// TestSDESNineCryptoOfferToPlainCallee: FreeSWITCH's RTP/SAVP offer with
// nine crypto lines, bridged to a plain callee. ngrelay answers the first
// line it implements and SDES allows, in the offer's order, with one crypto
// line of its own key, the same tag, and FreeSWITCH's spelling of the
// suite. Tags 1, 2 (AEAD_AES_*_GCM_8: 8-octet GCM tags), 4 and 7 (AES-192)
// and 9 (AES_CM_128_NULL_AUTH) are suites ngrelay does not implement.
//
// rtpengine 10.5 answers tag 5 (AES_CM_128_HMAC_SHA1_80) by default: it
// does not know FreeSWITCH's spelling AES_CM_256_HMAC_SHA1_80 of tag 3
// ("Failed to parse a=crypto attribute, ignoring: unknown crypto suite"),
// nor AES_CM_256_HMAC_SHA1_32 (tag 6). ngrelay knows the spelling and
// takes tag 3, the offerer's first choice, which FreeSWITCH implements;
// with that suite excluded it picks tag 5 as rtpengine does.
func TestSDESNineCryptoOfferToPlainCallee(t *testing.T) {
	offer := fsFixture(t, "freeswitch-sdes-savp-offer.sdp")
	offered := cryptosOf(t, offer, 0)
	for _, tc := range []struct {
		sdes      []string
		tag       int
		suiteName string
	}{
		{nil, 3, "AES_CM_256_HMAC_SHA1_80"},
		{[]string{"no-AES_256_CM_HMAC_SHA1_80"}, 5, "AES_CM_128_HMAC_SHA1_80"}, // rtpengine's choice
		{[]string{"no-AES_256_CM_HMAC_SHA1_80", "no-AES_CM_128_HMAC_SHA1_80"}, 6, "AES_CM_256_HMAC_SHA1_32"},
		{[]string{"only-AES_CM_128_HMAC_SHA1_32"}, 8, "AES_CM_128_HMAC_SHA1_32"},
	} {
		t.Run(strings.Join(append([]string{"SDES"}, tc.sdes...), " "), func(t *testing.T) {
			h := newTestHandler(t)
			kv := []any{"command", "offer", "call-id", "fs9", "from-tag", "fs", "sdp", offer, "transport-protocol", "RTP/AVP"}
			if tc.sdes != nil {
				kv = append(kv, "SDES", tc.sdes)
			}
			out := sdpOf(t, h, kv...)
			if m := mediaOf(t, out)[0]; m.Proto != "RTP/AVP" || m.HasAttr("crypto") {
				t.Fatalf("offer to the plain callee:\n%s", out)
			}
			ans := sdpOf(t, h, "command", "answer", "call-id", "fs9", "from-tag", "fs", "to-tag", "b", "sdp", plain("198.51.100.7", 4000))
			m := mediaOf(t, ans)[0]
			lines := m.Attrs("crypto")
			if m.Proto != "RTP/SAVP" || len(lines) != 1 {
				t.Fatalf("answer to FreeSWITCH, want RTP/SAVP with one crypto line:\n%s", ans)
			}
			c := mustParseCrypto(t, lines[0])
			if c.Tag != tc.tag || c.SuiteName != tc.suiteName {
				t.Fatalf("answered %q, want tag %d %s", lines[0], tc.tag, tc.suiteName)
			}
			theirs := offered[tc.tag-1]
			if !strings.HasPrefix(theirs, fmt.Sprintf("%d %s ", tc.tag, tc.suiteName)) {
				t.Fatalf("fixture line %d is %q", tc.tag, theirs)
			}
			if bytes.Equal(keyOf(t, lines[0]), keyOf(t, theirs)) {
				t.Fatal("ngrelay answered FreeSWITCH's own key")
			}
			if strings.Contains(lines[0], "=") || len(c.Keys) != 1 || len(c.SessionParams) != 0 {
				t.Fatalf("answer line %q: want rtpengine's form (no padding, one key, no parameters)", lines[0])
			}
			in, outP := srtpOf(t, h, "fs9", "fs", 0)
			if !bytes.Equal(paramsKey(in), keyOf(t, theirs)) || in.Suite != c.Suite {
				t.Fatal("ngrelay does not decrypt with FreeSWITCH's chosen key")
			}
			if !bytes.Equal(paramsKey(outP), keyOf(t, lines[0])) || outP.Suite != c.Suite {
				t.Fatal("ngrelay does not encrypt with the key it answered")
			}
		})
	}
}

// TestSDESFreeSWITCHAnswerWithPaddingAndRejectedMLine: ngrelay offers SDES
// to FreeSWITCH (a plain caller with two m-lines, transport-protocol
// RTP/SAVP); FreeSWITCH answers tag 3 in its spelling
// AES_CM_256_HMAC_SHA1_80 with a padded key, and rejects the second m-line.
// ngrelay's tag 3 is AES_256_CM_HMAC_SHA1_80, so the answer is accepted;
// the rejected m-line stays rejected towards the caller.
//
// rtpengine 10.5, offered the same, also numbers AES_256_CM_HMAC_SHA1_80
// tag 3 but cannot parse FreeSWITCH's answer line ("unknown crypto suite"):
// it then encrypts with its tag 1 (AEAD_AES_256_GCM) line, which
// FreeSWITCH did not accept.
func TestSDESFreeSWITCHAnswerWithPaddingAndRejectedMLine(t *testing.T) {
	h := newTestHandler(t)
	caller := plain("198.51.100.7", 4000) + "m=audio 4002 RTP/AVP 19\r\n"
	offer := sdpOf(t, h, "command", "offer", "call-id", "fsa", "from-tag", "a", "sdp", caller, "transport-protocol", "RTP/SAVP")
	var ours string
	for _, v := range cryptosOf(t, offer, 0) {
		if strings.HasPrefix(v, "3 ") {
			ours = v
		}
	}
	if !strings.HasPrefix(ours, "3 AES_256_CM_HMAC_SHA1_80 inline:") {
		t.Fatalf("ngrelay's tag 3 is %q, want AES_256_CM_HMAC_SHA1_80 (as rtpengine numbers it):\n%s", ours, offer)
	}
	answer := fsFixture(t, "freeswitch-sdes-answer-rejected-mline.sdp")
	theirs := cryptosOf(t, answer, 0)[0]
	out := sdpOf(t, h, "command", "answer", "call-id", "fsa", "from-tag", "a", "to-tag", "fs", "sdp", answer)
	ms := mediaOf(t, out)
	if len(ms) != 2 || ms[0].Proto != "RTP/AVP" || ms[0].Port == 0 || ms[0].HasAttr("crypto") {
		t.Fatalf("answer to the plain caller:\n%s", out)
	}
	if ms[1].Port != 0 || ms[1].HasAttr("crypto") {
		t.Fatalf("rejected m-line not rejected towards the caller:\n%s", out)
	}
	in, outP := srtpOf(t, h, "fsa", "fs", 0)
	if in == nil || in.Suite != srtp.AES256CMSHA1_80 || !bytes.Equal(paramsKey(in), keyOf(t, theirs)) {
		t.Fatalf("decrypting FreeSWITCH with %+v, want its padded tag 3 key", in)
	}
	if outP == nil || !bytes.Equal(paramsKey(outP), keyOf(t, ours)) {
		t.Fatal("not encrypting towards FreeSWITCH with ngrelay's tag 3 key")
	}
	if hasPorts(t, h, "fsa", "fs", 1) && mediaOf(t, offer)[1].Port == 0 {
		t.Fatal("ports for a rejected m-line")
	}
}

// TestSDESBestEffortSRTPOffer: FreeSWITCH's best-effort SRTP offer, an
// RTP/SAVP m-line with crypto and an RTP/AVP twin on the same port.
//
// rtpengine 10.5 relays the two m-lines as two streams, each with its own
// ports, with or without OSRTP=accept (10.5's "accept" is RFC 8643 only;
// "accept-legacy" is an unknown flag there). Later rtpengine versions
// (OSRTP accept or accept-legacy) take the pair as one SRTP stream. ngrelay
// does as 10.5 without the flag, and with OSRTP accept or accept-legacy
// offers the twin rejected (port 0, no ports allocated) so that the SRTP
// m-line carries the one stream, and the answer accepts SRTP and rejects
// the twin.
func TestSDESBestEffortSRTPOffer(t *testing.T) {
	offer := fsFixture(t, "freeswitch-best-effort-srtp-offer.sdp")
	callee := plain("198.51.100.7", 4000) + "a=rtpmap:8 PCMA/8000\r\n"
	callee = strings.Replace(callee, "RTP/AVP 0", "RTP/AVP 8 101", 1)

	t.Run("without OSRTP: two streams, as rtpengine 10.5", func(t *testing.T) {
		h := newTestHandler(t)
		out := sdpOf(t, h, "command", "offer", "call-id", "be1", "from-tag", "fs", "sdp", offer, "transport-protocol", "RTP/AVP")
		ms := mediaOf(t, out)
		if len(ms) != 2 || ms[0].Port == 0 || ms[1].Port == 0 || ms[0].Port == ms[1].Port {
			t.Fatalf("want two m-lines on their own ports:\n%s", out)
		}
		for _, m := range ms {
			if m.Proto != "RTP/AVP" || m.HasAttr("crypto") {
				t.Fatalf("want plain m-lines towards the callee:\n%s", out)
			}
		}
		if !hasPorts(t, h, "be1", "fs", 1) || !hasPorts(t, h, "be1", "", 1) {
			t.Fatal("the second m-line has no ports")
		}
		twoPlain := callee + "m=audio 4002 RTP/AVP 8 101\r\n"
		ans := sdpOf(t, h, "command", "answer", "call-id", "be1", "from-tag", "fs", "to-tag", "b", "sdp", twoPlain)
		ms = mediaOf(t, ans)
		if len(ms) != 2 || ms[0].Proto != "RTP/SAVP" || len(ms[0].Attrs("crypto")) != 1 || ms[1].Proto != "RTP/AVP" || ms[1].HasAttr("crypto") || ms[1].Port == 0 {
			t.Fatalf("answer to FreeSWITCH:\n%s", ans)
		}
	})

	for _, flag := range []string{"accept", "accept-legacy"} {
		t.Run("OSRTP "+flag+" towards a plain callee", func(t *testing.T) {
			h := newTestHandler(t)
			out := sdpOf(t, h, "command", "offer", "call-id", "be2", "from-tag", "fs", "sdp", offer, "transport-protocol", "RTP/AVP", "OSRTP", []string{flag})
			ms := mediaOf(t, out)
			if len(ms) == 2 && ms[1].Port != 0 && legacyOSRTPHookMissing {
				t.Skip("the rewrite loop in offer.go does not call legacyOSRTPAlternatives yet")
			}
			if len(ms) != 2 || ms[0].Port == 0 || ms[0].Proto != "RTP/AVP" || ms[0].HasAttr("crypto") || ms[1].Port != 0 {
				t.Fatalf("want the SRTP m-line as plain RTP and its twin rejected:\n%s", out)
			}
			if hasPorts(t, h, "be2", "fs", 1) || hasPorts(t, h, "be2", "", 1) {
				t.Fatal("ports allocated for the plain twin")
			}
			ans := sdpOf(t, h, "command", "answer", "call-id", "be2", "from-tag", "fs", "to-tag", "b", "sdp", callee+"m=audio 0 RTP/AVP 8\r\n", "OSRTP", []string{flag})
			ms = mediaOf(t, ans)
			if len(ms) != 2 || ms[0].Proto != "RTP/SAVP" || ms[0].Port == 0 || ms[1].Port != 0 || ms[1].HasAttr("crypto") {
				t.Fatalf("answer to FreeSWITCH, want SRTP accepted and the twin rejected:\n%s", ans)
			}
			if l := ms[0].Attrs("crypto"); len(l) != 1 || !strings.HasPrefix(l[0], "3 AES_CM_256_HMAC_SHA1_80 ") {
				t.Fatalf("answer crypto %q", l)
			}
			if in, out := srtpOf(t, h, "be2", "fs", 0); in == nil || out == nil {
				t.Fatal("SRTP not terminated on the stream")
			}
		})
	}

	t.Run("OSRTP accept towards an SRTP callee", func(t *testing.T) {
		h := newTestHandler(t)
		out := sdpOf(t, h, "command", "offer", "call-id", "be3", "from-tag", "fs", "sdp", offer, "OSRTP", []string{"accept"})
		ms := mediaOf(t, out)
		if len(ms) == 2 && ms[1].Port != 0 && legacyOSRTPHookMissing {
			t.Skip("the rewrite loop in offer.go does not call legacyOSRTPAlternatives yet")
		}
		if len(ms) != 2 || ms[0].Proto != "RTP/SAVP" || len(ms[0].Attrs("crypto")) != 9 || ms[1].Port != 0 {
			t.Fatalf("want the SRTP m-line passed through and its twin rejected:\n%s", out)
		}
	})
}

// legacyOSRTPHookMissing is true while offer.go does not reject the plain
// twins that legacyOSRTPAlternatives finds; set it to false once it does.
var legacyOSRTPHookMissing = false

func TestLegacyOSRTPAlternatives(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
	const crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Yd4L5Qi7A/8xay5ZHWR1jKk9j5Kvy9s2Zo3NOES2\r\n"
	accept := &sdesOptions{osrtpAcceptLegacy: true}
	for _, tc := range []struct {
		name, body string
		opts       *sdesOptions
		want       []int
	}{
		{"SRTP then plain", "m=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=audio 5000 RTP/AVP 0\r\n", accept, []int{1}},
		{"plain then SRTP", "m=audio 5000 RTP/AVP 0\r\nm=audio 5000 RTP/SAVPF 0\r\n" + crypto, accept, []int{0}},
		{"not asked", "m=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=audio 5000 RTP/AVP 0\r\n", &sdesOptions{osrtpAccept: true}, nil},
		{"different types", "m=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=video 5002 RTP/AVP 96\r\n", accept, nil},
		{"SRTP without crypto", "m=audio 5000 RTP/SAVP 0\r\nm=audio 5000 RTP/AVP 0\r\n", accept, nil},
		{"SRTP rejected", "m=audio 0 RTP/SAVP 0\r\n" + crypto + "m=audio 5000 RTP/AVP 0\r\n", accept, nil},
		{"twin already rejected", "m=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=audio 0 RTP/AVP 0\r\n", accept, nil},
		{"DTLS is not SDES", "m=audio 5000 UDP/TLS/RTP/SAVP 0\r\nm=audio 5000 RTP/AVP 0\r\n", accept, nil},
		{"two SRTP", "m=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=audio 5000 RTP/SAVPF 0\r\n" + crypto, accept, nil},
		{"one pair per m-line", "m=audio 5000 RTP/AVP 0\r\nm=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=audio 5000 RTP/AVP 0\r\n", accept, []int{0}},
		{"two pairs", "m=audio 5000 RTP/SAVP 0\r\n" + crypto + "m=audio 5000 RTP/AVP 0\r\nm=video 5002 RTP/SAVP 96\r\n" + crypto + "m=video 5002 RTP/AVP 96\r\n", accept, []int{1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sdp.Parse([]byte(head + tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, alt := range legacyOSRTPAlternatives(tc.opts, s) {
				if alt {
					got = append(got, i)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("twins %v, want %v", got, tc.want)
			}
		})
	}
	// The fixture itself.
	b, err := os.ReadFile(filepath.Join(fixtures, "freeswitch-best-effort-srtp-offer.sdp"))
	if err != nil {
		t.Skip(err)
	}
	s, err := sdp.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if alt := legacyOSRTPAlternatives(accept, s); len(alt) != 2 || alt[0] || !alt[1] {
		t.Fatalf("fixture: %v, want the second m-line as the twin", alt)
	}
}

// TestSDESReinviteFromTheSRTPOfferer: ngrelay terminates A's SRTP. A
// re-INVITE with the same key changes nothing; one with a new key makes
// ngrelay decrypt with the new key, and ngrelay keeps its own.
func TestSDESReinviteFromTheSRTPOfferer(t *testing.T) {
	h := newTestHandler(t)
	k1, _ := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	k2, _ := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	round := func(key sdes.Crypto) string {
		sdpOf(t, h, "command", "offer", "call-id", "ri1", "from-tag", "a", "to-tag", "b", "sdp", savpOffer("198.51.100.7", 4000, key.String()), "transport-protocol", "RTP/AVP")
		ans := sdpOf(t, h, "command", "answer", "call-id", "ri1", "from-tag", "a", "to-tag", "b", "sdp", plain("203.0.113.50", 5000))
		l := cryptosOf(t, ans, 0)
		if len(l) != 1 {
			t.Fatalf("answer to A:\n%s", ans)
		}
		return l[0]
	}
	ours := round(k1)
	in1, out1 := srtpOf(t, h, "ri1", "a", 0)
	if again := round(k1); again != ours {
		t.Fatalf("same key re-INVITE changed ngrelay's answer: %q -> %q", ours, again)
	}
	in, out := srtpOf(t, h, "ri1", "a", 0)
	if in != in1 && !bytes.Equal(paramsKey(in), paramsKey(in1)) || !bytes.Equal(paramsKey(out), paramsKey(out1)) {
		t.Fatal("same key re-INVITE changed the contexts")
	}
	if again := round(k2); again != ours {
		t.Fatalf("new peer key changed ngrelay's key: %q -> %q", ours, again)
	}
	in, out = srtpOf(t, h, "ri1", "a", 0)
	if !bytes.Equal(paramsKey(in), keyOf(t, k2.String())) {
		t.Fatal("ngrelay still decrypts A with the old key")
	}
	if !bytes.Equal(paramsKey(out), keyOf(t, ours)) {
		t.Fatal("ngrelay's encryption key towards A changed")
	}
	// A changes suite: ngrelay answers the new suite with a new key.
	k3, _ := sdes.Generate(2, srtp.AES256CMSHA1_32, nil)
	if l := round(k3); !strings.HasPrefix(l, "2 AES_256_CM_HMAC_SHA1_32 ") || bytes.Equal(keyOf(t, l)[:16], keyOf(t, ours)[:16]) {
		t.Fatalf("after a suite change ngrelay answered %q", l)
	}
}

// TestSDESReinviteTowardsTheSDESAnswerer: ngrelay offered SDES to B. A's
// re-INVITE offers B the same lines; B answering a new key replaces the
// decrypt context, ngrelay's key stays.
func TestSDESReinviteTowardsTheSDESAnswerer(t *testing.T) {
	h := newTestHandler(t)
	offerB := func() []string {
		out := sdpOf(t, h, "command", "offer", "call-id", "ri2", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "transport-protocol", "RTP/SAVP")
		return cryptosOf(t, out, 0)
	}
	answerB := func(key sdes.Crypto) {
		sdpOf(t, h, "command", "answer", "call-id", "ri2", "from-tag", "a", "to-tag", "b", "sdp", savpOffer("203.0.113.50", 5000, key.String()))
	}
	first := offerB()
	var ours string
	for _, l := range first {
		if strings.HasPrefix(l, "5 AES_CM_128_HMAC_SHA1_80 ") {
			ours = l
		}
	}
	if ours == "" {
		t.Fatalf("no tag 5 AES_CM_128_HMAC_SHA1_80 offered (rtpengine's tag for it, less AES-192): %q", first)
	}
	kb1, _ := sdes.Generate(5, srtp.AES128CMSHA1_80, nil)
	answerB(kb1)
	if in, out := srtpOf(t, h, "ri2", "b", 0); !bytes.Equal(paramsKey(in), keyOf(t, kb1.String())) || !bytes.Equal(paramsKey(out), keyOf(t, ours)) {
		t.Fatal("keys after the first answer")
	}
	if again := offerB(); strings.Join(again, "\n") != strings.Join(first, "\n") {
		t.Fatalf("re-INVITE re-keyed the offer:\n%q\n%q", first, again)
	}
	kb2, _ := sdes.Generate(5, srtp.AES128CMSHA1_80, nil)
	answerB(kb2)
	in, out := srtpOf(t, h, "ri2", "b", 0)
	if !bytes.Equal(paramsKey(in), keyOf(t, kb2.String())) {
		t.Fatal("B's new key does not replace the decrypt context")
	}
	if !bytes.Equal(paramsKey(out), keyOf(t, ours)) {
		t.Fatal("ngrelay's key towards B changed")
	}

	// B re-INVITEs (B offers SRTP with a new key): ngrelay answers B with
	// the key it already encrypts with, under B's tag.
	kb3, _ := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	sdpOf(t, h, "command", "offer", "call-id", "ri2", "from-tag", "b", "to-tag", "a", "sdp", savpOffer("203.0.113.50", 5000, kb3.String()), "transport-protocol", "RTP/AVP")
	ans := sdpOf(t, h, "command", "answer", "call-id", "ri2", "from-tag", "b", "to-tag", "a", "sdp", plain("198.51.100.7", 4000))
	l := cryptosOf(t, ans, 0)
	if len(l) != 1 || !strings.HasPrefix(l[0], "1 AES_CM_128_HMAC_SHA1_80 ") || !bytes.Equal(keyOf(t, l[0]), keyOf(t, ours)) {
		t.Fatalf("answer to B's re-INVITE %q, want tag 1 with ngrelay's key in use %q", l, ours)
	}
	in, out = srtpOf(t, h, "ri2", "b", 0)
	if !bytes.Equal(paramsKey(in), keyOf(t, kb3.String())) || !bytes.Equal(paramsKey(out), keyOf(t, ours)) {
		t.Fatal("contexts after B's re-INVITE")
	}
}

var cryptoLineRe = regexp.MustCompile(`^(\d+) (\S+) inline:([A-Za-z0-9+/]+=*)(\|2\^31)?((?: \S+)*)$`)

// offeredLines offers plain A to an SRTP callee with the SDES items and
// returns the crypto values, checked against rtpengine's form.
func offeredLines(t *testing.T, h *Handler, callID string, items ...string) [][]string {
	t.Helper()
	kv := []any{"command", "offer", "call-id", callID, "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "transport-protocol", "RTP/SAVP"}
	if items != nil {
		kv = append(kv, "SDES", items)
	}
	var out [][]string
	for _, v := range cryptosOf(t, sdpOf(t, h, kv...), 0) {
		m := cryptoLineRe.FindStringSubmatch(v)
		if m == nil {
			t.Fatalf("crypto line %q is not in rtpengine's form", v)
		}
		out = append(out, m[1:])
	}
	return out
}

// TestSDESSuiteFilters: SDES no-SUITE and only-SUITE choose the suites
// ngrelay offers, numbered from 1 in rtpengine's order, as rtpengine
// numbers what is left. (rtpengine 10.5 does not know only-SUITE and
// ignores it; later versions offer only the named suites, as ngrelay.)
func TestSDESSuiteFilters(t *testing.T) {
	h := newTestHandler(t)
	summary := func(lines [][]string) string {
		var s []string
		for _, l := range lines {
			s = append(s, l[0]+" "+l[1])
		}
		return strings.Join(s, ", ")
	}
	for _, tc := range []struct {
		items []string
		want  string
	}{
		{nil, "1 AEAD_AES_256_GCM, 2 AEAD_AES_128_GCM, 3 AES_256_CM_HMAC_SHA1_80, 4 AES_256_CM_HMAC_SHA1_32, 5 AES_CM_128_HMAC_SHA1_80, 6 AES_CM_128_HMAC_SHA1_32, 7 NULL_HMAC_SHA1_80, 8 NULL_HMAC_SHA1_32"},
		{[]string{"no-AEAD_AES_256_GCM", "no-AES_CM_128_HMAC_SHA1_32", "no-NULL_HMAC_SHA1_80", "no-F8_128_HMAC_SHA1_32"},
			"1 AEAD_AES_128_GCM, 2 AES_256_CM_HMAC_SHA1_80, 3 AES_256_CM_HMAC_SHA1_32, 4 AES_CM_128_HMAC_SHA1_80, 5 NULL_HMAC_SHA1_32"},
		{[]string{"only-AES_CM_128_HMAC_SHA1_32", "only-AEAD_AES_128_GCM"}, "1 AEAD_AES_128_GCM, 2 AES_CM_128_HMAC_SHA1_32"},
		{[]string{"only-aes_cm_128_hmac_sha1_80"}, "1 AES_CM_128_HMAC_SHA1_80"},
		{[]string{"only-AES_CM_128_HMAC_SHA1_80", "no-AES_CM_128_HMAC_SHA1_80", "only-NULL_HMAC_SHA1_32"}, "1 NULL_HMAC_SHA1_32"},
		{[]string{"only-NO_SUCH_SUITE"}, "1 AEAD_AES_256_GCM, 2 AEAD_AES_128_GCM, 3 AES_256_CM_HMAC_SHA1_80, 4 AES_256_CM_HMAC_SHA1_32, 5 AES_CM_128_HMAC_SHA1_80, 6 AES_CM_128_HMAC_SHA1_32, 7 NULL_HMAC_SHA1_80, 8 NULL_HMAC_SHA1_32"},
	} {
		if got := summary(offeredLines(t, h, "f-"+strings.Join(tc.items, ","), tc.items...)); got != tc.want {
			t.Errorf("SDES %v: offered %s\nwant %s", tc.items, got, tc.want)
		}
	}
	// As flags.
	out := sdpOf(t, h, "command", "offer", "call-id", "f-flags", "from-tag", "a", "sdp", plain("198.51.100.7", 4000),
		"transport-protocol", "RTP/SAVP", "flags", []string{"SDES-only-AES_256_CM_HMAC_SHA1_32"})
	if l := cryptosOf(t, out, 0); len(l) != 1 || !strings.HasPrefix(l[0], "1 AES_256_CM_HMAC_SHA1_32 ") {
		t.Errorf("SDES-only- flag: %q", l)
	}
	// Nothing left to offer is an error.
	var no []string
	for _, s := range srtp.OfferOrder() {
		no = append(no, "no-"+s.Name())
	}
	r := h.Handle(request("command", "offer", "call-id", "f-none", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "transport-protocol", "RTP/SAVP", "SDES", no))
	if res, _ := r.GetString("result"); res != "error" {
		t.Errorf("offer with every suite excluded: %s", res)
	}
	// no- also filters what ngrelay accepts from an SRTP offerer (as
	// rtpengine: its choice moves to the next line).
	h2 := newTestHandler(t)
	k1, _ := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	k2, _ := sdes.Generate(2, srtp.AES128CMSHA1_32, nil)
	sdpOf(t, h2, "command", "offer", "call-id", "f-acc", "from-tag", "a", "sdp", savpOffer("198.51.100.7", 4000, k1.String(), k2.String()),
		"transport-protocol", "RTP/AVP", "SDES", []string{"no-AES_CM_128_HMAC_SHA1_80"})
	ans := sdpOf(t, h2, "command", "answer", "call-id", "f-acc", "from-tag", "a", "to-tag", "b", "sdp", plain("203.0.113.50", 5000))
	if l := cryptosOf(t, ans, 0); len(l) != 1 || !strings.HasPrefix(l[0], "2 AES_CM_128_HMAC_SHA1_32 ") {
		t.Errorf("accepted %q, want tag 2", l)
	}
}

// TestSDESSessionParameters: the SDES session-parameter items on the lines
// ngrelay generates, written exactly as rtpengine 10.5 writes them for the
// same items: " UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP"
// after the key, in that order, whatever the order or case of the items;
// "pad" keeps the base64 padding, "lifetime" adds "|2^31".
// UNAUTHENTICATED_SRTP is left off the AEAD suites, whose tag is part of
// the cipher (rtpengine 10.5 writes it there too).
func TestSDESSessionParameters(t *testing.T) {
	h := newTestHandler(t)
	for _, tc := range []struct {
		items          []string
		params, aead   string
		pad, lifetime  bool
		unauthenticate bool
	}{
		{items: []string{"unencrypted_srtcp"}, params: " UNENCRYPTED_SRTCP", aead: " UNENCRYPTED_SRTCP"},
		{items: []string{"unencrypted_srtp"}, params: " UNENCRYPTED_SRTP", aead: " UNENCRYPTED_SRTP"},
		{items: []string{"unauthenticated_srtp"}, params: " UNAUTHENTICATED_SRTP", aead: ""},
		{items: []string{"UNAUTHENTICATED_SRTP", "UNENCRYPTED_SRTCP", "unencrypted_srtp"}, params: " UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP", aead: " UNENCRYPTED_SRTP UNENCRYPTED_SRTCP"},
		{items: []string{"unencrypted_srtcp", "encrypted_srtcp"}, params: "", aead: ""},
		{items: []string{"pad"}, pad: true},
		{items: []string{"lifetime"}, lifetime: true},
		{items: []string{"pad", "lifetime", "unencrypted_srtcp"}, params: " UNENCRYPTED_SRTCP", aead: " UNENCRYPTED_SRTCP", pad: true, lifetime: true},
	} {
		lines := offeredLines(t, h, "p-"+strings.Join(tc.items, ","), tc.items...)
		if len(lines) != len(srtp.OfferOrder()) {
			t.Fatalf("SDES %v: %d lines", tc.items, len(lines))
		}
		for _, l := range lines {
			suite, err := srtp.ParseSuite(l[1])
			if err != nil {
				t.Fatal(err)
			}
			want := tc.params
			if suite.AEAD() {
				want = tc.aead
			}
			if l[4] != want {
				t.Errorf("SDES %v: %s parameters %q, want %q", tc.items, l[1], l[4], want)
			}
			padded := len(l[2])%4 == 0
			if n := suite.KeyLen() + suite.SaltLen(); n%3 != 0 && padded != tc.pad {
				t.Errorf("SDES %v: %s key %q padded %v", tc.items, l[1], l[2], padded)
			}
			if (l[3] != "") != tc.lifetime {
				t.Errorf("SDES %v: %s lifetime %q", tc.items, l[1], l[3])
			}
		}
	}

	// Answering an SRTP offerer: the offerer's parameters are copied, the
	// negations remove them, the other items add nothing (rtpengine 10.5
	// does the same).
	for i, tc := range []struct {
		offered string
		items   []string
		want    string
	}{
		{" UNENCRYPTED_SRTCP", nil, " UNENCRYPTED_SRTCP"},
		{"", []string{"unencrypted_srtcp"}, ""},
		{" UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP", []string{"encrypted_srtcp"}, " UNAUTHENTICATED_SRTP"},
		{" UNENCRYPTED_SRTP", nil, " UNENCRYPTED_SRTP"},
	} {
		id := fmt.Sprint("pa-", i)
		k := "7 AES_CM_128_HMAC_SHA1_80 inline:Yd4L5Qi7A/8xay5ZHWR1jKk9j5Kvy9s2Zo3NOES2" + tc.offered
		kv := []any{"command", "offer", "call-id", id, "from-tag", "a", "sdp", savpOffer("198.51.100.7", 4000, k), "transport-protocol", "RTP/AVP"}
		if tc.items != nil {
			kv = append(kv, "SDES", tc.items)
		}
		sdpOf(t, h, kv...)
		ans := sdpOf(t, h, "command", "answer", "call-id", id, "from-tag", "a", "to-tag", "b", "sdp", plain("203.0.113.50", 5000))
		l := cryptosOf(t, ans, 0)
		m := cryptoLineRe.FindStringSubmatch(l[0])
		if len(l) != 1 || m == nil || m[1] != "7" || m[5] != tc.want {
			t.Errorf("offered%q SDES %v: answered %q, want parameters %q", tc.offered, tc.items, l, tc.want)
			continue
		}
		in, out := srtpOf(t, h, id, "a", 0)
		if in.UnencryptedSRTCP != strings.Contains(tc.offered, "UNENCRYPTED_SRTCP") || out.UnencryptedSRTCP != strings.Contains(tc.want, "UNENCRYPTED_SRTCP") ||
			out.UnauthenticatedSRTP != strings.Contains(tc.want, "UNAUTHENTICATED_SRTP") || out.UnencryptedSRTP != strings.Contains(tc.want, "UNENCRYPTED_SRTP") {
			t.Errorf("offered%q SDES %v: contexts in %+v out %+v", tc.offered, tc.items, *in, *out)
		}
	}

	// The parameters reach the contexts of a leg that picked a line.
	sdpOf(t, h, "command", "offer", "call-id", "pc", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "transport-protocol", "RTP/SAVP", "SDES", []string{"only-AES_CM_128_HMAC_SHA1_80", "unencrypted_srtcp"})
	kb, _ := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	kb.UnencryptedSRTCP = true
	sdpOf(t, h, "command", "answer", "call-id", "pc", "from-tag", "a", "to-tag", "b", "sdp", savpOffer("203.0.113.50", 5000, kb.String()))
	if in, out := srtpOf(t, h, "pc", "b", 0); in == nil || out == nil || !in.UnencryptedSRTCP || !out.UnencryptedSRTCP {
		t.Fatalf("UNENCRYPTED_SRTCP not in the contexts: in %+v out %+v", in, out)
	}
}

// TestSDESAnswerWithAnUnknownSuiteIsAnError: an SRTP answer whose only
// crypto line ngrelay cannot use must not leave the stream plain.
func TestSDESAnswerWithAnUnknownSuiteIsAnError(t *testing.T) {
	h := newTestHandler(t)
	sdpOf(t, h, "command", "offer", "call-id", "u1", "from-tag", "a", "sdp", plain("198.51.100.7", 4000), "transport-protocol", "RTP/SAVP")
	bad := savpOffer("203.0.113.50", 5000, "5 AES_192_CM_HMAC_SHA1_80 inline:2PVBBJEp4QcTzTf4Th8Ag/7KiVPmrYb/FCowiRb6yAuTO/kxQLc")
	r := h.Handle(request("command", "answer", "call-id", "u1", "from-tag", "a", "to-tag", "b", "sdp", bad))
	if res, _ := r.GetString("result"); res != "error" {
		t.Fatalf("answer with an unusable crypto line: %s", res)
	}
}
