// Package sdes parses, formats and generates SDP Security Descriptions for
// media streams: the a=crypto attribute of RFC 4568, which carries an SRTP
// crypto suite and an inline master key and salt in the SDP offer or
// answer.
//
// Parse reads the attribute value (what follows "a=crypto:"), String writes
// it in the form rtpengine emits, and Generate makes a fresh one.
// Crypto.Params turns the first key into the srtp.Params of the crypto
// context that unprotects what the sender of the attribute sends.
//
// rtpengine (10.5) writes a=crypto values as
//
//	TAG SUITE inline:KEYSALT[|MKI:LEN] [SESSION-PARAMS]
//
// with the key and salt in base64 without padding, and no lifetime; String
// writes the same, plus "|LIFETIME" when one was received.
package sdes

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// Errors of Parse, usable with errors.Is.
var (
	// ErrUnknownSuite reports a crypto suite this package does not know;
	// the a=crypto line is to be skipped. It is srtp.ErrUnknownSuite.
	ErrUnknownSuite = srtp.ErrUnknownSuite
	// ErrUnsupportedSuite reports a known suite that is not implemented
	// (AES-192, F8, AES_CM_128_NULL_AUTH, AEAD_AES_*_GCM_8); the line is to
	// be skipped. It is srtp.ErrUnsupportedSuite.
	ErrUnsupportedSuite = srtp.ErrUnsupportedSuite
	// ErrSyntax reports a value that is not a well-formed a=crypto value.
	ErrSyntax = errors.New("sdes: malformed a=crypto attribute")
	// ErrKeyLength reports an inline key whose decoded length is not the
	// suite's master key plus master salt length.
	ErrKeyLength = errors.New("sdes: wrong key length for the crypto suite")
)

// MaxTag is the largest tag: RFC 4568 section 9.1 allows 1 to 9 digits.
const MaxTag = 999999999

// Crypto is one a=crypto attribute (RFC 4568 section 9.1).
type Crypto struct {
	// Tag is the decimal tag that identifies the attribute in the offer
	// and the accepted one in the answer.
	Tag int
	// Suite is the crypto suite; 0 if the suite is unknown or unsupported
	// (Parse then returns an error and SuiteName).
	Suite srtp.Suite
	// SuiteName is the crypto suite as received (FreeSWITCH spells some
	// differently, e.g. AES_CM_256_HMAC_SHA1_80); String writes it back,
	// or Suite.Name() if it is empty.
	SuiteName string
	// Keys are the key parameters in the order received; the first is the
	// one to use. There is at least one after a successful Parse.
	Keys []KeyParam

	// UnencryptedSRTP, UnencryptedSRTCP and UnauthenticatedSRTP are the
	// session parameters of RFC 4568 sections 6.3.2 to 6.3.4.
	UnencryptedSRTP, UnencryptedSRTCP, UnauthenticatedSRTP bool
	// KDR is the key derivation rate parameter (section 6.3.1, "KDR=n",
	// rate 2^n).
	KDR int
	// HasKDR tells whether KDR was present.
	HasKDR bool
	// FECOrder is "FEC_SRTP" or "SRTP_FEC" (section 6.3.5), or "".
	FECOrder string
	// FECKey is the value of FEC_KEY= (section 6.3.6), unparsed, or "".
	FECKey string
	// WSH is the window size hint (section 6.3.7), or 0.
	WSH int
	// SessionParams are the session parameters not described by the
	// fields above, verbatim and in order. One without a leading "-" is a
	// parameter the receiver must understand (section 6.3).
	SessionParams []string
}

// KeyParam is one inline key parameter: "inline:" key||salt in base64,
// optionally "|lifetime" and "|MKI:length" (RFC 4568 section 6.1).
type KeyParam struct {
	// Key and Salt are the master key and master salt.
	Key, Salt []byte
	// Lifetime is the master key lifetime in packets (given as "2^N" or in
	// decimal), or 0 if absent.
	Lifetime uint64
	// MKI is the master key identifier, MKILen bytes big-endian, or nil if
	// absent.
	MKI []byte
	// MKILen is the MKI length in bytes (1 to 128), or 0 if absent.
	MKILen int
}

// Parse parses the value of an a=crypto attribute (what follows
// "a=crypto:"). The key and salt must have the suite's lengths; the base64
// may have padding or not.
//
// For an unknown suite the error wraps ErrUnknownSuite, for a known but
// unsupported one ErrUnsupportedSuite; then Tag and SuiteName are set and
// the rest is not parsed. Other errors wrap ErrSyntax or ErrKeyLength.
//
// An MKI, several keys, a lifetime and all session parameters are parsed
// and kept; Params tells which of them a crypto context cannot honour.
func Parse(value string) (Crypto, error) {
	var c Crypto
	f := strings.Fields(value)
	if len(f) < 3 {
		return c, fmt.Errorf("%w: %q: want tag, crypto suite and key parameters", ErrSyntax, value)
	}
	tag, err := parseDecimal(f[0], 9)
	if err != nil {
		return c, fmt.Errorf("%w: tag %q", ErrSyntax, f[0])
	}
	c.Tag = tag
	c.SuiteName = f[1]
	if c.Suite, err = srtp.ParseSuite(f[1]); err != nil {
		return c, err
	}
	for _, kp := range strings.Split(f[2], ";") {
		k, err := parseKeyParam(kp, c.Suite)
		if err != nil {
			return c, err
		}
		c.Keys = append(c.Keys, k)
	}
	for _, p := range f[3:] {
		if err := c.parseSessionParam(p); err != nil {
			return c, err
		}
	}
	return c, nil
}

func parseKeyParam(s string, suite srtp.Suite) (KeyParam, error) {
	var k KeyParam
	method, info, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return k, fmt.Errorf("%w: key parameter %q: only the inline key method is defined", ErrSyntax, s)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return k, fmt.Errorf("%w: key parameter %q", ErrSyntax, s)
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil || parts[0] == "" {
		return k, fmt.Errorf("%w: key %q is not base64", ErrSyntax, parts[0])
	}
	if want := suite.KeyLen() + suite.SaltLen(); len(raw) != want {
		return k, fmt.Errorf("%w: %v key and salt of %d bytes, want %d", ErrKeyLength, suite, len(raw), want)
	}
	k.Key = raw[:suite.KeyLen():suite.KeyLen()]
	k.Salt = raw[suite.KeyLen():]
	for i, p := range parts[1:] {
		if v, l, isMKI := strings.Cut(p, ":"); isMKI {
			if k.MKILen != 0 {
				return k, fmt.Errorf("%w: two MKIs in %q", ErrSyntax, s)
			}
			if k.MKI, k.MKILen, err = parseMKI(v, l); err != nil {
				return k, err
			}
			continue
		}
		if i > 0 || k.Lifetime != 0 {
			return k, fmt.Errorf("%w: misplaced lifetime %q in %q", ErrSyntax, p, s)
		}
		if k.Lifetime, err = parseLifetime(p); err != nil {
			return k, err
		}
	}
	return k, nil
}

// parseLifetime parses "2^N" or a decimal number of packets.
func parseLifetime(s string) (uint64, error) {
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := parseDecimal(e, 2)
		if err != nil || n > 63 {
			return 0, fmt.Errorf("%w: lifetime %q", ErrSyntax, s)
		}
		return 1 << n, nil
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: lifetime %q", ErrSyntax, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%w: lifetime %q", ErrSyntax, s)
	}
	return v, nil
}

// parseMKI parses "value:length" into length bytes, big-endian.
func parseMKI(value, length string) ([]byte, int, error) {
	l, err := parseDecimal(length, 3)
	if err != nil || l < 1 || l > srtp.MaxMKILen {
		return nil, 0, fmt.Errorf("%w: MKI length %q", ErrSyntax, length)
	}
	if value == "" || len(value) > 310 || strings.TrimLeft(value, "0123456789") != "" {
		return nil, 0, fmt.Errorf("%w: MKI value %q", ErrSyntax, value)
	}
	v, _ := new(big.Int).SetString(value, 10)
	if (v.BitLen()+7)/8 > l {
		return nil, 0, fmt.Errorf("%w: MKI value %s does not fit in %d bytes", ErrSyntax, value, l)
	}
	return v.FillBytes(make([]byte, l)), l, nil
}

// parseDecimal parses 1 to max decimal digits.
func parseDecimal(s string, max int) (int, error) {
	if s == "" || len(s) > max || strings.TrimLeft(s, "0123456789") != "" {
		return 0, ErrSyntax
	}
	return strconv.Atoi(s)
}

func (c *Crypto) parseSessionParam(p string) error {
	name, value, hasValue := strings.Cut(p, "=")
	switch strings.ToUpper(name) {
	case "UNENCRYPTED_SRTP":
		c.UnencryptedSRTP = true
	case "UNENCRYPTED_SRTCP":
		c.UnencryptedSRTCP = true
	case "UNAUTHENTICATED_SRTP":
		c.UnauthenticatedSRTP = true
	case "KDR":
		n, err := parseDecimal(value, 2)
		if !hasValue || err != nil || n > 24 {
			return fmt.Errorf("%w: %q", ErrSyntax, p)
		}
		c.KDR, c.HasKDR = n, true
	case "FEC_ORDER":
		switch v := strings.ToUpper(value); v {
		case "FEC_SRTP", "SRTP_FEC":
			c.FECOrder = v
		default:
			return fmt.Errorf("%w: %q", ErrSyntax, p)
		}
	case "FEC_KEY":
		if value == "" {
			return fmt.Errorf("%w: %q", ErrSyntax, p)
		}
		c.FECKey = value
	case "WSH":
		n, err := parseDecimal(value, 9)
		if !hasValue || err != nil || n == 0 {
			return fmt.Errorf("%w: %q", ErrSyntax, p)
		}
		c.WSH = n
	default:
		c.SessionParams = append(c.SessionParams, p)
	}
	return nil
}

// String formats c as an a=crypto value (without "a=crypto:"): the tag,
// the suite as received (or its RFC name), each key as "inline:" and
// base64 without padding followed by "|lifetime" (2^N if a power of two)
// and "|MKI:length" when present, joined by ";", then the session
// parameters. For a generated Crypto it is exactly what rtpengine writes.
func (c Crypto) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	if c.SuiteName != "" {
		b.WriteString(c.SuiteName)
	} else {
		b.WriteString(c.Suite.Name())
	}
	for i, k := range c.Keys {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(';')
		}
		b.WriteString("inline:")
		b.WriteString(base64.RawStdEncoding.EncodeToString(append(append([]byte(nil), k.Key...), k.Salt...)))
		if k.Lifetime != 0 {
			b.WriteByte('|')
			if k.Lifetime&(k.Lifetime-1) == 0 {
				b.WriteString("2^")
				b.WriteString(strconv.Itoa(bits.TrailingZeros64(k.Lifetime)))
			} else {
				b.WriteString(strconv.FormatUint(k.Lifetime, 10))
			}
		}
		if k.MKILen != 0 {
			b.WriteByte('|')
			b.WriteString(new(big.Int).SetBytes(k.MKI).String())
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(k.MKILen))
		}
	}
	param := func(s string) {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	if c.HasKDR {
		param("KDR=" + strconv.Itoa(c.KDR))
	}
	if c.UnencryptedSRTP {
		param("UNENCRYPTED_SRTP")
	}
	if c.UnencryptedSRTCP {
		param("UNENCRYPTED_SRTCP")
	}
	if c.UnauthenticatedSRTP {
		param("UNAUTHENTICATED_SRTP")
	}
	if c.FECOrder != "" {
		param("FEC_ORDER=" + c.FECOrder)
	}
	if c.FECKey != "" {
		param("FEC_KEY=" + c.FECKey)
	}
	if c.WSH != 0 {
		param("WSH=" + strconv.Itoa(c.WSH))
	}
	for _, p := range c.SessionParams {
		param(p)
	}
	return b.String()
}

// Generate returns a Crypto with tag, suite s and a fresh master key and
// salt read from rand (crypto/rand.Reader if nil), without lifetime, MKI or
// session parameters, as rtpengine offers and answers.
func Generate(tag int, s srtp.Suite, rand io.Reader) (Crypto, error) {
	if tag < 0 || tag > MaxTag {
		return Crypto{}, fmt.Errorf("sdes: tag %d out of range", tag)
	}
	if !s.Valid() {
		return Crypto{}, fmt.Errorf("%w: %v", ErrUnknownSuite, s)
	}
	if rand == nil {
		rand = defaultRand
	}
	raw := make([]byte, s.KeyLen()+s.SaltLen())
	if _, err := io.ReadFull(rand, raw); err != nil {
		return Crypto{}, fmt.Errorf("sdes: generating a key: %w", err)
	}
	return Crypto{
		Tag:       tag,
		Suite:     s,
		SuiteName: s.Name(),
		Keys:      []KeyParam{{Key: raw[:s.KeyLen():s.KeyLen()], Salt: raw[s.KeyLen():]}},
	}, nil
}

var defaultRand = rand.Reader

// Params returns the parameters of the crypto context for the first key of
// c, with the session parameters applied. It refuses what the context
// cannot do: an unsupported suite, a key derivation rate other than 0
// (pion/srtp derives session keys once), FEC_KEY, and a session parameter
// it does not know that is not marked optional with a leading "-". The
// lifetime and the other keys are not used. WSH sets the replay window,
// within srtp.MaxReplayWindow.
func (c Crypto) Params() (srtp.Params, error) {
	if !c.Suite.Valid() {
		return srtp.Params{}, fmt.Errorf("%w: %q", ErrUnsupportedSuite, c.SuiteName)
	}
	if len(c.Keys) == 0 {
		return srtp.Params{}, fmt.Errorf("%w: no key", ErrSyntax)
	}
	if c.HasKDR && c.KDR != 0 {
		return srtp.Params{}, fmt.Errorf("sdes: KDR=%d: key derivation rates other than 0 are not supported", c.KDR)
	}
	if c.FECKey != "" {
		return srtp.Params{}, errors.New("sdes: FEC_KEY is not supported")
	}
	for _, p := range c.SessionParams {
		if !strings.HasPrefix(p, "-") {
			return srtp.Params{}, fmt.Errorf("sdes: unknown mandatory session parameter %q", p)
		}
	}
	k := c.Keys[0]
	return srtp.Params{
		Suite:               c.Suite,
		MasterKey:           k.Key,
		MasterSalt:          k.Salt,
		MKI:                 k.MKI,
		UnencryptedSRTP:     c.UnencryptedSRTP,
		UnencryptedSRTCP:    c.UnencryptedSRTCP,
		UnauthenticatedSRTP: c.UnauthenticatedSRTP,
		ReplayWindow:        min(c.WSH, srtp.MaxReplayWindow),
	}, nil
}
