package bench

import (
	"fmt"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/ng/bencode"
)

// SRTP mode: A's leg stays plain RTP/AVP and B's leg is SDES-keyed
// RTP/SAVP, so the relay encrypts A's stream towards B and decrypts B's
// stream towards A, every packet of a call going through one SRTP
// transform in the relay. The generator's B endpoints do the other half:
// they encrypt what they send with B's key and decrypt what they receive
// with the key the relay offered B, in place in the generator's batch
// buffers, one srtp.Context per stream direction.

// ParseSRTPSuite parses a suite name for -srtp: "" is plain RTP (suite 0).
func ParseSRTPSuite(name string) (srtp.Suite, error) {
	if name == "" {
		return 0, nil
	}
	s, err := srtp.ParseSuite(name)
	if err != nil {
		return 0, fmt.Errorf("-srtp %q: %w", name, err)
	}
	return s, nil
}

// rtpengineSuites are the SDES suites rtpengine 10.5 offers, in its order.
var rtpengineSuites = []string{
	"AEAD_AES_256_GCM", "AEAD_AES_128_GCM",
	"AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32",
	"AES_192_CM_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_32",
	"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32",
	"F8_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_32",
	"NULL_HMAC_SHA1_80", "NULL_HMAC_SHA1_32",
}

// srtpOffer makes an offer request ask the relay for an RTP/SAVP leg
// towards B keyed by SDES with suite alone, and no DTLS:
//
//	"transport-protocol": "RTP/SAVP", "DTLS": "off",
//	"SDES": [ "only-SUITE", "no-OTHER", ... ]
//
// rtpengine 10.5 does not know "only-" (it logs "Unknown 'SDES' flag
// encountered" and offers all its suites), but it honours "no-"; ngrelay
// honours both. With both, each relay offers B one a=crypto line.
func srtpOffer(req *bencode.Value, suite srtp.Suite) {
	req.Set("transport-protocol", bencode.String("RTP/SAVP"))
	req.Set("DTLS", bencode.String("off"))
	items := []bencode.Value{bencode.String("only-" + suite.Name())}
	for _, s := range rtpengineSuites {
		if s != suite.Name() {
			items = append(items, bencode.String("no-"+s))
		}
	}
	req.Set("SDES", bencode.List(items...))
}

// srtpAnswer reads the relay's offer to B (m), picks its a=crypto line of
// suite, makes B's contexts (unprotecting with the relay's key, protecting
// with a fresh key of B's) and returns B's a=crypto value, with the tag of
// the line picked, for B's RTP/SAVP answer.
func (cl *call) srtpAnswer(m audioMedia, suite srtp.Suite) (string, error) {
	if m.proto != "RTP/SAVP" {
		return "", fmt.Errorf("relay offered B %s, want RTP/SAVP", m.proto)
	}
	var relay *sdes.Crypto
	for _, v := range m.cryptos {
		c, err := sdes.Parse(v)
		if err == nil && c.Suite == suite {
			relay = &c
			break
		}
	}
	if relay == nil {
		return "", fmt.Errorf("relay offered B no %s key (a=crypto lines: %q)", suite, m.cryptos)
	}
	rx, err := cryptoContext(*relay)
	if err != nil {
		return "", fmt.Errorf("relay's key: %w", err)
	}
	own, err := sdes.Generate(relay.Tag, suite, nil)
	if err != nil {
		return "", err
	}
	tx, err := cryptoContext(own)
	if err != nil {
		return "", err
	}
	cl.bTx, cl.bRx = tx, rx
	return own.String(), nil
}

func cryptoContext(c sdes.Crypto) (*srtp.Context, error) {
	p, err := c.Params()
	if err != nil {
		return nil, err
	}
	return srtp.NewContext(p)
}
