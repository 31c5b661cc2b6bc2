package relay

import (
	"fmt"
	"net/netip"
	"time"
)

// InterfaceConfig is one configured local address: rtpengine's
// --interface=[NAME/]ADDR[!ADVERTISED].
type InterfaceConfig struct {
	Name       string
	Addr       netip.Addr
	Advertised netip.Addr // zero when the local address is advertised
}

// LocalAddr is one address of a logical interface, with its port pool. Media
// streams are bound on Addr and announced in SDP with Advertise.
type LocalAddr struct {
	Interface string
	Addr      netip.Addr
	Advertise netip.Addr
	Ports     *PortPool
}

// Family returns "IP4" or "IP6", as SDP spells it.
func (l *LocalAddr) Family() string {
	if l.Addr.Is4() {
		return "IP4"
	}
	return "IP6"
}

// interfaces groups the configured addresses by logical interface name, in
// configuration order.
type interfaces struct {
	order  []string
	byName map[string][]*LocalAddr
}

func newInterfaces(cfgs []InterfaceConfig, portMin, portMax int, hold time.Duration) (*interfaces, error) {
	if len(cfgs) == 0 {
		return nil, fmt.Errorf("no interface configured")
	}
	ifs := &interfaces{byName: map[string][]*LocalAddr{}}
	for _, c := range cfgs {
		name := c.Name
		if name == "" {
			name = "default"
		}
		if !c.Addr.IsValid() {
			return nil, fmt.Errorf("interface %q: no address", name)
		}
		pool, err := NewPortPool(portMin, portMax, hold)
		if err != nil {
			return nil, fmt.Errorf("interface %s/%s: %w", name, c.Addr, err)
		}
		adv := c.Advertised
		if !adv.IsValid() {
			adv = c.Addr
		}
		if _, ok := ifs.byName[name]; !ok {
			ifs.order = append(ifs.order, name)
		}
		ifs.byName[name] = append(ifs.byName[name], &LocalAddr{Interface: name, Addr: c.Addr.Unmap(), Advertise: adv.Unmap(), Ports: pool})
	}
	return ifs, nil
}

// pick returns the address of interface name (the first configured one when
// name is empty) in the wanted family ("IP4", "IP6", or "" for the
// interface's first address). When the interface has no address of that
// family, its first address is used: rtpengine bridges families that way.
func (ifs *interfaces) pick(name, family string) (*LocalAddr, error) {
	if name == "" {
		name = ifs.order[0]
	}
	addrs, ok := ifs.byName[name]
	if !ok {
		return nil, fmt.Errorf("unknown interface %q", name)
	}
	if family != "" {
		for _, a := range addrs {
			if a.Family() == family {
				return a, nil
			}
		}
	}
	return addrs[0], nil
}

// all returns every local address, interface by interface.
func (ifs *interfaces) all() []*LocalAddr {
	var out []*LocalAddr
	for _, n := range ifs.order {
		out = append(out, ifs.byName[n]...)
	}
	return out
}
