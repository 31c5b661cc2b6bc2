package srtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// allSuites returns every supported suite.
func allSuites() []Suite {
	var s []Suite
	for x := Suite(1); x.Valid(); x++ {
		s = append(s, x)
	}
	return s
}

// testKey returns deterministic key material for s.
func testParams(s Suite) Params {
	key := make([]byte, s.KeyLen())
	salt := make([]byte, s.SaltLen())
	for i := range key {
		key[i] = byte(0x10 + i)
	}
	for i := range salt {
		salt[i] = byte(0xa0 + i)
	}
	return Params{Suite: s, MasterKey: key, MasterSalt: salt}
}

func mustContext(t testing.TB, p Params) *Context {
	t.Helper()
	c, err := NewContext(p)
	if err != nil {
		t.Fatalf("NewContext(%v): %v", p.Suite, err)
	}
	return c
}

// rtpPacket returns an RTP packet (PT 0, no CSRC, no extension) with a
// patterned payload.
func rtpPacket(seq uint16, ts, ssrc uint32, payload int) []byte {
	b := make([]byte, 12+payload)
	b[0] = 0x80
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	for i := 12; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

// rtcpPacket returns an RTCP sender report of ssrc with some report
// bytes.
func rtcpPacket(ssrc uint32, body int) []byte {
	b := make([]byte, 8+body)
	b[0] = 0x80
	b[1] = 200
	binary.BigEndian.PutUint16(b[2:], uint16((len(b)/4)-1))
	binary.BigEndian.PutUint32(b[4:], ssrc)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i * 13)
	}
	return b
}

// variants are the parameter variants round-tripped for every suite.
func variants(s Suite) map[string]Params {
	base := testParams(s)
	v := map[string]Params{"default": base}
	p := base
	p.UnencryptedSRTP = true
	v["unencrypted-srtp"] = p
	p = base
	p.UnencryptedSRTCP = true
	v["unencrypted-srtcp"] = p
	if !s.AEAD() {
		p = base
		p.UnauthenticatedSRTP = true
		v["unauthenticated-srtp"] = p
	}
	p = base
	p.MKI = []byte{0, 0, 0, 1}
	v["mki"] = p
	return v
}

func TestRoundTrip(t *testing.T) {
	for _, s := range allSuites() {
		for name, p := range variants(s) {
			t.Run(s.Name()+"/"+name, func(t *testing.T) {
				tx, rx := mustContext(t, p), mustContext(t, p)
				buf := make([]byte, 4096)
				for i, size := range []int{0, 1, 15, 16, 17, 160, 1200} {
					plain := rtpPacket(uint16(1000+i), uint32(i*160), 0x11223344, size)
					copy(buf, plain)
					n, err := tx.ProtectRTP(buf, len(plain))
					if err != nil {
						t.Fatalf("ProtectRTP(%d): %v", size, err)
					}
					if n != len(plain)+tx.RTPOverhead() {
						t.Fatalf("protected length %d, want %d", n, len(plain)+tx.RTPOverhead())
					}
					if !bytes.Equal(buf[:12], plain[:12]) {
						t.Fatalf("header changed")
					}
					encrypted := !bytes.Equal(buf[12:len(plain)], plain[12:])
					if want := s.Encrypts() && !p.UnencryptedSRTP && size > 0; encrypted != want {
						t.Fatalf("payload encrypted = %v, want %v", encrypted, want)
					}
					if len(p.MKI) > 0 && !s.AEAD() && !bytes.Equal(buf[len(plain):len(plain)+4], p.MKI) {
						t.Fatalf("MKI not after the payload: %X", buf[len(plain):n])
					}
					m, err := rx.UnprotectRTP(buf, n)
					if err != nil {
						t.Fatalf("UnprotectRTP(%d): %v", size, err)
					}
					if !bytes.Equal(buf[:m], plain) {
						t.Fatalf("round trip\n%X\nwant\n%X", buf[:m], plain)
					}
				}
				for i, size := range []int{0, 4, 20, 44, 500} {
					plain := rtcpPacket(0x11223344, size)
					copy(buf, plain)
					n, err := tx.ProtectRTCP(buf, len(plain))
					if err != nil {
						t.Fatalf("ProtectRTCP(%d): %v", size, err)
					}
					if n != len(plain)+tx.RTCPOverhead() {
						t.Fatalf("protected length %d, want %d", n, len(plain)+tx.RTCPOverhead())
					}
					// The ESRTCP word: after the payload (HMAC suites),
					// after the GCM tag (AEAD suites).
					at := len(plain)
					if s.AEAD() {
						at += 16
					}
					word := binary.BigEndian.Uint32(buf[at:])
					if idx := word &^ (1 << 31); idx != uint32(i+1) {
						t.Fatalf("SRTCP index %d, want %d", idx, i+1)
					}
					eflag := word>>31 == 1
					if want := s.Encrypts() && !p.UnencryptedSRTCP; eflag != want {
						t.Fatalf("E flag %v, want %v", eflag, want)
					}
					if !eflag && !bytes.Equal(buf[:len(plain)], plain) {
						t.Fatalf("unencrypted SRTCP changed the packet")
					}
					m, err := rx.UnprotectRTCP(buf, n)
					if err != nil {
						t.Fatalf("UnprotectRTCP(%d): %v", size, err)
					}
					if !bytes.Equal(buf[:m], plain) {
						t.Fatalf("RTCP round trip\n%X\nwant\n%X", buf[:m], plain)
					}
				}
			})
		}
	}
}

// TestMatchesReference holds every suite and variant to the reference
// transform of ref_test.go, across a rollover of the sequence number.
func TestMatchesReference(t *testing.T) {
	for _, s := range allSuites() {
		for name, p := range variants(s) {
			t.Run(s.Name()+"/"+name, func(t *testing.T) {
				tx := mustContext(t, p)
				k := refDerive(s, p.MasterKey, p.MasterSalt, false)
				kc := refDerive(s, p.MasterKey, p.MasterSalt, true)
				buf := make([]byte, 2048)
				roc := uint32(0)
				for i, seq := range []uint16{65533, 65534, 65535, 0, 1} {
					if i > 0 && seq == 0 {
						roc++
					}
					plain := rtpPacket(seq, 0x01020304, 0xcafebabe, 33)
					var want []byte
					if s.AEAD() {
						want = refProtectGCM(plain, 12, k.key, k.salt, roc, !p.UnencryptedSRTP)
						want = append(want, p.MKI...)
					} else {
						tag := s.RTPTagLen()
						if p.UnauthenticatedSRTP {
							tag = 0
						}
						want = refProtectCM(plain, 12, k, roc, s.Encrypts() && !p.UnencryptedSRTP, tag)
						want = insert(want, len(want)-tag, p.MKI)
					}
					copy(buf, plain)
					n, err := tx.ProtectRTP(buf, len(plain))
					if err != nil || !bytes.Equal(buf[:n], want) {
						t.Fatalf("seq %d: ProtectRTP = %X, %v\nwant %X", seq, buf[:n], err, want)
					}
				}
				if roc, _ := tx.ROC(0xcafebabe); roc != 1 {
					t.Errorf("ROC after the wrap = %d, want 1", roc)
				}

				plain := rtcpPacket(0xcafebabe, 28)
				var want []byte
				if s.AEAD() {
					want = refProtectGCMRTCP(plain, kc.key, kc.salt, 1, !p.UnencryptedSRTCP)
					want = append(want, p.MKI...)
				} else {
					want = refProtectCMRTCP(plain, kc, 1, s.Encrypts() && !p.UnencryptedSRTCP)
					want = insert(want, len(want)-10, p.MKI)
				}
				copy(buf, plain)
				n, err := tx.ProtectRTCP(buf, len(plain))
				if err != nil || !bytes.Equal(buf[:n], want) {
					t.Fatalf("ProtectRTCP = %X, %v\nwant %X", buf[:n], err, want)
				}
			})
		}
	}
}

func insert(b []byte, at int, x []byte) []byte {
	out := append([]byte(nil), b[:at]...)
	out = append(out, x...)
	return append(out, b[at:]...)
}

func TestTamperedPacket(t *testing.T) {
	for _, s := range allSuites() {
		t.Run(s.Name(), func(t *testing.T) {
			p := testParams(s)
			tx := mustContext(t, p)
			plain := rtpPacket(7, 0, 0x01010101, 50)
			buf := make([]byte, 256)
			copy(buf, plain)
			n, err := tx.ProtectRTP(buf, len(plain))
			if err != nil {
				t.Fatal(err)
			}
			protected := append([]byte(nil), buf[:n]...)
			// Every byte after the SSRC, and the marker/PT byte and the
			// sequence number (changing the SSRC or version makes another
			// packet, see below).
			for _, i := range append([]int{1, 2, 3, 4, 7}, rangeInts(12, n)...) {
				rx := mustContext(t, p)
				copy(buf, protected)
				buf[i] ^= 0x01
				if _, err := rx.UnprotectRTP(buf, n); !errors.Is(err, ErrAuth) {
					t.Fatalf("RTP byte %d flipped: %v, want ErrAuth", i, err)
				}
			}
			// A tampered SSRC authenticates under no state either.
			rx := mustContext(t, p)
			copy(buf, protected)
			buf[11] ^= 0x80
			if _, err := rx.UnprotectRTP(buf, n); !errors.Is(err, ErrAuth) {
				t.Fatalf("SSRC flipped: %v, want ErrAuth", err)
			}
			// The untampered packet still passes after the failures.
			copy(buf, protected)
			if _, err := rx.UnprotectRTP(buf, n); err != nil {
				t.Fatalf("after failures: %v", err)
			}

			rtcp := rtcpPacket(0x01010101, 24)
			copy(buf, rtcp)
			n, err = tx.ProtectRTCP(buf, len(rtcp))
			if err != nil {
				t.Fatal(err)
			}
			protected = append([]byte(nil), buf[:n]...)
			for i := 1; i < n; i++ {
				rx := mustContext(t, p)
				copy(buf, protected)
				buf[i] ^= 0x04
				_, err := rx.UnprotectRTCP(buf, n)
				if !errors.Is(err, ErrAuth) {
					t.Fatalf("RTCP byte %d flipped: %v, want ErrAuth", i, err)
				}
			}
		})
	}
}

func rangeInts(from, to int) []int {
	var r []int
	for i := from; i < to; i++ {
		r = append(r, i)
	}
	return r
}

func TestReplay(t *testing.T) {
	for _, s := range allSuites() {
		t.Run(s.Name(), func(t *testing.T) {
			p := testParams(s)
			p.ReplayWindow = 64
			tx, rx := mustContext(t, p), mustContext(t, p)
			var pkts [][]byte
			buf := make([]byte, 256)
			for seq := range uint16(200) {
				plain := rtpPacket(seq, 0, 0x0badcafe, 20)
				copy(buf, plain)
				n, err := tx.ProtectRTP(buf, len(plain))
				if err != nil {
					t.Fatal(err)
				}
				pkts = append(pkts, append([]byte(nil), buf[:n]...))
			}
			unprotect := func(i int) error {
				copy(buf, pkts[i])
				_, err := rx.UnprotectRTP(buf, len(pkts[i]))
				return err
			}
			for _, i := range []int{0, 1, 2, 100, 99, 150, 149, 140} {
				if err := unprotect(i); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			// Duplicates, and a packet older than the window.
			for _, i := range []int{0, 2, 100, 99, 150, 140, 50} {
				if err := unprotect(i); !errors.Is(err, ErrReplay) {
					t.Fatalf("replayed packet %d: %v, want ErrReplay", i, err)
				}
			}
			// Within the window, not yet seen: accepted.
			if err := unprotect(120); err != nil {
				t.Fatalf("late packet 120: %v", err)
			}
			// A replayed packet with a broken tag is still a replay (the
			// index is checked first) and a fresh broken one is ErrAuth.
			copy(buf, pkts[151])
			buf[len(pkts[151])-1] ^= 1
			if _, err := rx.UnprotectRTP(buf, len(pkts[151])); !errors.Is(err, ErrAuth) {
				t.Fatalf("forged fresh packet: %v, want ErrAuth", err)
			}
			if err := unprotect(151); err != nil {
				t.Fatalf("packet 151 after a forgery of it: %v", err)
			}

			// SRTCP: by index.
			rtcp := rtcpPacket(0x0badcafe, 16)
			var rpkts [][]byte
			for range 3 {
				copy(buf, rtcp)
				n, err := tx.ProtectRTCP(buf, len(rtcp))
				if err != nil {
					t.Fatal(err)
				}
				rpkts = append(rpkts, append([]byte(nil), buf[:n]...))
			}
			for i, want := range []error{nil, nil, nil} {
				copy(buf, rpkts[i])
				if _, err := rx.UnprotectRTCP(buf, len(rpkts[i])); !errors.Is(err, want) {
					t.Fatalf("SRTCP %d: %v", i, err)
				}
			}
			copy(buf, rpkts[1])
			if _, err := rx.UnprotectRTCP(buf, len(rpkts[1])); !errors.Is(err, ErrReplay) {
				t.Fatalf("replayed SRTCP: %v, want ErrReplay", err)
			}
			// A protect error after a replay is not reported as a replay.
			if _, err := tx.ProtectRTP(buf[:12], 12); !errors.Is(err, ErrNoRoom) {
				t.Fatalf("ProtectRTP without room: %v, want ErrNoRoom", err)
			}
		})
	}
}

func TestReplayDisabled(t *testing.T) {
	p := testParams(AES128CMSHA1_80)
	p.ReplayWindow = -1
	tx, rx := mustContext(t, p), mustContext(t, p)
	buf := make([]byte, 256)
	plain := rtpPacket(5, 0, 1, 20)
	copy(buf, plain)
	n, _ := tx.ProtectRTP(buf, len(plain))
	protected := append([]byte(nil), buf[:n]...)
	for range 3 {
		copy(buf, protected)
		if _, err := rx.UnprotectRTP(buf, n); err != nil {
			t.Fatalf("replay protection disabled: %v", err)
		}
	}
}

// TestRolloverCounter crosses the 65535 -> 0 wrap of the sequence number,
// in order and with reordering across the wrap, and checks that the
// receiver's guessed ROC authenticates every packet.
func TestRolloverCounter(t *testing.T) {
	for _, s := range allSuites() {
		t.Run(s.Name(), func(t *testing.T) {
			p := testParams(s)
			p.ReplayWindow = 128
			tx, rx := mustContext(t, p), mustContext(t, p)
			buf := make([]byte, 256)
			protect := func(seq uint16) []byte {
				plain := rtpPacket(seq, uint32(seq)*160, 0x5eed5eed, 40)
				copy(buf, plain)
				n, err := tx.ProtectRTP(buf, len(plain))
				if err != nil {
					t.Fatal(err)
				}
				return append([]byte(nil), buf[:n]...)
			}
			var pkts = map[uint16][]byte{}
			for seq := uint16(65500); seq != 40; seq++ {
				pkts[seq] = protect(seq)
			}
			if roc, ok := tx.ROC(0x5eed5eed); !ok || roc != 1 {
				t.Fatalf("sender ROC = %d, %v; want 1", roc, ok)
			}
			order := []uint16{65500, 65501, 65534, 0, 65535, 1, 2, 65533, 3, 39, 20}
			for _, seq := range order {
				copy(buf, pkts[seq])
				n, err := rx.UnprotectRTP(buf, len(pkts[seq]))
				if err != nil {
					t.Fatalf("seq %d: %v", seq, err)
				}
				if want := rtpPacket(seq, uint32(seq)*160, 0x5eed5eed, 40); !bytes.Equal(buf[:n], want) {
					t.Fatalf("seq %d: wrong plaintext", seq)
				}
			}
			// The receiver's ROC is now 1: a packet protected with ROC 0
			// for seq 39 does not authenticate as ROC 1, and the real one
			// is a replay.
			copy(buf, pkts[39])
			if _, err := rx.UnprotectRTP(buf, len(pkts[39])); !errors.Is(err, ErrReplay) {
				t.Fatalf("replay after wrap: %v", err)
			}
		})
	}
}

func TestUnauthenticatedSRTP(t *testing.T) {
	p := testParams(AES128CMSHA1_80)
	p.UnauthenticatedSRTP = true
	tx, rx := mustContext(t, p), mustContext(t, p)
	if tx.RTPOverhead() != 0 || tx.RTCPOverhead() != 14 {
		t.Fatalf("overheads %d, %d; want 0, 14", tx.RTPOverhead(), tx.RTCPOverhead())
	}
	plain := rtpPacket(1, 2, 3, 40)
	buf := make([]byte, len(plain)) // no room needed
	copy(buf, plain)
	n, err := tx.ProtectRTP(buf, len(plain))
	if err != nil || n != len(plain) {
		t.Fatalf("ProtectRTP = %d, %v", n, err)
	}
	// Without a tag a modified payload is not detected: it decrypts to a
	// modified plaintext.
	buf[20] ^= 0xff
	n, err = rx.UnprotectRTP(buf, n)
	if err != nil || n != len(plain) || buf[20] != plain[20]^0xff {
		t.Fatalf("UnprotectRTP = %d, %v", n, err)
	}
	// SRTCP stays authenticated.
	rtcp := rtcpPacket(3, 8)
	buf = make([]byte, 100)
	copy(buf, rtcp)
	n, _ = tx.ProtectRTCP(buf, len(rtcp))
	buf[9] ^= 1
	if _, err := rx.UnprotectRTCP(buf, n); !errors.Is(err, ErrAuth) {
		t.Fatalf("tampered SRTCP: %v", err)
	}
}

func TestMKIMismatch(t *testing.T) {
	p := testParams(AES128CMSHA1_80)
	p.MKI = []byte{0, 0, 0, 1}
	tx := mustContext(t, p)
	p.MKI = []byte{0, 0, 0, 2}
	rx := mustContext(t, p)
	plain := rtpPacket(1, 2, 3, 40)
	buf := make([]byte, 100)
	copy(buf, plain)
	n, _ := tx.ProtectRTP(buf, len(plain))
	if _, err := rx.UnprotectRTP(buf, n); !errors.Is(err, ErrAuth) {
		t.Fatalf("other MKI: %v, want ErrAuth", err)
	}
}

func TestMalformed(t *testing.T) {
	for _, s := range allSuites() {
		t.Run(s.Name(), func(t *testing.T) {
			c := mustContext(t, testParams(s))
			buf := make([]byte, 64)
			cases := []struct {
				name string
				pkt  []byte
			}{
				{"empty", nil},
				{"one byte", []byte{0x80}},
				{"short header", rtpPacket(1, 2, 3, 0)[:11]},
				{"version 0", append([]byte{0x00}, rtpPacket(1, 2, 3, 30)[1:]...)},
				{"version 1", append([]byte{0x40}, rtpPacket(1, 2, 3, 30)[1:]...)},
				{"CSRCs beyond the end", append([]byte{0x8f}, rtpPacket(1, 2, 3, 30)[1:]...)},
				{"extension header beyond the end", append([]byte{0x90}, rtpPacket(1, 2, 3, 0)[1:]...)},
				{"extension beyond the end", append(append([]byte{0x90}, rtpPacket(1, 2, 3, 0)[1:]...), 0xbe, 0xde, 0xff, 0xff)},
			}
			for _, tc := range cases {
				copy(buf, tc.pkt)
				if _, err := c.ProtectRTP(buf, len(tc.pkt)); !errors.Is(err, ErrMalformed) {
					t.Errorf("ProtectRTP(%s): %v, want ErrMalformed", tc.name, err)
				}
				if _, err := c.UnprotectRTP(buf, len(tc.pkt)); !errors.Is(err, ErrMalformed) {
					t.Errorf("UnprotectRTP(%s): %v, want ErrMalformed", tc.name, err)
				}
			}
			// Just a header, no room for a tag.
			for n := 12; n < 12+c.RTPOverhead(); n++ {
				copy(buf, rtpPacket(1, 2, 3, 30))
				if _, err := c.UnprotectRTP(buf, n); !errors.Is(err, ErrMalformed) {
					t.Errorf("UnprotectRTP(%d bytes): %v, want ErrMalformed", n, err)
				}
			}
			for n := 0; n < 8+c.RTCPOverhead(); n++ {
				copy(buf, rtcpPacket(1, 40))
				if _, err := c.UnprotectRTCP(buf, n); !errors.Is(err, ErrMalformed) {
					t.Errorf("UnprotectRTCP(%d bytes): %v, want ErrMalformed", n, err)
				}
				if n < 8 {
					if _, err := c.ProtectRTCP(buf, n); !errors.Is(err, ErrMalformed) {
						t.Errorf("ProtectRTCP(%d bytes): %v, want ErrMalformed", n, err)
					}
				}
			}
			copy(buf, rtcpPacket(1, 40))
			buf[0] = 0x40
			if _, err := c.ProtectRTCP(buf, 48); !errors.Is(err, ErrMalformed) {
				t.Errorf("ProtectRTCP(version 1): %v, want ErrMalformed", err)
			}
			// n outside buf.
			for _, n := range []int{-1, len(buf) + 1} {
				for name, f := range map[string]func([]byte, int) (int, error){
					"ProtectRTP": c.ProtectRTP, "UnprotectRTP": c.UnprotectRTP,
					"ProtectRTCP": c.ProtectRTCP, "UnprotectRTCP": c.UnprotectRTCP,
				} {
					if _, err := f(buf, n); !errors.Is(err, ErrMalformed) {
						t.Errorf("%s(n=%d): %v, want ErrMalformed", name, n, err)
					}
				}
			}
		})
	}
}

func TestNoRoom(t *testing.T) {
	for _, s := range allSuites() {
		c := mustContext(t, testParams(s))
		plain := rtpPacket(1, 2, 3, 20)
		for room := 0; room < c.RTPOverhead(); room++ {
			buf := make([]byte, len(plain)+room, len(plain)+100) // capacity beyond len is not used
			copy(buf, plain)
			if _, err := c.ProtectRTP(buf, len(plain)); !errors.Is(err, ErrNoRoom) {
				t.Fatalf("%v: ProtectRTP with %d bytes of room: %v", s, room, err)
			}
			if !bytes.Equal(buf, append(plain, make([]byte, room)...)) {
				t.Fatalf("%v: buffer changed on ErrNoRoom", s)
			}
		}
		rtcp := rtcpPacket(1, 20)
		for room := 0; room < c.RTCPOverhead(); room++ {
			buf := make([]byte, len(rtcp)+room)
			copy(buf, rtcp)
			if _, err := c.ProtectRTCP(buf, len(rtcp)); !errors.Is(err, ErrNoRoom) {
				t.Fatalf("%v: ProtectRTCP with %d bytes of room: %v", s, room, err)
			}
		}
		// Exactly enough room.
		buf := make([]byte, len(plain)+c.RTPOverhead())
		copy(buf, plain)
		if n, err := c.ProtectRTP(buf, len(plain)); err != nil || n != len(buf) {
			t.Fatalf("%v: ProtectRTP with exact room: %d, %v", s, n, err)
		}
	}
}

// TestHeaderExtensionAndCSRC protects packets with CSRCs and one-byte and
// two-byte header extensions, which stay in the clear and authenticated.
func TestHeaderExtensionAndCSRC(t *testing.T) {
	for _, s := range allSuites() {
		p := testParams(s)
		tx, rx := mustContext(t, p), mustContext(t, p)
		for i, hdr := range [][]byte{
			// 2 CSRCs
			{0x82, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 1, 1, 1, 2, 2, 2, 2},
			// one-byte extension (RFC 8285): id 1 len 1, id 2 len 2, padding
			{0x90, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 2, 0x10, 0xaa, 0x21, 0xbb, 0xcc, 0, 0, 0},
			// two-byte extension with a CSRC
			{0x91, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3, 9, 9, 9, 9, 0x10, 0x00, 0, 1, 5, 2, 0xde, 0xad},
			// RFC 3550 extension of another profile
			{0x90, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3, 0x12, 0x34, 0, 1, 1, 2, 3, 4},
		} {
			plain := append(append([]byte(nil), hdr...), bytes.Repeat([]byte{0x55}, 30)...)
			buf := make([]byte, 200)
			copy(buf, plain)
			n, err := tx.ProtectRTP(buf, len(plain))
			if err != nil {
				t.Fatalf("%v %d: %v", s, i, err)
			}
			if !bytes.Equal(buf[:len(hdr)], hdr) {
				t.Fatalf("%v %d: header changed", s, i)
			}
			m, err := rx.UnprotectRTP(buf, n)
			if err != nil || !bytes.Equal(buf[:m], plain) {
				t.Fatalf("%v %d: %v", s, i, err)
			}
		}
	}
}

func TestNewContextErrors(t *testing.T) {
	good := testParams(AES128CMSHA1_80)
	for name, p := range map[string]Params{
		"zero suite":     {MasterKey: good.MasterKey, MasterSalt: good.MasterSalt},
		"short key":      {Suite: AES128CMSHA1_80, MasterKey: good.MasterKey[:15], MasterSalt: good.MasterSalt},
		"long salt":      {Suite: AES128CMSHA1_80, MasterKey: good.MasterKey, MasterSalt: append(good.MasterSalt, 0)},
		"GCM salt of 14": {Suite: AEADAES128GCM, MasterKey: good.MasterKey, MasterSalt: good.MasterSalt},
		"unauthenticated GCM": func() Params {
			p := testParams(AEADAES256GCM)
			p.UnauthenticatedSRTP = true
			return p
		}(),
		"big window": func() Params { p := good; p.ReplayWindow = MaxReplayWindow + 1; return p }(),
		"long MKI":   func() Params { p := good; p.MKI = make([]byte, MaxMKILen+1); return p }(),
	} {
		if _, err := NewContext(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The key material is copied.
	p := testParams(AES128CMSHA1_80)
	tx := mustContext(t, p)
	rx := mustContext(t, p)
	p.MasterKey[0] ^= 1
	buf := make([]byte, 100)
	copy(buf, rtpPacket(1, 1, 1, 10))
	n, _ := tx.ProtectRTP(buf, 22)
	if _, err := rx.UnprotectRTP(buf, n); err != nil {
		t.Fatalf("after changing the caller's key: %v", err)
	}
}

func ExampleContext() {
	p := Params{
		Suite:      AES128CMSHA1_80,
		MasterKey:  bytes.Repeat([]byte{1}, 16),
		MasterSalt: bytes.Repeat([]byte{2}, 14),
	}
	tx, _ := NewContext(p) // our side: protects what we send
	rx, _ := NewContext(p) // the other side: unprotects it

	var buf [4096]byte // a worker's packet buffer
	n := copy(buf[:], rtpPacket(1, 160, 0x1234, 160))
	n, _ = tx.ProtectRTP(buf[:], n)
	fmt.Println("SRTP:", n)
	n, _ = rx.UnprotectRTP(buf[:], n)
	fmt.Println("RTP:", n)
	// Output:
	// SRTP: 182
	// RTP: 172
}
