package config

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Validate checks the configuration as a whole and returns an error naming
// every offending option (errors.Join of one error per problem), or nil.
func (c Config) Validate() error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	// interfaces
	if len(c.Interfaces) == 0 {
		fail("no --interface configured: ngrelay needs at least one local address for media")
	}
	type nameFamily struct {
		name string
		v4   bool
	}
	first := map[nameFamily]netip.Addr{}
	for _, ifc := range c.Interfaces {
		switch {
		case ifc.Name == "":
			fail("--interface=%s has an empty name", ifc.Addr)
			continue
		case !ifc.Addr.IsValid():
			fail("--interface %q has no address", ifc.Name)
			continue
		case ifc.Addr.IsUnspecified():
			fail("--interface=%s/%s: unspecified address (use \"any\" for all interfaces)", ifc.Name, ifc.Addr)
			continue
		}
		key := nameFamily{ifc.Name, ifc.Addr.Is4()}
		if prev, dup := first[key]; dup {
			fail("--interface: logical interface %q has two %s addresses (%s and %s); ngrelay allows one per family",
				ifc.Name, family(ifc.Addr), prev, ifc.Addr)
			continue
		}
		first[key] = ifc.Addr
	}

	// media ports
	portsOK := true
	for _, p := range []struct {
		name string
		v    int
	}{{"port-min", c.PortMin}, {"port-max", c.PortMax}} {
		if p.v < 1 || p.v > 65535 {
			fail("--%s=%d is out of range 1..65535", p.name, p.v)
			portsOK = false
		}
	}
	if portsOK {
		if c.PortMin > c.PortMax {
			fail("--port-min=%d is above --port-max=%d", c.PortMin, c.PortMax)
		} else if even := c.PortMin + c.PortMin%2; even+1 > c.PortMax {
			fail("--port-min=%d and --port-max=%d leave no even/odd port pair for RTP and RTCP", c.PortMin, c.PortMax)
		}
	}

	// control listeners
	if len(c.ListenNG)+len(c.ListenTCPNG)+len(c.ListenUDP)+len(c.ListenTCP) == 0 {
		fail("no control protocol listener: give --listen-ng, --listen-tcp-ng, --listen-udp or --listen-tcp")
	}
	for _, l := range []struct {
		name string
		aps  []netip.AddrPort
	}{
		{"listen-ng", c.ListenNG}, {"listen-tcp-ng", c.ListenTCPNG}, {"listen-cli", c.ListenCLI},
		{"listen-http", c.ListenHTTP}, {"listen-udp", c.ListenUDP}, {"listen-tcp", c.ListenTCP},
	} {
		for _, ap := range l.aps {
			if !ap.IsValid() || ap.Port() == 0 {
				fail("--%s=%s is not a valid address and port", l.name, ap)
			}
		}
	}

	// timeouts
	for _, t := range []struct {
		name     string
		d        time.Duration
		positive bool
	}{
		{"timeout", c.Timeout, true}, {"silent-timeout", c.SilentTimeout, true},
		{"offer-timeout", c.OfferTimeout, true}, {"final-timeout", c.FinalTimeout, false},
		{"delete-delay", c.DeleteDelay, false},
	} {
		switch {
		case t.positive && t.d <= 0:
			fail("--%s=%s must be positive", t.name, seconds(t.d))
		case t.d < 0:
			fail("--%s=%s must not be negative", t.name, seconds(t.d))
		}
	}

	// the rest
	if c.TOS < 0 || c.TOS > 255 {
		fail("--tos=%d is out of range 0..255", c.TOS)
	}
	if c.LogLevel < 0 || c.LogLevel > 7 {
		fail("--log-level=%d is out of range 0..7", c.LogLevel)
	}
	if _, err := checkFacility(c.LogFacility); err != nil {
		fail("--log-facility=%s: %v", c.LogFacility, err)
	}
	switch c.LogFormat {
	case LogFormatDefault, LogFormatParsable, LogFormatJSON:
	default:
		fail("--log-format=%s: must be default, parsable or json", c.LogFormat)
	}
	if c.NumThreads < 0 {
		fail("--num-threads=%d must not be negative", c.NumThreads)
	}
	if c.MaxSessions < -1 {
		fail("--max-sessions=%d is out of range (-1 for no limit)", c.MaxSessions)
	}
	if c.SocketRcvBuf < 0 {
		fail("--socket-rcvbuf=%d must not be negative", c.SocketRcvBuf)
	}
	if c.SocketSndBuf < 0 {
		fail("--socket-sndbuf=%d must not be negative", c.SocketSndBuf)
	}
	if c.ShutdownGraceSecs < 0 {
		fail("--shutdown-grace=%d must not be negative", c.ShutdownGraceSecs)
	}
	if (c.DTLSCert == "") != (c.DTLSKey == "") {
		fail("--dtls-cert and --dtls-key go together")
	}
	return errors.Join(errs...)
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// seconds formats d as rtpengine's options give it: whole seconds.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprint(int64(d / time.Second))
	}
	return d.String()
}
