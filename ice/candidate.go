package ice

import (
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"strconv"
	"strings"
)

// Candidate types (RFC 8445 section 5.1.1, RFC 8839 cand-type).
const (
	TypeHost  = "host"
	TypeSrflx = "srflx"
	TypePrflx = "prflx"
	TypeRelay = "relay"
)

// Type preferences recommended by RFC 8445 section 5.1.2.2.
const (
	TypePrefHost  = 126
	TypePrefPrflx = 110
	TypePrefSrflx = 100
	TypePrefRelay = 0
)

// MaxComponent is the largest ICE component ID (RFC 8839 component-id).
const MaxComponent = 256

// Extension is one "name value" pair of a candidate's cand-extension list,
// e.g. {"generation", "0"} or {"network-cost", "10"}.
type Extension struct {
	Name  string
	Value string
}

// Candidate is one ICE candidate as carried in an SDP a=candidate attribute
// (RFC 8839 section 5.1) or a trickled candidate line.
type Candidate struct {
	// Foundation is 1-32 ice-chars.
	Foundation string
	// Component is the component ID: 1 for RTP, 2 for RTCP when not muxed.
	Component int
	// Transport as written ("udp", "UDP", "tcp"); compare case-insensitively.
	Transport string
	// Priority is the candidate priority (RFC 8445 section 5.1.2).
	Priority uint32
	// Addr is the connection address and port. When the address is a name
	// (Host is set), only Addr.Port() is meaningful.
	Addr netip.AddrPort
	// Host is the connection address when it is a FQDN rather than an IP
	// literal, e.g. an mDNS "<uuid>.local" name used by browsers.
	Host string
	// Type is the cand-type: host, srflx, prflx, relay (or another token).
	Type string
	// RelAddr is the related address (raddr/rport); the zero value when
	// absent.
	RelAddr netip.AddrPort
	// TCPType is the RFC 6544 tcptype (active, passive, so) of a TCP
	// candidate; empty when absent.
	TCPType string
	// Generation is the value of the "generation" extension (0 when absent).
	Generation int
	// Extensions are all cand-extension pairs in their original order,
	// including tcptype and generation. When formatting, the TCPType and
	// Generation fields take precedence over the values listed here; a
	// non-empty TCPType or non-zero Generation missing from this list is
	// written before the others.
	Extensions []Extension
}

// ErrBadCandidate is wrapped by all ParseCandidate errors.
var ErrBadCandidate = errors.New("ice: bad candidate")

func candErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadCandidate}, args...)...)
}

// ParseCandidate parses the value of an a=candidate attribute per RFC 8839
// section 5.1 (and RFC 6544 for TCP candidates), e.g.
//
//	3802297132 1 udp 2122260223 192.0.2.3 55380 typ host generation 0
//
// A leading "a=candidate:" or "candidate:" is accepted and ignored, as is
// surrounding white space. Unknown extensions are kept in Extensions.
// Formatting the result with String gives back the input when it was
// written with single spaces.
func ParseCandidate(attrValue string) (Candidate, error) {
	s := strings.TrimSpace(attrValue)
	s = strings.TrimPrefix(s, "a=")
	s = strings.TrimPrefix(s, "candidate:")
	f := strings.Fields(s)
	if len(f) < 8 {
		return Candidate{}, candErr("%d fields, need at least 8", len(f))
	}
	var c Candidate
	c.Foundation = f[0]
	if n := len(c.Foundation); n < 1 || n > 32 || !isICEString(c.Foundation) {
		return Candidate{}, candErr("foundation %q", f[0])
	}
	comp, err := parseDigits(f[1], 3)
	if err != nil || comp < 1 || comp > MaxComponent {
		return Candidate{}, candErr("component-id %q", f[1])
	}
	c.Component = int(comp)
	if !isToken(f[2]) {
		return Candidate{}, candErr("transport %q", f[2])
	}
	c.Transport = f[2]
	prio, err := parseDigits(f[3], 10)
	if err != nil || prio > 1<<32-1 {
		return Candidate{}, candErr("priority %q", f[3])
	}
	c.Priority = uint32(prio)
	port, err := parsePort(f[5])
	if err != nil {
		return Candidate{}, err
	}
	if ip, err := netip.ParseAddr(f[4]); err == nil {
		c.Addr = netip.AddrPortFrom(ip, port)
	} else if isFQDN(f[4]) {
		c.Host = f[4]
		c.Addr = netip.AddrPortFrom(netip.Addr{}, port)
	} else {
		return Candidate{}, candErr("connection-address %q", f[4])
	}
	if f[6] != "typ" {
		return Candidate{}, candErr("expected \"typ\", got %q", f[6])
	}
	if !isToken(f[7]) {
		return Candidate{}, candErr("cand-type %q", f[7])
	}
	c.Type = f[7]
	rest := f[8:]
	if len(rest)%2 != 0 {
		return Candidate{}, candErr("dangling extension name %q", rest[len(rest)-1])
	}
	var raddr netip.Addr
	var haveRaddr, haveRport bool
	var rport uint16
	for i := 0; i < len(rest); i += 2 {
		name, val := rest[i], rest[i+1]
		switch name {
		case "raddr":
			if haveRaddr {
				return Candidate{}, candErr("duplicate raddr")
			}
			if raddr, err = netip.ParseAddr(val); err != nil {
				return Candidate{}, candErr("raddr %q", val)
			}
			haveRaddr = true
		case "rport":
			if haveRport {
				return Candidate{}, candErr("duplicate rport")
			}
			if rport, err = parsePort(val); err != nil {
				return Candidate{}, err
			}
			haveRport = true
		default:
			if !isNonWS(name) || !isNonWS(val) {
				return Candidate{}, candErr("extension %q %q", name, val)
			}
			switch name {
			case "tcptype":
				c.TCPType = val
			case "generation":
				g, err := parseDigits(val, 9)
				if err != nil {
					return Candidate{}, candErr("generation %q", val)
				}
				c.Generation = int(g)
			}
			c.Extensions = append(c.Extensions, Extension{Name: name, Value: val})
		}
	}
	if haveRaddr != haveRport {
		return Candidate{}, candErr("raddr and rport must come together")
	}
	if haveRaddr {
		c.RelAddr = netip.AddrPortFrom(raddr, rport)
	}
	return c, nil
}

// String formats c as the value of an a=candidate attribute (without the
// "a=candidate:" prefix).
func (c Candidate) String() string {
	var b strings.Builder
	b.Grow(96)
	b.WriteString(c.Foundation)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(c.Component))
	b.WriteByte(' ')
	b.WriteString(c.Transport)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(c.Priority), 10))
	b.WriteByte(' ')
	if c.Host != "" {
		b.WriteString(c.Host)
	} else {
		b.WriteString(c.Addr.Addr().String())
	}
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(int(c.Addr.Port())))
	b.WriteString(" typ ")
	b.WriteString(c.Type)
	if c.RelAddr.Addr().IsValid() {
		b.WriteString(" raddr ")
		b.WriteString(c.RelAddr.Addr().String())
		b.WriteString(" rport ")
		b.WriteString(strconv.Itoa(int(c.RelAddr.Port())))
	}
	var sawTCP, sawGen bool
	for _, e := range c.Extensions {
		switch e.Name {
		case "tcptype":
			sawTCP = true
		case "generation":
			sawGen = true
		}
	}
	if c.TCPType != "" && !sawTCP {
		b.WriteString(" tcptype ")
		b.WriteString(c.TCPType)
	}
	if c.Generation != 0 && !sawGen {
		b.WriteString(" generation ")
		b.WriteString(strconv.Itoa(c.Generation))
	}
	for _, e := range c.Extensions {
		val := e.Value
		switch e.Name {
		case "tcptype":
			if c.TCPType == "" {
				continue
			}
			val = c.TCPType
		case "generation":
			val = strconv.Itoa(c.Generation)
		}
		b.WriteByte(' ')
		b.WriteString(e.Name)
		b.WriteByte(' ')
		b.WriteString(val)
	}
	return b.String()
}

// IsUDP reports whether the candidate's transport is UDP.
func (c Candidate) IsUDP() bool { return strings.EqualFold(c.Transport, "udp") }

// Extension returns the value of the named cand-extension.
func (c Candidate) Extension(name string) (string, bool) {
	for _, e := range c.Extensions {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// CandidatePriority computes a candidate priority per RFC 8445 section
// 5.1.2.1: 2^24*type preference + 2^8*local preference + (256 - component).
// typ is one of the Type constants; unknown types get preference 0.
func CandidatePriority(typ string, localPref uint16, component int) uint32 {
	var tp uint32
	switch typ {
	case TypeHost:
		tp = TypePrefHost
	case TypePrflx:
		tp = TypePrefPrflx
	case TypeSrflx:
		tp = TypePrefSrflx
	case TypeRelay:
		tp = TypePrefRelay
	}
	component = min(max(component, 1), MaxComponent)
	return tp<<24 | uint32(localPref)<<8 | uint32(256-component)
}

// HostCandidate returns the UDP host candidate for a relay socket bound to
// addr. Its priority follows RFC 8445 section 5.1.2.1 with localPref as
// local preference (65535 for a single-homed relay), and its foundation is
// stable: it depends only on the type, the base IP address and the
// transport (RFC 8445 section 5.1.1.3), so all components and all calls on
// the same IP share it.
func HostCandidate(addr netip.AddrPort, component int, localPref uint16) Candidate {
	ip := addr.Addr().Unmap()
	return Candidate{
		Foundation: foundation(TypeHost, ip, "udp"),
		Component:  component,
		Transport:  "udp",
		Priority:   CandidatePriority(TypeHost, localPref, component),
		Addr:       netip.AddrPortFrom(ip, addr.Port()),
		Type:       TypeHost,
	}
}

func foundation(typ string, ip netip.Addr, transport string) string {
	h := crc32.NewIEEE()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	b, _ := ip.MarshalBinary()
	h.Write(b)
	h.Write([]byte{0})
	h.Write([]byte(transport))
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

func parseDigits(s string, maxLen int) (uint64, error) {
	if len(s) == 0 || len(s) > maxLen {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

func parsePort(s string) (uint16, error) {
	p, err := parseDigits(s, 5)
	if err != nil || p > 65535 {
		return 0, candErr("port %q", s)
	}
	return uint16(p), nil
}

// isToken reports whether s is an RFC 4566 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isNonWS(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// isFQDN accepts host names as used by candidates (letters, digits,
// hyphens and dots, at most 255 characters), e.g. mDNS ".local" names.
func isFQDN(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
