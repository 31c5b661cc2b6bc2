package cli

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"syscall"
	"time"
)

// command is one word of a command table and what handles the rest of the
// line after it.
type command struct {
	word string
	run  func(s *Server, rest string, w *out)
}

// The command tables, in rtpengine's order (a word that is a prefix of
// another must come after it: "loglevels" before "loglevel").
var topCommands, listCommands, setCommands, callCommands []command

func init() {
	topCommands = []command{
		{"list", (*Server).cmdList},
		{"terminate", (*Server).cmdTerminate},
		{"set", (*Server).cmdSet},
		{"get", (*Server).cmdList},
		{"ksadd", (*Server).cmdKSAdd},
		{"ksrm", (*Server).cmdKSRm},
		{"kslist", (*Server).cmdKSList},
		{"active", (*Server).cmdActive},
		{"standby", (*Server).cmdStandby},
		{"debug", (*Server).cmdDebug},
		{"call", (*Server).cmdCall},
		{"usage", (*Server).cmdUsage},
	}
	listCommands = []command{
		{"numsessions", (*Server).listNumSessions},
		{"sessions", (*Server).listSessions},
		{"session", (*Server).listSessions}, // ngrelay: alias of "sessions"
		{"totals", (*Server).listTotals},
		{"counters", (*Server).listCounters},
		{"maxopenfiles", (*Server).listMaxOpenFiles},
		{"maxsessions", (*Server).listMaxSessions},
		{"maxcpu", constReply("Maximum CPU usage configured on rtpengine: 0.0\n")},
		{"maxload", constReply("Maximum load average configured on rtpengine: 0.00\n")},
		{"maxbw", constReply("Maximum bandwidth configured on rtpengine: 0\n")},
		{"timeout", (*Server).listTimeout},
		{"silenttimeout", (*Server).listSilentTimeout},
		{"offertimeout", (*Server).listOfferTimeout},
		{"finaltimeout", (*Server).listFinalTimeout},
		{"loglevels", (*Server).listLogLevels},
		{"loglevel", (*Server).listLogLevel},
		// ngrelay has no Redis: rtpengine's defaults.
		{"redisallowederrors", constReply("-1\n")},
		{"redisdisabletime", constReply("10\n")},
		{"redisconnecttimeout", constReply("1000\n")},
		{"rediscmdtimeout", constReply("0\n")},
		{"controltos", constReply("0\n")},
		{"deletedelay", (*Server).listDeleteDelay},
		{"interfaces", (*Server).listInterfaces},
		{"jsonstats", (*Server).listJSONStats},
		{"transcoders", constReply("No stats entries\n")},
	}
	setCommands = []command{
		{"maxopenfiles", (*Server).setMaxOpenFiles},
		{"maxsessions", (*Server).setMaxSessions},
		{"maxcpu", unsupportedSet("maxcpu")},
		{"maxload", unsupportedSet("maxload")},
		{"maxbw", unsupportedSet("maxbw")},
		{"timeout", (*Server).setTimeout},
		{"silenttimeout", (*Server).setSilentTimeout},
		{"offertimeout", (*Server).setOfferTimeout},
		{"finaltimeout", (*Server).setFinalTimeout},
		{"loglevel", (*Server).setLogLevel},
		{"redisallowederrors", unsupportedSet("redis-allowed-errors")},
		{"redisdisabletime", unsupportedSet("redis-disable-time")},
		{"redisconnecttimeout", unsupportedSet("redis-connect-timeout")},
		{"rediscmdtimeout", unsupportedSet("redis-cmd-timeout")},
		{"controltos", unsupportedSet("control-tos")},
		{"deletedelay", (*Server).setDeleteDelay},
	}
	callCommands = []command{
		{"info", (*Server).callInfo},
		{"terminate", (*Server).callTerminate},
		{"debug", (*Server).callDebug},
		{"tag", (*Server).callTag},
	}
}

const moreParams = "More parameters required.\n"

// dispatch runs the command of table that the line starts with. As in
// rtpengine, words are matched as prefixes, "help" lists the table, and
// anything else is an error naming what was not understood.
func (s *Server) dispatch(table []command, line string, w *out) {
	if line == "help" {
		w.WriteString("Available sub-commands at this level:\n")
		for _, c := range table {
			if c.word == "session" || c.word == "usage" {
				continue // ngrelay aliases and additions stay out of rtpengine's list
			}
			fmt.Fprintf(w, "\t%s\n", c.word)
		}
		return
	}
	for _, c := range table {
		if rest, ok := strings.CutPrefix(line, c.word); ok {
			c.run(s, rest, w)
			return
		}
	}
	fmt.Fprintf(w, "Unknown or incomplete command::%s\n", line)
}

// shift1 drops the separator after a command word; ok is false when
// nothing follows the word (rtpengine's str_shift(instr, 1)).
func shift1(rest string) (string, bool) {
	if rest == "" {
		return "", false
	}
	return rest[1:], true
}

func constReply(text string) func(*Server, string, *out) {
	return func(_ *Server, _ string, w *out) { w.WriteString(text) }
}

func unsupportedSet(name string) func(*Server, string, *out) {
	return func(_ *Server, rest string, w *out) {
		arg, ok := shift1(rest)
		if !ok {
			w.WriteString(moreParams)
			return
		}
		fmt.Fprintf(w, "Fail setting %s to %s; not supported by ngrelay\n", name, arg)
	}
}

func (s *Server) cmdList(rest string, w *out) {
	rest, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	s.dispatch(listCommands, rest, w)
}

func (s *Server) cmdSet(rest string, w *out) {
	rest, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	s.dispatch(setCommands, rest, w)
}

func (s *Server) cmdUsage(_ string, w *out) { w.WriteString(usageText) }

// usageText describes the commands, as rtpengine-ctl's usage does.
const usageText = `ngrelay CLI commands (rtpengine-compatible):

    help                          : list the commands at the top level
    usage                         : this text

    list (or get) <option>
         help                     : list the sub-commands
         numsessions              : number of sessions
         sessions all|own|foreign : one line per session
         sessions <N>             : one line for each of the N newest sessions
         sessions <callid>        : details of one session
         sessions json            : all sessions with their counters, in JSON (ngrelay)
         totals                   : total statistics
         counters                 : per-second counters
         jsonstats                : total statistics in JSON
         interfaces               : local interfaces and port usage
         maxsessions              : session limit (-1: none)
         maxopenfiles             : open files limit
         timeout|silenttimeout|finaltimeout|offertimeout : timeouts in seconds
         deletedelay              : delete-delay in seconds
         loglevels                : log subsystems
         loglevel [<subsystem>]   : log level(s)

    set <option>
         maxsessions <int>        : session limit (-1: none)
         maxopenfiles <uint>      : open files limit
         timeout|silenttimeout|finaltimeout|offertimeout <uint> : timeouts in seconds
         deletedelay <uint>       : delete-delay in seconds
         loglevel [<subsystem>] <0-7> : log level (one level for all subsystems)

    terminate <callid>|all|own|foreign : end sessions now
    call <callid> info|terminate|tag <tag> info

    ksadd, ksrm, kslist, standby, debug : accepted; ngrelay has no Redis keyspaces,
                                   foreign calls or per-call debugging
`

// --- sessions, totals and interfaces: see stats.go and sessions.go.

func (s *Server) listMaxSessions(_ string, w *out) {
	n := -1
	if s.handler != nil {
		n = s.handler.MaxSessions()
	}
	fmt.Fprintf(w, "Maximum sessions configured on rtpengine: %d\n", n)
}

func (s *Server) listMaxOpenFiles(_ string, w *out) {
	pid := syscall.Getpid()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		fmt.Fprintf(w, "Fail getting rtpengine configured limits; cat /proc/%d/limits\n", pid)
		return
	}
	if rl.Cur == math.MaxUint64 {
		fmt.Fprintf(w, "Maximum open-files configured on rtpengine: infinite; cat /proc/%d/limits\n", pid)
		return
	}
	fmt.Fprintf(w, "Maximum open-files configured on rtpengine: %d; cat /proc/%d/limits\n", rl.Cur, pid)
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

func (s *Server) listTimeout(_ string, w *out) {
	fmt.Fprintf(w, "TIMEOUT=%d\n", secs(s.engine.Config().Timeout))
}

func (s *Server) listSilentTimeout(_ string, w *out) {
	fmt.Fprintf(w, "SILENT_TIMEOUT=%d\n", secs(s.engine.Config().SilentTimeout))
}

func (s *Server) listFinalTimeout(_ string, w *out) {
	fmt.Fprintf(w, "FINAL_TIMEOUT=%d\n", secs(s.engine.Config().FinalTimeout))
}

func (s *Server) listOfferTimeout(_ string, w *out) {
	fmt.Fprintf(w, "OFFER_TIMEOUT=%d\n", secs(s.engine.Config().OfferTimeout))
}

func (s *Server) listDeleteDelay(_ string, w *out) {
	fmt.Fprintf(w, "%d\n", secs(s.engine.Config().DeleteDelay))
}

func (s *Server) setMaxSessions(rest string, w *out) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	n, digits, erange := strtol(arg)
	switch {
	case erange:
		fmt.Fprintf(w, "Fail setting maxsessions to %s; errno=%d\n", arg, syscall.ERANGE)
	case !digits:
		fmt.Fprintf(w, "Fail setting maxsessions to %s; no digists found\n", arg)
	case n < -1:
		fmt.Fprintf(w, "Fail setting maxsessions to %d; either positive or -1 values allowed\n", n)
	case n > math.MaxInt32:
		fmt.Fprintf(w, "Fail setting maxsessions to %s; errno=%d\n", arg, syscall.ERANGE)
	case s.handler == nil:
		fmt.Fprintf(w, "Fail setting maxsessions to %d; no NG handler\n", n)
	default:
		s.handler.SetMaxSessions(int(n))
		s.log.Info("max-sessions set by operator", slog.Int64("max-sessions", n))
		if n == -1 {
			fmt.Fprintf(w, "Success setting maxsessions to %d; disable feature\n", n)
		} else {
			fmt.Fprintf(w, "Success setting maxsessions to %d\n", n)
		}
	}
}

func (s *Server) setMaxOpenFiles(rest string, w *out) {
	const minOpenFiles = 1 << 16
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	n, digits, erange := strtol(arg)
	switch {
	case erange:
		fmt.Fprintf(w, "Fail setting open_files to %s; errno=%d\n", arg, syscall.ERANGE)
		return
	case !digits:
		fmt.Fprintf(w, "Fail setting open_files to %s; no digists found\n", arg)
		return
	case n < minOpenFiles:
		fmt.Fprintf(w, "Fail setting open_files to %d; can't set it under %d\n", n, minOpenFiles)
		return
	}
	rl := syscall.Rlimit{Cur: uint64(n), Max: uint64(n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		errno, _ := err.(syscall.Errno)
		fmt.Fprintf(w, "Fail setting open_files to %d; errno = %d\n", n, int(errno))
		return
	}
	s.log.Info("open files limit set by operator", slog.Int64("max-open-files", n))
	fmt.Fprintf(w, "Success setting open_files to %d; cat /proc/%d/limits\n", n, syscall.Getpid())
}

// setTimeoutWith parses a timeout in seconds and applies it with apply, with
// rtpengine's messages (which say "timeout" for all four timeouts).
func (s *Server) setTimeoutWith(rest string, w *out, name string, apply func(d time.Duration)) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	n, digits, erange := strtol(arg)
	switch {
	case erange:
		fmt.Fprintf(w, "Fail setting timeout to %s; errno=%d\n", arg, syscall.ERANGE)
	case n < 0 || n >= math.MaxInt32:
		fmt.Fprintf(w, "Fail setting timeout to %s; errno=0\n", arg)
	case !digits:
		fmt.Fprintf(w, "Fail setting timeout to %s; no digists found\n", arg)
	default:
		s.setMu.Lock()
		apply(time.Duration(n) * time.Second)
		s.setMu.Unlock()
		s.log.Info(name+" set by operator", slog.Int64("seconds", n))
		fmt.Fprintf(w, "Success setting timeout to %d\n", n)
	}
}

func (s *Server) changeTimeouts(change func(timeout, silent, final, offer *time.Duration)) {
	c := s.engine.Config()
	change(&c.Timeout, &c.SilentTimeout, &c.FinalTimeout, &c.OfferTimeout)
	s.engine.SetTimeouts(c.Timeout, c.SilentTimeout, c.FinalTimeout, c.OfferTimeout)
}

func (s *Server) setTimeout(rest string, w *out) {
	s.setTimeoutWith(rest, w, "timeout", func(d time.Duration) {
		s.changeTimeouts(func(t, _, _, _ *time.Duration) { *t = d })
	})
}

func (s *Server) setSilentTimeout(rest string, w *out) {
	s.setTimeoutWith(rest, w, "silent-timeout", func(d time.Duration) {
		s.changeTimeouts(func(_, t, _, _ *time.Duration) { *t = d })
	})
}

func (s *Server) setFinalTimeout(rest string, w *out) {
	s.setTimeoutWith(rest, w, "final-timeout", func(d time.Duration) {
		s.changeTimeouts(func(_, _, t, _ *time.Duration) { *t = d })
	})
}

func (s *Server) setOfferTimeout(rest string, w *out) {
	s.setTimeoutWith(rest, w, "offer-timeout", func(d time.Duration) {
		s.changeTimeouts(func(_, _, _, t *time.Duration) { *t = d })
	})
}

func (s *Server) setDeleteDelay(rest string, w *out) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	n, digits, erange := strtol(arg)
	if !digits || erange || n < 0 || n > math.MaxInt32 {
		w.WriteString("Invalid delete-delay value\n")
		return
	}
	s.engine.SetDeleteDelay(time.Duration(n) * time.Second)
	s.log.Info("delete-delay set by operator", slog.Int64("seconds", n))
	fmt.Fprintf(w, "Success setting delete-delay to %d\n", n)
}

// --- Redis keyspaces, active/standby, debug: ngrelay has none of them.

func (s *Server) cmdKSAdd(rest string, w *out) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	if _, digits, _ := strtol(arg); !digits {
		fmt.Fprintf(w, "Fail adding keyspace %s to redis notifications; no digists found\n", arg)
		return
	}
	fmt.Fprintf(w, "Fail adding keyspace %s to redis notifications; ngrelay has no redis support\n", arg)
}

func (s *Server) cmdKSRm(rest string, w *out) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	n, digits, _ := strtol(arg)
	if !digits {
		fmt.Fprintf(w, "Fail removing keyspace %s to redis notifications; no digists found\n", arg)
		return
	}
	fmt.Fprintf(w, "Keyspace %d is not among redis notifications.\n", uint64(n))
}

func (s *Server) cmdKSList(_ string, w *out) {
	w.WriteString("\nSubscribed-on keyspaces:\n\n")
}

func (s *Server) cmdActive(_ string, w *out) {
	// Every ngrelay call is owned already.
	w.WriteString("Ok, all calls set to 'owned (active)'\n")
}

func (s *Server) cmdStandby(_ string, w *out) {
	w.WriteString("Fail setting all calls to 'foreign (standby)'; ngrelay has no foreign calls\n")
}

func (s *Server) cmdDebug(rest string, w *out) {
	rest, ok := shift1(rest)
	callID, _, _ := strings.Cut(rest, " ")
	if !ok || callID == "" {
		w.WriteString("No call ID specified\n")
		return
	}
	if s.engine.Call(callID) == nil {
		fmt.Fprintf(w, "Call ID '%s' not found\n", callID)
		return
	}
	fmt.Fprintf(w, "Fail setting debugging for call '%s'; not supported by ngrelay\n", callID)
}

// strtol parses s as C's strtol(s, &end, 10) does: leading white space, a
// sign, decimal digits, and anything after them ignored. digits is false
// when no digit was found, erange when the value does not fit in int64.
func strtol(s string) (n int64, digits, erange bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\v' || s[i] == '\f' || s[i] == '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var u uint64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits = true
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			erange = true
			continue
		}
		u = u*10 + d
	}
	switch {
	case !neg && u > math.MaxInt64, neg && u > 1<<63:
		erange = true
	}
	if erange {
		if neg {
			return math.MinInt64, digits, true
		}
		return math.MaxInt64, digits, true
	}
	if neg {
		return -int64(u), digits, false
	}
	return int64(u), digits, false
}
