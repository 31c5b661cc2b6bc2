// Package ctl is ngrelay-ctl: a client of the CLI of ngrelay and rtpengine
// (--listen-cli) with rtpengine-ctl's arguments, plus machine-readable
// output (--json), a live view (--watch) and shell completion.
//
//	ngrelay-ctl [-ip ADDR[:PORT]] [-port PORT] [-config-file FILE] [--json] [--watch[=SECONDS]] COMMAND...
//	ngrelay-ctl completion bash|zsh
//
// As rtpengine-ctl, it reads listen-cli from the config file
// (/etc/rtpengine/rtpengine.conf unless -config-file names another; the
// [ngrelay] section overrides [rtpengine]) and defaults to 127.0.0.1:9900.
package ctl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultConfigFile is read for listen-cli when -config-file is not given.
const DefaultConfigFile = "/etc/rtpengine/rtpengine.conf"

// Timeouts of a CLI exchange, those of rtpengine-ctl.
const (
	DialTimeout = 3 * time.Second
	IOTimeout   = 3 * time.Second
	// MaxReply bounds the reply read (rtpengine-ctl reads up to 10 MB at a
	// time).
	MaxReply = 64 << 20
)

// Options are the parsed command line.
type Options struct {
	IP         string
	Port       int
	ConfigFile string
	JSON       bool
	Watch      time.Duration // 0: no --watch
	Help       bool
	Command    string // the command words joined by spaces
	Args       []string
}

// DefaultWatchInterval is the refresh interval of --watch without a value.
const DefaultWatchInterval = 2 * time.Second

// errUsage is returned for a bad command line.
var errUsage = errors.New("usage")

// ParseArgs parses the arguments as rtpengine-ctl's Getopt::Long does
// (options first, then the command; "-opt" and "--opt", "-opt VALUE" and
// "-opt=VALUE", unique abbreviations), and adds --json and --watch.
func ParseArgs(args []string) (Options, error) {
	o := Options{ConfigFile: DefaultConfigFile}
	names := []string{"help", "h", "ip", "port", "config-file", "json", "watch"}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if n, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = n, v, true
		}
		full := ""
		for _, n := range names {
			if n == name {
				full = n
				break
			}
			if strings.HasPrefix(n, name) {
				if full != "" {
					return o, fmt.Errorf("%w: option %s is ambiguous", errUsage, a)
				}
				full = n
			}
		}
		needValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("%w: option %s requires an argument", errUsage, a)
			}
			i++
			return args[i], nil
		}
		switch full {
		case "help", "h":
			o.Help = true
		case "json":
			o.JSON = true
		case "ip":
			v, err := needValue()
			if err != nil {
				return o, err
			}
			o.IP = v
		case "config-file":
			v, err := needValue()
			if err != nil {
				return o, err
			}
			o.ConfigFile = v
		case "port":
			v, err := needValue()
			if err != nil {
				return o, err
			}
			p, err := strconv.Atoi(v)
			if err != nil {
				return o, fmt.Errorf("%w: value %q invalid for option port (number expected)", errUsage, v)
			}
			o.Port = p
		case "watch":
			o.Watch = DefaultWatchInterval
			if !hasValue && i+1 < len(args) && isNumber(args[i+1]) {
				i++
				value, hasValue = args[i], true
			}
			if hasValue {
				secs, err := strconv.ParseFloat(value, 64)
				if err != nil || secs <= 0 || secs > 86400 {
					return o, fmt.Errorf("%w: value %q invalid for option watch (seconds expected)", errUsage, value)
				}
				o.Watch = time.Duration(secs * float64(time.Second))
			}
		default:
			return o, fmt.Errorf("%w: unknown option: %s", errUsage, strings.TrimLeft(a, "-"))
		}
	}
	o.Args = args[i:]
	o.Command = strings.TrimSpace(strings.Join(o.Args, " "))
	return o, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Address resolves the CLI address as rtpengine-ctl does: -ip and -port,
// else listen-cli from the config file, else 127.0.0.1:9900.
func (o Options) Address() (string, error) {
	ip, port := o.IP, o.Port
	if listen := readListenCLI(o.ConfigFile); listen != "" {
		if isDigits(listen) {
			if port == 0 {
				port, _ = strconv.Atoi(listen)
			}
		} else if ip == "" {
			ip = listen
		}
	}
	if h, p, ok := cutPort(ip); ok {
		ip = h
		if port == 0 {
			port = p
		}
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if ip == "" {
		ip = "127.0.0.1"
	}
	if port == 0 {
		port = 9900
	}
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("%w: port %d out of range", errUsage, port)
	}
	return net.JoinHostPort(ip, strconv.Itoa(port)), nil
}

// cutPort splits "host:port" and "[v6]:port"; a bare IPv6 address has no
// port.
func cutPort(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || !isDigits(s[i+1:]) {
		return s, 0, false
	}
	host := s[:i]
	if strings.Contains(host, ":") && !strings.HasSuffix(host, "]") {
		return s, 0, false // IPv6 address without brackets
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0, false
	}
	return host, p, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readListenCLI returns listen-cli of the [rtpengine] section, overridden
// by [ngrelay], of an INI file; "" when there is none or no such file. A
// list ("a;b") yields its first element.
func readListenCLI(path string) string {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	found := map[string]string{}
	section := ""
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "", line[0] == '#', line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
		default:
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.TrimSpace(k) == "listen-cli" && (section == "rtpengine" || section == "ngrelay") {
				found[section] = strings.TrimSpace(v)
			}
		}
	}
	v, ok := found["ngrelay"]
	if !ok {
		v = found["rtpengine"]
	}
	v, _, _ = strings.Cut(v, ";")
	return strings.TrimSpace(v)
}

// Query sends one command to the CLI at addr and returns the whole reply.
func Query(ctx context.Context, addr, command string) (string, error) {
	d := net.Dialer{Timeout: DialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("cannot connect to the rtpengine CLI at %s: %w", addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetWriteDeadline(time.Now().Add(IOTimeout))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", fmt.Errorf("send to %s: %w", addr, err)
	}
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(IOTimeout))
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if b.Len() > MaxReply {
			return "", fmt.Errorf("reply from %s longer than %d bytes", addr, MaxReply)
		}
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return b.String(), fmt.Errorf("receive from %s: %w", addr, err)
		}
	}
}

// Run is ngrelay-ctl's main: it returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, strings.TrimPrefix(err.Error(), "usage: "))
		io.WriteString(stderr, usage)
		return 1
	}
	if o.Help {
		io.WriteString(stdout, usage)
		return 0
	}
	if len(o.Args) > 0 && o.Args[0] == "completion" {
		return runCompletion(o.Args[1:], stdout, stderr)
	}
	addr, err := o.Address()
	if err != nil {
		fmt.Fprintln(stderr, strings.TrimPrefix(err.Error(), "usage: "))
		io.WriteString(stderr, usage)
		return 1
	}
	query := func(cmd string) (string, error) { return Query(ctx, addr, cmd) }
	if o.Watch > 0 {
		if err := Watch(ctx, query, WatchOptions{Addr: addr, Interval: o.Watch}, stdout); err != nil {
			fmt.Fprintln(stderr, "ngrelay-ctl:", err)
			return 1
		}
		return 0
	}
	if o.Command == "" {
		io.WriteString(stderr, usage)
		return 1
	}
	if o.JSON {
		v, failed, err := ToJSON(o.Command, query)
		if err != nil {
			fmt.Fprintln(stderr, "ngrelay-ctl:", err)
			return 1
		}
		if err := writeJSON(stdout, v); err != nil {
			fmt.Fprintln(stderr, "ngrelay-ctl:", err)
			return 1
		}
		if failed {
			return 1
		}
		return 0
	}
	reply, err := query(o.Command)
	io.WriteString(stdout, reply)
	if err != nil {
		fmt.Fprintln(stderr, "ngrelay-ctl:", err)
		return 1
	}
	return 0
}

const usage = `
    ngrelay-ctl [ -ip <ipaddress>[:<port>] -port <port> -config-file <file> ] [ --json ] <command>
    ngrelay-ctl [ -ip ... ] --watch[=<seconds>]
    ngrelay-ctl completion bash|zsh

    Talks to the CLI (--listen-cli) of ngrelay or rtpengine, as rtpengine-ctl:
    the address comes from -ip/-port, else listen-cli in the config file
    (default /etc/rtpengine/rtpengine.conf; [ngrelay] overrides [rtpengine]),
    else 127.0.0.1:9900.

    Options:
    --json                     : print the reply as JSON (list totals, numsessions,
                                 sessions, interfaces, timeouts, ...; other commands
                                 give {"command", "reply", "ok"}); exit 1 on an error reply
    --watch[=<seconds>]        : live view of the totals and the busiest calls
                                 (default every 2 s; Ctrl-C to quit)

    Commands (run "help", "list help", "set help" for the server's own list):

    list <option>              (get is an alias)
         numsessions | totals | counters | jsonstats | interfaces | transcoders
         sessions all|own|foreign|<N>|<callid>|json
         maxsessions | maxopenfiles | timeout | silenttimeout | finaltimeout | offertimeout
         deletedelay | loglevels | loglevel [<subsystem>]
    set <option> <value>
         maxsessions | maxopenfiles | timeout | silenttimeout | finaltimeout | offertimeout
         deletedelay | loglevel [<subsystem>] <0-7>
    terminate <callid>|all|own|foreign
    call <callid> info|terminate|tag <tag> info
    ksadd <n> | ksrm <n> | kslist | active | standby

    Return value: 0 on success with output from the server, other values for failure.

`
