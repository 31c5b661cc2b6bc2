package dtls

import (
	"testing"
)

// rec builds one record.
func rec(typ byte, epoch byte, body ...byte) []byte {
	b := []byte{typ, 0xfe, 0xfd, 0, epoch, 0, 0, 0, 0, 0, 1, byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestIsDTLSRecord(t *testing.T) {
	hello := rec(22, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	dtls10 := append([]byte(nil), hello...)
	dtls10[2] = 0xff
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"handshake", hello, true},
		{"dtls 1.0 version", dtls10, true},
		{"ccs", rec(20, 0, 1), true},
		{"alert", rec(21, 0, 2, 42), true},
		{"app data", rec(23, 1, 1, 2, 3), true},
		{"flight", cat(hello, rec(20, 0, 1), rec(22, 1, 9, 9, 9)), true},
		{"nil", nil, false},
		{"short", hello[:12], false},
		{"truncated body", hello[:len(hello)-1], false},
		{"trailing byte", cat(hello, []byte{0}), false},
		{"trailing short record", cat(hello, hello[:13]), false},
		{"empty record", rec(22, 0), false},
		{"tls version", func() []byte { b := append([]byte(nil), hello...); b[1], b[2] = 3, 3; return b }(), false},
		{"dtls 1.3 version", func() []byte { b := append([]byte(nil), hello...); b[2] = 0xfc; return b }(), false},
		{"heartbeat", rec(24, 0, 1), false},
		{"cid", rec(25, 0, 1), false},
		{"unified header", func() []byte { b := append([]byte(nil), hello...); b[0] = 0x2c; return b }(), false},
		{"stun", []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, false},
		{"rtp", []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6}, false},
		{"first byte 19", rec(19, 0, 1), false},
		{"first byte 64", rec(64, 0, 1), false},
	} {
		if got := IsDTLSRecord(tc.pkt); got != tc.want {
			t.Errorf("%s: IsDTLSRecord = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { IsDTLSRecord(hello) }); n != 0 {
		t.Fatalf("IsDTLSRecord allocates %v times", n)
	}
}

func TestScreen(t *testing.T) {
	hs := func(typ byte, length, seq, off, flen int) []byte {
		b := []byte{typ, byte(length >> 16), byte(length >> 8), byte(length), byte(seq >> 8), byte(seq),
			byte(off >> 16), byte(off >> 8), byte(off), byte(flen >> 16), byte(flen >> 8), byte(flen)}
		return append(b, make([]byte, flen)...)
	}
	for _, tc := range []struct {
		name  string
		pkt   []byte
		keyed bool
		want  bool
	}{
		{"client hello", rec(22, 0, hs(1, 10, 0, 0, 10)...), false, true},
		{"two fragments", rec(22, 0, cat(hs(11, 20, 2, 0, 10), hs(11, 20, 2, 10, 10))...), false, true},
		{"encrypted handshake", rec(22, 1, 0xde, 0xad), false, true},
		{"ccs", rec(20, 0, 1), false, true},
		{"bad ccs", rec(20, 0, 2), false, false},
		{"bad ccs epoch 1", rec(20, 1, 1, 1), false, false},
		{"fatal alert", rec(21, 0, 2, 42), false, true},
		{"warning alert", rec(21, 0, 1, 0), false, true},
		{"plaintext alert when keyed", rec(21, 0, 2, 42), true, false},
		{"encrypted alert when keyed", rec(21, 1, 1, 2, 3, 4), true, true},
		{"alert bad level", rec(21, 0, 3, 42), false, false},
		{"alert long", rec(21, 0, 2, 42, 0), false, false},
		{"plaintext app data", rec(23, 0, 1), false, false},
		{"encrypted app data", rec(23, 1, 1), false, true},
		{"epoch 2", rec(23, 2, 1), false, false},
		{"unknown handshake type", rec(22, 0, hs(99, 1, 0, 0, 1)...), false, false},
		{"high message_seq", rec(22, 0, hs(1, 1, 32, 0, 1)...), false, false},
		{"fragment past message", rec(22, 0, hs(1, 10, 0, 5, 6)...), false, false},
		{"fragment past record", rec(22, 0, hs(1, 10, 0, 0, 10)[:15]...), false, false},
		{"huge message", rec(22, 0, hs(11, 1<<20, 0, 0, 1)...), false, false},
		{"handshake trailing bytes", rec(22, 0, cat(hs(1, 1, 0, 0, 1), []byte{1})...), false, false},
		{"one bad record", cat(rec(22, 0, hs(16, 1, 3, 0, 1)...), rec(20, 0, 7)), false, false},
	} {
		if !IsDTLSRecord(tc.pkt) {
			t.Fatalf("%s: test datagram is not DTLS", tc.name)
		}
		if got := screen(tc.pkt, tc.keyed); got != tc.want {
			t.Errorf("%s: screen = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestInspectRecords(t *testing.T) {
	ri := inspectRecords(cat(rec(21, 0, 2, 42), rec(23, 1, 1), rec(21, 1, 9, 9, 9), rec(22, 0, 1, 0)))
	if ri.alerts != 2 || ri.appData != 1 || ri.lastAlertLevel != 2 || ri.lastAlertDesc != 42 || !ri.clientHello {
		t.Fatalf("%+v", ri)
	}
}
