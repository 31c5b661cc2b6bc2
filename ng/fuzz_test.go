package ng

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

// FuzzProcess feeds arbitrary datagrams to the whole NG server path:
// framing, decoding, request parsing, dispatch and the offer/answer logic.
// Nothing may panic, and a message with a cookie always gets a reply that
// starts with that cookie.
func FuzzProcess(f *testing.F) {
	offer, _ := os.ReadFile(filepath.Join(fixtures, "xlite-avp-offer.sdp"))
	for _, d := range []bencode.Value{
		request("command", "ping"),
		request("command", "offer", "call-id", "f1", "from-tag", "a", "sdp", string(offer), "flags", []string{"trust-address", "loop-protect"}, "replace", []string{"origin"}),
		request("command", "answer", "call-id", "f1", "from-tag", "a", "to-tag", "b", "sdp", string(offer)),
		request("command", "query", "call-id", "f1"),
		request("command", "delete", "call-id", "f1", "delete-delay", "0"),
		request("command", "offer", "call-id", "f2", "from-tag", "a", "sdp", "v=0\r\n", "rtpp-flags", "direction=x direction=y"),
	} {
		f.Add(append([]byte("ck "), bencode.Encode(d)...))
	}
	f.Add([]byte(`ck {"command":"list"}`))
	f.Add([]byte("ck d7:command10:statisticse"))
	h := newTestHandler(f)
	srv := NewServer(h, nil)
	n := 0
	f.Fuzz(func(t *testing.T, msg []byte) {
		n++ // a new peer each time: the reply cache must not hide the path
		out := srv.Process(strconv.Itoa(n), msg)
		if out == nil {
			return
		}
		if sp := bytes.IndexByte(msg, ' '); sp > 0 && !bytes.HasPrefix(out, msg[:sp+1]) {
			t.Fatalf("reply %.40q does not start with the cookie of %.40q", out, msg)
		}
		// Keep the engine from filling up with fuzzed calls.
		for _, c := range h.engine.CallList() {
			c.Lock()
			c.ScheduleDelete(0)
			c.Unlock()
		}
	})
}
