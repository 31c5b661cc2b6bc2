package srtp

import (
	"encoding/binary"
	"testing"
)

// payloadLen is the payload of the benchmarked packets: 20 ms of G.711.
const payloadLen = 160

// stream makes protected packets of one SSRC with consecutive sequence
// numbers (RTP) or SRTCP indexes (RTCP), in batches.
type stream struct {
	tx   *Context
	seq  uint16
	rtcp bool
	buf  [4096]byte
}

func (s *stream) next(t testing.TB) []byte {
	var plain []byte
	var n int
	var err error
	if s.rtcp {
		plain = rtcpPacket(0x42424242, payloadLen)
		copy(s.buf[:], plain)
		n, err = s.tx.ProtectRTCP(s.buf[:], len(plain))
	} else {
		plain = rtpPacket(s.seq, uint32(s.seq)*160, 0x42424242, payloadLen)
		s.seq++
		copy(s.buf[:], plain)
		n, err = s.tx.ProtectRTP(s.buf[:], len(plain))
	}
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), s.buf[:n]...)
}

func (s *stream) batch(t testing.TB, pkts [][]byte) {
	for i := range pkts {
		pkts[i] = s.next(t)
	}
}

// TestZeroAllocs checks that the four transforms do not allocate, for every
// suite and the parameter variants, once the SSRC is known.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	const runs = 500
	for _, s := range allSuites() {
		for name, p := range variants(s) {
			t.Run(s.Name()+"/"+name, func(t *testing.T) {
				// pion allocates a tag (protect) or an AAD (unprotect) per
				// unencrypted SRTCP packet with the AEAD suites.
				rtcpAllocates := s.AEAD() && p.UnencryptedSRTCP
				for _, rtcp := range []bool{false, true} {
					tx, rx := mustContext(t, p), mustContext(t, p)
					src := &stream{tx: mustContext(t, p), seq: 65000, rtcp: rtcp} // crosses a ROC wrap
					pkts := make([][]byte, runs+2)
					src.batch(t, pkts)

					var buf [4096]byte
					plain := rtpPacket(0, 0, 0x42424242, payloadLen)
					protect, unprotect := tx.ProtectRTP, rx.UnprotectRTP
					if rtcp {
						plain = rtcpPacket(0x42424242, payloadLen)
						protect, unprotect = tx.ProtectRTCP, rx.UnprotectRTCP
					}
					// First packets: the SSRC's state is made.
					copy(buf[:], plain)
					if _, err := protect(buf[:], len(plain)); err != nil {
						t.Fatal(err)
					}
					copy(buf[:], pkts[0])
					if _, err := unprotect(buf[:], len(pkts[0])); err != nil {
						t.Fatal(err)
					}

					seq := uint16(65000)
					var failed error
					allocs := testing.AllocsPerRun(runs, func() {
						copy(buf[:], plain)
						binary.BigEndian.PutUint16(buf[2:], seq) // RTCP: the length field, unused
						seq++
						if _, err := protect(buf[:], len(plain)); err != nil {
							failed = err
						}
					})
					if failed != nil {
						t.Fatal(failed)
					}
					if want := 0.0; allocs != want && !(rtcp && rtcpAllocates) {
						t.Errorf("protect (rtcp=%v): %v allocations per packet, want %v", rtcp, allocs, want)
					}
					i := 1
					allocs = testing.AllocsPerRun(runs, func() {
						n := copy(buf[:], pkts[i])
						i++
						if _, err := unprotect(buf[:], n); err != nil {
							failed = err
						}
					})
					if failed != nil {
						t.Fatal(failed)
					}
					if allocs != 0 && !(rtcp && rtcpAllocates) {
						t.Errorf("unprotect (rtcp=%v): %v allocations per packet, want 0", rtcp, allocs)
					}
					if rtcp && rtcpAllocates {
						t.Logf("AEAD with UNENCRYPTED_SRTCP: %v allocations per SRTCP packet (pion)", allocs)
					}
				}
			})
		}
	}
}

// TestErrorAllocs reports (and bounds) what rejected packets allocate.
func TestErrorAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, s := range allSuites() {
		p := testParams(s)
		tx, rx := mustContext(t, p), mustContext(t, p)
		var buf [4096]byte
		plain := rtpPacket(1, 0, 7, payloadLen)
		n := copy(buf[:], plain)
		n, _ = tx.ProtectRTP(buf[:], n)
		good := append([]byte(nil), buf[:n]...)
		if _, err := rx.UnprotectRTP(buf[:], n); err != nil {
			t.Fatal(err)
		}
		replay := testing.AllocsPerRun(100, func() {
			copy(buf[:], good)
			rx.UnprotectRTP(buf[:], len(good))
		})
		forged := testing.AllocsPerRun(100, func() {
			copy(buf[:], good)
			binary.BigEndian.PutUint16(buf[2:], 2)
			rx.UnprotectRTP(buf[:], len(good))
		})
		short := testing.AllocsPerRun(100, func() {
			rx.UnprotectRTP(buf[:], 13)
		})
		t.Logf("%-24v allocations per rejected packet: replay %v, auth failure %v, malformed %v", s, replay, forged, short)
		if short != 0 || replay > 1 || forged > 4 {
			t.Errorf("%v: rejected packets allocate too much: replay %v, auth failure %v, malformed %v", s, replay, forged, short)
		}
	}
}

func BenchmarkProtectRTP(b *testing.B) {
	for _, s := range allSuites() {
		b.Run(s.Name(), func(b *testing.B) { benchProtect(b, s, false) })
	}
}

func BenchmarkUnprotectRTP(b *testing.B) {
	for _, s := range allSuites() {
		b.Run(s.Name(), func(b *testing.B) { benchUnprotect(b, s, false) })
	}
}

func BenchmarkProtectRTCP(b *testing.B) {
	for _, s := range allSuites() {
		b.Run(s.Name(), func(b *testing.B) { benchProtect(b, s, true) })
	}
}

func BenchmarkUnprotectRTCP(b *testing.B) {
	for _, s := range allSuites() {
		b.Run(s.Name(), func(b *testing.B) { benchUnprotect(b, s, true) })
	}
}

func benchProtect(b *testing.B, s Suite, rtcp bool) {
	c := mustContext(b, testParams(s))
	var buf [4096]byte
	plain := rtpPacket(0, 0, 0x42424242, payloadLen)
	protect := c.ProtectRTP
	if rtcp {
		plain = rtcpPacket(0x42424242, payloadLen)
		protect = c.ProtectRTCP
	}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	seq := uint16(0)
	for b.Loop() {
		copy(buf[:], plain)
		if !rtcp {
			binary.BigEndian.PutUint16(buf[2:], seq)
			seq++
		}
		if _, err := protect(buf[:], len(plain)); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUnprotect unprotects fresh packets (replay protection on), made in
// batches outside the timer.
func benchUnprotect(b *testing.B, s Suite, rtcp bool) {
	p := testParams(s)
	c := mustContext(b, p)
	src := &stream{tx: mustContext(b, p), rtcp: rtcp}
	unprotect := c.UnprotectRTP
	if rtcp {
		unprotect = c.UnprotectRTCP
	}
	pkts := make([][]byte, 1024)
	var buf [4096]byte
	b.SetBytes(int64(12 + payloadLen))
	if rtcp {
		b.SetBytes(int64(8 + payloadLen))
	}
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		if i%len(pkts) == 0 {
			b.StopTimer()
			src.batch(b, pkts)
			b.StartTimer()
		}
		pkt := pkts[i%len(pkts)]
		n := copy(buf[:], pkt)
		if _, err := unprotect(buf[:], n); err != nil {
			b.Fatal(err)
		}
	}
}
