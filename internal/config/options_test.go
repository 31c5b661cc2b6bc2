package config

import (
	"net/netip"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rtpengineShort is the short-option mapping of rtpengine 10.5, as printed
// by `rtpengine --help`.
var rtpengineShort = map[byte]string{
	'h': "help", 'v': "version", 'L': "log-level", 'E': "log-stderr", 'p': "pidfile", 'f': "foreground",
	't': "table", 'F': "no-fallback", 'i': "interface", 'S': "save-interface-ports", 'k': "subscribe-keyspace",
	'l': "listen-tcp", 'u': "listen-udp", 'n': "listen-ng", 'N': "listen-tcp-ng", 'c': "listen-cli",
	'g': "graphite", 'G': "graphite-interval", 'T': "tos", 'o': "timeout", 's': "silent-timeout",
	'a': "final-timeout", 'm': "port-min", 'M': "port-max", 'r': "redis", 'w': "redis-write",
	'q': "no-redis-required", 'y': "redis-delete-async", 'b': "b2b-url", 'x': "xmlrpc-format", 'd': "delete-delay",
}

func TestShortOptions(t *testing.T) {
	got := map[byte]string{}
	for _, o := range optionTable {
		if o.short != 0 {
			got[o.short] = o.long
		}
	}
	if !reflect.DeepEqual(got, rtpengineShort) {
		t.Errorf("short options = %v, want %v", got, rtpengineShort)
	}
}

func TestOptionTable(t *testing.T) {
	var c Config
	for _, o := range optionTable {
		if o.help == "" {
			t.Errorf("--%s has no help text", o.long)
		}
		switch o.class {
		case supported:
			if o.field == nil {
				t.Errorf("supported --%s has no field", o.long)
				continue
			}
			switch p := o.field(&c).(type) {
			case *int, *bool, *string, *time.Duration:
				if o.repeatable {
					t.Errorf("--%s is repeatable but has a scalar field", o.long)
				}
				if _, isBool := p.(*bool); isBool != (o.arg == argNone) {
					t.Errorf("--%s: field %T does not match its argument type", o.long, p)
				}
			case *[]netip.AddrPort, *[]Interface:
				if !o.repeatable {
					t.Errorf("--%s has a list field but is not repeatable", o.long)
				}
			default:
				t.Errorf("--%s has a field of type %T", o.long, p)
			}
			if o.reloadable {
				copyField(o.field(&c), o.field(&c)) // must not panic
			}
		case ignored:
			if o.reason == "" || o.field != nil {
				t.Errorf("ignored --%s needs a reason and no field", o.long)
			}
		default:
			if o.field != nil || o.reloadable || o.ngrelay {
				t.Errorf("--%s: only supported options have fields", o.long)
			}
		}
	}
}

// TestAgainstRtpengineHelp compares the table with the options of the
// installed rtpengine, when there is one.
func TestAgainstRtpengineHelp(t *testing.T) {
	out, err := exec.Command("rtpengine", "--help").Output()
	if err != nil {
		t.Skipf("rtpengine --help: %v", err)
	}
	re := regexp.MustCompile(`(?m)^\s+(?:-(\S), )?--([a-z0-9-]+)(=\S+)?`)
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		short, long, hasValue := m[1], m[2], m[3] != ""
		seen[long] = true
		o := byLong[long]
		if o == nil {
			t.Errorf("rtpengine option --%s is not in the table", long)
			continue
		}
		if short != "" && (o.short != short[0]) || short == "" && o.short != 0 {
			t.Errorf("--%s: short %q, rtpengine has %q", long, o.short, short)
		}
		// rtpengine prints no "=VALUE" for a few options that take one
		if hasValue && o.arg == argNone && o.class != builtin {
			t.Errorf("--%s takes a value in rtpengine", long)
		}
	}
	for _, o := range optionTable {
		if !seen[o.long] && !o.ngrelay && !strings.HasPrefix(o.long, "nftables-") {
			t.Errorf("--%s is not an option of the installed rtpengine", o.long)
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, tt := range []struct {
		in       string
		fromFile bool
		want     int
		err      string
	}{
		{"0", false, 0, ""}, {"42", false, 42, ""}, {" 42 ", false, 42, ""}, {"-1", false, -1, ""}, {"+7", false, 7, ""},
		{"0x10", false, 16, ""}, {"0X1f", false, 31, ""}, {"010", false, 8, ""}, {"-0x10", false, -16, ""},
		{"2147483647", false, 2147483647, ""}, {"-2147483648", false, -2147483648, ""},
		{"2147483648", false, 0, "out of range"}, {"-2147483649", false, 0, "out of range"},
		{"99999999999999999999", false, 0, "out of range"},
		{"010", true, 10, ""}, {"0x10", true, 0, "not an integer"}, {"08", false, 0, "not an integer"},
		{"", false, 0, "not an integer"}, {"-", false, 0, "not an integer"}, {"--1", false, 0, "not an integer"},
		{"1_000", false, 0, "not an integer"}, {"12abc", true, 0, "not an integer"}, {"0x", false, 0, "not an integer"},
	} {
		got, err := parseInt(tt.in, tt.fromFile)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseInt(%q, %v) = %d, %v; want error %q", tt.in, tt.fromFile, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseInt(%q, %v) = %d, %v; want %d", tt.in, tt.fromFile, got, err, tt.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"":                nil,
		"a":               {"a"},
		"a;b":             {"a", "b"},
		"a;b;":            {"a", "b"},
		" a ; ;b ":        {"a", "b"},
		`a\;b;c`:          {"a;b", "c"},
		`x\sy;\\`:         {"x y", `\`},
		"int/1.2.3.4!5.6": {"int/1.2.3.4!5.6"},
	} {
		got, err := splitList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("splitList(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitList(`a;\q`); err == nil {
		t.Errorf("splitList accepted an invalid escape")
	}
}
