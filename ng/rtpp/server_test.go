package rtpp

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/relay"
)

// newTestEngine starts a relay engine on loopback: interface "internal"
// on 127.0.0.1 and ::1, "external" on 127.0.0.2 advertised as
// 203.0.113.9, with a random port range.
func newTestEngine(t testing.TB) *relay.Engine {
	t.Helper()
	base := 20000 + 2*rand.IntN(15000)
	e, err := relay.New(relay.Config{
		Interfaces: []relay.InterfaceConfig{
			{Name: "internal", Addr: netip.MustParseAddr("127.0.0.1")},
			{Name: "internal", Addr: netip.MustParseAddr("::1")},
			{Name: "external", Addr: netip.MustParseAddr("127.0.0.2"), Advertised: netip.MustParseAddr("203.0.113.9")},
		},
		PortMin: base, PortMax: base + 399,
		Timeout: 60 * time.Second, SilentTimeout: 3600 * time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func newTestServer(t testing.TB) *Server {
	t.Helper()
	return NewServer(newTestEngine(t), "../../prompts", nil)
}

var cookieN int

// cmd sends one command through Process as a fresh command (new cookie)
// and returns the reply without cookie and newline.
func cmd(t testing.TB, s *Server, line string) string {
	t.Helper()
	cookieN++
	ck := "t" + strconv.Itoa(cookieN)
	out := s.Process("test-peer", []byte(ck+" "+line))
	if out == nil {
		t.Fatalf("%q: no reply", line)
	}
	r := string(out)
	if !strings.HasPrefix(r, ck+" ") || !strings.HasSuffix(r, "\n") {
		t.Fatalf("%q: reply %q not \"%s ...\\n\"", line, r, ck)
	}
	return strings.TrimSuffix(strings.TrimPrefix(r, ck+" "), "\n")
}

var portAddr = regexp.MustCompile(`^(\d+) (\S+) ([46])$`)

// portOf checks a U/L reply "PORT ADDR AF" and returns the port.
func portOf(t testing.TB, reply, addr, af string) int {
	t.Helper()
	m := portAddr.FindStringSubmatch(reply)
	if m == nil || m[2] != addr || m[3] != af {
		t.Fatalf("reply %q, want PORT %s %s", reply, addr, af)
	}
	p, _ := strconv.Atoi(m[1])
	return p
}

func TestVersion(t *testing.T) {
	s := newTestServer(t)
	if got := cmd(t, s, "V"); got != "20040107" {
		t.Errorf("V = %q", got)
	}
	for date, want := range map[string]string{
		"20040107": "1", "20050322": "1", "20060704": "1", "20080403": "1", "20081102": "1",
		"20071116": "0", "20071218": "0", "20081224": "0", "20090810": "0", "20140323": "0",
		"20140617": "0", "20150330": "0", "junk": "0",
	} {
		if got := cmd(t, s, "VF "+date); got != want {
			t.Errorf("VF %s = %q, want %q", date, got, want)
		}
	}
	if got := cmd(t, s, "VF"); got != "E1" {
		t.Errorf("VF without date = %q, want E1", got)
	}
}

func TestUpdateLookupReplies(t *testing.T) {
	s := newTestServer(t)
	e := s.engine
	pa := portOf(t, cmd(t, s, "U call1 10.0.0.1 5000 ft;1"), "127.0.0.1", "4")
	if e.NumCalls() != 1 {
		t.Fatalf("%d calls, want 1", e.NumCalls())
	}
	// A re-offer keeps the port.
	if p := portOf(t, cmd(t, s, "U call1 10.0.0.1 5002 ft;1"), "127.0.0.1", "4"); p != pa {
		t.Errorf("re-offer: port %d, want %d", p, pa)
	}
	pb := portOf(t, cmd(t, s, "L call1 10.0.0.2 6000 ft;1 tt;1"), "127.0.0.1", "4")
	if pb == pa {
		t.Errorf("L gave the offer's port %d", pb)
	}
	if p := portOf(t, cmd(t, s, "L call1 10.0.0.2 6000 ft;1 tt;1"), "127.0.0.1", "4"); p != pb {
		t.Errorf("repeated L: port %d, want %d", p, pb)
	}
	// In-dialog re-offer from the callee: its own port is the one L gave
	// to the caller's side... the reply names the caller's side's port.
	if p := portOf(t, cmd(t, s, "U call1 10.0.0.2 6000 tt;1 ft;1"), "127.0.0.1", "4"); p != pb {
		t.Errorf("callee re-offer: port %d, want %d (the port given to the caller)", p, pb)
	}
	c := e.Call("call1")
	c.Lock()
	legs := c.Legs()
	if len(legs) != 2 || legs[0].Tag != "ft" || legs[1].Tag != "tt" || legs[0].Peer != legs[1] {
		c.Unlock()
		t.Fatalf("legs %+v", legs)
	}
	if ep := legs[0].Medias[0].Endpoint; ep.String() != "10.0.0.1:5002" {
		t.Errorf("caller endpoint %v", ep)
	}
	if ep := legs[1].Medias[0].Endpoint; ep.String() != "10.0.0.2:6000" {
		t.Errorf("callee endpoint %v", ep)
	}
	c.Unlock()

	// Unknown call or offer: rtpengine's "0 0.0.0.0".
	for _, l := range []string{"L nocall 10.0.0.2 6000 ft;1 tt;1", "L call1 10.0.0.2 6000 zz;1 tt;1"} {
		if got := cmd(t, s, l); got != "0 0.0.0.0" {
			t.Errorf("%s = %q, want \"0 0.0.0.0\"", l, got)
		}
	}
	// Hold, rejected stream, IPv6, second media.
	portOf(t, cmd(t, s, "U call1 0.0.0.0 5002 ft;1 tt;1"), "0.0.0.0", "4")
	if got := cmd(t, s, "U call2 10.0.0.1 0 ft;1"); !strings.HasPrefix(got, "0 127.0.0.1 4") {
		t.Errorf("rejected stream: %q", got)
	}
	portOf(t, cmd(t, s, "U6 call3 2001:db8::1 5000 ft;1"), "::1", "6")
	portOf(t, cmd(t, s, "U call3 :: 5000 ft;1"), "::", "6")
	p1 := portOf(t, cmd(t, s, "U call4 10.0.0.1 5000 ft;1"), "127.0.0.1", "4")
	p2 := portOf(t, cmd(t, s, "U call4 10.0.0.1 5002 ft;2"), "127.0.0.1", "4")
	if p1 == p2 {
		t.Errorf("media 1 and 2 share port %d", p1)
	}
	if n := e.NumCalls(); n != 4 {
		t.Errorf("%d calls, want 4", n)
	}
}

func TestInterfaces(t *testing.T) {
	s := newTestServer(t)
	// "ie": the offerer on internal, the answerer on external.
	portOf(t, cmd(t, s, "Uie c 10.0.0.1 5000 ft;1"), "203.0.113.9", "4")
	// The answer names its own side first: "ei" keeps the caller internal.
	portOf(t, cmd(t, s, "Lei c 10.0.0.2 6000 ft;1 tt;1"), "127.0.0.1", "4")
	portOf(t, cmd(t, s, "Uei c2 10.0.0.1 5000 ft;1"), "127.0.0.1", "4")
	portOf(t, cmd(t, s, "Ue c3 10.0.0.1 5000 ft;1"), "127.0.0.1", "4")
	portOf(t, cmd(t, s, "Ul127.0.0.2 c4 10.0.0.1 5000 ft;1"), "203.0.113.9", "4")

	// Without interfaces of those names: the first and the second.
	base := 20000 + 2*rand.IntN(15000)
	e, err := relay.New(relay.Config{
		Interfaces: []relay.InterfaceConfig{
			{Name: "priv", Addr: netip.MustParseAddr("127.0.0.1")},
			{Name: "pub", Addr: netip.MustParseAddr("127.0.0.2")},
		},
		PortMin: base, PortMax: base + 99,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s2 := NewServer(e, "", nil)
	portOf(t, cmd(t, s2, "Uie c 10.0.0.1 5000 ft;1"), "127.0.0.2", "4")
	portOf(t, cmd(t, s2, "Uei c2 10.0.0.1 5000 ft;1"), "127.0.0.1", "4")
	portOf(t, cmd(t, s2, "U c3 10.0.0.1 5000 ft;1"), "127.0.0.1", "4")
}

func TestDeleteQueryInfo(t *testing.T) {
	s := newTestServer(t)
	e := s.engine
	cmd(t, s, "U call1 10.0.0.1 5000 ft;1")
	cmd(t, s, "L call1 10.0.0.2 6000 ft;1 tt;1")
	cmd(t, s, "U call2 10.0.0.1 5000 ft;1")

	q := regexp.MustCompile(`^(-?\d+) 0 0 0 0$`)
	for _, l := range []string{"Q call1 ft tt", "Q call1 tt ft", "Q call1 ft", "Q call1 ft;1 tt;1", "Q call1 xx yy"} {
		got := cmd(t, s, l)
		m := q.FindStringSubmatch(got)
		if m == nil {
			t.Errorf("%s = %q", l, got)
			continue
		}
		if ttl, _ := strconv.Atoi(m[1]); ttl < 3590 || ttl > 3600 {
			t.Errorf("%s: TTL %d, want about 3600", l, ttl)
		}
	}
	if got := cmd(t, s, "Q nocall ft tt"); got != "E8" {
		t.Errorf("Q unknown call = %q", got)
	}

	info := cmd(t, s, "I")
	want := "sessions created: 2\nactive sessions: 2\nactive streams: 4\npackets received: 0\npackets transmitted: 0"
	if info != want {
		t.Errorf("I = %q, want %q", info, want)
	}
	if got := cmd(t, s, "Il"); got != want+"\naverage load: 0.000000" {
		t.Errorf("Il = %q", got)
	}

	for l, want := range map[string]string{
		"D nocall ft":   "E8",
		"D call1 zz":    "E8",
		"D call1 zz yy": "E8",
	} {
		if got := cmd(t, s, l); got != want {
			t.Errorf("%s = %q, want %q", l, got, want)
		}
	}
	if got := cmd(t, s, "D call1 zz tt"); got != "0" {
		t.Errorf("D with a known to-tag = %q", got)
	}
	if e.Call("call1") != nil {
		t.Errorf("call1 not deleted (delete delay 0)")
	}
	if got := cmd(t, s, "X"); got != "0" || e.NumCalls() != 0 {
		t.Errorf("X = %q, %d calls left", got, e.NumCalls())
	}
}

func TestDeleteBranch(t *testing.T) {
	s := newTestServer(t)
	cmd(t, s, "U c;b1 10.0.0.1 5000 ft;1")
	cmd(t, s, "U c;b2 10.0.0.1 5000 ft;1")
	c := s.engine.Call("c")
	c.Lock()
	n := len(c.Legs())
	c.Unlock()
	if n != 3 {
		t.Fatalf("%d legs, want 3 (caller and two forks)", n)
	}
	if got := cmd(t, s, "D c;b1 ft"); got != "0" {
		t.Fatalf("D fork = %q", got)
	}
	c.Lock()
	n = len(c.Legs())
	c.Unlock()
	if n != 2 || s.engine.Call("c") == nil {
		t.Fatalf("after deleting fork b1: %d legs", n)
	}
	cmd(t, s, "D c ft")
	if s.engine.Call("c") != nil {
		t.Fatalf("call not deleted")
	}
}

// TestMalformedChangesNothing: bad commands get an E reply and create,
// change and delete nothing.
func TestMalformedChangesNothing(t *testing.T) {
	s := newTestServer(t)
	cmd(t, s, "U keep 10.0.0.1 5000 ft;1")
	for _, l := range []string{
		"U", "U call 10.0.0.1 5000", "U call host 5000 ft;1", "U call 10.0.0.1 70000 ft;1",
		"U call 10.0.0.1 5000 ft;99", "U keep 10.0.0.1 5000 ft;1 ft;1", "L keep 10.0.0.1 x ft tt",
		"D keep", "D keep ft tt extra", "Q keep", "R keep ft", "C keep x ft", "N keep ft", "G",
		"Z", "P keep moh", "Px keep moh 0 ft", "S keep", "Sx keep ft", "X junk", "Xw", "I junk",
	} {
		before := s.engine.Totals().CallsCreated.Load()
		got := cmd(t, s, l)
		if !regexp.MustCompile(`^E\d+$`).MatchString(got) {
			t.Errorf("%q = %q, want E<code>", l, got)
		}
		if s.engine.NumCalls() != 1 || s.engine.Totals().CallsCreated.Load() != before {
			t.Fatalf("%q changed the calls", l)
		}
	}
	c := s.engine.Call("keep")
	c.Lock()
	defer c.Unlock()
	if ep := c.Legs()[0].Medias[0].Endpoint.String(); ep != "10.0.0.1:5000" {
		t.Errorf("endpoint changed to %s", ep)
	}
}

func TestRetransmission(t *testing.T) {
	s := newTestServer(t)
	first := s.Process("peer1", []byte("ck1 U c 10.0.0.1 5000 ft;1"))
	if first == nil {
		t.Fatal("no reply")
	}
	if got := s.Process("peer1", []byte("ck1 D c ft")); string(got) != string(first) {
		t.Fatalf("retransmitted cookie: %q, want the first reply %q", got, first)
	}
	if s.engine.Call("c") == nil {
		t.Fatal("a retransmission was executed")
	}
	// Another peer's same cookie is another command.
	if got := string(s.Process("peer2", []byte("ck1 D c ft"))); got != "ck1 0\n" {
		t.Fatalf("peer2: %q", got)
	}
	if s.Stats.Retransmits.Load() != 1 {
		t.Errorf("retransmits %d", s.Stats.Retransmits.Load())
	}
	// No cookie, no reply.
	if got := s.Process("peer1", []byte(" \n")); got != nil {
		t.Errorf("empty line answered %q", got)
	}
}

func TestSessionLimitAndDrain(t *testing.T) {
	s := newTestServer(t)
	s.SetMaxSessions(1)
	cmd(t, s, "U c1 10.0.0.1 5000 ft;1")
	if got := cmd(t, s, "U c2 10.0.0.1 5000 ft;1"); got != "E8" {
		t.Errorf("over the limit: %q", got)
	}
	cmd(t, s, "U c1 10.0.0.1 5002 ft;1") // an existing call is fine
	s.SetMaxSessions(-1)
	s.Drain()
	if got := cmd(t, s, "U c3 10.0.0.1 5000 ft;1"); got != "E8" {
		t.Errorf("draining: %q", got)
	}
	if n := s.engine.NumCalls(); n != 1 {
		t.Errorf("%d calls", n)
	}
}

func ExampleServer_Process() {
	e, err := relay.New(relay.Config{
		Interfaces: []relay.InterfaceConfig{{Addr: netip.MustParseAddr("127.0.0.1")}},
		PortMin:    41000, PortMax: 41099,
	}, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()
	s := NewServer(e, "", nil)
	fmt.Printf("%q\n", s.Process("proxy", []byte("1 V")))
	fmt.Printf("%q\n", s.Process("proxy", []byte("2 VF 20050322")))
	fmt.Printf("%q\n", s.Process("proxy", []byte("3 I")))
	// Output:
	// "1 20040107\n"
	// "2 1\n"
	// "3 sessions created: 0\nactive sessions: 0\nactive streams: 0\npackets received: 0\npackets transmitted: 0\n"
}

func TestObserver(t *testing.T) {
	s := newTestServer(t)
	var got []string
	s.SetObserver(func(c string, d time.Duration, failed bool) {
		got = append(got, fmt.Sprintf("%s:%v", c, failed))
	})
	cmd(t, s, "V")
	cmd(t, s, "VF 20050322")
	cmd(t, s, "U c 10.0.0.1 5000 ft")
	cmd(t, s, "D nocall ft")
	cmd(t, s, "R c ft")
	s.Process("p", []byte("ck V"))
	s.Process("p", []byte("ck V")) // cached: not observed
	want := "[V:false VF:false U:false D:true ?:true V:false]"
	if fmt.Sprint(got) != want {
		t.Errorf("observed %v, want %s", got, want)
	}
}
