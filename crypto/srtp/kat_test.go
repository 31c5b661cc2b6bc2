package srtp

// Known-answer tests. The vectors are copied verbatim from the RFCs. RFC
// 3711 appendix B.2 and RFC 7714 sections 16 and 17 publish session keys,
// not master keys, and pion/srtp has no way in below key derivation, so
// those vectors pin the reference model of ref_test.go; the Context is then
// held to the reference model, and directly to the derived keys of RFC
// 3711 appendix B.3 and RFC 6188 section 7.2, by protecting packets.

import (
	"bytes"
	"testing"
)

func TestRFC3711AppendixB2AESCMKeystream(t *testing.T) {
	// RFC 3711 appendix B.2, AES-CM Test Vectors.
	sessionKey := unhex(t, "2B7E151628AED2A6ABF7158809CF4F3C")
	sessionSalt := unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD") // "F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000 (already shifted)"
	const ssrc, roc, seq = 0x00000000, 0x00000000, 0x0000
	const blocks = 65282 // "Keystream segment length: 1044512 octets (65282 AES blocks)"
	ks := refKeystream(sessionKey, sessionSalt, ssrc, uint64(roc)<<16|seq, blocks*16)
	for _, v := range []struct {
		counter   string
		keystream string
	}{
		{"F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", "E03EAD0935C95E80E166B16DD92B4EB4"},
		{"F0F1F2F3F4F5F6F7F8F9FAFBFCFD0001", "D23513162B02D0F72A43A2FE4A5F97AB"},
		{"F0F1F2F3F4F5F6F7F8F9FAFBFCFD0002", "41E95B3BB0A2E8DD477901E4FCA894C0"},
		{"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF", "EC8CDF7398607CB0F2D21675EA9EA1E4"},
		{"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFF00", "362B7C3C6773516318A077D7FC5073AE"},
		{"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFF01", "6A2CC3787889374FBEB4C81B17BA6C44"},
	} {
		c := unhex(t, v.counter)
		i := int(c[14])<<8 | int(c[15]) // block number: the counter less the offset ...0000
		if got, want := ks[i*16:i*16+16], unhex(t, v.keystream); !bytes.Equal(got, want) {
			t.Errorf("counter %s: keystream %X, want %X", v.counter, got, want)
		}
	}
}

func TestRFC3711AppendixB3KeyDerivation(t *testing.T) {
	// RFC 3711 appendix B.3, Key Derivation Test Vectors.
	masterKey := unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139")
	masterSalt := unhex(t, "0EC675AD498AFEEBB6960B3AABE6")
	cipherKey := unhex(t, "C61E7A93744F39EE10734AFE3FF7A087")
	cipherSalt := unhex(t, "30CBBC08863D8C85D49DB34A9AE1")
	authKey := unhex(t, `
   CEBE321F6FF7716B6FD4AB49AF256A15
   6D38BAA48F0A0ACF3C34E2359E6CDBCE
   E049646C43D9327AD175578EF7227098
   6371C10C9A369AC2F94A8C5FBCDDDC25
   6D6E919A48B610EF17C2041E47403576
   6B68642C59BBFC2F34DB60DBDFB2`)

	if got := refKDF(masterKey, masterSalt, labelRTPKey, 16); !bytes.Equal(got, cipherKey) {
		t.Errorf("reference cipher key %X, want %X", got, cipherKey)
	}
	if got := refKDF(masterKey, masterSalt, labelRTPSalt, 14); !bytes.Equal(got, cipherSalt) {
		t.Errorf("reference cipher salt %X, want %X", got, cipherSalt)
	}
	if got := refKDF(masterKey, masterSalt, labelRTPAuth, 94); !bytes.Equal(got, authKey) {
		t.Errorf("reference auth key %X, want %X", got, authKey)
	}

	// The Context derives the same keys: protecting with the master key
	// gives the packet that the RFC's session keys give (HMAC-SHA1 uses
	// the first 160 bits of the auth key, RFC 3711 section 8.2).
	want := refKeys{key: cipherKey, salt: cipherSalt, auth: authKey[:20]}
	for _, s := range []Suite{AES128CMSHA1_80, AES128CMSHA1_32} {
		checkDerivedRTP(t, s, masterKey, masterSalt, want)
	}
}

func TestRFC6188Section7_2AES256KeyDerivation(t *testing.T) {
	// RFC 6188 section 7.2, AES_256_CM_PRF test case.
	masterKey := unhex(t, "f0f04914b513f2763a1b1fa130f10e29 98f6f6e43e4309d1e622a0e332b9f1b6")
	masterSalt := unhex(t, "3b04803de51ee7c96423ab5b78d2")
	cipherKey := unhex(t, "5ba1064e30ec51613cad926c5a28ef73 1ec7fb397f70a960653caf06554cd8c4")
	cipherSalt := unhex(t, "fa31791685ca444a9e07c6c64e93")
	authKey := unhex(t, "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05")

	if got := refKDF(masterKey, masterSalt, labelRTPKey, 32); !bytes.Equal(got, cipherKey) {
		t.Errorf("reference cipher key %X, want %X", got, cipherKey)
	}
	if got := refKDF(masterKey, masterSalt, labelRTPSalt, 14); !bytes.Equal(got, cipherSalt) {
		t.Errorf("reference cipher salt %X, want %X", got, cipherSalt)
	}
	if got := refKDF(masterKey, masterSalt, labelRTPAuth, 20); !bytes.Equal(got, authKey) {
		t.Errorf("reference auth key %X, want %X", got, authKey)
	}
	want := refKeys{key: cipherKey, salt: cipherSalt, auth: authKey}
	for _, s := range []Suite{AES256CMSHA1_80, AES256CMSHA1_32} {
		checkDerivedRTP(t, s, masterKey, masterSalt, want)
	}
}

// checkDerivedRTP protects and unprotects a packet with a Context for the
// master key and checks it against the reference transform under the
// session keys k.
func checkDerivedRTP(t *testing.T, s Suite, masterKey, masterSalt []byte, k refKeys) {
	t.Helper()
	p := Params{Suite: s, MasterKey: masterKey, MasterSalt: masterSalt}
	tx, rx := mustContext(t, p), mustContext(t, p)
	plain := rtpPacket(0x1234, 0xdecafbad, 0x8badf00d, 100)
	want := refProtectCM(plain, 12, k, 0, true, s.RTPTagLen())

	buf := make([]byte, 1500)
	copy(buf, plain)
	n, err := tx.ProtectRTP(buf, len(plain))
	if err != nil {
		t.Fatalf("%v: ProtectRTP: %v", s, err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Errorf("%v: protected\n%X\nwant\n%X", s, buf[:n], want)
	}
	n, err = rx.UnprotectRTP(buf, n)
	if err != nil || !bytes.Equal(buf[:n], plain) {
		t.Errorf("%v: UnprotectRTP = %X, %v; want %X", s, buf[:n], err, plain)
	}
}

// RFC 7714 section 16: the RTP packet "Gallia est omnis divisa in partes
// tres", salt "Quid pro quo", keys 00 01 ... 0f and 00 01 ... 1f.
const (
	rfc7714RTPPacket = `
        8040f17b 8041f8d3 5501a0b2 47616c6c
        69612065 7374206f 6d6e6973 20646976
        69736120 696e2070 61727465 73207472
        6573`
	rfc7714Salt   = "51 75 69 64 20 70 72 6f 20 71 75 6f"
	rfc7714Key128 = "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
	rfc7714Key256 = `00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f
        10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f`
	// Section 17: the RTCP packet, with SRTCP index 000005d4.
	rfc7714RTCPPacket = `
        81c8000d 4d617273 4e545031 4e545032
        52545020 0000042a 0000e930 4c756e61
        deadbeef deadbeef deadbeef deadbeef
        deadbeef`
	rfc7714SRTCPIndex = 0x000005d4
)

func TestRFC7714Section16_1AEADAES128GCM(t *testing.T) {
	key, salt := unhex(t, rfc7714Key128), unhex(t, rfc7714Salt)
	plain := unhex(t, rfc7714RTPPacket)

	// 16.1.1.  SRTP AEAD_AES_128_GCM Encryption: "Encrypted and tagged
	// packet".
	encrypted := unhex(t, `
        8040f17b 8041f8d3 5501a0b2 f24de3a3
        fb34de6c acba861c 9d7e4bca be633bd5
        0d294e6f 42a5f47a 51c7d19b 36de3adf
        8833899d 7f27beb1 6a9152cf 765ee439
        0cce`)
	if got := refProtectGCM(plain, 12, key, salt, 0, true); !bytes.Equal(got, encrypted) {
		t.Errorf("16.1.1: %X\nwant %X", got, encrypted)
	}

	// 16.1.2.  SRTP AEAD_AES_128_GCM Decryption: "Verified and tagged
	// packet" (the payload).
	payload := unhex(t, `
        47616c6c 69612065 7374206f 6d6e6973
        20646976 69736120 696e2070 61727465
        73207472 6573`)
	iv := unhex(t, "51 75 3c 65 80 c2 72 6f 20 71 84 14")
	got, err := refGCM(key).Open(nil, iv, encrypted[12:], encrypted[:12])
	if err != nil || !bytes.Equal(got, payload) {
		t.Errorf("16.1.2: %X, %v; want %X", got, err, payload)
	}

	// 16.1.3.  SRTP AEAD_AES_128_GCM Authentication Tagging: "Tagged
	// packet".
	tagged := unhex(t, `
        8040f17b 8041f8d3 5501a0b2 47616c6c
        69612065 7374206f 6d6e6973 20646976
        69736120 696e2070 61727465 73207472
        65732249 3f82d2bc e397e9d7 9e3b19aa
        4216`)
	if got := refProtectGCM(plain, 12, key, salt, 0, false); !bytes.Equal(got, tagged) {
		t.Errorf("16.1.3: %X\nwant %X", got, tagged)
	}

	// 17.1.  SRTCP AEAD_AES_128_GCM Encryption and Tagging: "Encrypted and
	// tagged packet".
	rtcpEncrypted := unhex(t, `
        81c8000d 4d617273 63e94885 dcdab67c
        a727d766 2f6b7e99 7ff5c0f7 6c06f32d
        c676a5f1 730d6fda 4ce09b46 86303ded
        0bb9275b c84aa458 96cf4d2f c5abf872
        45d9eade 800005d4`)
	rtcp := unhex(t, rfc7714RTCPPacket)
	if got := refProtectGCMRTCP(rtcp, key, salt, rfc7714SRTCPIndex, true); !bytes.Equal(got, rtcpEncrypted) {
		t.Errorf("17.1: %X\nwant %X", got, rtcpEncrypted)
	}
	// 17.3.  SRTCP AEAD_AES_128_GCM Tagging Only: "Tagged packet".
	rtcpTagged := unhex(t, `
        81c8000d 4d617273 4e545031 4e545032
        52545020 0000042a 0000e930 4c756e61
        deadbeef deadbeef deadbeef deadbeef
        deadbeef 841dd968 3dd78ec9 2ae58790
        125f62b3 000005d4`)
	if got := refProtectGCMRTCP(rtcp, key, salt, rfc7714SRTCPIndex, false); !bytes.Equal(got, rtcpTagged) {
		t.Errorf("17.3: %X\nwant %X", got, rtcpTagged)
	}

	checkDerivedGCM(t, AEADAES128GCM, key, salt)
}

func TestRFC7714Section16_2AEADAES256GCM(t *testing.T) {
	key, salt := unhex(t, rfc7714Key256), unhex(t, rfc7714Salt)
	plain := unhex(t, rfc7714RTPPacket)

	// 16.2.1.  SRTP AEAD_AES_256_GCM Encryption: "Encrypted and tagged
	// packet".
	encrypted := unhex(t, `
        8040f17b 8041f8d3 5501a0b2 32b1de78
        a822fe12 ef9f78fa 332e33aa b1801238
        9a58e2f3 b50b2a02 76ffae0f 1ba63799
        b87b7aa3 db36dfff d6b0f9bb 7878d7a7
        6c13`)
	if got := refProtectGCM(plain, 12, key, salt, 0, true); !bytes.Equal(got, encrypted) {
		t.Errorf("16.2.1: %X\nwant %X", got, encrypted)
	}
	// 16.2.2.  SRTP AEAD_AES_256_GCM Decryption.
	iv := unhex(t, "51 75 3c 65 80 c2 72 6f 20 71 84 14")
	got, err := refGCM(key).Open(nil, iv, encrypted[12:], encrypted[:12])
	if err != nil || !bytes.Equal(got, plain[12:]) {
		t.Errorf("16.2.2: %X, %v; want %X", got, err, plain[12:])
	}

	// 17.2.  SRTCP AEAD_AES_256_GCM Verification and Decryption: "Decrypting
	// the following packet" gives "Verified and decrypted packet".
	rtcpEncrypted := unhex(t, `
        81c8000d 4d617273 d50ae4d1 f5ce5d30
        4ba297e4 7d470c28 2c3ece5d bffe0a50
        a2eaa5c1 110555be 8415f658 c61de047
        6f1b6fad 1d1eb30c 4446839f 57ff6f6c
        b26ac3be 800005d4`)
	rtcp := unhex(t, rfc7714RTCPPacket)
	if got := refProtectGCMRTCP(rtcp, key, salt, rfc7714SRTCPIndex, true); !bytes.Equal(got, rtcpEncrypted) {
		t.Errorf("17.2: %X\nwant %X", got, rtcpEncrypted)
	}
	// 17.4.  SRTCP AEAD_AES_256_GCM Tag Verification: "Verifying the
	// following packet".
	rtcpTagged := unhex(t, `
        81c8000d 4d617273 4e545031 4e545032
        52545020 0000042a 0000e930 4c756e61
        deadbeef deadbeef deadbeef deadbeef
        deadbeef 91db4afb feee5a97 8fab4393
        ed2615fe 000005d4`)
	if got := refProtectGCMRTCP(rtcp, key, salt, rfc7714SRTCPIndex, false); !bytes.Equal(got, rtcpTagged) {
		t.Errorf("17.4: %X\nwant %X", got, rtcpTagged)
	}

	checkDerivedGCM(t, AEADAES256GCM, key, salt)
}

// checkDerivedGCM protects the RFC 7714 packets with a Context keyed with
// key and salt as master key and salt (section 11: the session keys come
// from the AES-CM PRF), and checks them against the reference transform
// under the derived keys.
func checkDerivedGCM(t *testing.T, s Suite, masterKey, masterSalt []byte) {
	t.Helper()
	plain := unhex(t, rfc7714RTPPacket)
	rtcp := unhex(t, rfc7714RTCPPacket)
	k := refDerive(s, masterKey, masterSalt, false)
	kc := refDerive(s, masterKey, masterSalt, true)
	for _, clear := range []bool{false, true} {
		p := Params{Suite: s, MasterKey: masterKey, MasterSalt: masterSalt, UnencryptedSRTP: clear, UnencryptedSRTCP: clear}
		tx, rx := mustContext(t, p), mustContext(t, p)

		buf := make([]byte, 1500)
		copy(buf, plain)
		n, err := tx.ProtectRTP(buf, len(plain))
		want := refProtectGCM(plain, 12, k.key, k.salt, 0, !clear)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("%v unencrypted=%v: ProtectRTP = %X, %v\nwant %X", s, clear, buf[:n], err, want)
		}
		if n, err = rx.UnprotectRTP(buf, n); err != nil || !bytes.Equal(buf[:n], plain) {
			t.Errorf("%v unencrypted=%v: UnprotectRTP = %X, %v", s, clear, buf[:n], err)
		}

		copy(buf, rtcp)
		n, err = tx.ProtectRTCP(buf, len(rtcp))
		want = refProtectGCMRTCP(rtcp, kc.key, kc.salt, 1, !clear) // the first SRTCP index sent is 1
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("%v unencrypted=%v: ProtectRTCP = %X, %v\nwant %X", s, clear, buf[:n], err, want)
		}
		if n, err = rx.UnprotectRTCP(buf, n); err != nil || !bytes.Equal(buf[:n], rtcp) {
			t.Errorf("%v unencrypted=%v: UnprotectRTCP = %X, %v", s, clear, buf[:n], err)
		}
	}
}
