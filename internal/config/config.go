// Package config parses ngrelay's configuration: the command line and the
// INI config file of sipwise rtpengine (rtpengine.conf), so that ngrelay can
// be started as a drop-in replacement with rtpengine's command line and
// config file.
//
// Command-line syntax follows glib's GOption as used by rtpengine:
// --name=value, --name value, short options -x value (and, as with getopt,
// -xvalue), bundled flags such as -fE, and "--" to end the options.
// Repeatable options (--interface, --listen-ng, ...) accumulate; for other
// options the last occurrence counts. Flags also take an explicit value on
// the command line (--log-stderr=false): glib ignores such a value and sets
// the flag, ngrelay honours it. Integers are read as C's strtol with base 0
// on the command line (0x10, 010) and in base 10 in files, as glib does.
//
// The config file follows glib's GKeyFile syntax: [section] headers,
// "key = value" lines, "#" (and ";") comment lines, ";"-separated lists for
// repeatable options and true/false for flags. Without --config-section the
// [rtpengine] section is read first and the [ngrelay] section overrides it;
// the command line overrides both, and command-line occurrences of a
// repeatable option replace the file's list. Unlike rtpengine, which falls
// back to /etc/rtpengine/rtpengine.conf, ngrelay reads no file without
// --config-file and runs on the embedded defaults (Default).
//
// Every option is in one table (optionTable): supported options are parsed
// into Config; options of rtpengine's kernel forwarding module are accepted
// and ignored with a notice; all other rtpengine options are rejected with an
// error that names all of them at once.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"time"
)

// ErrHelp is returned by Parse when --help or -h was given; the caller
// prints Usage() and exits successfully.
var ErrHelp = errors.New("help requested")

// ErrVersion is returned by Parse when --version or -v was given; the
// caller prints its version and exits successfully.
var ErrVersion = errors.New("version requested")

// Interface is one local address for media, from --interface
// [NAME/]ADDR[!ADVERTISED].
type Interface struct {
	// Name is the logical interface name ("default" when none is given).
	// Names of the form BASE:SUFFIX are kept as they are.
	Name string
	// Addr is the local address the media sockets bind to.
	Addr netip.Addr
	// Advertised is the address written into SDP instead of Addr; it is
	// the zero (invalid) netip.Addr when none was configured.
	Advertised netip.Addr
}

// Log formats accepted by --log-format.
const (
	LogFormatDefault  = "default"  // rtpengine's default prefix format ("text" is accepted as a synonym)
	LogFormatParsable = "parsable" // rtpengine's parsable prefix format: [ID="..."]
	LogFormatJSON     = "json"     // ngrelay only: one JSON object per line
)

// Config is ngrelay's configuration. Default returns the embedded defaults;
// Parse fills it from the command line and config file.
type Config struct {
	// Interfaces are the local media addresses, in configuration order;
	// the first one's Name is the default logical interface. An --interface
	// given as a system interface name (eth0), "any" or a DNS name yields
	// the first address of each family found (rtpengine would use all).
	Interfaces []Interface

	// Control listeners. A value given as a bare PORT stands for both
	// 0.0.0.0:PORT and [::]:PORT (as rtpengine does), so the [::] socket
	// must be IPv6-only (Go: network "udp6"/"tcp6"). A HOSTNAME:PORT value
	// is resolved once, to at most one address per family.
	ListenNG    []netip.AddrPort // --listen-ng: NG protocol over UDP
	ListenTCPNG []netip.AddrPort // --listen-tcp-ng: NG protocol over TCP
	ListenCLI   []netip.AddrPort // --listen-cli: CLI over TCP (rtpengine-ctl); empty: none
	ListenHTTP  []netip.AddrPort // --listen-http: HTTP and WebSocket
	ListenUDP   []netip.AddrPort // --listen-udp: legacy rtpproxy protocol over UDP
	ListenTCP   []netip.AddrPort // --listen-tcp: legacy protocol over TCP

	// PortMin and PortMax bound the local media ports (inclusive).
	PortMin, PortMax int

	// Timeout: a call whose streams all received no media for this long is
	// removed (--timeout). SilentTimeout: the same for muted or inactive
	// streams (--silent-timeout). FinalTimeout: calls are removed this long
	// after creation, 0 is off (--final-timeout). OfferTimeout: calls that
	// only had an offer are removed after this long (--offer-timeout).
	// DeleteDelay: a deleted call stays in memory for this long, 0 is
	// immediate (--delete-delay). As with rtpengine, zero or negative
	// timeout, silent-timeout and offer-timeout values select the default.
	Timeout, SilentTimeout, FinalTimeout, OfferTimeout, DeleteDelay time.Duration

	// TOS is the IP TOS byte set on media packets; 0 leaves it untouched.
	TOS int

	// LogLevel is the highest syslog priority logged (0 emerg .. 7 debug).
	LogLevel int
	// LogStderr logs to stderr instead of syslog.
	LogStderr bool
	// NoLogTimestamps drops timestamps from lines logged to stderr.
	NoLogTimestamps bool
	// Foreground is always true: ngrelay never daemonizes. Parse adds a
	// notice when the configuration did not ask for the foreground.
	Foreground bool
	// LogFacility is the syslog facility name (daemon, local0, ...).
	LogFacility string
	// LogFormat is one of LogFormatDefault, LogFormatParsable, LogFormatJSON.
	LogFormat string

	// PIDFile is the file to write the PID to; empty: none.
	PIDFile string
	// ConfigFile is the config file that was read; empty (or "none"): none.
	ConfigFile string
	// ConfigSection is the --config-section given; empty means [rtpengine]
	// overridden by [ngrelay].
	ConfigSection string

	// NumThreads is the number of worker threads (Parse turns 0 into
	// runtime.NumCPU()).
	NumThreads int
	// MaxSessions limits the number of concurrent sessions; -1: no limit
	// (as with rtpengine, 0 refuses every new session).
	MaxSessions int

	// PromptDir (ngrelay only) is the directory of media files to play.
	PromptDir string
	// DTLSCert and DTLSKey (ngrelay only) name PEM files of the DTLS
	// certificate and its key; empty: a fresh certificate per start.
	DTLSCert, DTLSKey string
	// SocketRcvBuf and SocketSndBuf (ngrelay only) set SO_RCVBUF and
	// SO_SNDBUF on media sockets in bytes; 0 keeps the OS default.
	SocketRcvBuf, SocketSndBuf int
	// ShutdownGraceSecs (ngrelay only): on SIGTERM ngrelay stops taking new
	// calls and lets running ones go on up to this many seconds.
	ShutdownGraceSecs int
	// IOEngine (ngrelay only) is the media I/O engine: "epoll" (default)
	// or "io_uring".
	IOEngine string

	// args is the command line Parse was given, kept so that Reload lets
	// it override the re-read file again.
	args []string
}

// Default returns the embedded defaults, used when ngrelay is started
// without arguments: NG on 127.0.0.1:2223/udp, CLI on 127.0.0.1:9900, one
// interface "default" on 127.0.0.1, ports 30000-40000.
func Default() Config {
	return Config{
		Interfaces:        []Interface{{Name: "default", Addr: netip.MustParseAddr("127.0.0.1")}},
		ListenNG:          []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:2223")},
		ListenCLI:         []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9900")},
		PortMin:           30000,
		PortMax:           40000,
		Timeout:           60 * time.Second,
		SilentTimeout:     3600 * time.Second,
		FinalTimeout:      0,
		OfferTimeout:      3600 * time.Second,
		DeleteDelay:       30 * time.Second,
		TOS:               0,
		LogLevel:          6,
		Foreground:        true,
		LogFacility:       "daemon",
		LogFormat:         LogFormatDefault,
		NumThreads:        runtime.NumCPU(),
		MaxSessions:       -1,
		IOEngine:          "epoll",
		ShutdownGraceSecs: 30,
	}
}

// Parse parses the command line args (without the program name) and, if
// --config-file names one, the config file, on top of Default(). The
// returned notices are messages to log at startup (ignored options, no
// daemonizing). err is ErrHelp or ErrVersion when those were asked for;
// otherwise a non-nil err describes everything wrong with the
// configuration, which has also passed Validate when err is nil.
func Parse(args []string) (cfg Config, notices []string, err error) {
	cli, err := scanArgs(args)
	if err != nil {
		return Config{}, nil, err
	}
	cfg = Default()
	cfg.args = append([]string(nil), args...)

	// the file and section come from the command line only
	for _, name := range []string{"config-file", "config-section"} {
		if s := cli.get(name); s != nil {
			if err := applySetting(&cfg, s); err != nil {
				return Config{}, nil, err
			}
		}
	}

	var layers []*layer
	if cfg.ConfigFile != "" && cfg.ConfigFile != "none" {
		layers, notices, err = loadFile(cfg.ConfigFile, cfg.ConfigSection)
		if err != nil {
			return Config{}, notices, err
		}
	}
	layers = append(layers, cli)

	var errs []error
	unsup := map[string]bool{}
	ignoredSeen := map[string]bool{}
	for _, l := range layers {
		for _, name := range l.order {
			switch o := byLong[name]; o.class {
			case unsupported:
				unsup[name] = true
			case ignored:
				ignoredSeen[name] = true
			}
		}
		errs = append(errs, l.errs...)
	}
	if len(unsup) > 0 {
		errs = append(errs, fmt.Errorf("unsupported rtpengine options: %s (ngrelay does not implement them)", optionNames(unsup)))
	}
	if len(errs) > 0 {
		return Config{}, notices, errors.Join(errs...)
	}
	for _, o := range optionTable {
		if ignoredSeen[o.long] {
			notices = append(notices, fmt.Sprintf("option --%s ignored: %s", o.long, o.reason))
		}
	}

	foreground := false
	for _, s := range merge(layers) {
		if s.opt.long == "config-file" || s.opt.long == "config-section" {
			continue
		}
		if err := applySetting(&cfg, s); err != nil {
			errs = append(errs, err)
		}
		if s.opt.long == "foreground" {
			foreground = cfg.Foreground
		}
	}
	if len(errs) > 0 {
		return Config{}, notices, errors.Join(errs...)
	}
	if !foreground {
		notices = append(notices, "ngrelay does not daemonize: it runs in the foreground (use systemd or another supervisor)")
	}
	cfg.Foreground = true
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, notices, err
	}
	return cfg, notices, nil
}

// normalize applies rtpengine's replacement of unset (zero or negative)
// values by defaults.
func (c *Config) normalize() {
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.SilentTimeout <= 0 {
		c.SilentTimeout = 3600 * time.Second
	}
	if c.OfferTimeout <= 0 {
		c.OfferTimeout = 3600 * time.Second
	}
	if c.FinalTimeout < 0 {
		c.FinalTimeout = 0
	}
	if c.NumThreads == 0 {
		c.NumThreads = runtime.NumCPU()
	}
}

// Reload re-reads the config file path (base.ConfigFile if path is empty)
// using section (base.ConfigSection if empty) and returns base with only the
// reloadable settings updated: log-level, timeout, silent-timeout,
// final-timeout, offer-timeout, delete-delay and max-sessions. Options given
// on base's command line still override the file, and options removed from
// the file return to their defaults. The whole file is checked as Parse
// does; on error base is unchanged and should be kept.
func Reload(path, section string, base Config) (Config, error) {
	if path == "" {
		path = base.ConfigFile
	}
	if section == "" {
		section = base.ConfigSection
	}
	if path == "" || path == "none" {
		return base, errors.New("reload: no config file (start ngrelay with --config-file)")
	}
	cli, err := scanArgs(base.args)
	if err != nil {
		return base, err
	}
	layers, _, err := loadFile(path, section)
	if err != nil {
		return base, err
	}
	var errs []error
	unsup := map[string]bool{}
	for _, l := range layers {
		for _, name := range l.order {
			if byLong[name].class == unsupported {
				unsup[name] = true
			}
		}
		errs = append(errs, l.errs...)
	}
	if len(unsup) > 0 {
		errs = append(errs, fmt.Errorf("unsupported rtpengine options: %s (ngrelay does not implement them)", optionNames(unsup)))
	}
	if len(errs) > 0 {
		return base, errors.Join(errs...)
	}
	fresh := Default()
	for _, s := range merge(append(layers, cli)) {
		if !s.opt.reloadable {
			continue
		}
		if err := applySetting(&fresh, s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return base, errors.Join(errs...)
	}
	fresh.normalize()
	out := base
	for _, o := range optionTable {
		if o.reloadable {
			copyField(o.field(&out), o.field(&fresh))
		}
	}
	if err := out.Validate(); err != nil {
		return base, err
	}
	return out, nil
}
