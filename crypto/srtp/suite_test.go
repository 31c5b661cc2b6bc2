package srtp

import (
	"errors"
	"slices"
	"testing"

	pionsrtp "github.com/pion/srtp/v3"
)

func TestParseSuite(t *testing.T) {
	for name, want := range map[string]Suite{
		"AES_CM_128_HMAC_SHA1_80": AES128CMSHA1_80,
		"AES_CM_128_HMAC_SHA1_32": AES128CMSHA1_32,
		"AES_256_CM_HMAC_SHA1_80": AES256CMSHA1_80,
		"AES_256_CM_HMAC_SHA1_32": AES256CMSHA1_32,
		"AEAD_AES_128_GCM":        AEADAES128GCM,
		"AEAD_AES_256_GCM":        AEADAES256GCM,
		"NULL_HMAC_SHA1_80":       NullSHA1_80,
		"NULL_HMAC_SHA1_32":       NullSHA1_32,
		// FreeSWITCH
		"AES_CM_256_HMAC_SHA1_80": AES256CMSHA1_80,
		"AES_CM_256_HMAC_SHA1_32": AES256CMSHA1_32,
		// case-insensitive, as rtpengine
		"aes_cm_128_hmac_sha1_80": AES128CMSHA1_80,
		"Aead_Aes_256_Gcm":        AEADAES256GCM,
	} {
		got, err := ParseSuite(name)
		if err != nil || got != want {
			t.Errorf("ParseSuite(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{
		"AES_192_CM_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_32",
		"AES_CM_192_HMAC_SHA1_80", "AES_CM_192_HMAC_SHA1_32",
		"F8_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_32",
		"AES_CM_128_NULL_AUTH", "AEAD_AES_128_GCM_8", "AEAD_AES_256_GCM_8",
		"SEED_CTR_128_HMAC_SHA1_80",
	} {
		if _, err := ParseSuite(name); !errors.Is(err, ErrUnsupportedSuite) || errors.Is(err, ErrUnknownSuite) {
			t.Errorf("ParseSuite(%q): %v, want ErrUnsupportedSuite", name, err)
		}
	}
	for _, name := range []string{"", "AES", "AES_CM_128_HMAC_SHA1_81", "SRTP_AES128_CM_SHA1_80"} {
		if _, err := ParseSuite(name); !errors.Is(err, ErrUnknownSuite) {
			t.Errorf("ParseSuite(%q): %v, want ErrUnknownSuite", name, err)
		}
	}
}

func TestSuiteProperties(t *testing.T) {
	if len(allSuites()) != 8 {
		t.Fatalf("%d suites", len(allSuites()))
	}
	for _, s := range allSuites() {
		p := s.Profile()
		kl, _ := p.KeyLen()
		sl, _ := p.SaltLen()
		rtpTag, _ := p.AuthTagRTPLen()
		rtcpTag, _ := p.AuthTagRTCPLen()
		aeadTag, _ := p.AEADAuthTagLen()
		if s.KeyLen() != kl || s.SaltLen() != sl || s.RTPTagLen() != rtpTag+aeadTag || s.RTCPTagLen() != rtcpTag+aeadTag || s.AEAD() != (aeadTag > 0) {
			t.Errorf("%v: lengths %d %d %d %d differ from pion's profile %v", s, s.KeyLen(), s.SaltLen(), s.RTPTagLen(), s.RTCPTagLen(), p)
		}
		if got, err := ParseSuite(s.Name()); got != s || err != nil {
			t.Errorf("ParseSuite(%q) = %v, %v", s.Name(), got, err)
		}
		if got, err := SuiteFromProfile(p); got != s || err != nil {
			t.Errorf("SuiteFromProfile(%v) = %v, %v", p, got, err)
		}
		if s.String() != s.Name() {
			t.Errorf("String %q", s.String())
		}
	}
	if Suite(0).Valid() || Suite(9).Valid() || Suite(0).Name() != "" || Suite(9).String() != "Suite(9)" || Suite(0).Encrypts() {
		t.Error("invalid suites")
	}
	if NullSHA1_80.Encrypts() || !AES128CMSHA1_80.Encrypts() {
		t.Error("Encrypts")
	}
	if _, err := SuiteFromProfile(pionsrtp.ProtectionProfile(0x99)); !errors.Is(err, ErrUnknownSuite) {
		t.Errorf("SuiteFromProfile(0x99): %v", err)
	}
}

func TestOfferOrder(t *testing.T) {
	// rtpengine 10.5's order, without the AES-192 and F8 suites.
	want := []string{
		"AEAD_AES_256_GCM", "AEAD_AES_128_GCM",
		"AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32",
		"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32",
		"NULL_HMAC_SHA1_80", "NULL_HMAC_SHA1_32",
	}
	o := OfferOrder()
	var got []string
	for _, s := range o {
		got = append(got, s.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("OfferOrder = %v, want %v", got, want)
	}
	o[0] = 0
	if OfferOrder()[0] != AEADAES256GCM {
		t.Error("OfferOrder shares its slice")
	}
}
