package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ngCommands are the NG commands of rtpengine's control statistics: the
// column title of "list totals", the JSON key stem and the name used in the
// interval statistics.
var ngCommands = []struct{ col, key, name string }{
	{"Ping", "ping", "ping"},
	{"Offer", "offer", "offer"},
	{"Answer", "answer", "answer"},
	{"Delete", "delete", "delete"},
	{"Query", "query", "query"},
	{"List", "list", "list"},
	{"StartRec", "startrec", "start recording"},
	{"StopRec", "stoprec", "stop recording"},
	{"StartFwd", "startfwd", "start forwarding"},
	{"StopFwd", "stopfwd", "stop forwarding"},
	{"BlkDTMF", "blkdtmf", "block DTMF"},
	{"UnblkDTMF", "unblkdtmf", "unblock DTMF"},
	{"BlkMedia", "blkmedia", "block media"},
	{"UnblkMedia", "unblkmedia", "unblock media"},
	{"PlayMedia", "playmedia", "play media"},
	{"StopMedia", "stopmedia", "stop media"},
	{"PlayDTMF", "playdtmf", "play DTMF"},
	{"Stats", "stats", "statistics"},
	{"SlnMedia", "slnmedia", "silence media"},
	{"UnslnMedia", "unslnmedia", "unsilence media"},
	{"Pub", "pub", "publish"},
	{"SubReq", "subreq", "subscribe request"},
	{"SubAns", "subans", "subscribe answer"},
	{"Unsub", "unsub", "unsubscribe"},
}

// proxyLabel names the one row of the control statistics: ngrelay counts
// NG commands over all proxies together.
const proxyLabel = "(all proxies)"

// stats is one consistent reading of everything the statistics show.
type stats struct {
	calls                   int
	ipv4, ipv6, mixed       int
	mediaUserspace          int
	packetRate, byteRate    int64
	errorRate               int64
	uptime                  int64
	managed, rejected       uint64
	timeouts, silent, final uint64
	offerTimeouts           uint64
	regular, forced         uint64
	packets, bytes, errors  uint64
	commands                []uint64 // in ngCommands order
	commandErrors           uint64
	// WebRTC media ngrelay terminates: ngrelay's own keys of "list
	// jsonstats" (rtpengine has no such counters, and "list totals" keeps
	// rtpengine's exact layout).
	dtlsHandshakes, dtlsFailures, dtlsStrangers uint64
	stunAccepted, stunUnauthorized, stunDropped uint64
}

func (s *Server) gather() stats {
	e := s.engine
	var st stats
	st.calls = e.NumCalls()
	for _, c := range e.CallList() {
		v4, v6 := false, false
		c.Lock()
		for _, l := range c.Legs() {
			for _, m := range l.Medias {
				if m.RTP == nil {
					continue
				}
				if m.RTP.Local().Addr.Is4() {
					v4 = true
				} else {
					v6 = true
				}
				if m.RTP.Stats.Packets.Load() > 0 {
					st.mediaUserspace++
				}
			}
		}
		c.Unlock()
		switch {
		case v4 && v6:
			st.mixed++
		case v4:
			st.ipv4++
		case v6:
			st.ipv6++
		}
	}
	r := e.Rates()
	st.packetRate = int64(math.Round(r.Packets))
	st.byteRate = int64(math.Round(r.Bytes))
	st.errorRate = int64(math.Round(r.Errors))
	st.uptime = int64(s.now().Sub(s.started) / time.Second)

	tot := e.Totals()
	deleted := tot.CallsDeleted.Load()
	st.timeouts = tot.Timeouts.Load()
	st.silent = tot.SilentTimeouts.Load()
	st.final = tot.FinalTimeouts.Load()
	st.offerTimeouts = tot.OfferTimeouts.Load()
	st.forced = s.engine.Totals().ForcedTerminations.Load()
	st.managed = deleted // rtpengine counts sessions when they end
	ended := st.timeouts + st.silent + st.final + st.offerTimeouts + st.forced
	st.regular = deleted - min(deleted, ended)

	t := e.Traffic()
	st.packets, st.bytes, st.errors = t.Packets(), t.Bytes(), t.Errors()

	st.commands = make([]uint64, len(ngCommands))
	if h := s.handler; h != nil {
		st.rejected = h.Stats.Rejected.Load()
		for i, c := range ngCommands {
			switch c.key {
			case "ping":
				st.commands[i] = h.Stats.Ping.Load()
			case "offer":
				st.commands[i] = h.Stats.Offer.Load()
			case "answer":
				st.commands[i] = h.Stats.Answer.Load()
			case "delete":
				st.commands[i] = h.Stats.Delete.Load()
			case "query":
				st.commands[i] = h.Stats.Query.Load()
			case "list":
				st.commands[i] = h.Stats.List.Load()
			case "stats":
				st.commands[i] = h.Stats.Statistics.Load()
			}
		}
		st.commandErrors = h.Stats.Errors.Load()
		st.dtlsHandshakes = h.Stats.DTLSHandshakes.Load()
		st.dtlsFailures = h.Stats.DTLSFailures.Load()
		st.dtlsStrangers = h.Stats.DTLSStrangers.Load()
		st.stunAccepted = h.Stats.STUNAccepted.Load()
		st.stunUnauthorized = h.Stats.STUNUnauthorized.Load()
		st.stunDropped = h.Stats.STUNDropped.Load()
	}
	return st
}

// anyCommands reports whether a proxy sent anything yet.
func (st *stats) anyCommands() bool {
	if st.commandErrors > 0 {
		return true
	}
	for _, n := range st.commands {
		if n > 0 {
			return true
		}
	}
	return false
}

func (s *Server) listNumSessions(_ string, w *out) {
	st := s.gather()
	fmt.Fprintf(w, "Current sessions own: %d\n", st.calls)
	fmt.Fprintf(w, "Current sessions foreign: %d\n", 0)
	fmt.Fprintf(w, "Current sessions total: %d\n", st.calls)
	fmt.Fprintf(w, "Current transcoded media: %d\n", 0)
	fmt.Fprintf(w, "Current sessions ipv4 only media: %d\n", st.ipv4)
	fmt.Fprintf(w, "Current sessions ipv6 only media: %d\n", st.ipv6)
	fmt.Fprintf(w, "Current sessions ip mixed  media: %d\n", st.mixed)
}

func (s *Server) listCounters(_ string, w *out) {
	st := s.gather()
	w.WriteString("\nCurrent per-second counters:\n\n")
	writeRates(w, &st)
}

// field writes one " description : value" line of the totals.
func field(w *out, descr string, value any) {
	fmt.Fprintf(w, " %-48s:%v\n", descr, value)
}

func writeRates(w *out, st *stats) {
	field(w, "Packets per second (userspace)", st.packetRate)
	field(w, "Bytes per second (userspace)", st.byteRate)
	field(w, "Errors per second (userspace)", st.errorRate)
	field(w, "Packets per second (kernel)", 0)
	field(w, "Bytes per second (kernel)", 0)
	field(w, "Errors per second (kernel)", 0)
	field(w, "Packets per second (total)", st.packetRate)
	field(w, "Bytes per second (total)", st.byteRate)
	field(w, "Errors per second (total)", st.errorRate)
}

const zeroDelay = "0.000000/0.000000/0.000000 sec"

func (s *Server) listTotals(_ string, w *out) {
	st := s.gather()
	w.WriteString("\nStatistics over currently running sessions:\n\n")
	field(w, "Owned sessions", st.calls)
	field(w, "Foreign sessions", 0)
	field(w, "Total sessions", st.calls)
	field(w, "Transcoded media", 0)
	writeRates(w, &st)
	field(w, "Userspace-only media streams", st.mediaUserspace)
	field(w, "Kernel-only media streams", 0)
	field(w, "Mixed kernel/userspace media streams", 0)

	w.WriteString("\nTotal statistics (does not include current running sessions):\n\n")
	field(w, "Uptime of rtpengine", strconv.FormatInt(st.uptime, 10)+" seconds")
	field(w, "Total managed sessions", st.managed)
	field(w, "Total rejected sessions", st.rejected)
	field(w, "Total timed-out sessions via TIMEOUT", st.timeouts)
	field(w, "Total timed-out sessions via SILENT_TIMEOUT", st.silent)
	field(w, "Total timed-out sessions via FINAL_TIMEOUT", st.final)
	field(w, "Total timed-out sessions via OFFER_TIMEOUT", st.offerTimeouts)
	field(w, "Total regular terminated sessions", st.regular)
	field(w, "Total forced terminated sessions", st.forced)
	field(w, "Total relayed packets (userspace)", st.packets)
	field(w, "Total relayed packet errors (userspace)", st.errors)
	field(w, "Total relayed bytes (userspace)", st.bytes)
	field(w, "Total relayed packets (kernel)", 0)
	field(w, "Total relayed packet errors (kernel)", 0)
	field(w, "Total relayed bytes (kernel)", 0)
	field(w, "Total relayed packets", st.packets)
	field(w, "Total relayed packet errors", st.errors)
	field(w, "Total relayed bytes", st.bytes)
	field(w, "Total number of streams with no relayed packets", 0)
	field(w, "Total number of 1-way streams", 0)
	field(w, "Average call duration", "0.000000 seconds")
	field(w, "Total calls duration", "0.000000 seconds")
	field(w, "Total calls duration squared", "0.000000 seconds squared")
	field(w, "Total calls duration standard deviation", "0.000000 seconds")

	w.WriteString("\n\nGraphite interval statistics (last reported values to graphite):\n")
	field(w, "Total calls duration", "0.000000 seconds")
	w.WriteString("\n")
	field(w, "Min managed sessions", 0)
	field(w, "Max managed sessions", 0)
	for _, c := range ngCommands {
		field(w, "Min/Max/Avg "+c.name+" processing delay", zeroDelay)
	}
	for _, c := range ngCommands {
		field(w, "Min/Max/Avg "+c.name+" requests per second", "0/0/0 per sec")
	}

	w.WriteString("\n\nMOS statistics:\n\n")
	field(w, "Sum of all MOS values sampled", "0.000000")
	field(w, "Sum of all MOS square values sampled", "0.000000")
	field(w, "Total number of MOS samples", 0)
	field(w, "Average MOS", "0.000000")
	field(w, "MOS standard deviation", "0.000000")

	w.WriteString("\n\nControl statistics:\n\n")
	fmt.Fprintf(w, " %20s ", "Proxy")
	for _, c := range ngCommands {
		fmt.Fprintf(w, "| %10s ", c.col)
	}
	w.WriteString("\n")
	if !st.anyCommands() {
		w.WriteString("\n                  No proxies have yet tried to send data.\n")
	} else {
		fmt.Fprintf(w, " %20s ", proxyLabel)
		for _, n := range st.commands {
			fmt.Fprintf(w, "| %10d ", n)
		}
		w.WriteString("\n")
	}
	w.WriteString("\n\n\n\n")
}

// jsonObject renders key/value pairs, in order, as a JSON object. Values
// are JSON already.
func jsonObject(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(kv[i]))
		b.WriteByte(':')
		b.WriteString(kv[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

func jint[T int | int64 | uint64](n T) string { return fmt.Sprint(n) }

const jzero6 = "0.000000"

// listJSONStats prints the statistics as rtpengine's "list jsonstats":
// one JSON object on one line, without a newline at the end.
func (s *Server) listJSONStats(_ string, w *out) {
	st := s.gather()
	cur := jsonObject(
		"sessionsown", jint(st.calls),
		"sessionsforeign", "0",
		"sessionstotal", jint(st.calls),
		"transcodedmedia", "0",
		"packetrate_user", jint(st.packetRate),
		"byterate_user", jint(st.byteRate),
		"errorrate_user", jint(st.errorRate),
		"packetrate_kernel", "0",
		"byterate_kernel", "0",
		"errorrate_kernel", "0",
		"packetrate", jint(st.packetRate),
		"byterate", jint(st.byteRate),
		"errorrate", jint(st.errorRate),
		"media_userspace", jint(st.mediaUserspace),
		"media_kernel", "0",
		"media_mixed", "0",
	)
	total := jsonObject(
		"uptime", jint(st.uptime),
		"managedsessions", jint(st.managed),
		"rejectedsessions", jint(st.rejected),
		"timeoutsessions", jint(st.timeouts),
		"silenttimeoutsessions", jint(st.silent),
		"finaltimeoutsessions", jint(st.final),
		"offertimeoutsessions", jint(st.offerTimeouts),
		"regularterminatedsessions", jint(st.regular),
		"forcedterminatedsessions", jint(st.forced),
		"relayedpackets_user", jint(st.packets),
		"relayedpacketerrors_user", jint(st.errors),
		"relayedbytes_user", jint(st.bytes),
		"relayedpackets_kernel", "0",
		"relayedpacketerrors_kernel", "0",
		"relayedbytes_kernel", "0",
		"relayedpackets", jint(st.packets),
		"relayedpacketerrors", jint(st.errors),
		"relayedbytes", jint(st.bytes),
		"zerowaystreams", "0",
		"onewaystreams", "0",
		"avgcallduration", jzero6,
		"totalcallsduration", jzero6,
		"totalcallsduration2", jzero6,
		"totalcallsduration_stddev", jzero6,
		"dtlshandshakes", jint(st.dtlsHandshakes),
		"dtlsfailures", jint(st.dtlsFailures),
		"dtlsstrangerrecords", jint(st.dtlsStrangers),
		"stunaccepted", jint(st.stunAccepted),
		"stununauthorized", jint(st.stunUnauthorized),
		"stundropped", jint(st.stunDropped),
	)
	iv := []string{"totalcallsduration", jzero6, "minmanagedsessions", "0", "maxmanagedsessions", "0"}
	for _, c := range ngCommands {
		iv = append(iv, "min"+c.name+"delay", jzero6, "max"+c.name+"delay", jzero6, "avg"+c.name+"delay", jzero6)
	}
	for _, c := range ngCommands {
		iv = append(iv, "min"+c.name+"requestrate", "0", "max"+c.name+"requestrate", "0", "avg"+c.name+"requestrate", "0")
	}
	mos := jsonObject("mos_total", jzero6, "mos2_total", jzero6, "mos_samples_total", "0", "mos_average", jzero6, "mos_stddev", jzero6)

	proxies := "[]"
	if st.anyCommands() {
		p := []string{"proxy", strconv.Quote(proxyLabel)}
		for i, c := range ngCommands {
			p = append(p, c.key+"count", jint(st.commands[i]), c.key+"duration", jzero6)
		}
		p = append(p, "errorcount", jint(st.commandErrors))
		proxies = "[" + jsonObject(p...) + "]"
	}
	ctl := []string{"proxies", proxies}
	for i, c := range ngCommands {
		ctl = append(ctl, "total"+c.key+"count", jint(st.commands[i]))
	}

	var ifs []string
	for _, it := range s.interfaces() {
		ifs = append(ifs, jsonObject(
			"name", strconv.Quote(it.name),
			"address", strconv.Quote(it.addr),
			"ports", jsonObject(
				"min", jint(it.min), "max", jint(it.max),
				"used", jint(it.used), "used_pct", fmt.Sprintf("%.2f", it.usedPct()),
				"free", jint(it.total-it.used), "totals", jint(it.total), "last", jint(it.last)),
		))
	}

	w.WriteString(jsonObject(
		"currentstatistics", cur,
		"totalstatistics", total,
		"intervalstatistics", jsonObject(iv...),
		"mos", mos,
		"controlstatistics", jsonObject(ctl...),
		"interfaces", "["+strings.Join(ifs, ",")+"]",
		"transcoders", "[]",
	))
}

// ifaceUsage is the port usage of one local address.
type ifaceUsage struct {
	name, addr, family string
	min, max           int
	used, total, last  int
}

func (u ifaceUsage) usedPct() float64 {
	if u.total == 0 {
		return 0
	}
	return float64(u.used) * 100 / float64(u.total)
}

func (s *Server) interfaces() []ifaceUsage {
	cfg := s.engine.Config()
	total := cfg.PortMax - cfg.PortMin + 1
	var out []ifaceUsage
	for _, la := range s.engine.LocalAddrs() {
		family := "IPv6"
		if la.Addr.Is4() {
			family = "IPv4"
		}
		used := 2 * (la.Ports.Size() - la.Ports.Free())
		out = append(out, ifaceUsage{
			name: la.Interface, addr: la.Addr.String(), family: family,
			min: cfg.PortMin, max: cfg.PortMax,
			used: min(used, total), total: total, last: la.Ports.LastUsed(),
		})
	}
	return out
}

func (s *Server) listInterfaces(_ string, w *out) {
	for _, it := range s.interfaces() {
		fmt.Fprintf(w, "Interface '%s' address '%s' (%s)\n", it.name, it.addr, it.family)
		fmt.Fprintf(w, " Port range: %5d - %5d\n", it.min, it.max)
		fmt.Fprintf(w, " Ports used: %5d / %5d (%5.1f%%)\n", it.used, it.total, it.usedPct())
		fmt.Fprintf(w, " Last port used: %5d\n", it.last)
	}
}
