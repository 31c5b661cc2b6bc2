package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	noticeForeground = "ngrelay does not daemonize: it runs in the foreground (use systemd or another supervisor)"
	noticeTable      = "option --table ignored: ngrelay has no kernel forwarding module"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func ip(s string) netip.Addr     { return netip.MustParseAddr(s) }

func aps(list ...string) []netip.AddrPort {
	out := []netip.AddrPort{}
	for _, s := range list {
		out = append(out, ap(s))
	}
	return out
}

// ifc builds an Interface from "name/addr[!adv]".
func ifc(s string) Interface {
	name, rest, _ := strings.Cut(s, "/")
	local, adv, hasAdv := strings.Cut(rest, "!")
	i := Interface{Name: name, Addr: ip(local)}
	if hasAdv {
		i.Advertised = ip(adv)
	}
	return i
}

// stubNet replaces name resolution for the duration of the test: a fake
// eth0 and lo, and a fake DNS.
func stubNet(t *testing.T) {
	t.Helper()
	oldIfs, oldLookup := systemInterfaces, lookupHost
	t.Cleanup(func() { systemInterfaces, lookupHost = oldIfs, oldLookup })
	systemInterfaces = func() ([]sysInterface, error) {
		return []sysInterface{
			{name: "lo", up: true, loopback: true, addrs: []netip.Addr{ip("127.0.0.1"), ip("::1")}},
			{name: "eth0", up: true, addrs: []netip.Addr{ip("fe80::1"), ip("192.0.2.10"), ip("192.0.2.11"), ip("2001:db8::10")}},
			{name: "eth1", up: true, addrs: []netip.Addr{ip("198.51.100.7")}},
			{name: "eth2", up: false, addrs: []netip.Addr{ip("203.0.113.9")}},
		}, nil
	}
	lookupHost = func(host string) ([]netip.Addr, error) {
		switch host {
		case "localhost":
			return []netip.Addr{ip("::ffff:127.0.0.1"), ip("::1")}, nil
		case "media.example.net":
			return []netip.Addr{ip("2001:db8::77"), ip("192.0.2.77"), ip("192.0.2.78")}, nil
		case "public.example.net":
			return []netip.Addr{ip("203.0.113.1"), ip("2001:db8::1:1")}, nil
		}
		return nil, fmt.Errorf("lookup %s: no such host", host)
	}
}

// withDefaults returns Default() changed by f.
func withDefaults(f func(c *Config)) Config {
	c := Default()
	f(&c)
	return c
}

func checkConfig(t *testing.T, got, want Config) {
	t.Helper()
	got.args, want.args = nil, nil
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
		for i := 0; i < gv.NumField(); i++ {
			name := gv.Type().Field(i).Name
			if name == "args" {
				continue
			}
			if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
				t.Errorf("%s = %v, want %v", name, g, w)
			}
		}
	}
}

func TestParseCommandLines(t *testing.T) {
	stubNet(t)
	tests := []struct {
		name    string
		args    []string
		want    Config
		notices []string
	}{
		{
			name:    "no arguments: embedded defaults",
			args:    nil,
			want:    Default(),
			notices: []string{noticeForeground},
		},
		{
			name: "long options with =",
			args: strings.Fields("--interface=127.0.0.1 --listen-ng=127.0.0.1:2223 --port-min=30000 --port-max=30100 --num-threads=1 --delete-delay=0 --table=-1 --foreground --log-stderr"),
			want: withDefaults(func(c *Config) {
				c.Interfaces = []Interface{ifc("default/127.0.0.1")}
				c.ListenNG = aps("127.0.0.1:2223")
				c.PortMin, c.PortMax = 30000, 30100
				c.NumThreads = 1
				c.DeleteDelay = 0
				c.LogStderr = true
			}),
			notices: []string{noticeTable},
		},
		{
			name: "short options, named interfaces, advertised address, port-only listener",
			args: []string{"-i", "internal/10.0.0.1", "-i", "external/192.0.2.1!198.51.100.1", "-n", "2223", "-m", "20000", "-M", "20100", "-L", "7"},
			want: withDefaults(func(c *Config) {
				c.Interfaces = []Interface{ifc("internal/10.0.0.1"), ifc("external/192.0.2.1!198.51.100.1")}
				c.ListenNG = aps("0.0.0.0:2223", "[::]:2223")
				c.PortMin, c.PortMax = 20000, 20100
				c.LogLevel = 7
			}),
			notices: []string{noticeForeground},
		},
		{
			name: "long options with separate values, negative value",
			args: []string{"--interface", "127.0.0.1", "--port-min", "20000", "--port-max", "20001", "--table", "-1", "-t", "-1", "--foreground"},
			want: withDefaults(func(c *Config) {
				c.PortMin, c.PortMax = 20000, 20001
			}),
			notices: []string{noticeTable},
		},
		{
			name: "bundled short flags and -xVALUE",
			args: []string{"-fEi", "127.0.0.2", "-m20000", "-M20100", "-L7", "-d0", "-o30", "-s", "300", "-a7200", "-T184", "-pfoo.pid"},
			want: withDefaults(func(c *Config) {
				c.Interfaces = []Interface{ifc("default/127.0.0.2")}
				c.PortMin, c.PortMax = 20000, 20100
				c.LogLevel = 7
				c.LogStderr = true
				c.DeleteDelay = 0
				c.Timeout, c.SilentTimeout, c.FinalTimeout = 30*time.Second, 300*time.Second, 7200*time.Second
				c.TOS = 184
				c.PIDFile = "foo.pid"
			}),
		},
		{
			name: "Debian systemd unit command line without a config file",
			args: []string{"-f", "-E", "--no-log-timestamps", "--pidfile", "/run/rtpengine/rtpengine-daemon.pid", "--config-file", "none"},
			want: withDefaults(func(c *Config) {
				c.LogStderr, c.NoLogTimestamps = true, true
				c.PIDFile = "/run/rtpengine/rtpengine-daemon.pid"
				c.ConfigFile = "none"
			}),
		},
		{
			name: "IPv6 interfaces and listeners",
			args: []string{"--interface=::1", "--interface=internal/2001:db8::1!2001:db8::2", "--interface=internal/10.0.0.1",
				"-i", "v6/[2001:db8::5]", "--listen-ng=[::1]:2223", "--listen-ng=::1:2224", "--listen-tcp-ng=[2001:db8::1]:2225", "-f"},
			want: withDefaults(func(c *Config) {
				c.Interfaces = []Interface{ifc("default/::1"), ifc("internal/2001:db8::1!2001:db8::2"), ifc("internal/10.0.0.1"), ifc("v6/2001:db8::5")}
				c.ListenNG = aps("[::1]:2223", "[::1]:2224")
				c.ListenTCPNG = aps("[2001:db8::1]:2225")
			}),
		},
		{
			name: "every listener, repeated options accumulate",
			args: []string{"-f", "-n", "127.0.0.1:2223", "-n", "127.0.0.2:2223", "-N", "127.0.0.1:2224", "-c", "127.0.0.1:9901", "-c", "[::1]:9901",
				"--listen-http=9101", "-u", "127.0.0.1:12222", "-l", "127.0.0.1:25060"},
			want: withDefaults(func(c *Config) {
				c.ListenNG = aps("127.0.0.1:2223", "127.0.0.2:2223")
				c.ListenTCPNG = aps("127.0.0.1:2224")
				c.ListenCLI = aps("127.0.0.1:9901", "[::1]:9901")
				c.ListenHTTP = aps("0.0.0.0:9101", "[::]:9101")
				c.ListenUDP = aps("127.0.0.1:12222")
				c.ListenTCP = aps("127.0.0.1:25060")
			}),
		},
		{
			name: "host names, interface names and any",
			args: []string{"-f", "--listen-ng=localhost:2223", "-i", "ext/eth0", "-i", "pub/any!public.example.net", "-i", "dns/media.example.net", "-i", "int/lo"},
			want: withDefaults(func(c *Config) {
				c.ListenNG = aps("127.0.0.1:2223", "[::1]:2223")
				c.Interfaces = []Interface{
					ifc("ext/192.0.2.10"), ifc("ext/2001:db8::10"),
					ifc("pub/192.0.2.10!203.0.113.1"), ifc("pub/2001:db8::10!2001:db8::1:1"),
					ifc("dns/2001:db8::77"), ifc("dns/192.0.2.77"),
					ifc("int/127.0.0.1"), ifc("int/::1"),
				}
			}),
		},
		{
			name: "boolean values, integer bases, last scalar wins",
			args: []string{"--foreground=false", "--log-stderr=true", "--log-stderr=false", "--no-log-timestamps=yes", "--tos=0xb8", "-L", "07",
				"--port-min=30000", "--port-min=31000", "--no-fallback=false", "--offer-timeout=120"},
			want: withDefaults(func(c *Config) {
				c.NoLogTimestamps = true
				c.TOS = 0xb8
				c.LogLevel = 7
				c.PortMin = 31000
				c.OfferTimeout = 120 * time.Second
			}),
			notices: []string{"option --no-fallback ignored: ngrelay has no kernel forwarding module", noticeForeground},
		},
		{
			name: "supported rtpengine and ngrelay-only settings",
			args: []string{"-f", "--log-facility=local5", "--log-format=parsable", "--max-sessions=0", "--num-threads=0", "--prompt-dir=/srv/prompts",
				"--socket-rcvbuf=65536", "--socket-sndbuf=131072", "--iptables-chain=rtpengine", "--nftables-chain=rtpe", "--nftables-append", "--"},
			want: withDefaults(func(c *Config) {
				c.LogFacility = "local5"
				c.LogFormat = LogFormatParsable
				c.MaxSessions = 0
				c.NumThreads = runtime.NumCPU()
				c.PromptDir = "/srv/prompts"
				c.SocketRcvBuf, c.SocketSndBuf = 65536, 131072
			}),
			notices: []string{
				"option --iptables-chain ignored: ngrelay does not manage firewall rules",
				"option --nftables-chain ignored: ngrelay has no kernel forwarding module",
				"option --nftables-append ignored: ngrelay has no kernel forwarding module",
			},
		},
		{
			name: "rtpengine defaults for zero timeouts, text log format",
			args: []string{"-f", "--timeout=0", "--silent-timeout=-1", "--offer-timeout=0", "--final-timeout=-1", "--log-format=text", "--listen-cli="},
			want: withDefaults(func(c *Config) {
				c.ListenCLI = []netip.AddrPort{}
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notices, err := Parse(tt.args)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkConfig(t, got, tt.want)
			if !reflect.DeepEqual(notices, tt.notices) {
				t.Errorf("notices = %q, want %q", notices, tt.notices)
			}
			if !got.Foreground {
				t.Errorf("Foreground = false")
			}
		})
	}
}

func TestParseHelpVersion(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want error
	}{
		{[]string{"--help"}, ErrHelp},
		{[]string{"-h"}, ErrHelp},
		{[]string{"-?"}, ErrHelp},
		{[]string{"--help-all"}, ErrHelp},
		{[]string{"-fh"}, ErrHelp},
		{[]string{"--port-min=1", "--redis=x", "--help"}, ErrHelp},
		{[]string{"--version"}, ErrVersion},
		{[]string{"-v"}, ErrVersion},
		{[]string{"-fEv"}, ErrVersion},
		{[]string{"--config-file=/nonexistent", "-v"}, ErrVersion},
	} {
		_, _, err := Parse(tt.args)
		if err != tt.want {
			t.Errorf("Parse(%q) err = %v, want %v", tt.args, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	stubNet(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		// command-line syntax
		{[]string{"--foo"}, "unknown option --foo"},
		{[]string{"--foo=1", "--help"}, "unknown option --foo"},
		{[]string{"-Z"}, "unknown option -Z"},
		{[]string{"-fZ"}, "unknown option -Z"},
		{[]string{"--port-min"}, "missing value for --port-min"},
		{[]string{"-f", "-m"}, "missing value for -m (--port-min)"},
		{[]string{"foo"}, `unexpected argument "foo" (ngrelay takes no arguments)`},
		{[]string{"-"}, `unexpected argument "-" (ngrelay takes no arguments)`},
		{[]string{"-f", "--", "foo"}, `unexpected argument "foo" (ngrelay takes no arguments)`},
		{[]string{"--version=1"}, "option --version takes no value"},
		{[]string{"--Interface=1.2.3.4"}, "unknown option --Interface"},

		// unsupported rtpengine options, all named at once
		{[]string{"--redis=127.0.0.1:6379/5", "-f"}, "unsupported rtpengine options: --redis (ngrelay does not implement them)"},
		{[]string{"-r", "127.0.0.1:6379/5", "--recording-dir=/var/spool/rtpengine", "--homer", "10.0.0.1:9060", "-q", "--codecs", "-g", "1.2.3.4:2003", "--redis=x"},
			"unsupported rtpengine options: --codecs, --graphite, --homer, --no-redis-required, --recording-dir, --redis (ngrelay does not implement them)"},

		// values
		{[]string{"--port-min=abc"}, `invalid value "abc" for --port-min: not an integer`},
		{[]string{"--port-min="}, `invalid value "" for --port-min: not an integer`},
		{[]string{"-m", "08"}, `invalid value "08" for --port-min: not an integer`},
		{[]string{"--port-min=99999999999"}, `invalid value "99999999999" for --port-min: out of range`},
		{[]string{"--timeout=1.5"}, `invalid value "1.5" for --timeout: not an integer`},
		{[]string{"--log-stderr=maybe"}, `invalid value "maybe" for --log-stderr: not a boolean (true or false)`},
		{[]string{"--table=kernel"}, `invalid value "kernel" for --table: not an integer`},
		{[]string{"--log-facility=local9"}, `invalid value "local9" for --log-facility: not a syslog facility (daemon, local0 ... local7, user, ...)`},
		{[]string{"--log-format=xml"}, `invalid value "xml" for --log-format: must be default, parsable, text or json`},
		{[]string{"-i", "eth9"}, `invalid value "eth9" for --interface: no such address, network interface or host name "eth9"`},
		{[]string{"-i", "eth2"}, `invalid value "eth2" for --interface: network interface "eth2" is down or has no usable address`},
		{[]string{"-i", "0.0.0.0"}, `invalid value "0.0.0.0" for --interface: 0.0.0.0 is not a local address (use "any" for all interfaces)`},
		{[]string{"-i", "/10.0.0.1"}, `invalid value "/10.0.0.1" for --interface: empty interface name before "/"`},
		{[]string{"-i", "pub/"}, `invalid value "pub/" for --interface: missing address`},
		{[]string{"-i", "10.0.0.1!nowhere"}, `invalid value "10.0.0.1!nowhere" for --interface: advertised address: no such address or host name "nowhere"`},
		{[]string{"-i", "10.0.0.1!::"}, `invalid value "10.0.0.1!::" for --interface: advertised address :: is unspecified`},
		{[]string{"-i", "fe80::1%eth0"}, `invalid value "fe80::1%eth0" for --interface: no such address, network interface or host name "fe80::1%eth0"`},
		{[]string{"-n", "0"}, `invalid value "0" for --listen-ng: port must be a number from 1 to 65535`},
		{[]string{"-n", "65536"}, `invalid value "65536" for --listen-ng: port must be a number from 1 to 65535`},
		{[]string{"-n", "127.0.0.1"}, `invalid value "127.0.0.1" for --listen-ng: port must be a number from 1 to 65535`},
		{[]string{"-n", ":2223"}, `invalid value ":2223" for --listen-ng: missing address before ":"`},
		{[]string{"-c", "nowhere:9900"}, `invalid value "nowhere:9900" for --listen-cli: no such address or host name "nowhere"`},
		{[]string{"--port-min=abc", "--tos=x"}, "invalid value \"x\" for --tos: not an integer\ninvalid value \"abc\" for --port-min: not an integer"},

		// validation
		{[]string{"--port-min=40001", "--port-max=40000"}, "--port-min=40001 is above --port-max=40000"},
		{[]string{"--port-min=30000", "--port-max=30000"}, "--port-min=30000 and --port-max=30000 leave no even/odd port pair for RTP and RTCP"},
		{[]string{"--port-min=30001", "--port-max=30002"}, "--port-min=30001 and --port-max=30002 leave no even/odd port pair for RTP and RTCP"},
		{[]string{"--port-min=0"}, "--port-min=0 is out of range 1..65535"},
		{[]string{"--port-max=65536"}, "--port-max=65536 is out of range 1..65535"},
		{[]string{"--tos=256"}, "--tos=256 is out of range 0..255"},
		{[]string{"--tos=-1"}, "--tos=-1 is out of range 0..255"},
		{[]string{"-L", "8"}, "--log-level=8 is out of range 0..7"},
		{[]string{"-L", "010"}, "--log-level=8 is out of range 0..7"},
		{[]string{"--delete-delay=-1"}, "--delete-delay=-1 must not be negative"},
		{[]string{"--num-threads=-2"}, "--num-threads=-2 must not be negative"},
		{[]string{"--max-sessions=-2"}, "--max-sessions=-2 is out of range (-1 for no limit)"},
		{[]string{"--socket-rcvbuf=-1"}, "--socket-rcvbuf=-1 must not be negative"},
		{[]string{"--socket-sndbuf=-1"}, "--socket-sndbuf=-1 must not be negative"},
		{[]string{"-i", "10.0.0.1", "-i", "10.0.0.2"}, `--interface: logical interface "default" has two IPv4 addresses (10.0.0.1 and 10.0.0.2); ngrelay allows one per family`},
		{[]string{"-i", "a/2001:db8::1", "-i", "b/2001:db8::1", "-i", "a/2001:db8::2"}, `--interface: logical interface "a" has two IPv6 addresses (2001:db8::1 and 2001:db8::2); ngrelay allows one per family`},
		{[]string{"--listen-ng="}, "no control protocol listener: give --listen-ng, --listen-tcp-ng, --listen-udp or --listen-tcp"},
		{[]string{"--port-min=50000", "--tos=300", "-L", "9"}, "--port-min=50000 is above --port-max=40000\n--tos=300 is out of range 0..255\n--log-level=9 is out of range 0..7"},
	} {
		_, _, err := Parse(tt.args)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tt.args, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error:\n%s\nwant:\n%s", tt.args, err, tt.want)
		}
		if errors.Is(err, ErrHelp) || errors.Is(err, ErrVersion) {
			t.Errorf("Parse(%q) error %v is ErrHelp/ErrVersion", tt.args, err)
		}
	}
}

func TestValidateHandBuilt(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	c.Interfaces = nil
	c.Timeout = 0
	c.SilentTimeout = -time.Second
	c.OfferTimeout = 1500 * time.Millisecond
	c.FinalTimeout = -2 * time.Second
	c.LogFacility = "bogus"
	c.LogFormat = "text"
	c.ListenCLI = []netip.AddrPort{{}}
	want := strings.Join([]string{
		"no --interface configured: ngrelay needs at least one local address for media",
		"--listen-cli=invalid AddrPort is not a valid address and port",
		"--timeout=0 must be positive",
		"--silent-timeout=-1 must be positive",
		"--final-timeout=-2 must not be negative",
		"--log-facility=bogus: not a syslog facility (daemon, local0 ... local7, user, ...)",
		"--log-format=text: must be default, parsable or json",
	}, "\n")
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
	c = Default()
	c.Interfaces = []Interface{{Name: "", Addr: ip("10.0.0.1")}, {Name: "x"}, {Name: "y", Addr: ip("::")}}
	want = strings.Join([]string{
		"--interface=10.0.0.1 has an empty name",
		`--interface "x" has no address`,
		`--interface=y/::: unspecified address (use "any" for all interfaces)`,
	}, "\n")
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
}

// writeConf writes a config file into a temporary directory.
func writeConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rtpengine.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseDebianConfig(t *testing.T) {
	stubNet(t)
	// The config file shipped by Debian's rtpengine-daemon package, as the
	// Debian systemd unit starts rtpengine with it.
	const path = "testdata/rtpengine.conf"
	args := []string{"-f", "-E", "--no-log-timestamps", "--pidfile", "/run/rtpengine/rtpengine-daemon.pid", "--config-file", path}
	_, _, err := Parse(args)
	want := "unsupported rtpengine options: --recording-dir, --recording-method (ngrelay does not implement them)"
	if err == nil || err.Error() != want {
		t.Fatalf("Parse(%q) err = %v, want %q", args, err, want)
	}

	// Its [rtpengine-testing] section holds only options ngrelay supports
	// or ignores.
	got, notices, err := Parse([]string{"--config-file=" + path, "--config-section=rtpengine-testing"})
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, got, withDefaults(func(c *Config) {
		c.Interfaces = []Interface{ifc("default/10.15.20.121")}
		c.ListenNG = aps("0.0.0.0:2223", "[::]:2223")
		c.LogStderr = true
		c.LogLevel = 7
		c.ConfigFile = path
		c.ConfigSection = "rtpengine-testing"
	}))
	if want := []string{noticeTable}; !reflect.DeepEqual(notices, want) {
		t.Errorf("notices = %q, want %q", notices, want)
	}

	// The same [rtpengine] section without the recording options is
	// accepted: "interface = any", host names in listen options, table.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("recording-dir =", "# recording-dir =", "recording-method =", "# recording-method =").Replace(string(data))
	conf := writeConf(t, text)
	got, notices, err = Parse([]string{"-f", "-E", "--no-log-timestamps", "--pidfile", "/run/rtpengine/rtpengine-daemon.pid", "--config-file", conf})
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, got, withDefaults(func(c *Config) {
		c.Interfaces = []Interface{ifc("default/192.0.2.10"), ifc("default/2001:db8::10")}
		c.ListenNG = aps("127.0.0.1:2223", "[::1]:2223")
		c.ListenHTTP = aps("127.0.0.1:2225", "[::1]:2225")
		c.ListenCLI = aps("127.0.0.1:2224", "[::1]:2224")
		c.Timeout, c.SilentTimeout = 60*time.Second, 3600*time.Second
		c.TOS = 184
		c.PortMin, c.PortMax = 30000, 40000
		c.LogStderr, c.NoLogTimestamps = true, true
		c.PIDFile = "/run/rtpengine/rtpengine-daemon.pid"
		c.ConfigFile = conf
	}))
	if want := []string{noticeTable}; !reflect.DeepEqual(notices, want) {
		t.Errorf("notices = %q, want %q", notices, want)
	}
}

func TestParseCombinedConfig(t *testing.T) {
	const path = "testdata/combined.conf"
	wantFile := withDefaults(func(c *Config) {
		// [ngrelay] replaces the interface list of [rtpengine]
		c.Interfaces = []Interface{ifc("internal/10.0.0.1"), ifc("internal/2001:db8::1!2001:db8::2")}
		c.ListenNG = aps("127.0.0.1:2223")
		c.ListenTCPNG = aps("127.0.0.1:2224")
		c.ListenHTTP = aps("127.0.0.1:9101")
		c.PortMin, c.PortMax = 30000, 35000
		c.Timeout, c.SilentTimeout, c.FinalTimeout, c.DeleteDelay = 60*time.Second, 600*time.Second, 10800*time.Second, 10*time.Second
		c.TOS = 184
		c.LogLevel = 6
		c.LogFacility = "local3"
		c.LogFormat = LogFormatJSON
		c.PIDFile = "/run/rtpengine/rtpengine.pid"
		c.NumThreads = 4
		c.MaxSessions = 5000
		c.PromptDir = "/var/lib/ngrelay/prompts"
		c.SocketRcvBuf = 1048576
		c.ConfigFile = path
	})
	got, notices, err := Parse([]string{"--config-file=" + path})
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, got, wantFile)
	if want := []string{noticeTable, noticeForeground}; !reflect.DeepEqual(notices, want) {
		t.Errorf("notices = %q, want %q", notices, want)
	}

	// the command line overrides the file; repeated command-line options
	// replace the file's list
	got, _, err = Parse([]string{"--config-file", path, "-i", "pub/192.0.2.1", "-i", "priv/10.1.1.1", "-M", "39999", "--log-format=default",
		"--listen-tcp-ng=", "-L", "3", "--num-threads=2"})
	if err != nil {
		t.Fatal(err)
	}
	want := wantFile
	want.Interfaces = []Interface{ifc("pub/192.0.2.1"), ifc("priv/10.1.1.1")}
	want.PortMax = 39999
	want.LogFormat = LogFormatDefault
	want.ListenTCPNG = []netip.AddrPort{}
	want.LogLevel = 3
	want.NumThreads = 2
	checkConfig(t, got, want)

	// only the named section is read
	got, _, err = Parse([]string{"--config-file", path, "--config-section", "rtpengine", "-f"})
	if err != nil {
		t.Fatal(err)
	}
	want = wantFile
	want.Interfaces = []Interface{ifc("internal/10.0.0.1"), ifc("external/192.0.2.1!198.51.100.1")}
	want.PortMax = 40000
	want.LogFormat = LogFormatDefault
	want.PromptDir = ""
	want.SocketRcvBuf = 0
	want.ConfigSection = "rtpengine"
	checkConfig(t, got, want)
}

func TestParseConfigFiles(t *testing.T) {
	stubNet(t)
	tests := []struct {
		name    string
		text    string
		args    []string
		check   func(t *testing.T, c Config)
		notices []string
		err     string // "%s" stands for the file's path
	}{
		{
			name: "only [ngrelay]",
			text: "[ngrelay]\nforeground = true\nport-min = 20000\nport-max = 20010\n",
			check: func(t *testing.T, c Config) {
				if c.PortMin != 20000 || c.PortMax != 20010 {
					t.Errorf("ports %d-%d", c.PortMin, c.PortMax)
				}
			},
		},
		{
			name: "glib syntax: comments, blanks, escapes, lists, duplicate keys and sections",
			text: "\ufeff# comment\n  ; another comment\n\n[rtpengine]\n  interface = a/10.0.0.1\\;b/10.0.0.2\n" +
				"interface=x/10.0.0.3 ;; y/10.0.0.4;\n" + "pidfile = /run/with\\sspace\\\\.pid  \r\n" + "[other]\nfoo = bar\n[rtpengine]\nforeground=true\n" +
				"log-stderr = 1\nno-log-timestamps = false\n",
			check: func(t *testing.T, c Config) {
				if want := []Interface{ifc("x/10.0.0.3"), ifc("y/10.0.0.4")}; !reflect.DeepEqual(c.Interfaces, want) {
					t.Errorf("Interfaces = %v, want %v", c.Interfaces, want)
				}
				if c.PIDFile != `/run/with space\.pid` {
					t.Errorf("PIDFile = %q", c.PIDFile)
				}
				if !c.LogStderr || c.NoLogTimestamps {
					t.Errorf("LogStderr %v NoLogTimestamps %v", c.LogStderr, c.NoLogTimestamps)
				}
			},
		},
		{
			name: "escaped list separator stays in the element",
			text: "[rtpengine]\nforeground = true\ninterface = a/10.0.0.1\\;b/10.0.0.2\n",
			err:  `invalid value "a/10.0.0.1;b/10.0.0.2" for interface in %s [rtpengine]: no such address, network interface or host name "10.0.0.1;b/10.0.0.2"`,
		},
		{
			name: "zero timeouts select rtpengine's defaults, empty list disables the CLI",
			text: "[rtpengine]\nforeground = true\ntimeout = 0\nsilent-timeout = 0\noffer-timeout = -1\nfinal-timeout = -5\nlisten-cli =\n",
			check: func(t *testing.T, c Config) {
				if c.Timeout != 60*time.Second || c.SilentTimeout != time.Hour || c.OfferTimeout != time.Hour || c.FinalTimeout != 0 {
					t.Errorf("timeouts %v %v %v %v", c.Timeout, c.SilentTimeout, c.OfferTimeout, c.FinalTimeout)
				}
				if len(c.ListenCLI) != 0 {
					t.Errorf("ListenCLI = %v", c.ListenCLI)
				}
			},
		},
		{
			name:    "config-file and config-section in a file are ignored",
			text:    "[rtpengine]\nforeground = true\nconfig-file = /etc/other.conf\nconfig-section = other\nno-fallback = false\nnftables-family = ip,ip6\n",
			notices: []string{"option config-file in %s [rtpengine] ignored: only valid on the command line", "option config-section in %s [rtpengine] ignored: only valid on the command line", "option --no-fallback ignored: ngrelay has no kernel forwarding module", "option --nftables-family ignored: ngrelay has no kernel forwarding module"},
		},
		{
			name: "-f on the command line overrides foreground = false",
			text: "[rtpengine]\nforeground = false\n",
			args: []string{"-f"},
		},
		{
			name: "unknown keys and unsupported options, all reported",
			text: "[rtpengine]\nfoo = 1\nredis = 127.0.0.1:6379/5\ninterface = 10.0.0.1\nInterface = 10.0.0.2\nnum-media-threads = 8\nhelp = true\n[ngrelay]\nrecording-dir = /x\nbar = 2\n",
			args: []string{"--janus-secret", "x"},
			err: "unknown option \"foo\" in %s [rtpengine]\nunknown option \"Interface\" in %s [rtpengine]\nunknown option \"num-media-threads\" in %s [rtpengine]\n" +
				"unknown option \"help\" in %s [rtpengine]\nunknown option \"bar\" in %s [ngrelay]\n" +
				"unsupported rtpengine options: --janus-secret, --recording-dir, --redis (ngrelay does not implement them)",
		},
		{
			name: "file values are base 10",
			text: "[rtpengine]\ntos = 0xb8\nport-min = 010\n",
			err:  `invalid value "0xb8" for tos in %s [rtpengine]: not an integer`,
		},
		{
			name: "bad values in the file",
			text: "[rtpengine]\nport-min = abc\nforeground = maybe\ntable = none\ninterface = 10.0.0.1;nowhere\nlisten-ng = 2223;x:y\n",
			err: "invalid value \"maybe\" for foreground in %s [rtpengine]: not a boolean (true or false)\n" +
				"invalid value \"nowhere\" for interface in %s [rtpengine]: no such address, network interface or host name \"nowhere\"\n" +
				"invalid value \"x:y\" for listen-ng in %s [rtpengine]: port must be a number from 1 to 65535\n" +
				"invalid value \"abc\" for port-min in %s [rtpengine]: not an integer\n" +
				"invalid value \"none\" for table in %s [rtpengine]: not an integer",
		},
		{
			name: "validation of file values names the option",
			text: "[rtpengine]\nport-min = 40001\nport-max = 40000\n",
			err:  "--port-min=40001 is above --port-max=40000",
		},
		{
			name: "command line value beats a bad file value",
			text: "[rtpengine]\nforeground = true\nport-min = 40001\n",
			args: []string{"-m", "30000"},
		},
		{name: "invalid escape", text: "[rtpengine]\npidfile = C:\\x\n", err: `%s:2: pidfile: invalid escape sequence \x`},
		{name: "lone backslash", text: "[rtpengine]\npidfile = x\\\n", err: `%s:2: pidfile: value ends in a lone backslash`},
		{name: "line without =", text: "[rtpengine]\ninterface\n", err: `%s:2: line is not a key = value pair, [section] or comment: "interface"`},
		{name: "empty key", text: "[rtpengine]\n = 5\n", err: `%s:2: line is not a key = value pair, [section] or comment: "= 5"`},
		{name: "key before any section", text: "# c\ntable = 0\n[rtpengine]\n", err: `%s:2: key "table" comes before the first [section]`},
		{name: "bad section header", text: "[rtpengine\n", err: `%s:1: invalid section header "[rtpengine"`},
		{name: "empty section header", text: "[]\n", err: `%s:1: invalid section header "[]"`},
		{name: "no rtpengine or ngrelay section", text: "[rtpengine-testing]\ntable = 0\n", err: "config file %s has neither a [rtpengine] nor a [ngrelay] section"},
		{name: "missing named section", text: "[rtpengine]\n", args: []string{"--config-section=foo"}, err: "config file %s has no section [foo]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConf(t, tt.text)
			args := append([]string{"--config-file=" + path}, tt.args...)
			got, notices, err := Parse(args)
			if tt.err != "" {
				want := strings.ReplaceAll(tt.err, "%s", path)
				if err == nil || err.Error() != want {
					t.Fatalf("err =\n%v\nwant\n%s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			var wantNotices []string
			for _, n := range tt.notices {
				wantNotices = append(wantNotices, strings.ReplaceAll(n, "%s", path))
			}
			if !reflect.DeepEqual(notices, wantNotices) {
				t.Errorf("notices = %q, want %q", notices, wantNotices)
			}
		})
	}
}

func TestParseConfigFileMissing(t *testing.T) {
	_, _, err := Parse([]string{"--config-file=/nonexistent/rtpengine.conf"})
	want := "reading config file: open /nonexistent/rtpengine.conf: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err %v is not os.ErrNotExist", err)
	}
	// "none" reads no file
	if _, _, err := Parse([]string{"--config-file=none", "--config-section=nothing"}); err != nil {
		t.Errorf("--config-file=none: %v", err)
	}
}

func TestReload(t *testing.T) {
	path := writeConf(t, "[rtpengine]\nforeground = true\nlog-level = 5\ntimeout = 30\nport-min = 30000\nport-max = 30100\ninterface = 10.0.0.1\n")
	base, _, err := Parse([]string{"--config-file", path, "-L", "7", "--max-sessions=10"})
	if err != nil {
		t.Fatal(err)
	}
	if base.LogLevel != 7 || base.Timeout != 30*time.Second || base.MaxSessions != 10 {
		t.Fatalf("base: log-level %d timeout %v max-sessions %d", base.LogLevel, base.Timeout, base.MaxSessions)
	}

	// change reloadable and other settings, remove timeout
	if err := os.WriteFile(path, []byte("[rtpengine]\nlog-level = 3\nsilent-timeout = 90\nfinal-timeout = 7200\noffer-timeout = 60\n"+
		"delete-delay = 5\nmax-sessions = 100\nport-min = 20000\ninterface = 10.9.9.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Reload("", "", base)
	if err != nil {
		t.Fatal(err)
	}
	want := base
	want.LogLevel = 7 // the command line still wins
	want.Timeout = 60 * time.Second
	want.SilentTimeout = 90 * time.Second
	want.FinalTimeout = 2 * time.Hour
	want.OfferTimeout = time.Minute
	want.DeleteDelay = 5 * time.Second
	want.MaxSessions = 10 // the command line still wins
	checkConfig(t, got, want)

	// a reload that fails keeps base
	if err := os.WriteFile(path, []byte("[rtpengine]\ndelete-delay = -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = Reload("", "", base)
	if err == nil || err.Error() != "--delete-delay=-1 must not be negative" {
		t.Errorf("Reload err = %v", err)
	}
	checkConfig(t, got, base)

	base.args = nil // started without -L and --max-sessions
	for text, wantErr := range map[string]string{
		"[rtpengine]\nlog-level = x\n":                 `invalid value "x" for log-level in ` + path + ` [rtpengine]: not an integer`,
		"[rtpengine]\nredis = x\nfoo = 1\n":            "unknown option \"foo\" in " + path + " [rtpengine]\nunsupported rtpengine options: --redis (ngrelay does not implement them)",
		"[rtpengine]\nlog-level\n":                     path + `:2: line is not a key = value pair, [section] or comment: "log-level"`,
		"[other]\nlog-level = 1\n":                     "config file " + path + " has neither a [rtpengine] nor a [ngrelay] section",
		"[rtpengine]\nlog-level = 2\nmax-sessions = 1": "",
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Reload(path, "", base)
		if wantErr == "" {
			if err != nil || got.LogLevel != 2 || got.MaxSessions != 1 {
				t.Errorf("Reload(%q) = log-level %d max-sessions %d, %v", text, got.LogLevel, got.MaxSessions, err)
			}
			continue
		}
		if err == nil || err.Error() != wantErr {
			t.Errorf("Reload(%q) err =\n%v\nwant\n%s", text, err, wantErr)
		}
	}

	// a named section
	if err := os.WriteFile(path, []byte("[rtpengine]\nlog-level = 1\n[other]\nlog-level = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Reload(path, "other", base); err != nil || got.LogLevel != 4 {
		t.Errorf("Reload section other: log-level %d, %v", got.LogLevel, err)
	}

	// no file
	if _, err := Reload("", "", Default()); err == nil || err.Error() != "reload: no config file (start ngrelay with --config-file)" {
		t.Errorf("Reload without file: %v", err)
	}
}

func TestUsage(t *testing.T) {
	u := Usage()
	for _, want := range []string{
		"-i, --interface=[NAME/]IP[!IP]", "-n, --listen-ng=[IP46|HOSTNAME:]PORT", "-m, --port-min=INT", "-M, --port-max=INT",
		"-L, --log-level=INT", "-f, --foreground", "-E, --log-stderr", "--config-file=FILE", "-h, --help", "-v, --version",
		"--prompt-dir=DIR", "[ngrelay only]", "-t, --table=INT", "[ignored: ngrelay has no kernel forwarding module]",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("Usage() lacks %q", want)
		}
	}
	for _, absent := range []string{"--redis", "--recording-dir", "--homer"} {
		if strings.Contains(u, absent) {
			t.Errorf("Usage() lists unsupported %q", absent)
		}
	}
}

func TestInterfaceNameOnThisSystem(t *testing.T) {
	if _, err := os.Stat("/sys/class/net/lo"); err != nil {
		t.Skip("no lo interface")
	}
	c, _, err := Parse([]string{"-f", "-i", "loop/lo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Interfaces) == 0 || len(c.Interfaces) > 2 {
		t.Fatalf("Interfaces = %v", c.Interfaces)
	}
	for _, i := range c.Interfaces {
		if i.Name != "loop" || !i.Addr.IsLoopback() {
			t.Errorf("interface %v is not a loopback address of loop", i)
		}
	}
}
