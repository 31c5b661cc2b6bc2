package config

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// applySetting parses the value(s) of a supported option into c; for an
// ignored option it only checks the value's syntax.
func applySetting(c *Config, s *setting) error {
	o := s.opt
	fromFile := s.src.file != ""
	bad := func(v string, err error) error {
		return fmt.Errorf("invalid value %q for %s: %v", v, s.src.describe(o), err)
	}
	if o.class != supported {
		if o.class == ignored && len(s.values) > 0 {
			v := s.last()
			var err error
			switch o.arg {
			case argNone:
				_, err = parseBool(v)
			case argInt:
				_, err = parseInt(v, fromFile)
			}
			if err != nil {
				return bad(v, err)
			}
		}
		return nil
	}
	switch p := o.field(c).(type) {
	case *int:
		v, err := parseInt(s.last(), fromFile)
		if err != nil {
			return bad(s.last(), err)
		}
		*p = v
	case *time.Duration:
		v, err := parseInt(s.last(), fromFile)
		if err != nil {
			return bad(s.last(), err)
		}
		*p = time.Duration(v) * time.Second
	case *bool:
		v, err := parseBool(s.last())
		if err != nil {
			return bad(s.last(), err)
		}
		*p = v
	case *string:
		v := s.last()
		if o.check != nil {
			var err error
			if v, err = o.check(v); err != nil {
				return bad(s.last(), err)
			}
		}
		*p = v
	case *[]netip.AddrPort:
		list := []netip.AddrPort{}
		for _, v := range s.values {
			if v == "" {
				continue
			}
			aps, err := parseListen(v)
			if err != nil {
				return bad(v, err)
			}
			list = append(list, aps...)
		}
		*p = list
	case *[]Interface:
		list := []Interface{}
		for _, v := range s.values {
			if v == "" {
				continue
			}
			ifs, err := parseInterface(v)
			if err != nil {
				return bad(v, err)
			}
			list = append(list, ifs...)
		}
		*p = list
	default:
		panic(fmt.Sprintf("config: option --%s has a field of unhandled type %T", o.long, p))
	}
	return nil
}

// copyField copies *src into *dst; both point to fields of the same type.
func copyField(dst, src any) {
	switch d := dst.(type) {
	case *int:
		*d = *src.(*int)
	case *time.Duration:
		*d = *src.(*time.Duration)
	case *bool:
		*d = *src.(*bool)
	case *string:
		*d = *src.(*string)
	default:
		panic(fmt.Sprintf("config: cannot copy a field of type %T", dst))
	}
}

// parseInt parses an integer option value as glib does: on the command
// line like strtol with base 0 (123, 0x7b, 0173 octal), in config files in
// base 10. Surrounding blanks are allowed; the result must fit in 32 bits.
func parseInt(s string, fromFile bool) (int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("not an integer")
	}
	neg := false
	digits := t
	if digits[0] == '+' || digits[0] == '-' {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	base := 10
	if !fromFile {
		switch {
		case len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X"):
			base, digits = 16, digits[2:]
		case len(digits) > 1 && digits[0] == '0':
			base, digits = 8, digits[1:]
		}
	}
	if digits == "" || strings.ContainsAny(digits[:1], "+-") {
		return 0, fmt.Errorf("not an integer")
	}
	u, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("out of range")
		}
		return 0, fmt.Errorf("not an integer")
	}
	v := int64(u)
	if neg {
		v = -v
	}
	if u > 1<<31 || v > 1<<31-1 || v < -1<<31 {
		return 0, fmt.Errorf("out of range")
	}
	return int(v), nil
}

// parseBool parses a flag's value: true/false (as in rtpengine.conf), and
// also yes/no, on/off, 1/0, in any case.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (true or false)")
}

// syslog facility names accepted by rtpengine's --log-facility.
var facilities = map[string]bool{
	"auth": true, "authpriv": true, "cron": true, "daemon": true, "ftp": true,
	"kern": true, "lpr": true, "mail": true, "news": true, "syslog": true,
	"user": true, "uucp": true, "local0": true, "local1": true, "local2": true,
	"local3": true, "local4": true, "local5": true, "local6": true, "local7": true,
}

func checkFacility(s string) (string, error) {
	if !facilities[s] {
		return "", fmt.Errorf("not a syslog facility (daemon, local0 ... local7, user, ...)")
	}
	return s, nil
}

func checkLogFormat(s string) (string, error) {
	switch s {
	case LogFormatDefault, "text":
		return LogFormatDefault, nil
	case LogFormatParsable, LogFormatJSON:
		return s, nil
	}
	return "", fmt.Errorf("must be default, parsable, text or json")
}

func checkIOEngine(s string) (string, error) {
	switch s {
	case "epoll", "io_uring":
		return s, nil
	case "io-uring", "iouring":
		return "io_uring", nil
	}
	return "", fmt.Errorf("must be epoll or io_uring")
}

// Name resolution, replaceable in tests.
var (
	// lookupHost resolves a DNS host name.
	lookupHost = func(host string) ([]netip.Addr, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	// systemInterfaces lists the system's network interfaces.
	systemInterfaces = func() ([]sysInterface, error) {
		ifs, err := net.Interfaces()
		if err != nil {
			return nil, err
		}
		out := make([]sysInterface, 0, len(ifs))
		for _, ifi := range ifs {
			si := sysInterface{
				name:     ifi.Name,
				up:       ifi.Flags&net.FlagUp != 0,
				loopback: ifi.Flags&net.FlagLoopback != 0,
			}
			addrs, err := ifi.Addrs()
			if err != nil {
				return nil, err
			}
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
						si.addrs = append(si.addrs, ip.Unmap())
					}
				}
			}
			out = append(out, si)
		}
		return out, nil
	}
)

// sysInterface is a system network interface and its addresses.
type sysInterface struct {
	name         string
	up, loopback bool
	addrs        []netip.Addr
}

// firstPerFamily keeps the first IPv4 and the first IPv6 address of addrs,
// in their order, skipping unspecified addresses (and IPv6 link-local
// ones when skipLinkLocal).
func firstPerFamily(addrs []netip.Addr, skipLinkLocal bool) []netip.Addr {
	var out []netip.Addr
	var have4, have6 bool
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case !a.IsValid(), a.IsUnspecified():
		case skipLinkLocal && a.Is6() && a.IsLinkLocalUnicast():
		case a.Is4() && !have4:
			have4 = true
			out = append(out, a)
		case a.Is6() && !have6:
			have6 = true
			out = append(out, a)
		}
	}
	return out
}

// parseAddr parses an IP address literal, with or without [brackets];
// zones are not accepted.
func parseAddr(s string) (netip.Addr, bool) {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// resolveHost resolves an address for --interface and the listen options:
// an IP address, the name of a system network interface, "any" (all
// non-loopback interfaces; only when allowAny), or a DNS host name. It
// returns at most one address per family (the first found).
func resolveHost(s string, allowAny bool) ([]netip.Addr, error) {
	if a, ok := parseAddr(s); ok {
		return []netip.Addr{a}, nil
	}
	if s == "" {
		return nil, fmt.Errorf("missing address")
	}
	if allowAny {
		ifs, err := systemInterfaces()
		if err != nil {
			return nil, fmt.Errorf("listing network interfaces: %v", err)
		}
		var addrs []netip.Addr
		found := false
		for _, ifi := range ifs {
			switch {
			case s == "any" && ifi.up && !ifi.loopback:
				addrs = append(addrs, ifi.addrs...)
			case ifi.name == s:
				found = true
				if ifi.up {
					addrs = append(addrs, ifi.addrs...)
				}
			}
		}
		if s == "any" || found {
			if out := firstPerFamily(addrs, true); len(out) > 0 {
				return out, nil
			}
			if s == "any" {
				return nil, fmt.Errorf("no network interface other than loopback has an address")
			}
			return nil, fmt.Errorf("network interface %q is down or has no usable address", s)
		}
	}
	addrs, err := lookupHost(s)
	if err != nil || len(addrs) == 0 {
		what := "address or host name"
		if allowAny {
			what = "address, network interface or host name"
		}
		return nil, fmt.Errorf("no such %s %q", what, s)
	}
	if out := firstPerFamily(addrs, false); len(out) > 0 {
		return out, nil
	}
	return nil, fmt.Errorf("host name %q has no usable address", s)
}

// parseInterface parses an --interface value [NAME/]ADDR[!ADVERTISED].
// ADDR is an IP address, the name of a system network interface, "any"
// or a DNS host name; names resolve to their first address of each family.
// ADVERTISED is an IP address or a DNS host name.
func parseInterface(s string) ([]Interface, error) {
	name := "default"
	spec := strings.TrimSpace(s)
	if n, rest, ok := strings.Cut(spec, "/"); ok {
		if n == "" {
			return nil, fmt.Errorf("empty interface name before \"/\"")
		}
		name, spec = n, rest
	}
	local, adv, hasAdv := strings.Cut(spec, "!")
	addrs, err := resolveHost(local, true)
	if err != nil {
		return nil, err
	}
	var advertised []netip.Addr
	if hasAdv {
		if advertised, err = resolveHost(adv, false); err != nil {
			return nil, fmt.Errorf("advertised address: %v", err)
		}
		if advertised[0].IsUnspecified() {
			return nil, fmt.Errorf("advertised address %s is unspecified", advertised[0])
		}
	}
	var out []Interface
	for _, a := range addrs {
		if a.IsUnspecified() {
			return nil, fmt.Errorf("%s is not a local address (use \"any\" for all interfaces)", a)
		}
		ifc := Interface{Name: name, Addr: a}
		if hasAdv {
			// the advertised address of the same family, if any
			ifc.Advertised = advertised[0]
			for _, adv := range advertised {
				if adv.Is4() == a.Is4() {
					ifc.Advertised = adv
					break
				}
			}
		}
		out = append(out, ifc)
	}
	return out, nil
}

// parseListen parses a listen option value [ADDR:]PORT. ADDR is an IPv4
// address, an IPv6 address (in brackets, or bare as rtpengine allows) or a
// DNS host name; without ADDR the port is opened on 0.0.0.0 and [::].
func parseListen(s string) ([]netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	host, portStr := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, portStr = s[:i], s[i+1:]
		if host == "" {
			return nil, fmt.Errorf("missing address before \":\"")
		}
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("port must be a number from 1 to 65535")
	}
	if host == "" {
		return []netip.AddrPort{
			netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)),
			netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)),
		}, nil
	}
	addrs, err := resolveHost(host, false)
	if err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, len(addrs))
	for i, a := range addrs {
		out[i] = netip.AddrPortFrom(a, uint16(port))
	}
	return out, nil
}
