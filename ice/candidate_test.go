package ice

import (
	"bufio"
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const fixtureDir = "../../shared/fixtures/sdp"

// TestParseCandidate covers the RFC 8839 section 5.1 grammar, RFC 6544 TCP
// candidates and the extensions browsers add.
func TestParseCandidate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Candidate
	}{
		{
			name: "RFC8839 Chrome UDP host with extensions",
			in:   "3802297132 1 udp 2122260223 192.0.2.3 55380 typ host generation 0 network-id 1 network-cost 10",
			want: Candidate{Foundation: "3802297132", Component: 1, Transport: "udp", Priority: 2122260223,
				Addr: netip.MustParseAddrPort("192.0.2.3:55380"), Type: TypeHost,
				Extensions: []Extension{{"generation", "0"}, {"network-id", "1"}, {"network-cost", "10"}}},
		},
		{
			name: "RFC6544 TCP active with discard port 9",
			in:   "2887880668 1 tcp 1518280447 192.0.2.3 9 typ host tcptype active generation 0 network-id 1 network-cost 10",
			want: Candidate{Foundation: "2887880668", Component: 1, Transport: "tcp", Priority: 1518280447,
				Addr: netip.MustParseAddrPort("192.0.2.3:9"), Type: TypeHost, TCPType: "active",
				Extensions: []Extension{{"tcptype", "active"}, {"generation", "0"}, {"network-id", "1"}, {"network-cost", "10"}}},
		},
		{
			name: "RFC8839 srflx with raddr/rport and generation 2",
			in:   "842163049 1 udp 1677729535 198.51.100.9 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 2 ufrag Ab12",
			want: Candidate{Foundation: "842163049", Component: 1, Transport: "udp", Priority: 1677729535,
				Addr: netip.MustParseAddrPort("198.51.100.9:61665"), Type: TypeSrflx,
				RelAddr: netip.MustParseAddrPort("10.0.0.5:61665"), Generation: 2,
				Extensions: []Extension{{"generation", "2"}, {"ufrag", "Ab12"}}},
		},
		{
			name: "RFC8839 Firefox uppercase UDP relay, RTCP component",
			in:   "5 2 UDP 8331006 203.0.113.50 53771 typ relay raddr 203.0.113.50 rport 53771",
			want: Candidate{Foundation: "5", Component: 2, Transport: "UDP", Priority: 8331006,
				Addr: netip.MustParseAddrPort("203.0.113.50:53771"), Type: TypeRelay,
				RelAddr: netip.MustParseAddrPort("203.0.113.50:53771")},
		},
		{
			name: "RFC8839 IPv6 prflx with foundation of ice-chars",
			in:   "a+/Z9 1 udp 1845501695 2001:db8::1 40000 typ prflx raddr :: rport 0",
			want: Candidate{Foundation: "a+/Z9", Component: 1, Transport: "udp", Priority: 1845501695,
				Addr: netip.MustParseAddrPort("[2001:db8::1]:40000"), Type: TypePrflx,
				RelAddr: netip.MustParseAddrPort("[::]:0")},
		},
		{
			name: "draft-ietf-mmusic-mdns-ice-candidates mDNS host name",
			in:   "1 1 udp 2113937151 3c5f1a2b-4d6e-4f70-8a91-b2c3d4e5f607.local 51000 typ host generation 0",
			want: Candidate{Foundation: "1", Component: 1, Transport: "udp", Priority: 2113937151,
				Addr: netip.AddrPortFrom(netip.Addr{}, 51000), Host: "3c5f1a2b-4d6e-4f70-8a91-b2c3d4e5f607.local",
				Type: TypeHost, Extensions: []Extension{{"generation", "0"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, prefix := range []string{"", "candidate:", "a=candidate:"} {
				got, err := ParseCandidate(prefix + tc.in + "\r\n")
				if err != nil {
					t.Fatal(err)
				}
				if got.String() != tc.in {
					t.Errorf("String() = %q, want %q", got.String(), tc.in)
				}
				if !equalCandidate(got, tc.want) {
					t.Errorf("got %+v\nwant %+v", got, tc.want)
				}
			}
		})
	}
}

func equalCandidate(a, b Candidate) bool {
	return slices.Equal(a.Extensions, b.Extensions) && a.Foundation == b.Foundation && a.Component == b.Component &&
		a.Transport == b.Transport && a.Priority == b.Priority && a.Addr == b.Addr && a.Host == b.Host &&
		a.Type == b.Type && a.RelAddr == b.RelAddr && a.TCPType == b.TCPType && a.Generation == b.Generation
}

func TestParseCandidateErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"too few fields", "1 1 udp 1 192.0.2.1 1000 typ"},
		{"foundation too long", strings.Repeat("a", 33) + " 1 udp 1 192.0.2.1 1000 typ host"},
		{"foundation not ice-chars", "a-b 1 udp 1 192.0.2.1 1000 typ host"},
		{"component 0", "1 0 udp 1 192.0.2.1 1000 typ host"},
		{"component 257", "1 257 udp 1 192.0.2.1 1000 typ host"},
		{"component not digits", "1 x udp 1 192.0.2.1 1000 typ host"},
		{"transport not a token", "1 1 u(p 1 192.0.2.1 1000 typ host"},
		{"priority overflows 32 bits", "1 1 udp 4294967296 192.0.2.1 1000 typ host"},
		{"priority negative", "1 1 udp -1 192.0.2.1 1000 typ host"},
		{"bad address", "1 1 udp 1 192.0.2.1:5 1000 typ host"},
		{"port too large", "1 1 udp 1 192.0.2.1 65536 typ host"},
		{"missing typ", "1 1 udp 1 192.0.2.1 1000 type host"},
		{"dangling extension", "1 1 udp 1 192.0.2.1 1000 typ host generation"},
		{"raddr without rport", "1 1 udp 1 192.0.2.1 1000 typ srflx raddr 10.0.0.1"},
		{"rport without raddr", "1 1 udp 1 192.0.2.1 1000 typ srflx rport 1"},
		{"bad raddr", "1 1 udp 1 192.0.2.1 1000 typ srflx raddr x.local rport 1"},
		{"duplicate raddr", "1 1 udp 1 192.0.2.1 1000 typ srflx raddr 10.0.0.1 raddr 10.0.0.1 rport 1"},
		{"bad generation", "1 1 udp 1 192.0.2.1 1000 typ host generation x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := ParseCandidate(tc.in); !errors.Is(err, ErrBadCandidate) {
				t.Errorf("ParseCandidate(%q) = %+v, %v; want ErrBadCandidate", tc.in, c, err)
			}
		})
	}
}

// TestCandidateFieldsWin: the typed fields override the listed extensions.
func TestCandidateFieldsWin(t *testing.T) {
	c, err := ParseCandidate("1 1 tcp 5 192.0.2.1 9 typ host tcptype active generation 0 network-id 3")
	if err != nil {
		t.Fatal(err)
	}
	c.Generation, c.TCPType = 4, "passive"
	if got, want := c.String(), "1 1 tcp 5 192.0.2.1 9 typ host tcptype passive generation 4 network-id 3"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	c.TCPType = ""
	if got, want := c.String(), "1 1 tcp 5 192.0.2.1 9 typ host generation 4 network-id 3"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	c = Candidate{Foundation: "1", Component: 1, Transport: "tcp", Priority: 5, Addr: netip.MustParseAddrPort("192.0.2.1:9"),
		Type: TypeHost, TCPType: "so", Generation: 1}
	if got, want := c.String(), "1 1 tcp 5 192.0.2.1 9 typ host tcptype so generation 1"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if v, ok := c.Extension("network-id"); ok {
		t.Errorf("Extension = %q", v)
	}
}

// TestCandidateFixtures round-trips every a=candidate line of the shared
// SDP fixtures.
func TestCandidateFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.sdp"))
	if len(files) == 0 {
		t.Skipf("shared fixtures not available in %s", fixtureDir)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			val, ok := strings.CutPrefix(line, "a=candidate:")
			if !ok {
				continue
			}
			n++
			c, err := ParseCandidate(val)
			if err != nil {
				t.Errorf("%s: %q: %v", filepath.Base(f), line, err)
				continue
			}
			if got := c.String(); got != val {
				t.Errorf("%s: round trip\n got %q\nwant %q", filepath.Base(f), got, val)
			}
			if c.Type == TypeHost && c.Transport == "udp" && c.Host == "" {
				// Chrome computes host priorities per RFC 8445 5.1.2.1.
				lp := uint16(c.Priority >> 8)
				if CandidatePriority(TypeHost, lp, c.Component) != c.Priority {
					t.Errorf("%s: priority %d not of RFC 8445 form", filepath.Base(f), c.Priority)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no a=candidate lines in the fixtures")
	}
	t.Logf("%d candidate lines round-tripped", n)
}

// TestHostCandidate covers RFC 8445 5.1.2.1 priorities and 5.1.1.3
// foundations.
func TestHostCandidate(t *testing.T) {
	a := netip.MustParseAddrPort("203.0.113.1:30000")
	tests := []struct {
		comp      int
		localPref uint16
		want      uint32
	}{
		{1, 65535, 126<<24 | 65535<<8 | 255}, // 2130706431
		{2, 65535, 126<<24 | 65535<<8 | 254},
		{1, 0, 126<<24 | 255},
		{256, 10, 126<<24 | 10<<8},
	}
	for _, tc := range tests {
		c := HostCandidate(a, tc.comp, tc.localPref)
		if c.Priority != tc.want {
			t.Errorf("component %d pref %d: priority %d, want %d", tc.comp, tc.localPref, c.Priority, tc.want)
		}
		back, err := ParseCandidate(c.String())
		if err != nil || !equalCandidate(back, c) {
			t.Errorf("round trip %q: %+v %v", c.String(), back, err)
		}
	}
	if got := CandidatePriority(TypeHost, 65535, 1); got != 2130706431 {
		t.Errorf("host priority %d", got)
	}
	if got := CandidatePriority(TypeSrflx, 65535, 1); got != 1694498815 {
		t.Errorf("srflx priority %d", got)
	}
	if got := CandidatePriority(TypeRelay, 65535, 1); got != 16777215 {
		t.Errorf("relay priority %d", got)
	}
	f1 := HostCandidate(a, 1, 65535).Foundation
	if f2 := HostCandidate(netip.MustParseAddrPort("203.0.113.1:30001"), 2, 1).Foundation; f1 != f2 {
		t.Error("foundation depends on port or component")
	}
	if f3 := HostCandidate(netip.MustParseAddrPort("[::ffff:203.0.113.1]:1"), 1, 1).Foundation; f1 != f3 {
		t.Error("foundation differs for the IPv4-mapped form")
	}
	if f4 := HostCandidate(netip.MustParseAddrPort("203.0.113.2:30000"), 1, 65535).Foundation; f1 == f4 {
		t.Error("foundation same for different base addresses")
	}
	if HostCandidate(a, 1, 65535).Foundation != f1 {
		t.Error("foundation not stable")
	}
}

// FuzzParseCandidate: parsing never panics, and formatting a parsed
// candidate gives a line that parses back to the same line.
func FuzzParseCandidate(f *testing.F) {
	f.Add("3802297132 1 udp 2122260223 192.0.2.3 55380 typ host generation 0 network-id 1 network-cost 10")
	f.Add("2887880668 1 tcp 1518280447 192.0.2.3 9 typ host tcptype active generation 0 network-id 1 network-cost 10")
	f.Add("842163049 1 udp 1677729535 198.51.100.9 61665 typ srflx raddr 10.0.0.5 rport 61665 generation 2")
	f.Add("1 1 udp 2113937151 abc.local 51000 typ host")
	f.Add("a+/Z9 1 udp 1845501695 fe80::1%eth0 40000 typ prflx raddr :: rport 0")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCandidate(s)
		if err != nil {
			return
		}
		line := c.String()
		c2, err := ParseCandidate(line)
		if err != nil {
			t.Fatalf("formatted %q does not parse: %v", line, err)
		}
		if c2.String() != line {
			t.Fatalf("not stable: %q -> %q", line, c2.String())
		}
	})
}
