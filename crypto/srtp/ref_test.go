package srtp

// A reference model of the SRTP transforms, written from the RFC text with
// the standard library only, independent of pion. The known-answer tests
// pin it to the RFCs' published vectors, and then pin the Context (pion)
// to it for keys the RFCs give no packets for.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// unhex decodes hex written the way the RFCs write it: in groups, across
// lines.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// SRTP key derivation labels (RFC 3711 section 4.3.2).
const (
	labelRTPKey   = 0x00
	labelRTPAuth  = 0x01
	labelRTPSalt  = 0x02
	labelRTCPKey  = 0x03
	labelRTCPAuth = 0x04
	labelRTCPSalt = 0x05
)

// refKDF is the AES-CM PRF of RFC 3711 sections 4.3.1 and 4.3.3 with a key
// derivation rate of 0: x = (label || 0^48) XOR master salt, and the first n
// bytes of the AES counter-mode keystream under the master key from
// IV = x * 2^16. A 12-byte (AEAD) master salt is padded on the right to 14
// bytes (RFC 7714 errata 4458).
func refKDF(masterKey, masterSalt []byte, label byte, n int) []byte {
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		panic(err)
	}
	var iv [16]byte
	copy(iv[:14], masterSalt)
	iv[7] ^= label
	out := make([]byte, n)
	cipher.NewCTR(block, iv[:]).XORKeyStream(out, out)
	return out
}

// refKeystream is the AES-CM keystream of RFC 3711 section 4.1.1 for a
// packet: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16).
func refKeystream(sessionKey, sessionSalt []byte, ssrc uint32, index uint64, n int) []byte {
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		panic(err)
	}
	var iv [16]byte
	copy(iv[:14], sessionSalt)
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], ssrc)
	for i := range 4 {
		iv[4+i] ^= s[i]
	}
	var x [8]byte
	binary.BigEndian.PutUint64(x[:], index<<16)
	for i := range 8 {
		iv[8+i] ^= x[i]
	}
	out := make([]byte, n)
	cipher.NewCTR(block, iv[:]).XORKeyStream(out, out)
	return out
}

// refKeys are the session keys of one direction (SRTP or SRTCP).
type refKeys struct{ key, salt, auth []byte }

func refDerive(s Suite, masterKey, masterSalt []byte, rtcp bool) refKeys {
	kl, al := byte(labelRTPKey), byte(labelRTPAuth)
	sl := byte(labelRTPSalt)
	if rtcp {
		kl, al, sl = labelRTCPKey, labelRTCPAuth, labelRTCPSalt
	}
	k := refKeys{
		key:  refKDF(masterKey, masterSalt, kl, s.KeyLen()),
		salt: refKDF(masterKey, masterSalt, sl, s.SaltLen()),
	}
	if !s.AEAD() {
		k.auth = refKDF(masterKey, masterSalt, al, 20)
	}
	return k
}

// refProtectCM protects an RTP packet with AES-CM (or the NULL cipher) and
// HMAC-SHA1 (RFC 3711 sections 3.1, 4.1.1 and 4.2.1).
func refProtectCM(pkt []byte, hdrLen int, k refKeys, roc uint32, encrypt bool, tagLen int) []byte {
	out := append([]byte(nil), pkt...)
	seq := binary.BigEndian.Uint16(pkt[2:])
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	if encrypt {
		ks := refKeystream(k.key, k.salt, ssrc, uint64(roc)<<16|uint64(seq), len(pkt)-hdrLen)
		for i := range ks {
			out[hdrLen+i] ^= ks[i]
		}
	}
	m := hmac.New(sha1.New, k.auth)
	m.Write(out)
	binary.Write(m, binary.BigEndian, roc)
	return append(out, m.Sum(nil)[:tagLen]...)
}

// refProtectCMRTCP protects an RTCP packet with AES-CM (or not) and
// HMAC-SHA1 (RFC 3711 sections 3.4 and 4.1.1): the SRTCP index is the
// keystream index, and E || index is appended before the tag.
func refProtectCMRTCP(pkt []byte, k refKeys, index uint32, encrypt bool) []byte {
	out := append([]byte(nil), pkt...)
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	e := index
	if encrypt {
		ks := refKeystream(k.key, k.salt, ssrc, uint64(index), len(pkt)-8)
		for i := range ks {
			out[8+i] ^= ks[i]
		}
		e |= 1 << 31
	}
	out = binary.BigEndian.AppendUint32(out, e)
	m := hmac.New(sha1.New, k.auth)
	m.Write(out)
	return append(out, m.Sum(nil)[:10]...)
}

func refGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// refProtectGCM protects an RTP packet with AEAD_AES_*_GCM (RFC 7714
// sections 8.1 and 8.2): IV = (0^16 || SSRC || ROC || SEQ) XOR salt, the
// header is the associated data. Without encryption (UNENCRYPTED_SRTP) the
// whole packet is associated data and only the tag is appended, the
// "authentication tagging" of RFC 7714 section 16.1.3.
func refProtectGCM(pkt []byte, hdrLen int, key, salt []byte, roc uint32, encrypt bool) []byte {
	var iv [12]byte
	binary.BigEndian.PutUint32(iv[2:], binary.BigEndian.Uint32(pkt[8:]))
	binary.BigEndian.PutUint32(iv[6:], roc)
	copy(iv[10:], pkt[2:4])
	for i := range iv {
		iv[i] ^= salt[i]
	}
	g := refGCM(key)
	if !encrypt {
		return g.Seal(append([]byte(nil), pkt...), iv[:], nil, pkt)
	}
	return g.Seal(append([]byte(nil), pkt[:hdrLen]...), iv[:], pkt[hdrLen:], pkt[:hdrLen])
}

// refProtectGCMRTCP protects an RTCP packet with AEAD_AES_*_GCM (RFC 7714
// sections 9.1 to 9.3): IV = (0^16 || SSRC || 0^16 || 0 || index) XOR salt;
// encrypted, the first 8 bytes and the ESRTCP word are associated data and
// the ESRTCP word follows the tag; tagged only, the whole packet and the
// ESRTCP word are.
func refProtectGCMRTCP(pkt []byte, key, salt []byte, index uint32, encrypt bool) []byte {
	var iv [12]byte
	copy(iv[2:6], pkt[4:8])
	binary.BigEndian.PutUint32(iv[8:], index)
	for i := range iv {
		iv[i] ^= salt[i]
	}
	g := refGCM(key)
	e := index
	if encrypt {
		e |= 1 << 31
	}
	var esrtcp [4]byte
	binary.BigEndian.PutUint32(esrtcp[:], e)
	var out []byte
	if encrypt {
		aad := append(append([]byte(nil), pkt[:8]...), esrtcp[:]...)
		out = g.Seal(append([]byte(nil), pkt[:8]...), iv[:], pkt[8:], aad)
	} else {
		aad := append(append([]byte(nil), pkt...), esrtcp[:]...)
		out = g.Seal(append([]byte(nil), pkt...), iv[:], nil, aad)
	}
	return append(out, esrtcp[:]...)
}
