package srtp

import (
	"errors"
	"fmt"
	"strings"

	pionsrtp "github.com/pion/srtp/v3"
)

// Suite is an SRTP crypto suite (RFC 4568 section 6.2, RFC 6188, RFC 7714)
// that this package can protect and unprotect with. The zero value is not a
// valid suite.
type Suite uint8

// The supported suites: exactly the protection profiles of
// github.com/pion/srtp/v3 v3.1.3. AES_192_CM_HMAC_SHA1_* (RFC 6188), the
// F8_128_HMAC_SHA1_* suites (RFC 3711 section 4.1.2) and FreeSWITCH's
// 8-octet-tag GCM suites are not implemented by pion, and ParseSuite reports
// them with ErrUnsupportedSuite.
const (
	// AES128CMSHA1_80 is AES_CM_128_HMAC_SHA1_80 (RFC 4568 section 6.2.1).
	AES128CMSHA1_80 Suite = iota + 1
	// AES128CMSHA1_32 is AES_CM_128_HMAC_SHA1_32 (RFC 4568 section 6.2.2).
	AES128CMSHA1_32
	// AES256CMSHA1_80 is AES_256_CM_HMAC_SHA1_80 (RFC 6188 section 4.1).
	AES256CMSHA1_80
	// AES256CMSHA1_32 is AES_256_CM_HMAC_SHA1_32 (RFC 6188 section 4.1).
	AES256CMSHA1_32
	// AEADAES128GCM is AEAD_AES_128_GCM with its 16-octet tag (RFC 7714).
	AEADAES128GCM
	// AEADAES256GCM is AEAD_AES_256_GCM with its 16-octet tag (RFC 7714).
	AEADAES256GCM
	// NullSHA1_80 is NULL_HMAC_SHA1_80: no encryption, 80-bit HMAC-SHA1
	// tags (libsrtp's and rtpengine's spelling).
	NullSHA1_80
	// NullSHA1_32 is NULL_HMAC_SHA1_32: no encryption, 32-bit HMAC-SHA1
	// tags on RTP and 80-bit ones on RTCP.
	NullSHA1_32

	numSuites = iota + 1
)

// Suite errors, usable with errors.Is. Both mean that an a=crypto line
// naming the suite cannot be used and is to be skipped.
var (
	// ErrUnknownSuite reports a suite name that this package does not know.
	ErrUnknownSuite = errors.New("srtp: unknown crypto suite")
	// ErrUnsupportedSuite reports a suite that is known but not implemented.
	ErrUnsupportedSuite = errors.New("srtp: unsupported crypto suite")
)

type suiteInfo struct {
	name       string
	profile    pionsrtp.ProtectionProfile
	keyLen     int
	saltLen    int
	rtpTag     int
	rtcpTag    int
	aead       bool
	nullCipher bool
}

var suites = [numSuites]suiteInfo{
	AES128CMSHA1_80: {"AES_CM_128_HMAC_SHA1_80", pionsrtp.ProtectionProfileAes128CmHmacSha1_80, 16, 14, 10, 10, false, false},
	AES128CMSHA1_32: {"AES_CM_128_HMAC_SHA1_32", pionsrtp.ProtectionProfileAes128CmHmacSha1_32, 16, 14, 4, 10, false, false},
	AES256CMSHA1_80: {"AES_256_CM_HMAC_SHA1_80", pionsrtp.ProtectionProfileAes256CmHmacSha1_80, 32, 14, 10, 10, false, false},
	AES256CMSHA1_32: {"AES_256_CM_HMAC_SHA1_32", pionsrtp.ProtectionProfileAes256CmHmacSha1_32, 32, 14, 4, 10, false, false},
	AEADAES128GCM:   {"AEAD_AES_128_GCM", pionsrtp.ProtectionProfileAeadAes128Gcm, 16, 12, 16, 16, true, false},
	AEADAES256GCM:   {"AEAD_AES_256_GCM", pionsrtp.ProtectionProfileAeadAes256Gcm, 32, 12, 16, 16, true, false},
	NullSHA1_80:     {"NULL_HMAC_SHA1_80", pionsrtp.ProtectionProfileNullHmacSha1_80, 16, 14, 10, 10, false, true},
	NullSHA1_32:     {"NULL_HMAC_SHA1_32", pionsrtp.ProtectionProfileNullHmacSha1_32, 16, 14, 4, 10, false, true},
}

// aliases maps other spellings (upper case) to supported suites.
var aliases = map[string]Suite{
	// FreeSWITCH (switch_rtp.h SUITES) writes the key size after "CM".
	"AES_CM_256_HMAC_SHA1_80": AES256CMSHA1_80,
	"AES_CM_256_HMAC_SHA1_32": AES256CMSHA1_32,
}

// unsupported maps known but unimplemented suite names (upper case) to the
// reason.
var unsupported = map[string]string{
	"AES_192_CM_HMAC_SHA1_80":   "AES-192 counter mode (RFC 6188) is not implemented by pion/srtp",
	"AES_192_CM_HMAC_SHA1_32":   "AES-192 counter mode (RFC 6188) is not implemented by pion/srtp",
	"AES_CM_192_HMAC_SHA1_80":   "AES-192 counter mode (RFC 6188) is not implemented by pion/srtp",
	"AES_CM_192_HMAC_SHA1_32":   "AES-192 counter mode (RFC 6188) is not implemented by pion/srtp",
	"F8_128_HMAC_SHA1_80":       "AES f8 mode (RFC 3711 section 4.1.2) is not implemented by pion/srtp",
	"F8_128_HMAC_SHA1_32":       "AES f8 mode (RFC 3711 section 4.1.2) is not implemented by pion/srtp",
	"AES_CM_128_NULL_AUTH":      "FreeSWITCH's unauthenticated AES_CM_128 suite is not offered or accepted",
	"AEAD_AES_128_GCM_8":        "FreeSWITCH/libsrtp AES-GCM with an 8-octet tag; pion/srtp implements only the 16-octet tag of RFC 7714",
	"AEAD_AES_256_GCM_8":        "FreeSWITCH/libsrtp AES-GCM with an 8-octet tag; pion/srtp implements only the 16-octet tag of RFC 7714",
	"SEED_CTR_128_HMAC_SHA1_80": "SEED (RFC 5669) is not implemented by pion/srtp",
	"SEED_128_CCM_80":           "SEED (RFC 5669) is not implemented by pion/srtp",
	"SEED_128_GCM_96":           "SEED (RFC 5669) is not implemented by pion/srtp",
}

// ParseSuite returns the suite named name: an RFC 4568 / RFC 6188 /
// RFC 7714 crypto-suite name, a NULL_HMAC_SHA1_* name, or one of
// FreeSWITCH's spellings (AES_CM_256_HMAC_SHA1_80, AES_CM_256_HMAC_SHA1_32).
// Names are matched case-insensitively, as rtpengine does. A name that is
// known but not implemented (AES-192, F8, AES_CM_128_NULL_AUTH,
// AEAD_AES_*_GCM_8, SEED) yields an error wrapping ErrUnsupportedSuite that
// says why; any other name yields one wrapping ErrUnknownSuite.
func ParseSuite(name string) (Suite, error) {
	for s := Suite(1); s < numSuites; s++ {
		if strings.EqualFold(name, suites[s].name) {
			return s, nil
		}
	}
	up := strings.ToUpper(name)
	if s, ok := aliases[up]; ok {
		return s, nil
	}
	if why, ok := unsupported[up]; ok {
		return 0, fmt.Errorf("%w: %s: %s", ErrUnsupportedSuite, name, why)
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownSuite, name)
}

// SuiteFromProfile returns the suite of a DTLS-SRTP protection profile
// (RFC 5764 section 4.1.2, RFC 7714 section 14.2) as pion numbers it.
func SuiteFromProfile(p pionsrtp.ProtectionProfile) (Suite, error) {
	for s := Suite(1); s < numSuites; s++ {
		if suites[s].profile == p {
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w: DTLS-SRTP profile %#04x", ErrUnknownSuite, uint16(p))
}

// OfferOrder returns the supported suites in the order rtpengine offers
// them in a=crypto lines (its crypto_suites table in daemon/crypto.c, as
// rtpengine 10.5 emits them): AEAD_AES_256_GCM, AEAD_AES_128_GCM,
// AES_256_CM_HMAC_SHA1_80, AES_256_CM_HMAC_SHA1_32, AES_CM_128_HMAC_SHA1_80,
// AES_CM_128_HMAC_SHA1_32, NULL_HMAC_SHA1_80, NULL_HMAC_SHA1_32. rtpengine
// also offers AES_192_CM_HMAC_SHA1_80/32 after the AES-256 suites and
// F8_128_HMAC_SHA1_80/32 before the NULL ones, which are left out here. The
// slice is fresh on each call.
//
// The NULL suites authenticate but do not encrypt; a caller may want to
// leave them out of offers. (rtpengine 10.5.3 offers them, but was seen to
// crash forwarding media on a leg that had accepted one.)
func OfferOrder() []Suite {
	return []Suite{
		AEADAES256GCM,
		AEADAES128GCM,
		AES256CMSHA1_80,
		AES256CMSHA1_32,
		AES128CMSHA1_80,
		AES128CMSHA1_32,
		NullSHA1_80,
		NullSHA1_32,
	}
}

// Valid reports whether s is one of the supported suites.
func (s Suite) Valid() bool { return s > 0 && s < numSuites }

func (s Suite) info() *suiteInfo {
	if !s.Valid() {
		return &suiteInfo{}
	}
	return &suites[s]
}

// Name returns the suite's name as RFC 4568, RFC 6188 and RFC 7714 spell it
// (NULL_HMAC_SHA1_* as libsrtp and rtpengine do), or "" for an invalid
// suite.
func (s Suite) Name() string { return s.info().name }

// String returns the suite's name, or "Suite(N)" for an invalid suite.
func (s Suite) String() string {
	if !s.Valid() {
		return fmt.Sprintf("Suite(%d)", uint8(s))
	}
	return s.Name()
}

// KeyLen returns the length in bytes of the suite's master key.
func (s Suite) KeyLen() int { return s.info().keyLen }

// SaltLen returns the length in bytes of the suite's master salt.
func (s Suite) SaltLen() int { return s.info().saltLen }

// RTPTagLen returns the length in bytes of the authentication tag appended
// to an SRTP packet: the truncated HMAC-SHA1, or the 16-octet GCM tag.
func (s Suite) RTPTagLen() int { return s.info().rtpTag }

// RTCPTagLen returns the length in bytes of the authentication tag of an
// SRTCP packet, not counting the 4-byte E flag and SRTCP index.
func (s Suite) RTCPTagLen() int { return s.info().rtcpTag }

// AEAD reports whether the suite is an AEAD suite (RFC 7714 AES-GCM), whose
// tag covers the payload and which has no separate authentication key.
func (s Suite) AEAD() bool { return s.info().aead }

// Encrypts reports whether the suite encrypts at all (the NULL suites
// only authenticate).
func (s Suite) Encrypts() bool { return s.Valid() && !s.info().nullCipher }

// Profile returns the pion/srtp protection profile of the suite, which is
// also its DTLS-SRTP protection profile number where one is assigned.
func (s Suite) Profile() pionsrtp.ProtectionProfile { return s.info().profile }
