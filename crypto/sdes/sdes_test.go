package sdes

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

const fixtureDir = "../../../shared/fixtures/sdp"

type fixtureLine struct {
	file  string
	value string
}

// fixtureCryptoLines returns the values of every a=crypto line of the shared
// SDP fixtures. The test is skipped if they are not there.
func fixtureCryptoLines(t testing.TB) []fixtureLine {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.sdp"))
	if err != nil || len(files) == 0 {
		t.Skipf("shared fixtures not available in %s", fixtureDir)
	}
	var lines []fixtureLine
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimRight(sc.Text(), "\r"), "a=crypto:"); ok {
				lines = append(lines, fixtureLine{filepath.Base(f), v})
			}
		}
	}
	return lines
}

// unsupportedNames are the suites of the fixtures that are known but not
// implemented.
var unsupportedNames = map[string]bool{
	"AEAD_AES_256_GCM_8":      true,
	"AEAD_AES_128_GCM_8":      true,
	"AES_CM_192_HMAC_SHA1_80": true,
	"AES_CM_192_HMAC_SHA1_32": true,
	"AES_192_CM_HMAC_SHA1_80": true,
	"AES_192_CM_HMAC_SHA1_32": true,
	"AES_CM_128_NULL_AUTH":    true,
	"F8_128_HMAC_SHA1_80":     true,
}

func TestFixtures(t *testing.T) {
	lines := fixtureCryptoLines(t)
	perFile := map[string]int{}
	supported := 0
	for _, l := range lines {
		perFile[l.file]++
		fields := strings.Fields(l.value)
		c, err := Parse(l.value)
		if unsupportedNames[fields[1]] {
			if !errors.Is(err, ErrUnsupportedSuite) {
				t.Errorf("%s: %q: %v, want ErrUnsupportedSuite", l.file, l.value, err)
			}
			if c.SuiteName != fields[1] || c.Tag == 0 {
				t.Errorf("%s: %q: tag %d, suite %q not kept", l.file, l.value, c.Tag, c.SuiteName)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %q: %v", l.file, l.value, err)
			continue
		}
		supported++
		if len(c.Keys) != 1 || len(c.Keys[0].Key) != c.Suite.KeyLen() || len(c.Keys[0].Salt) != c.Suite.SaltLen() {
			t.Errorf("%s: %q: keys %+v", l.file, l.value, c.Keys)
		}
		// String keeps the meaning: it parses back to the same Crypto.
		s := c.String()
		back, err := Parse(s)
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Errorf("%s: %q: String %q parses to %+v, %v", l.file, l.value, s, back, err)
		}
		// And, these lines having no lifetime or MKI, it is the line
		// itself with the base64 padding dropped, as rtpengine writes it.
		if want := strings.TrimRight(l.value, "="); s != want {
			t.Errorf("%s: String %q, want %q", l.file, s, want)
		}
		if _, err := c.Params(); err != nil {
			t.Errorf("%s: %q: Params: %v", l.file, l.value, err)
		}
	}
	for file, want := range map[string]int{
		"freeswitch-sdes-savp-offer.sdp":            9,
		"freeswitch-sdes-answer-rejected-mline.sdp": 1,
		"jitsi-four-alternative-mlines-offer.sdp":   14,
	} {
		if perFile[file] != want {
			t.Errorf("%s: %d a=crypto lines, want %d", file, perFile[file], want)
		}
	}
	if supported == 0 {
		t.Error("no supported a=crypto line in the fixtures")
	}
	t.Logf("%d a=crypto lines, %d of supported suites", len(lines), supported)
}

// TestFixtureFreeSWITCHAnswer checks the FreeSWITCH answer's tag 3 line:
// FreeSWITCH's spelling of AES_256_CM_HMAC_SHA1_80, base64 with "=="
// padding.
func TestFixtureFreeSWITCHAnswer(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "freeswitch-sdes-answer-rejected-mline.sdp"))
	if err != nil {
		t.Skip(err)
	}
	i := bytes.Index(b, []byte("a=crypto:"))
	line, _, _ := strings.Cut(string(b[i+len("a=crypto:"):]), "\r\n")
	c, err := Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tag != 3 || c.Suite != srtp.AES256CMSHA1_80 || c.SuiteName != "AES_CM_256_HMAC_SHA1_80" {
		t.Fatalf("parsed %+v", c)
	}
	if !strings.HasSuffix(line, "==") || strings.HasSuffix(c.String(), "=") {
		t.Fatalf("line %q, String %q", line, c.String())
	}
	p, err := c.Params()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srtp.NewContext(p); err != nil {
		t.Fatal(err)
	}
}

func TestParse(t *testing.T) {
	key30 := "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz" // RFC 4568 section 4's example key
	raw30, _ := base64.StdEncoding.DecodeString(key30)
	for _, tc := range []struct {
		in   string
		want Crypto
		str  string // String(), if not in
	}{
		{
			in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4",
			want: Crypto{Tag: 1, Suite: srtp.AES128CMSHA1_80, SuiteName: "AES_CM_128_HMAC_SHA1_80",
				Keys: []KeyParam{{Key: raw30[:16], Salt: raw30[16:], Lifetime: 1 << 20, MKI: []byte{0, 0, 0, 1}, MKILen: 4}}},
		},
		{
			// RFC 4568 section 4: two keys, with MKIs; KDR, FEC_ORDER.
			in: "1 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^20|1:4;inline:" + key30 + "|2^20|2:4 KDR=1 FEC_ORDER=FEC_SRTP",
			want: Crypto{Tag: 1, Suite: srtp.AES128CMSHA1_32, SuiteName: "AES_CM_128_HMAC_SHA1_32",
				Keys: []KeyParam{
					{Key: raw30[:16], Salt: raw30[16:], Lifetime: 1 << 20, MKI: []byte{0, 0, 0, 1}, MKILen: 4},
					{Key: raw30[:16], Salt: raw30[16:], Lifetime: 1 << 20, MKI: []byte{0, 0, 0, 2}, MKILen: 4},
				},
				KDR: 1, HasKDR: true, FECOrder: "FEC_SRTP"},
		},
		{
			in: "2 aes_cm_128_hmac_sha1_80  inline:" + key30 + "|1048576 UNENCRYPTED_SRTCP unauthenticated_srtp WSH=128 FEC_KEY=inline:" + key30 + " -FOO=1 BAR",
			want: Crypto{Tag: 2, Suite: srtp.AES128CMSHA1_80, SuiteName: "aes_cm_128_hmac_sha1_80",
				Keys:             []KeyParam{{Key: raw30[:16], Salt: raw30[16:], Lifetime: 1 << 20}},
				UnencryptedSRTCP: true, UnauthenticatedSRTP: true, WSH: 128, FECKey: "inline:" + key30,
				SessionParams: []string{"-FOO=1", "BAR"}},
			str: "2 aes_cm_128_hmac_sha1_80 inline:" + key30 + "|2^20 UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP FEC_KEY=inline:" + key30 + " WSH=128 -FOO=1 BAR",
		},
		{
			in: "9 AES_CM_128_HMAC_SHA1_80 INLINE:" + key30 + "|1000|255:1 UNENCRYPTED_SRTP",
			want: Crypto{Tag: 9, Suite: srtp.AES128CMSHA1_80, SuiteName: "AES_CM_128_HMAC_SHA1_80",
				Keys:            []KeyParam{{Key: raw30[:16], Salt: raw30[16:], Lifetime: 1000, MKI: []byte{255}, MKILen: 1}},
				UnencryptedSRTP: true},
			str: "9 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1000|255:1 UNENCRYPTED_SRTP",
		},
	} {
		c, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(c, tc.want) {
			t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", tc.in, c, tc.want)
		}
		str := tc.str
		if str == "" {
			str = tc.in
		}
		if c.String() != str {
			t.Errorf("String() = %q, want %q", c.String(), str)
		}
	}
}

func TestParseErrors(t *testing.T) {
	key30 := "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80", ErrSyntax},
		{"x AES_CM_128_HMAC_SHA1_80 inline:" + key30, ErrSyntax},
		{"-1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, ErrSyntax},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, ErrSyntax},
		{"1 FOO_BAR inline:" + key30, ErrUnknownSuite},
		{"1 F8_128_HMAC_SHA1_80 inline:" + key30, ErrUnsupportedSuite},
		{"1 AES_CM_128_NULL_AUTH inline:" + key30, ErrUnsupportedSuite},
		{"1 AEAD_AES_256_GCM_8 inline:" + key30, ErrUnsupportedSuite},
		{"1 AES_192_CM_HMAC_SHA1_80 inline:" + key30, ErrUnsupportedSuite},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:" + key30, ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 " + key30, ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30[:36], ErrKeyLength},
		{"1 AES_256_CM_HMAC_SHA1_80 inline:" + key30, ErrKeyLength},
		{"1 AEAD_AES_128_GCM inline:" + key30, ErrKeyLength},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^64", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|0", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|-5", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|99999999999999999999999", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4|2^20", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|2^20", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4|2:4", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:0", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:129", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|256:1", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|:4", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4|2^20|3", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=25", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FEC_ORDER=X", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FEC_KEY=", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " WSH=0", ErrSyntax},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";", ErrSyntax},
	} {
		_, err := Parse(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q): %v, want %v", tc.in, err, tc.want)
		}
	}
	// Unknown and unsupported suites are different errors.
	_, err := Parse("1 FOO inline:" + key30)
	if errors.Is(err, ErrUnsupportedSuite) {
		t.Errorf("unknown suite reported as unsupported: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	for i, s := range srtp.OfferOrder() {
		c, err := Generate(i+1, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		line := c.String()
		// As rtpengine writes it: "TAG SUITE inline:BASE64" without
		// padding.
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[1] != s.Name() || !strings.HasPrefix(fields[2], "inline:") || strings.Contains(line, "=") || strings.Contains(line, "|") {
			t.Errorf("Generate(%v) = %q", s, line)
		}
		if got := len(fields[2]) - len("inline:"); got != base64.RawStdEncoding.EncodedLen(s.KeyLen()+s.SaltLen()) {
			t.Errorf("%v: %d base64 characters", s, got)
		}
		back, err := Parse(line)
		if err != nil || !reflect.DeepEqual(back, c) {
			t.Errorf("%v: %q parses to %+v, %v", s, line, back, err)
		}
		p, err := c.Params()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srtp.NewContext(p); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
	a, _ := Generate(1, srtp.AES128CMSHA1_80, nil)
	b, _ := Generate(1, srtp.AES128CMSHA1_80, nil)
	if bytes.Equal(a.Keys[0].Key, b.Keys[0].Key) {
		t.Error("two generated keys are equal")
	}
	// A deterministic reader gives a deterministic key.
	c, err := Generate(7, srtp.AEADAES128GCM, bytes.NewReader(bytes.Repeat([]byte{0xfb}, 28)))
	if err != nil || c.String() != "7 AEAD_AES_128_GCM inline:+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+w" {
		t.Errorf("Generate from a fixed reader: %q, %v", c.String(), err)
	}
	if _, err := Generate(1, srtp.AES128CMSHA1_80, bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("short reader: no error")
	}
	if _, err := Generate(1, 0, nil); !errors.Is(err, ErrUnknownSuite) {
		t.Errorf("invalid suite: %v", err)
	}
	if _, err := Generate(MaxTag+1, srtp.AES128CMSHA1_80, nil); err == nil {
		t.Error("tag out of range: no error")
	}
}

func TestParams(t *testing.T) {
	key30 := "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	c, err := Parse("1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|7:2 UNENCRYPTED_SRTCP WSH=256 KDR=0 -X")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Params()
	if err != nil {
		t.Fatal(err)
	}
	if p.Suite != srtp.AES128CMSHA1_80 || !bytes.Equal(p.MKI, []byte{0, 7}) || !p.UnencryptedSRTCP || p.UnencryptedSRTP || p.ReplayWindow != 256 {
		t.Errorf("Params = %+v", p)
	}
	if _, err := srtp.NewContext(p); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " FEC_KEY=inline:" + key30,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " SOMETHING_NEW",
	} {
		c, err := Parse(bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Params(); err == nil {
			t.Errorf("Params of %q: no error", bad)
		}
	}
	if _, err := (Crypto{SuiteName: "F8_128_HMAC_SHA1_80"}).Params(); !errors.Is(err, ErrUnsupportedSuite) {
		t.Errorf("Params without a suite: %v", err)
	}
}

// TestRtpengineOutput checks String against a=crypto lines rtpengine 10.5
// wrote (an offer with transport-protocol RTP/SAVP, an answer and an SDES
// passthrough offer): for each, Parse and String give the line back.
func TestRtpengineOutput(t *testing.T) {
	for _, line := range []string{
		"1 AEAD_AES_256_GCM inline:aJlwsMK9DihSXfCw4dSps+VqD4ZKRlMN3Y+Dk2oFqv8rixf3mk+aTfi5qFM",
		"2 AEAD_AES_128_GCM inline:YvuYcK4n18MsFmunfpEFSgtWtKTNeTl7jlkLfA",
		"3 AES_256_CM_HMAC_SHA1_80 inline:P56MUFD154t0lqGsBSY3fVeZ/4XR1Rg9tgJVR+yh35vXcN5Hnd2wTn/GEavjQw",
		"4 AES_256_CM_HMAC_SHA1_32 inline:utI2kUFTzZpdZVvkrJfrFTBaEivivsR3uzNLRi/wKbS3dwqfvGO9Wu81h4Ss0w",
		"7 AES_CM_128_HMAC_SHA1_80 inline:IyKlGDM8B12S8yK7j/SKT0zBpXc8xo47g50ndXz6",
		"8 AES_CM_128_HMAC_SHA1_32 inline:mQNbqOQ+/KOACGofw/yosz5oVp/CzhvvSamAs16D",
		"11 NULL_HMAC_SHA1_80 inline:n8q6wiDWNAe/cnpes94O2KXWWUdrX1w4JRLaLVLQ",
		"12 NULL_HMAC_SHA1_32 inline:JPVprqwOXfZ7Wv5dBX3La+d1wP8xyEnveIxM9GYD",
		"1 AES_CM_128_HMAC_SHA1_80 inline:yiNFhdZtfy1CcIXHZSjYRcjVO+y3JIyB+uGSTKUN UNENCRYPTED_SRTCP",
		"1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|1:4 UNENCRYPTED_SRTCP",
	} {
		c, err := Parse(line)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if c.String() != line {
			t.Errorf("String() = %q, want %q", c.String(), line)
		}
	}
	// rtpengine's own unsupported suites.
	for _, line := range []string{
		"5 AES_192_CM_HMAC_SHA1_80 inline:T8M5hOxlkItRQnzUx1+tZLV1iZve1JfvTY/sraNB0Q6zSctG/Sc",
		"9 F8_128_HMAC_SHA1_80 inline:16qJFQoPWrALHN/HuqmMJT/uCAgE8lq2djqHS/nQ",
		"10 F8_128_HMAC_SHA1_32 inline:LHOArto9ea7Ly8or2rH/sEDkUth6iIGKKM//N4Qr",
	} {
		if _, err := Parse(line); !errors.Is(err, ErrUnsupportedSuite) {
			t.Errorf("%q: %v, want ErrUnsupportedSuite", line, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4")
	f.Fuzz(func(t *testing.T, value string) {
		c, err := Parse(value)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrKeyLength) &&
				!errors.Is(err, ErrUnknownSuite) && !errors.Is(err, ErrUnsupportedSuite) {
				t.Fatalf("Parse(%q): unexpected error %v", value, err)
			}
			return
		}
		if len(c.Keys) == 0 || !c.Suite.Valid() {
			t.Fatalf("Parse(%q) = %+v without error", value, c)
		}
		s := c.String()
		back, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v; its String %q does not parse: %v", value, c, s, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("Parse(%q) = %+v; String %q parses to %+v", value, c, s, back)
		}
		if s2 := back.String(); s2 != s {
			t.Fatalf("String not stable: %q then %q", s, s2)
		}
		if p, err := c.Params(); err == nil {
			if _, err := srtp.NewContext(p); err != nil && !c.UnauthenticatedSRTP {
				t.Fatalf("%q: Params %+v, NewContext: %v", value, p, err)
			}
		}
	})
}
