package rtpp

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
)

var eCode = regexp.MustCompile(`^E\d+\n$`)

// FuzzParse feeds arbitrary lines to the parser and, through Process, to
// the whole server. Nothing may panic; a parsed request is consistent; a
// line the parser refuses gets "COOKIE E<code>\n" (or, without a cookie,
// nothing) and creates no call; every reply starts with the line's cookie.
// The seed corpus is testdata/fuzz/FuzzParse plus the lines below.
func FuzzParse(f *testing.F) {
	for _, l := range []string{
		"c V", "c VF 20081102", "c U call 10.0.0.1 5000 ft;1", "c Uc0,8ie call;br ::1 0 ft;2 tt;2 sock tag",
		"c L call 10.0.0.2 6000 ft;1 tt;1", "c D call ft tt", "c Q call ft tt", "c I", "c Ibl", "c X",
		"c P-1 call tone session ft;1 tt;1", "c S call ft;1", "c R call ft", "", "c", "c U", "c Ul[::1 c 1.2.3.4 1 f",
	} {
		f.Add(l)
	}
	s := newTestServer(f)
	n := 0
	f.Fuzz(func(t *testing.T, line string) {
		r, err := Parse(line)
		if r == nil {
			t.Fatal("nil request")
		}
		if err == nil {
			if r.Cookie == "" || r.Op == OpUnknownCmd || r.Media < 1 || r.Media > MaxMedia {
				t.Fatalf("%q parsed to %+v", line, r)
			}
			if (r.Op == OpUpdate || r.Op == OpLookup) && (r.CallID == "" || r.FromTag == "" || !r.Addr.IsValid() || r.Port > 65535) {
				t.Fatalf("%q parsed to %+v", line, r)
			}
		}
		created := s.engine.Totals().CallsCreated.Load()
		n++ // a new peer each time: the reply cache must not hide the path
		out := s.Process(strconv.Itoa(n), []byte(line))
		if r.Cookie == "" {
			if out != nil {
				t.Fatalf("%q without cookie answered %q", line, out)
			}
			return
		}
		if out == nil || !bytes.HasPrefix(out, []byte(r.Cookie+" ")) || !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("%q: reply %q", line, out)
		}
		if err != nil {
			if !eCode.Match(out[len(r.Cookie)+1:]) {
				t.Fatalf("%q refused (%v) but answered %q", line, err, out)
			}
			if s.engine.Totals().CallsCreated.Load() != created {
				t.Fatalf("%q refused but created a call", line)
			}
		}
		// Keep the engine from filling up with fuzzed calls and players.
		for _, c := range s.engine.CallList() {
			c.Lock()
			c.ScheduleDelete(0)
			c.Unlock()
		}
	})
}
