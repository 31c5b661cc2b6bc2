package rtpp

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func TestParseValid(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		line string
		want Request
	}{
		{"c1 V", Request{Cookie: "c1", Op: OpVersion, Media: 1}},
		{"c1 v\n", Request{Cookie: "c1", Op: OpVersion, Media: 1}},
		{"c1 VX extra", Request{Cookie: "c1", Op: OpVersion, Mods: "X", Media: 1}},
		{"c2 VF 20050322", Request{Cookie: "c2", Op: OpFeature, Mods: "F", Feature: "20050322", Media: 1}},
		{"c2 vf 20081102 junk", Request{Cookie: "c2", Op: OpFeature, Mods: "f", Feature: "20081102", Media: 1}},
		{"1_2 U call@h 10.0.0.1 5000 ft;1", Request{Cookie: "1_2", Op: OpUpdate, CallID: "call@h", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1}},
		{"k U c;br 10.0.0.1 5000 ft;2 tt;2", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Branch: "br", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", ToTag: "tt", Media: 2}},
		{"k\tU\tc\t10.0.0.1\t5000\tft\r\n", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1}},
		{"k U c 10.0.0.1 5000 ft;0", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1}},
		{"k U c 10.0.0.1 5000 a;b;3", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "a;b", Media: 3}},
		{"k U c 10.0.0.1 5000 a;x", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "a;x", Media: 1}},
		{"k U6 c 2001:db8::1 0 ft;1", Request{Cookie: "k", Op: OpUpdate, Mods: "6", CallID: "c", Addr: a("2001:db8::1"), Port: 0, FromTag: "ft", Media: 1, IPv6: true}},
		{"k U c ::ffff:10.0.0.1 65535 ft", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 65535, FromTag: "ft", Media: 1}},
		{"k U c 0.0.0.0 5000 ft", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("0.0.0.0"), Port: 5000, FromTag: "ft", Media: 1}},
		{"k UAIEc0,8,101z20 c 10.0.0.1 5000 ft;1", Request{Cookie: "k", Op: OpUpdate, Mods: "AIEc0,8,101z20", CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1,
			Asymmetric: true, Directions: []string{"internal", "external"}, Codecs: []int{0, 8, 101}}},
		{"k Uasei c 10.0.0.1 5000 ft", Request{Cookie: "k", Op: OpUpdate, Mods: "asei", CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1, Directions: []string{"external", "internal"}}},
		{"k Ueie c 10.0.0.1 5000 ft", Request{Cookie: "k", Op: OpUpdate, Mods: "eie", CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1, Directions: []string{"external", "internal"}}},
		{"k Uc c 10.0.0.1 5000 ft", Request{Cookie: "k", Op: OpUpdate, Mods: "c", CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1, Codecs: []int{}}},
		{"k Ul127.0.0.2wnr10.1.1.1 c 10.0.0.1 5000 ft", Request{Cookie: "k", Op: OpUpdate, Mods: "l127.0.0.2wnr10.1.1.1", CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1, Local: a("127.0.0.2")}},
		{"k Ul[::1]a c 10.0.0.1 5000 ft", Request{Cookie: "k", Op: OpUpdate, Mods: "l[::1]a", CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1, Local: a("::1"), Asymmetric: true}},
		{"k U c 10.0.0.1 5000 ft sock ntag", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", Media: 1, NotifySocket: "sock", NotifyTag: "ntag"}},
		{"k U c 10.0.0.1 5000 ft tt sock ntag", Request{Cookie: "k", Op: OpUpdate, CallID: "c", Addr: a("10.0.0.1"), Port: 5000, FromTag: "ft", ToTag: "tt", Media: 1, NotifySocket: "sock", NotifyTag: "ntag"}},
		{"k L c 10.0.0.2 6000 ft;1 tt;1", Request{Cookie: "k", Op: OpLookup, CallID: "c", Addr: a("10.0.0.2"), Port: 6000, FromTag: "ft", ToTag: "tt", Media: 1}},
		{"k l c 10.0.0.2 6000 ft", Request{Cookie: "k", Op: OpLookup, CallID: "c", Addr: a("10.0.0.2"), Port: 6000, FromTag: "ft", Media: 1}},
		{"k D c ft", Request{Cookie: "k", Op: OpDelete, CallID: "c", FromTag: "ft", Media: 1}},
		{"k Dw c;br ft;1 tt;1", Request{Cookie: "k", Op: OpDelete, Mods: "w", CallID: "c", Branch: "br", FromTag: "ft", ToTag: "tt", Media: 1}},
		{"k Q c ft tt", Request{Cookie: "k", Op: OpQuery, CallID: "c", FromTag: "ft", ToTag: "tt", Media: 1}},
		{"k Qv c ft", Request{Cookie: "k", Op: OpQuery, Mods: "v", CallID: "c", FromTag: "ft", Media: 1}},
		{"k I", Request{Cookie: "k", Op: OpInfo, Media: 1}},
		{"k Ibl", Request{Cookie: "k", Op: OpInfo, Mods: "bl", InfoBrief: true, InfoLoad: true, Media: 1}},
		{"k X", Request{Cookie: "k", Op: OpDeleteAll, Media: 1}},
		{"k P c moh session ft;1 tt;1", Request{Cookie: "k", Op: OpPlay, CallID: "c", Prompt: "moh", PlayCodecs: "session", FromTag: "ft", ToTag: "tt", Media: 1, Count: 1}},
		{"k P-1 c moh 0,8 ft", Request{Cookie: "k", Op: OpPlay, Mods: "-1", CallID: "c", Prompt: "moh", PlayCodecs: "0,8", FromTag: "ft", Media: 1, Count: -1}},
		{"k P3 c moh 8 ft;2", Request{Cookie: "k", Op: OpPlay, Mods: "3", CallID: "c", Prompt: "moh", PlayCodecs: "8", FromTag: "ft", Media: 2, Count: 3}},
		{"k P0 c moh 8 ft", Request{Cookie: "k", Op: OpPlay, Mods: "0", CallID: "c", Prompt: "moh", PlayCodecs: "8", FromTag: "ft", Media: 1, Count: 0}},
		{"k S c ft;1 tt;1", Request{Cookie: "k", Op: OpStopPlay, CallID: "c", FromTag: "ft", ToTag: "tt", Media: 1}},
	} {
		got, err := Parse(c.line)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.line, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", c.line, *got, c.want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, c := range []struct {
		line   string
		cookie string
		code   int
	}{
		{"", "", ECodeFailed},
		{" \r\n", "", ECodeFailed},
		{"c1", "c1", ECodeFailed},
		{"c1 \n", "c1", ECodeFailed},
		{"c1 Z", "c1", ECodeFailed},
		{"c1 5", "c1", ECodeFailed},
		{"c1 VF", "c1", ECodeNArgs},
		// U and L
		{"c U", "c", ECodeFailed},
		{"c U call 10.0.0.1 5000", "c", ECodeFailed},
		{"c U call host.example 5000 ft;1", "c", ECodeFailed},
		{"c U call fe80::1%eth0 5000 ft;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 65536 ft;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 99999 ft;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 -1 ft;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 50x ft;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 123456 ft;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 5000 ;1", "c", ECodeFailed},
		{"c U call 10.0.0.1 5000 ft;33", "c", ECodeFailed},
		{"c U ;br 10.0.0.1 5000 ft", "c", ECodeFailed},
		{"c U call 10.0.0.1 5000 ft tt s t extra", "c", ECodeFailed},
		{"c L call 10.0.0.1 5000 ft tt extra", "c", ECodeFailed},
		{"c L call 10.0.0.1 5000 ft ;2", "c", ECodeFailed},
		// D and Q
		{"c D call", "c", ECodeFailed},
		{"c D call ft tt extra", "c", ECodeFailed},
		{"c Q call", "c", ECodeFailed},
		{"c Q call ft tt extra", "c", ECodeFailed},
		{"c D ;x ft", "c", ECodeFailed},
		// I, X
		{"c Ix", "c", ECodeInfoModifier},
		{"c I extra", "c", ECodeNArgs},
		{"c Xw", "c", ECodeModifiers},
		{"c X extra", "c", ECodeNArgs},
		// P, S
		{"c P call moh session", "c", ECodeNArgs},
		{"c P call moh session ft tt extra", "c", ECodeNArgs},
		{"c Px call moh session ft", "c", ECodePlayCount},
		{"c P1x call moh session ft", "c", ECodePlayCount},
		{"c P12345678 call moh session ft", "c", ECodePlayCount},
		{"c P call moh session ;1", "c", ECodeFailed},
		{"c S call", "c", ECodeNArgs},
		{"c S call ft tt extra", "c", ECodeNArgs},
		{"c Sx call ft", "c", ECodeModifiers},
		// refused
		{"c R call ft tt", "c", ECodeFailed},
		{"c Rs call ft", "c", ECodeFailed},
		{"c C call rec ft", "c", ECodeFailed},
		{"c N call ft", "c", ECodeFailed},
		{"c G", "c", ECodeFailed},
	} {
		r, err := Parse(c.line)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an E%d error", c.line, err, c.code)
			continue
		}
		if e.Code != c.code || r.Cookie != c.cookie {
			t.Errorf("Parse(%q): cookie %q, E%d (%s); want cookie %q, E%d", c.line, r.Cookie, e.Code, e.Reason, c.cookie, c.code)
		}
	}
}
