package sdp

import (
	"net/netip"
	"strconv"
	"strings"
)

// nextField returns the first space- or tab-separated field of s and the
// text after it.
func nextField(s string) (field, rest string) {
	i := 0
	for i < len(s) && isWS(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isWS(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// fields splits s into at most len(dst) fields; further fields are dropped.
// It returns the number of fields stored.
func fields(s string, dst []string) int {
	n := 0
	for n < len(dst) {
		var f string
		if f, s = nextField(s); f == "" {
			break
		}
		dst[n] = f
		n++
	}
	return n
}

// Origin is the o= line: "o=<username> <sess-id> <sess-version> <nettype>
// <addrtype> <unicast-address>". Address is empty when the sender left it
// out, as some phones do.
type Origin struct {
	Username, SessID, SessVersion, NetType, AddrType, Address string
}

func parseOrigin(v string) (Origin, bool) {
	var f [6]string
	if fields(v, f[:]) < 5 {
		return Origin{}, false
	}
	return Origin{f[0], f[1], f[2], f[3], f[4], f[5]}, true
}

// String renders the value of the o= line. Empty fields other than Address
// are written as "-"; an empty Address is left out.
func (o Origin) String() string {
	var b strings.Builder
	for i, f := range [...]string{o.Username, o.SessID, o.SessVersion, o.NetType, o.AddrType} {
		if i > 0 {
			b.WriteByte(' ')
		}
		if f == "" {
			f = "-"
		}
		b.WriteString(f)
	}
	if o.Address != "" {
		b.WriteByte(' ')
		b.WriteString(o.Address)
	}
	return b.String()
}

// Connection is a c= line: "c=<nettype> <addrtype> <connection-address>".
// A multicast address suffix is split off into TTL and NumAddrs, kept as
// text: "224.2.1.1/127/3" (IP4) has TTL "127" and NumAddrs "3",
// "ff15::101/3" (IP6) has NumAddrs "3". Address is empty when the sender left
// it out, as some phones do.
type Connection struct {
	NetType, AddrType, Address string
	TTL, NumAddrs              string
}

// NewConnection returns "IN IP4 a" or "IN IP6 a". An IPv4-mapped IPv6
// address is written as IPv4; a zone is dropped.
func NewConnection(a netip.Addr) Connection {
	a = a.Unmap().WithZone("")
	t := "IP4"
	if a.Is6() {
		t = "IP6"
	}
	return Connection{NetType: "IN", AddrType: t, Address: a.String()}
}

func parseConnection(v string) (Connection, bool) {
	var f [3]string
	n := fields(v, f[:])
	if n < 2 {
		return Connection{}, false
	}
	c := Connection{NetType: f[0], AddrType: f[1]}
	if n == 3 {
		c.setAddress(f[2])
	}
	return c, true
}

func (c *Connection) setAddress(a string) {
	addr, suffix, ok := strings.Cut(a, "/")
	c.Address = addr
	if !ok {
		return
	}
	if strings.EqualFold(c.AddrType, "IP6") {
		c.NumAddrs = suffix
		return
	}
	c.TTL, c.NumAddrs, _ = strings.Cut(suffix, "/")
}

// Addr returns the address as a netip.Addr if it is an IP4 or IP6 literal
// matching AddrType.
func (c Connection) Addr() (netip.Addr, bool) {
	a, err := netip.ParseAddr(c.Address)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	switch {
	case strings.EqualFold(c.AddrType, "IP4") && a.Is4(),
		strings.EqualFold(c.AddrType, "IP6") && a.Is6():
		return a, true
	}
	return netip.Addr{}, false
}

// String renders the value of the c= line. An empty NetType is written as
// "IN"; an empty AddrType is guessed from the address.
func (c Connection) String() string {
	nt, at := c.NetType, c.AddrType
	if nt == "" {
		nt = "IN"
	}
	if at == "" {
		at = "IP4"
		if strings.IndexByte(c.Address, ':') >= 0 {
			at = "IP6"
		}
	}
	s := nt + " " + at
	if c.Address != "" {
		s += " " + c.Address
		if c.TTL != "" {
			s += "/" + c.TTL
		}
		if c.NumAddrs != "" {
			s += "/" + c.NumAddrs
		}
	}
	return s
}

// IsHold reports whether c is the RFC 2543 hold address 0.0.0.0 (or its IPv6
// counterpart ::).
func IsHold(c Connection) bool {
	a, ok := c.Addr()
	return ok && a.IsUnspecified()
}

// RTCPAttr is the a=rtcp attribute (RFC 3605): "a=rtcp:<port>" or
// "a=rtcp:<port> <nettype> <addrtype> <address>".
type RTCPAttr struct {
	Port int
	Conn *Connection // nil if only the port is given
}

func parseRTCP(v string) (RTCPAttr, bool) {
	ps, rest := nextField(v)
	p, ok := parsePort(ps)
	if !ok || p > 65535 {
		return RTCPAttr{}, false
	}
	r := RTCPAttr{Port: p}
	if trimWS(rest) == "" {
		return r, true
	}
	c, ok := parseConnection(rest)
	if !ok || c.Address == "" {
		return RTCPAttr{}, false
	}
	r.Conn = &c
	return r, true
}

// String renders the attribute value (after "a=rtcp:").
func (r RTCPAttr) String() string {
	s := strconv.Itoa(r.Port)
	if r.Conn != nil {
		s += " " + r.Conn.String()
	}
	return s
}

// parsePort parses a decimal number made of digits only. Values above
// 65535 are reported as 65536 with ok true, so callers can tell "not
// numeric" from "out of range".
func parsePort(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n <= 65535 {
			n = n*10 + int(c-'0')
		}
	}
	return min(n, 65536), true
}
