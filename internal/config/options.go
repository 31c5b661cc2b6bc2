package config

import (
	"sort"
	"strings"
)

// optClass says what ngrelay does with an option.
type optClass int

const (
	// builtin options (--help, --version) end parsing with ErrHelp or ErrVersion.
	builtin optClass = iota
	// supported options are parsed into Config.
	supported
	// ignored options only make sense with rtpengine's kernel forwarding
	// module (or the firewall rules that go with it): they are accepted,
	// their value is checked for syntax, and a notice says they are ignored.
	ignored
	// unsupported options are real rtpengine options that ngrelay does not
	// implement: starting with any of them is an error naming all of them.
	unsupported
)

// argType is the kind of value an option takes.
type argType int

const (
	argNone   argType = iota // boolean flag: "--flag" on the command line, "flag = true|false" in a file
	argInt                   // integer
	argDouble                // floating point
	argString                // anything else (addresses, paths, names)
)

// option is one row of optionTable.
type option struct {
	long       string   // long name, also the key in config files
	short      byte     // short command-line name, 0 if none (verified against rtpengine 10.5 --help)
	arg        argType  // argNone: takes no value on the command line
	repeatable bool     // command-line occurrences accumulate; ";"-separated list in files
	class      optClass //
	ngrelay    bool     // ngrelay-only option (rtpengine has no such option)
	reloadable bool     // Reload picks up a changed value
	meta       string   // value placeholder shown by Usage
	help       string   // one-line description shown by Usage
	reason     string   // ignored options: why the option is ignored
	// field returns a pointer into Config for supported options: *int,
	// *bool, *string, *time.Duration (seconds), *[]netip.AddrPort
	// ([ADDR:]PORT) or *[]Interface.
	field func(*Config) any
	// check validates and normalizes string values of supported options.
	check func(string) (string, error)
}

const (
	noKernel   = "ngrelay has no kernel forwarding module"
	noFirewall = "ngrelay does not manage firewall rules"
)

// optionTable lists every option ngrelay knows: all options of rtpengine
// 10.5 (as printed by `rtpengine --help`), a few kernel options of newer
// rtpengine releases, and the ngrelay-only options.
var optionTable = []option{
	// --- built in -------------------------------------------------------
	{long: "help", short: 'h', class: builtin, help: "Show help options"},
	{long: "version", short: 'v', class: builtin, help: "Print version and exit"},

	// --- supported: parsed into Config ------------------------------------
	{long: "config-file", arg: argString, class: supported, meta: "FILE", help: "Load config from this file (\"none\": no file)",
		field: func(c *Config) any { return &c.ConfigFile }},
	{long: "config-section", arg: argString, class: supported, meta: "STRING", help: "Config file section to use (default: [rtpengine], then [ngrelay])",
		field: func(c *Config) any { return &c.ConfigSection }},
	{long: "log-facility", arg: argString, class: supported, meta: "daemon|local0|...|local7", help: "Syslog facility to use for logging",
		field: func(c *Config) any { return &c.LogFacility }, check: checkFacility},
	{long: "log-level", short: 'L', arg: argInt, class: supported, reloadable: true, meta: "INT", help: "Default log level (0-7, syslog priorities)",
		field: func(c *Config) any { return &c.LogLevel }},
	{long: "log-stderr", short: 'E', arg: argNone, class: supported, help: "Log on stderr instead of syslog",
		field: func(c *Config) any { return &c.LogStderr }},
	{long: "no-log-timestamps", arg: argNone, class: supported, help: "Drop timestamps from log lines to stderr",
		field: func(c *Config) any { return &c.NoLogTimestamps }},
	{long: "log-format", arg: argString, class: supported, meta: "default|parsable|json", help: "Log prefix format (json: ngrelay only; text = default)",
		field: func(c *Config) any { return &c.LogFormat }, check: checkLogFormat},
	{long: "pidfile", short: 'p', arg: argString, class: supported, meta: "FILE", help: "Write PID to file",
		field: func(c *Config) any { return &c.PIDFile }},
	{long: "foreground", short: 'f', arg: argNone, class: supported, help: "Don't fork to background (ngrelay never does)",
		field: func(c *Config) any { return &c.Foreground }},
	{long: "interface", short: 'i', arg: argString, repeatable: true, class: supported, meta: "[NAME/]IP[!IP]", help: "Local interface for RTP",
		field: func(c *Config) any { return &c.Interfaces }},
	{long: "listen-tcp", short: 'l', arg: argString, repeatable: true, class: supported, meta: "[IP:]PORT", help: "TCP port to listen on (legacy protocol)",
		field: func(c *Config) any { return &c.ListenTCP }},
	{long: "listen-udp", short: 'u', arg: argString, repeatable: true, class: supported, meta: "[IP46|HOSTNAME:]PORT", help: "UDP port to listen on (rtpproxy protocol)",
		field: func(c *Config) any { return &c.ListenUDP }},
	{long: "listen-ng", short: 'n', arg: argString, repeatable: true, class: supported, meta: "[IP46|HOSTNAME:]PORT", help: "UDP port to listen on, NG protocol",
		field: func(c *Config) any { return &c.ListenNG }},
	{long: "listen-tcp-ng", short: 'N', arg: argString, repeatable: true, class: supported, meta: "[IP46|HOSTNAME:]PORT", help: "TCP port to listen on, NG protocol",
		field: func(c *Config) any { return &c.ListenTCPNG }},
	{long: "listen-cli", short: 'c', arg: argString, repeatable: true, class: supported, meta: "[IP46|HOSTNAME:]PORT", help: "TCP port to listen on, CLI (empty: none)",
		field: func(c *Config) any { return &c.ListenCLI }},
	{long: "listen-http", arg: argString, repeatable: true, class: supported, meta: "[IP46|HOSTNAME:]PORT", help: "Interface for HTTP and WS",
		field: func(c *Config) any { return &c.ListenHTTP }},
	{long: "tos", short: 'T', arg: argInt, class: supported, meta: "INT", help: "Default TOS value to set on streams",
		field: func(c *Config) any { return &c.TOS }},
	{long: "timeout", short: 'o', arg: argInt, class: supported, reloadable: true, meta: "SECS", help: "RTP timeout",
		field: func(c *Config) any { return &c.Timeout }},
	{long: "silent-timeout", short: 's', arg: argInt, class: supported, reloadable: true, meta: "SECS", help: "RTP timeout for muted",
		field: func(c *Config) any { return &c.SilentTimeout }},
	{long: "final-timeout", short: 'a', arg: argInt, class: supported, reloadable: true, meta: "SECS", help: "Call timeout (0: off)",
		field: func(c *Config) any { return &c.FinalTimeout }},
	{long: "offer-timeout", arg: argInt, class: supported, reloadable: true, meta: "SECS", help: "Timeout for incomplete one-sided calls",
		field: func(c *Config) any { return &c.OfferTimeout }},
	{long: "port-min", short: 'm', arg: argInt, class: supported, meta: "INT", help: "Lowest port to use for RTP",
		field: func(c *Config) any { return &c.PortMin }},
	{long: "port-max", short: 'M', arg: argInt, class: supported, meta: "INT", help: "Highest port to use for RTP",
		field: func(c *Config) any { return &c.PortMax }},
	{long: "num-threads", arg: argInt, class: supported, meta: "INT", help: "Number of worker threads to create (0: one per CPU)",
		field: func(c *Config) any { return &c.NumThreads }},
	{long: "delete-delay", short: 'd', arg: argInt, class: supported, reloadable: true, meta: "INT", help: "Delay for deleting a session from memory",
		field: func(c *Config) any { return &c.DeleteDelay }},
	{long: "max-sessions", arg: argInt, class: supported, reloadable: true, meta: "INT", help: "Limit of maximum number of sessions (-1: none)",
		field: func(c *Config) any { return &c.MaxSessions }},
	{long: "prompt-dir", arg: argString, class: supported, ngrelay: true, meta: "DIR", help: "Directory of media files for play-media",
		field: func(c *Config) any { return &c.PromptDir }},
	{long: "socket-rcvbuf", arg: argInt, class: supported, ngrelay: true, meta: "BYTES", help: "Receive buffer size of media sockets (0: OS default)",
		field: func(c *Config) any { return &c.SocketRcvBuf }},
	{long: "socket-sndbuf", arg: argInt, class: supported, ngrelay: true, meta: "BYTES", help: "Send buffer size of media sockets (0: OS default)",
		field: func(c *Config) any { return &c.SocketSndBuf }},
	{long: "shutdown-grace", arg: argInt, class: supported, ngrelay: true, meta: "SECS", help: "On SIGTERM, let running calls go on this long before exiting (0: exit at once)",
		field: func(c *Config) any { return &c.ShutdownGraceSecs }},
	{long: "dtls-cert", arg: argString, class: supported, ngrelay: true, meta: "FILE", help: "PEM certificate for DTLS-SRTP (default: a new ECDSA P-256 certificate per start)",
		field: func(c *Config) any { return &c.DTLSCert }},
	{long: "dtls-key", arg: argString, class: supported, ngrelay: true, meta: "FILE", help: "PEM private key of --dtls-cert",
		field: func(c *Config) any { return &c.DTLSKey }},
	{long: "io-engine", arg: argString, class: supported, ngrelay: true, meta: "epoll|io_uring", help: "Media I/O engine (default epoll)",
		field: func(c *Config) any { return &c.IOEngine }, check: checkIOEngine},

	// --- ignored: kernel forwarding and its firewall rules -----------------
	{long: "table", short: 't', arg: argInt, class: ignored, reason: noKernel, meta: "INT", help: "Kernel table to use"},
	{long: "no-fallback", short: 'F', arg: argNone, class: ignored, reason: noKernel, help: "Only start when kernel module is available"},
	{long: "iptables-chain", arg: argString, class: ignored, reason: noFirewall, meta: "STRING", help: "Add explicit firewall rules to this iptables chain"},
	// nftables options of rtpengine 12 and later (not in 10.5).
	{long: "nftables-chain", arg: argString, class: ignored, reason: noKernel, meta: "STR", help: "Name of nftables chain to manage"},
	{long: "nftables-base-chain", arg: argString, class: ignored, reason: noKernel, meta: "STR", help: "Name of nftables base chain to use"},
	{long: "nftables-append", arg: argNone, class: ignored, reason: noKernel, help: "Append instead of prepend created rules"},
	{long: "nftables-family", arg: argString, class: ignored, reason: noKernel, meta: "ip|ip6|ip,ip6", help: "Address family/ies to manage via nftables"},

	// --- unsupported: rtpengine 10.5 options ngrelay does not implement ----
	{long: "log-level-core", arg: argInt, meta: "INT", help: "Log level for: Everything that isn't part of another subsystem", class: unsupported},
	{long: "log-level-spandsp", arg: argInt, meta: "INT", help: "Log level for: Log messages generated by SpanDSP directly", class: unsupported},
	{long: "log-level-ffmpeg", arg: argInt, meta: "INT", help: "Log level for: Log messages generated by ffmpeg directly", class: unsupported},
	{long: "log-level-transcoding", arg: argInt, meta: "INT", help: "Log level for: Media and RTP transcoding", class: unsupported},
	{long: "log-level-codec", arg: argInt, meta: "INT", help: "Log level for: Codec negotiation", class: unsupported},
	{long: "log-level-rtcp", arg: argInt, meta: "INT", help: "Log level for: RTCP handling", class: unsupported},
	{long: "log-level-ice", arg: argInt, meta: "INT", help: "Log level for: ICE negotiation", class: unsupported},
	{long: "log-level-crypto", arg: argInt, meta: "INT", help: "Log level for: Negotiation of SRTP, crypto suites, DTLS, SDES", class: unsupported},
	{long: "log-level-srtp", arg: argInt, meta: "INT", help: "Log level for: SRTP encryption and decryption", class: unsupported},
	{long: "log-level-internals", arg: argInt, meta: "INT", help: "Log level for: Noisy low-level internals", class: unsupported},
	{long: "log-level-http", arg: argInt, meta: "INT", help: "Log level for: HTTP, HTTPS, Websockets", class: unsupported},
	{long: "log-level-control", arg: argInt, meta: "INT", help: "Log level for: Control protocols including SDP exchanges, CLI", class: unsupported},
	{long: "log-level-dtx", arg: argInt, meta: "INT", help: "Log level for: DTX timer/buffer", class: unsupported},
	{long: "split-logs", arg: argNone, help: "Split multi-line log messages", class: unsupported},
	{long: "max-log-line-length", arg: argInt, meta: "INT", help: "Break log lines at this length", class: unsupported},
	{long: "log-mark-prefix", arg: argString, help: "Prefix for sensitive log info", class: unsupported},
	{long: "log-mark-suffix", arg: argString, help: "Suffix for sensitive log info", class: unsupported},
	{long: "thread-stack", arg: argInt, meta: "INT", help: "Thread stack size in kB", class: unsupported},
	{long: "save-interface-ports", short: 'S', arg: argNone, help: "Bind ports only on first available interface of desired family", class: unsupported},
	{long: "subscribe-keyspace", short: 'k', arg: argInt, repeatable: true, meta: "INT INT ...", help: "Subscription keyspace list", class: unsupported},
	{long: "graphite", short: 'g', arg: argString, meta: "IP46|HOSTNAME:PORT", help: "Address of the graphite server", class: unsupported},
	{long: "graphite-interval", short: 'G', arg: argInt, meta: "INT", help: "Graphite send interval in seconds", class: unsupported},
	{long: "graphite-prefix", arg: argString, meta: "STRING", help: "Prefix for graphite line", class: unsupported},
	{long: "graphite-timeout", arg: argInt, meta: "INT", help: "Graphite socket timeout interval in seconds", class: unsupported},
	{long: "control-tos", arg: argInt, meta: "INT", help: "Default TOS value to set on control-ng", class: unsupported},
	{long: "redis", short: 'r', arg: argString, meta: "[PW@]IP:PORT/INT", help: "Connect to Redis database", class: unsupported},
	{long: "redis-write", short: 'w', arg: argString, meta: "[PW@]IP:PORT/INT", help: "Connect to Redis write database", class: unsupported},
	{long: "redis-num-threads", arg: argInt, meta: "INT", help: "Number of Redis restore threads", class: unsupported},
	{long: "redis-expires", arg: argInt, meta: "INT", help: "Expire time in seconds for redis keys", class: unsupported},
	{long: "no-redis-required", short: 'q', arg: argNone, help: "Start no matter of redis connection state", class: unsupported},
	{long: "redis-allowed-errors", arg: argInt, meta: "INT", help: "Number of allowed errors before redis is temporarily disabled", class: unsupported},
	{long: "redis-disable-time", arg: argInt, meta: "INT", help: "Number of seconds redis communication is disabled because of errors", class: unsupported},
	{long: "redis-cmd-timeout", arg: argInt, meta: "INT", help: "Sets a timeout in milliseconds for redis commands", class: unsupported},
	{long: "redis-connect-timeout", arg: argInt, meta: "INT", help: "Sets a timeout in milliseconds for redis connections", class: unsupported},
	{long: "redis-delete-async", short: 'y', arg: argInt, help: "Enable asynchronous redis delete", class: unsupported},
	{long: "redis-delete-async-interval", arg: argInt, help: "Set asynchronous redis delete interval (seconds)", class: unsupported},
	{long: "active-switchover", arg: argNone, help: "Use call activity as indicator of active/standby state", class: unsupported},
	{long: "b2b-url", short: 'b', arg: argString, meta: "STRING", help: "XMLRPC URL of B2B UA", class: unsupported},
	{long: "log-facility-cdr", arg: argString, meta: "daemon|local0|...|local7", help: "Syslog facility to use for logging CDRs", class: unsupported},
	{long: "log-facility-rtcp", arg: argString, meta: "daemon|local0|...|local7", help: "Syslog facility to use for logging RTCP", class: unsupported},
	{long: "log-facility-dtmf", arg: argString, meta: "daemon|local0|...|local7", help: "Syslog facility to use for logging DTMF", class: unsupported},
	{long: "dtmf-log-dest", arg: argString, meta: "IP46|HOSTNAME:PORT", help: "Destination address for DTMF logging via UDP", class: unsupported},
	{long: "dtmf-log-ng-tcp", arg: argNone, help: "DTMF logging via TCP NG protocol", class: unsupported},
	{long: "dtmf-no-suppress", arg: argNone, help: "Disable audio suppression during DTMF events", class: unsupported},
	{long: "dtmf-digit-delay", arg: argInt, help: "Delay in ms between DTMF digit for trigger detection", class: unsupported},
	{long: "xmlrpc-format", short: 'x', arg: argInt, meta: "INT", help: "XMLRPC timeout request format to use. 0: SEMS DI, 1: call-id only, 2: Kamailio", class: unsupported},
	{long: "media-num-threads", arg: argInt, meta: "INT", help: "Number of worker threads for media playback", class: unsupported},
	{long: "sip-source", arg: argNone, help: "Use SIP source address by default", class: unsupported},
	{long: "dtls-passive", arg: argNone, help: "Always prefer DTLS passive role", class: unsupported},
	{long: "max-load", arg: argDouble, meta: "FLOAT", help: "Reject new sessions if load averages exceeds this value", class: unsupported},
	{long: "max-cpu", arg: argDouble, meta: "FLOAT", help: "Reject new sessions if CPU usage (in percent) exceeds this value", class: unsupported},
	{long: "max-bandwidth", arg: argInt, meta: "INT", help: "Reject new sessions if bandwidth usage (in bytes per second) exceeds this value", class: unsupported},
	{long: "homer", arg: argString, meta: "IP46|HOSTNAME:PORT", help: "Address of Homer server for RTCP stats", class: unsupported},
	{long: "homer-protocol", arg: argString, meta: "udp|tcp", help: "Transport protocol for Homer (default udp)", class: unsupported},
	{long: "homer-id", arg: argInt, meta: "INT", help: "'Capture ID' to use within the HEP protocol", class: unsupported},
	{long: "recording-dir", arg: argString, meta: "FILE", help: "Directory for storing pcap and metadata files", class: unsupported},
	{long: "recording-method", arg: argString, meta: "pcap|proc", help: "Strategy for call recording", class: unsupported},
	{long: "recording-format", arg: argString, meta: "raw|eth", help: "File format for stored pcap files", class: unsupported},
	{long: "codecs", arg: argNone, help: "Print a list of supported codecs and exit", class: unsupported},
	{long: "scheduling", arg: argString, meta: "default|none|fifo|rr|other|batch|idle", help: "Thread scheduling policy", class: unsupported},
	{long: "priority", arg: argInt, meta: "INT", help: "Thread scheduling priority", class: unsupported},
	{long: "idle-scheduling", arg: argString, meta: "default|none|fifo|rr|other|batch|idle", help: "Idle thread scheduling policy", class: unsupported},
	{long: "idle-priority", arg: argInt, meta: "INT", help: "Idle thread scheduling priority", class: unsupported},
	{long: "log-srtp-keys", arg: argNone, help: "Log SRTP keys to error log", class: unsupported},
	{long: "mysql-host", arg: argString, meta: "HOST|IP", help: "MySQL host for stored media files", class: unsupported},
	{long: "mysql-port", arg: argInt, meta: "INT", help: "MySQL port", class: unsupported},
	{long: "mysql-user", arg: argString, meta: "USERNAME", help: "MySQL connection credentials", class: unsupported},
	{long: "mysql-pass", arg: argString, meta: "PASSWORD", help: "MySQL connection credentials", class: unsupported},
	{long: "mysql-query", arg: argString, meta: "STRING", help: "MySQL select query", class: unsupported},
	{long: "endpoint-learning", arg: argString, meta: "delayed|immediate|off|heuristic", help: "RTP endpoint learning algorithm", class: unsupported},
	{long: "jitter-buffer", arg: argInt, meta: "INT", help: "Size of jitter buffer", class: unsupported},
	{long: "jb-clock-drift", arg: argNone, help: "Compensate for source clock drift", class: unsupported},
	{long: "debug-srtp", arg: argNone, help: "Log raw encryption details for SRTP", class: unsupported},
	{long: "reject-invalid-sdp", arg: argNone, help: "Refuse to process SDP bodies with broken syntax", class: unsupported},
	{long: "dtls-rsa-key-size", arg: argInt, meta: "INT", help: "Size of RSA key for DTLS", class: unsupported},
	{long: "dtls-cert-cipher", arg: argString, meta: "prime256v1|RSA", help: "Cipher to use for the DTLS certificate", class: unsupported},
	{long: "dtls-mtu", arg: argInt, meta: "INT", help: "DTLS MTU", class: unsupported},
	{long: "dtls-ciphers", arg: argString, meta: "STRING", help: "List of ciphers for DTLS", class: unsupported},
	{long: "dtls-signature", arg: argString, meta: "SHA-256|SHA-1", help: "Signature algorithm for DTLS", class: unsupported},
	{long: "listen-https", arg: argString, repeatable: true, meta: "[IP46|HOSTNAME:]PORT", help: "Interface for HTTPS and WSS", class: unsupported},
	{long: "https-cert", arg: argString, meta: "FILE", help: "Certificate for HTTPS and WSS", class: unsupported},
	{long: "https-key", arg: argString, meta: "FILE", help: "Private key for HTTPS and WSS", class: unsupported},
	{long: "http-threads", arg: argInt, meta: "INT", help: "Number of worker threads for HTTP and WS", class: unsupported},
	{long: "software-id", arg: argString, meta: "STRING", help: "Identification string of this software presented to external systems", class: unsupported},
	{long: "poller-per-thread", arg: argNone, help: "Use poller per thread", class: unsupported},
	{long: "dtx-delay", arg: argInt, meta: "INT", help: "Delay in milliseconds to trigger DTX handling", class: unsupported},
	{long: "max-dtx", arg: argInt, meta: "INT", help: "Maximum duration of DTX handling", class: unsupported},
	{long: "dtx-buffer", arg: argInt, meta: "INT", help: "Maxmium number of packets held in DTX buffer", class: unsupported},
	{long: "dtx-lag", arg: argInt, meta: "INT", help: "Maxmium time span in milliseconds held in DTX buffer", class: unsupported},
	{long: "dtx-shift", arg: argInt, meta: "INT", help: "Length of time (in ms) to shift DTX buffer after over/underflow", class: unsupported},
	{long: "dtx-cn-params", arg: argInt, repeatable: true, meta: "INT INT INT ...", help: "Parameters for CN generated from DTX", class: unsupported},
	{long: "amr-dtx", arg: argString, meta: "native|CN", help: "DTX mechanism to use for AMR and AMR-WB", class: unsupported},
	{long: "silence-detect", arg: argDouble, meta: "FLOAT", help: "Audio level threshold in percent for silence detection", class: unsupported},
	{long: "cn-payload", arg: argInt, repeatable: true, meta: "INT INT INT ...", help: "Comfort noise parameters to replace silence with", class: unsupported},
	{long: "mqtt-host", arg: argString, meta: "HOST|IP", help: "Mosquitto broker host or address", class: unsupported},
	{long: "mqtt-port", arg: argInt, meta: "INT", help: "Mosquitto broker port number", class: unsupported},
	{long: "mqtt-id", arg: argString, meta: "STRING", help: "Mosquitto client ID", class: unsupported},
	{long: "mqtt-keepalive", arg: argInt, meta: "INT", help: "Seconds between mosquitto keepalives", class: unsupported},
	{long: "mqtt-user", arg: argString, meta: "USERNAME", help: "Username for mosquitto auth", class: unsupported},
	{long: "mqtt-pass", arg: argString, meta: "PASSWORD", help: "Password for mosquitto auth", class: unsupported},
	{long: "mqtt-cafile", arg: argString, meta: "FILE", help: "CA file for mosquitto auth", class: unsupported},
	{long: "mqtt-capath", arg: argString, meta: "PATH", help: "CA path for mosquitto auth", class: unsupported},
	{long: "mqtt-certfile", arg: argString, meta: "FILE", help: "Certificate file for mosquitto auth", class: unsupported},
	{long: "mqtt-keyfile", arg: argString, meta: "FILE", help: "Key file for mosquitto auth", class: unsupported},
	{long: "mqtt-publish-qos", arg: argInt, meta: "0|1|2", help: "Mosquitto publish QoS", class: unsupported},
	{long: "mqtt-publish-topic", arg: argString, meta: "STRING", help: "Mosquitto publish topic", class: unsupported},
	{long: "mqtt-publish-interval", arg: argInt, meta: "MILLISECONDS", help: "Publish timer interval", class: unsupported},
	{long: "mqtt-publish-scope", arg: argString, meta: "global|call|media", help: "Scope for published mosquitto messages", class: unsupported},
	{long: "mos", arg: argString, meta: "CQ|LQ", help: "Type of MOS calculation", class: unsupported},
	{long: "socket-cpu-affinity", arg: argInt, meta: "INT", help: "CPU affinity for media sockets", class: unsupported},
	{long: "janus-secret", arg: argString, meta: "STRING", help: "Admin secret for Janus protocol", class: unsupported},
}

var (
	byLong  = map[string]*option{}
	byShort = map[byte]*option{}
)

func init() {
	for i := range optionTable {
		o := &optionTable[i]
		if byLong[o.long] != nil {
			panic("config: duplicate option --" + o.long)
		}
		byLong[o.long] = o
		if o.short != 0 {
			if byShort[o.short] != nil {
				panic("config: duplicate option -" + string(o.short))
			}
			byShort[o.short] = o
		}
	}
}

// optionNames returns "--a, --b" for the given long names, sorted.
func optionNames(names map[string]bool) string {
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, "--"+n)
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}
