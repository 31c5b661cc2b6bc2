package dtls

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

// FuzzIsDTLSRecord checks that the demultiplexing test never panics, that
// whatever it accepts pion/dtls can split into records with valid headers,
// and that the stricter screen never panics either.
func FuzzIsDTLSRecord(f *testing.F) {
	f.Add([]byte{})
	f.Add(rec(22, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(cat(rec(20, 0, 1), rec(22, 1, 1, 2, 3)))
	f.Add(rec(21, 0, 2, 42))
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		ok := IsDTLSRecord(pkt)
		screened := screen(pkt, false)
		_ = screen(pkt, true)
		_ = inspectRecords(pkt)
		if !ok {
			return
		}
		if pkt[0] < 20 || pkt[0] > 23 {
			t.Fatalf("accepted first byte %d", pkt[0])
		}
		recs, err := recordlayer.UnpackDatagram(pkt)
		if err != nil {
			t.Fatalf("accepted, but pion cannot unpack: %v", err)
		}
		for _, r := range recs {
			var h recordlayer.Header
			if err := h.Unmarshal(r); err != nil {
				t.Fatalf("accepted, but pion rejects a record header: %v", err)
			}
		}
		_ = screened
	})
}

var (
	fuzzHelloOnce sync.Once
	fuzzHello     []byte
)

// clientHello captures the first datagram (the ClientHello) of a client
// endpoint with the test certificate a.
func clientHello(tb testing.TB) []byte {
	fuzzHelloOnce.Do(func() {
		a, b, _ := testCerts(tb)
		got := make(chan []byte, 1)
		e := New(Config{
			Cert: a, Role: Active, RemoteFingerprints: []Fingerprint{mustFingerprint(tb, b, "sha-256")},
			Send: func(pkt []byte) error {
				select {
				case got <- append([]byte(nil), pkt...):
				default:
				}
				return nil
			},
		})
		if err := e.Start(context.Background()); err != nil {
			panic(err)
		}
		fuzzHello = <-got
		e.Close()
	})
	return fuzzHello
}

// FuzzDeliver delivers arbitrary datagrams to a server endpoint in the
// middle of a handshake (it has answered a ClientHello and waits for the
// client's second flight): it must never panic. Each input goes in as it
// is and, so that it reaches pion/dtls past the record screening, as the
// body of a plaintext record of the content type its first byte selects.
func FuzzDeliver(f *testing.F) {
	a, b, _ := testCerts(f)
	hello := clientHello(f)
	f.Add(hello)
	f.Add(hello[13:])
	f.Add([]byte{2, 42})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := New(Config{
			Cert: b, Role: Passive, RemoteFingerprints: []Fingerprint{mustFingerprint(t, a, "sha-256")},
			Send:             func([]byte) error { return nil },
			SkipHelloVerify:  true,
			HandshakeTimeout: 5 * time.Second,
		})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.Deliver(hello)
		e.Deliver(data)
		if len(data) > 0 && len(data) < 1<<14 {
			typ := []byte{20, 21, 22, 23}[data[0]%4]
			body := data[1:]
			if typ == 22 && len(body) == 0 {
				body = data
			}
			r := rec(typ, data[0]>>7, body...)
			r[10] = 2 // a sequence number after the ClientHello's
			e.Deliver(r)
		}
		// Let the handshake goroutine take the datagrams in.
		for i := 0; i < 200 && len(e.pc.in) > 0; i++ {
			time.Sleep(50 * time.Microsecond)
		}
		e.Close()
	})
}
