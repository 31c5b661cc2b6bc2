package srtp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets unprotect arbitrary bytes with the fixed key material of
// testParams, for the suite chosen by the first argument. The committed seed
// corpus (testdata/fuzz) holds real protected packets of every suite; it is
// written by TestWriteFuzzCorpus with NGRELAY_WRITE_FUZZ_CORPUS=1.

// guard is the byte value around the packet that must not change.
const guard = 0xEE

func fuzzSuite(sel uint8) Suite { return Suite(1 + int(sel)%(numSuites-1)) }

// guarded returns a copy of pkt in a larger array whose bytes after the
// packet are guard, and the packet's slice of it (len(pkt) long).
func guarded(pkt []byte, room int) (all, view []byte) {
	all = bytes.Repeat([]byte{guard}, len(pkt)+room+16)
	copy(all, pkt)
	return all, all[:len(pkt)+room]
}

func checkGuard(t *testing.T, what string, all []byte, from int) {
	for i := from; i < len(all); i++ {
		if all[i] != guard {
			t.Fatalf("%s wrote past the buffer at %d", what, i)
		}
	}
}

func isPacketError(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrReplay) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrNoRoom)
}

func FuzzUnprotectRTP(f *testing.F) {
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3})
	f.Fuzz(func(t *testing.T, sel uint8, pkt []byte) {
		s := fuzzSuite(sel)
		rx := mustContext(t, testParams(s))
		all, buf := guarded(pkt, 0)
		n, err := rx.UnprotectRTP(buf, len(pkt))
		checkGuard(t, "UnprotectRTP", all, len(pkt))
		if err != nil {
			if !isPacketError(err) {
				t.Fatalf("UnprotectRTP: unexpected error %v", err)
			}
		} else {
			if n < 12 || n > len(pkt) {
				t.Fatalf("UnprotectRTP returned %d for a %d-byte packet", n, len(pkt))
			}
			// An authentic packet is one our key made: protecting the
			// plaintext again (ROC 0, as the receiver guessed for a first
			// packet) gives it back.
			tx := mustContext(t, testParams(s))
			again := make([]byte, 4096)
			copy(again, buf[:n])
			m, err := tx.ProtectRTP(again, n)
			if err != nil || !bytes.Equal(again[:m], pkt) {
				t.Fatalf("re-protected\n%X, %v\nwant\n%X", again[:m], err, pkt)
			}
		}

		// Protecting arbitrary bytes stays within the buffer too.
		tx := mustContext(t, testParams(s))
		all, buf = guarded(pkt, 20)
		if n, err := tx.ProtectRTP(buf, len(pkt)); err == nil {
			if n != len(pkt)+tx.RTPOverhead() {
				t.Fatalf("ProtectRTP returned %d for a %d-byte packet", n, len(pkt))
			}
		} else if !isPacketError(err) {
			t.Fatalf("ProtectRTP: unexpected error %v", err)
		}
		checkGuard(t, "ProtectRTP", all, len(pkt)+20)
	})
}

func FuzzUnprotectRTCP(f *testing.F) {
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), []byte{0x80, 200, 0, 1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, sel uint8, pkt []byte) {
		s := fuzzSuite(sel)
		rx := mustContext(t, testParams(s))
		all, buf := guarded(pkt, 0)
		n, err := rx.UnprotectRTCP(buf, len(pkt))
		checkGuard(t, "UnprotectRTCP", all, len(pkt))
		if err != nil {
			if !isPacketError(err) {
				t.Fatalf("UnprotectRTCP: unexpected error %v", err)
			}
		} else {
			if n < 8 || n > len(pkt)-rx.RTCPOverhead() {
				t.Fatalf("UnprotectRTCP returned %d for a %d-byte packet", n, len(pkt))
			}
			// Protecting the plaintext and unprotecting it again gives it
			// back.
			plain := append([]byte(nil), buf[:n]...)
			tx, rx2 := mustContext(t, testParams(s)), mustContext(t, testParams(s))
			again := make([]byte, 4096)
			copy(again, plain)
			m, err := tx.ProtectRTCP(again, n)
			if err == nil {
				m, err = rx2.UnprotectRTCP(again, m)
			}
			if err != nil || !bytes.Equal(again[:m], plain) {
				t.Fatalf("round trip of the plaintext: %X, %v", again[:m], err)
			}
		}

		tx := mustContext(t, testParams(s))
		all, buf = guarded(pkt, 30)
		if n, err := tx.ProtectRTCP(buf, len(pkt)); err == nil {
			if n != len(pkt)+tx.RTCPOverhead() {
				t.Fatalf("ProtectRTCP returned %d for a %d-byte packet", n, len(pkt))
			}
		} else if !isPacketError(err) {
			t.Fatalf("ProtectRTCP: unexpected error %v", err)
		}
		checkGuard(t, "ProtectRTCP", all, len(pkt)+30)
	})
}

// TestWriteFuzzCorpus writes the seed corpus of the fuzz targets: the first
// packets protected with each suite's fixed key, and malformed and tampered
// variants of them.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NGRELAY_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set NGRELAY_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, sel Suite, pkt []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\nuint8(%d)\n[]byte(%q)\n", uint8(sel-1), pkt)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ext := []byte{0x91, 0x60, 0x12, 0x34, 0, 0, 0x03, 0x20, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3, 4,
		0xbe, 0xde, 0, 1, 0x10, 0xab, 0, 0}
	for _, s := range allSuites() {
		rtps := map[string][]byte{
			"pcmu":        rtpPacket(4711, 160, 0xcafebabe, 160),
			"empty":       rtpPacket(1, 0, 0xcafebabe, 0),
			"csrc-ext":    append(ext, bytes.Repeat([]byte{0x42}, 33)...),
			"seq-65535":   rtpPacket(65535, 0, 0xcafebabe, 20),
			"marker-pt96": append([]byte{0x80, 0xe0}, rtpPacket(9, 0, 1, 40)[2:]...),
		}
		for name, plain := range rtps {
			tx := mustContext(t, testParams(s))
			buf := make([]byte, 4096)
			copy(buf, plain)
			n, err := tx.ProtectRTP(buf, len(plain))
			if err != nil {
				t.Fatal(err)
			}
			pkt := buf[:n]
			base := s.Name() + "-" + name
			write("FuzzUnprotectRTP", base, s, pkt)
			if name == "pcmu" {
				tampered := append([]byte(nil), pkt...)
				tampered[20] ^= 1
				write("FuzzUnprotectRTP", base+"-tampered", s, tampered)
				write("FuzzUnprotectRTP", base+"-truncated", s, pkt[:n-1])
				write("FuzzUnprotectRTP", base+"-header-only", s, pkt[:12])
			}
		}
		for name, plain := range map[string][]byte{
			"sr":       rtcpPacket(0xcafebabe, 20),
			"header":   rtcpPacket(0xcafebabe, 0),
			"compound": append(rtcpPacket(0xcafebabe, 24), 0x81, 202, 0, 1, 0xca, 0xfe, 0xba, 0xbe),
		} {
			tx := mustContext(t, testParams(s))
			buf := make([]byte, 4096)
			copy(buf, plain)
			n, err := tx.ProtectRTCP(buf, len(plain))
			if err != nil {
				t.Fatal(err)
			}
			pkt := buf[:n]
			base := s.Name() + "-" + name
			write("FuzzUnprotectRTCP", base, s, pkt)
			if name == "sr" {
				tampered := append([]byte(nil), pkt...)
				tampered[n-1] ^= 1
				write("FuzzUnprotectRTCP", base+"-tampered", s, tampered)
				write("FuzzUnprotectRTCP", base+"-truncated", s, pkt[:n-1])
			}
		}
	}
}

// TestFuzzCorpusAuthentic checks that the committed seeds still are real
// protected packets: each suite's untampered seeds unprotect.
func TestFuzzCorpusAuthentic(t *testing.T) {
	for _, target := range []string{"FuzzUnprotectRTP", "FuzzUnprotectRTCP"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if len(files) == 0 {
			t.Fatalf("no seed corpus for %s", target)
		}
		good := 0
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var sel uint8
			var quoted string
			if _, err := fmt.Sscanf(string(b), "go test fuzz v1\nuint8(%d)\n[]byte(%q)\n", &sel, &quoted); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			name := filepath.Base(file)
			if bytes.Contains([]byte(name), []byte("-tampered")) || bytes.Contains([]byte(name), []byte("-truncated")) || bytes.Contains([]byte(name), []byte("-header-only")) {
				continue
			}
			rx := mustContext(t, testParams(fuzzSuite(sel)))
			pkt := []byte(quoted)
			if target == "FuzzUnprotectRTP" {
				_, err = rx.UnprotectRTP(pkt, len(pkt))
			} else {
				_, err = rx.UnprotectRTCP(pkt, len(pkt))
			}
			if err != nil {
				t.Errorf("%s: %v", file, err)
			}
			good++
		}
		if good < len(allSuites()) {
			t.Errorf("%s: only %d authentic seeds", target, good)
		}
	}
}
