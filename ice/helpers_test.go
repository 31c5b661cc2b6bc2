package ice

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// detRand is a deterministic randomness source.
func detRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

var (
	// Browser-side (remote) and relay-side (local) credentials used by
	// most tests.
	browserCreds = Credentials{Ufrag: "BrWs", Pwd: "browserPasswordBrowser12"}
	relayCreds   = Credentials{Ufrag: "ReLaYuFr", Pwd: "relayPasswordRelayPasswd"}

	browserAddr = netip.MustParseAddrPort("198.51.100.7:54321")
	relayAddr   = netip.MustParseAddrPort("203.0.113.1:30000")
)

// reqOpts describes a Binding request as a browser builds it.
type reqOpts struct {
	tid         [12]byte
	user        string // USERNAME; "" means none
	pwd         string // MESSAGE-INTEGRITY key; "" means no MESSAGE-INTEGRITY
	priority    uint32 // 0 means no PRIORITY
	controlling *uint64
	controlled  *uint64
	useCand     bool
	netInfo     bool // Chrome's GOOG-NETWORK-INFO (0xC057)
	firefox     bool // Firefox attribute order: PRIORITY first
	extra       []stun.RawAttribute
	afterMI     []stun.RawAttribute // attributes smuggled after MESSAGE-INTEGRITY
	noFP        bool
	indication  bool
}

func u64(v uint64) *uint64 { return &v }

func tidOf(s string) (t [12]byte) { copy(t[:], s); return t }

// buildRequest builds a Binding request (or indication) like a browser's.
func buildRequest(tb testing.TB, o reqOpts) []byte {
	tb.Helper()
	typ := stun.BindingRequest
	if o.indication {
		typ = stun.NewType(stun.MethodBinding, stun.ClassIndication)
	}
	s := []stun.Setter{stun.NewTransactionIDSetter(o.tid), typ}
	prio := func() {
		if o.priority != 0 {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], o.priority)
			s = append(s, stun.RawAttribute{Type: stun.AttrPriority, Value: b[:]})
		}
	}
	if o.firefox {
		prio()
	}
	if o.user != "" {
		s = append(s, stun.NewUsername(o.user))
	}
	if o.netInfo {
		s = append(s, stun.RawAttribute{Type: 0xC057, Value: []byte{0, 1, 0, 10}})
	}
	if o.controlling != nil {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], *o.controlling)
		s = append(s, stun.RawAttribute{Type: stun.AttrICEControlling, Value: b[:]})
	}
	if o.controlled != nil {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], *o.controlled)
		s = append(s, stun.RawAttribute{Type: stun.AttrICEControlled, Value: b[:]})
	}
	if o.useCand {
		s = append(s, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	if !o.firefox {
		prio()
	}
	for _, a := range o.extra {
		s = append(s, a)
	}
	if o.pwd != "" {
		s = append(s, stun.NewShortTermIntegrity(o.pwd))
	}
	for _, a := range o.afterMI {
		s = append(s, a)
	}
	if !o.noFP {
		s = append(s, stun.Fingerprint)
	}
	m, err := stun.Build(s...)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Raw
}

// chromeCheck is a Chrome-style check from the browser (controlling) to the
// relay, authenticated with the relay's credentials.
func chromeCheck(tb testing.TB, tid string, useCand bool) []byte {
	return buildRequest(tb, reqOpts{
		tid: tidOf(tid), user: relayCreds.Ufrag + ":" + browserCreds.Ufrag, pwd: relayCreds.Pwd,
		priority: 1853817087, controlling: u64(0x1122334455667788), useCand: useCand, netInfo: true,
	})
}

// decodeResp parses a response and checks its FINGERPRINT.
func decodeResp(tb testing.TB, b []byte) *stun.Message {
	tb.Helper()
	if b == nil {
		tb.Fatal("no response")
	}
	m := new(stun.Message)
	m.Raw = append(m.Raw, b...)
	if err := m.Decode(); err != nil {
		tb.Fatalf("response does not decode: %v", err)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		tb.Fatalf("response FINGERPRINT: %v", err)
	}
	return m
}

func errCode(tb testing.TB, m *stun.Message) stun.ErrorCode {
	tb.Helper()
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(m); err != nil {
		tb.Fatalf("ERROR-CODE: %v", err)
	}
	return ec.Code
}

func xorMapped(tb testing.TB, m *stun.Message) netip.AddrPort {
	tb.Helper()
	var x stun.XORMappedAddress
	if err := x.GetFrom(m); err != nil {
		tb.Fatalf("XOR-MAPPED-ADDRESS: %v", err)
	}
	ip, ok := netip.AddrFromSlice(x.IP)
	if !ok {
		tb.Fatalf("bad IP %v", x.IP)
	}
	if len(x.IP) == net.IPv4len {
		ip = ip.Unmap()
	}
	return netip.AddrPortFrom(ip, uint16(x.Port))
}

// newLite returns a lite relay agent towards the browser.
func newLite(clk *fakeClock) *Agent {
	return NewAgent(Config{Local: relayCreds, Remote: browserCreds, Lite: true, Now: clk.Now, Rand: detRand(1), Tiebreaker: 5})
}
