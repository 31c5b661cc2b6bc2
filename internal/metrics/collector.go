package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/relay"
)

// engineCollector reads the engine's and the NG handler's counters at
// scrape time.
type engineCollector struct {
	engine  *relay.Engine
	handler *ng.Handler

	sessions, maxSessions                        *prometheus.Desc
	callsCreated, callsDeleted, timeouts         *prometheus.Desc
	packets, bytes, errors                       *prometheus.Desc
	ifPackets, ifBytes, ifErrors                 *prometheus.Desc
	portPairs                                    *prometheus.Desc
	wBusy, wWakeups, wReceived, wSent, wSendErrs *prometheus.Desc
	ngCommands, ngErrors, ngRejected, ngIgnored  *prometheus.Desc
	// WebRTC legs ngrelay terminates, from the NG handler's counters.
	dtlsHandshakes, dtlsFailures, dtlsStrangers *prometheus.Desc
	stunPackets                                 *prometheus.Desc
	// TODO(srtp): SRTP authentication failures go here once the engine
	// counts them apart from the other media errors, e.g.
	//   ngrelay_srtp_auth_failures_total{protocol="rtp"|"rtcp"}
	// described in Describe and read from the engine's atomic counters in
	// Collect, like callsCreated (no Prometheus call on the data path).

	// mu serialises Collect: it guards the per-interface bookkeeping and
	// the monotonic clamp.
	mu sync.Mutex
	// seen holds the counters of every live stream at the last scrape.
	seen map[*relay.Stream]streamCounts
	// ended sums, per interface address and protocol, the counters that
	// streams gone since had at the last scrape that saw them.
	ended map[ifaceKey]traffic
	// last holds the last value sent for each traffic counter series, so
	// that a scrape racing with a call's end never sends a smaller one.
	last map[seriesKey]uint64
}

type ifaceKey struct {
	local *relay.LocalAddr
	kind  relay.StreamKind
}

type traffic struct{ packets, bytes, errors uint64 }

func (t *traffic) add(u traffic) {
	t.packets += u.packets
	t.bytes += u.bytes
	t.errors += u.errors
}

type streamCounts struct {
	key ifaceKey
	traffic
}

type seriesKey struct {
	desc *prometheus.Desc
	key  ifaceKey // zero for the engine-wide series
}

func newEngineCollector(engine *relay.Engine, handler *ng.Handler) *engineCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	iface := []string{"interface", "address", "protocol"}
	return &engineCollector{
		engine:  engine,
		handler: handler,

		sessions:     d("sessions", `Calls in progress: type="own" are this relay's, "total" includes foreign (replicated) calls, which ngrelay has none of.`, "type"),
		maxSessions:  d("max_sessions", "The session limit (--max-sessions); -1 is no limit."),
		callsCreated: d("calls_created_total", "Calls created since start."),
		callsDeleted: d("calls_deleted_total", "Calls ended since start, for any reason."),
		timeouts:     d("call_timeouts_total", `Calls ended by a timeout, by kind: timeout, silent (silent-timeout), final (final-timeout), offer (offer-timeout), or forced (terminated by an operator).`, "kind"),

		packets: d("media_packets_total", "Media packets received and accepted for relaying, by protocol (of the receiving stream).", "protocol"),
		bytes:   d("media_bytes_total", "Bytes of media packets received and accepted for relaying, by protocol.", "protocol"),
		errors:  d("media_errors_total", "Media packets received and dropped (invalid, failed SRTP authentication, refused source), by protocol.", "protocol"),

		ifPackets: d("interface_media_packets_total", "Media packets accepted for relaying, by local interface address and protocol (ended calls count up to the last scrape that saw them).", iface...),
		ifBytes:   d("interface_media_bytes_total", "Bytes of media packets accepted for relaying, by local interface address and protocol (ended calls count up to the last scrape that saw them).", iface...),
		ifErrors:  d("interface_media_errors_total", "Media packets dropped, by local interface address and protocol (ended calls count up to the last scrape that saw them).", iface...),
		portPairs: d("port_pairs", `RTP/RTCP port pairs of a local interface address, by state: free, or used (including pairs in quarantine).`, "interface", "address", "state"),

		wBusy:     d("worker_busy_seconds_total", "Time a forwarding worker spent processing packets rather than waiting; its rate is the worker's utilisation.", "worker"),
		wWakeups:  d("worker_wakeups_total", "Times a forwarding worker woke up with work.", "worker"),
		wReceived: d("worker_received_packets_total", "Datagrams received by a forwarding worker.", "worker"),
		wSent:     d("worker_sent_packets_total", "Datagrams sent by a forwarding worker.", "worker"),
		wSendErrs: d("worker_send_errors_total", "Datagrams a forwarding worker failed to send.", "worker"),

		ngCommands: d("ng_commands_total", "NG commands received, by command (unknown: unrecognised commands).", "command"),
		ngErrors:   d("ng_errors_total", "NG error replies, for any command or for undecodable messages."),
		ngRejected: d("ng_rejected_offers_total", "NG offers refused by the session limit."),
		ngIgnored:  d("ng_ignored_keys_total", "Unknown NG dictionary keys and flags that were ignored."),

		dtlsHandshakes: d("dtls_handshakes_total", "DTLS-SRTP handshakes completed on WebRTC media ngrelay terminates (SRTP keys installed)."),
		dtlsFailures:   d("dtls_failures_total", "DTLS-SRTP handshakes that failed on WebRTC media ngrelay terminates (peer certificate not matching the SDP fingerprint, alerts, bad records)."),
		dtlsStrangers:  d("dtls_stranger_records_total", "DTLS records dropped on WebRTC media because they came from an address other than the ICE-selected peer."),
		stunPackets:    d("stun_packets_total", `STUN packets received on WebRTC media ngrelay terminates, by result: accepted (binding requests answered with success, responses to its checks, indications), unauthorized (unknown USERNAME or wrong MESSAGE-INTEGRITY: 401), dropped (malformed, bad FINGERPRINT, unknown transaction, other error responses). Packets the full control queue dropped are in the media errors.`, "result"),

		seen:  map[*relay.Stream]streamCounts{},
		ended: map[ifaceKey]traffic{},
		last:  map[seriesKey]uint64{},
	}
}

// Describe implements prometheus.Collector.
func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.sessions, c.callsCreated, c.callsDeleted, c.timeouts,
		c.packets, c.bytes, c.errors, c.ifPackets, c.ifBytes, c.ifErrors, c.portPairs,
		c.wBusy, c.wWakeups, c.wReceived, c.wSent, c.wSendErrs,
	} {
		ch <- d
	}
	if c.handler != nil {
		for _, d := range []*prometheus.Desc{
			c.maxSessions, c.ngCommands, c.ngErrors, c.ngRejected, c.ngIgnored,
			c.dtlsHandshakes, c.dtlsFailures, c.dtlsStrangers, c.stunPackets,
		} {
			ch <- d
		}
	}
}

func protocol(k relay.StreamKind) string {
	if k == relay.KindRTCP {
		return "rtcp"
	}
	return "rtp"
}

// Collect implements prometheus.Collector.
func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	// monotonic never sends less than it sent before for the series: a
	// stream that ends between the read of the totals and the walk of
	// the calls is missing from both for one scrape, and a counter going
	// down reads as a reset to Prometheus.
	monotonic := func(d *prometheus.Desc, k ifaceKey, v uint64, labels ...string) {
		sk := seriesKey{d, k}
		v = max(v, c.last[sk])
		c.last[sk] = v
		counter(d, v, labels...)
	}

	tot := c.engine.Totals()
	// The ended calls' traffic first, then the live calls': a call that
	// ends in between is missed (not counted twice), see monotonic.
	total := map[relay.StreamKind]traffic{
		relay.KindRTP:  {tot.RTPPackets.Load(), tot.RTPBytes.Load(), tot.RTPErrors.Load()},
		relay.KindRTCP: {tot.RTCPPackets.Load(), tot.RTCPBytes.Load(), tot.RTCPErrors.Load()},
	}
	calls := c.engine.CallList()
	live := make(map[*relay.Stream]streamCounts, len(c.seen))
	for _, call := range calls {
		call.Lock()
		for _, l := range call.Legs() {
			for _, m := range l.Medias {
				for _, s := range []*relay.Stream{m.RTP, m.RTCP} {
					if s == nil {
						continue
					}
					sc := streamCounts{
						key:     ifaceKey{s.Local(), s.Kind()},
						traffic: traffic{s.Stats.Packets.Load(), s.Stats.Bytes.Load(), s.Stats.Errors.Load()},
					}
					live[s] = sc
				}
			}
		}
		call.Unlock()
	}
	for s, sc := range c.seen {
		if _, ok := live[s]; !ok {
			e := c.ended[sc.key]
			e.add(sc.traffic)
			c.ended[sc.key] = e
		}
	}
	c.seen = live
	perIface := make(map[ifaceKey]traffic, len(c.ended))
	for k, t := range c.ended {
		perIface[k] = t
	}
	for _, sc := range live {
		t := perIface[sc.key]
		t.add(sc.traffic)
		perIface[sc.key] = t
		t = total[sc.key.kind]
		t.add(sc.traffic)
		total[sc.key.kind] = t
	}

	n := float64(len(calls))
	gauge(c.sessions, n, "own")
	gauge(c.sessions, n, "total")
	counter(c.callsCreated, tot.CallsCreated.Load())
	counter(c.callsDeleted, tot.CallsDeleted.Load())
	counter(c.timeouts, tot.Timeouts.Load(), "timeout")
	counter(c.timeouts, tot.SilentTimeouts.Load(), "silent")
	counter(c.timeouts, tot.FinalTimeouts.Load(), "final")
	counter(c.timeouts, tot.OfferTimeouts.Load(), "offer")
	counter(c.timeouts, tot.ForcedTerminations.Load(), "forced")

	for _, k := range []relay.StreamKind{relay.KindRTP, relay.KindRTCP} {
		t, p := total[k], protocol(k)
		monotonic(c.packets, ifaceKey{kind: k}, t.packets, p)
		monotonic(c.bytes, ifaceKey{kind: k}, t.bytes, p)
		monotonic(c.errors, ifaceKey{kind: k}, t.errors, p)
	}
	for _, la := range c.engine.LocalAddrs() {
		addr := la.Addr.String()
		for _, k := range []relay.StreamKind{relay.KindRTP, relay.KindRTCP} {
			key := ifaceKey{la, k}
			t, p := perIface[key], protocol(k)
			monotonic(c.ifPackets, key, t.packets, la.Interface, addr, p)
			monotonic(c.ifBytes, key, t.bytes, la.Interface, addr, p)
			monotonic(c.ifErrors, key, t.errors, la.Interface, addr, p)
		}
		size, free := la.Ports.Size(), la.Ports.Free()
		gauge(c.portPairs, float64(free), la.Interface, addr, "free")
		gauge(c.portPairs, float64(size-free), la.Interface, addr, "used")
	}

	for i, w := range c.engine.WorkerStats() {
		id := strconv.Itoa(i)
		ch <- prometheus.MustNewConstMetric(c.wBusy, prometheus.CounterValue, w.Busy.Seconds(), id)
		counter(c.wWakeups, w.Wakeups, id)
		counter(c.wReceived, w.Received, id)
		counter(c.wSent, w.Sent, id)
		counter(c.wSendErrs, w.SendErrors, id)
	}

	if h := c.handler; h != nil {
		gauge(c.maxSessions, float64(h.MaxSessions()))
		st := &h.Stats
		for _, x := range []struct {
			name string
			v    uint64
		}{
			{"ping", st.Ping.Load()}, {"offer", st.Offer.Load()}, {"answer", st.Answer.Load()},
			{"delete", st.Delete.Load()}, {"query", st.Query.Load()}, {"list", st.List.Load()},
			{"statistics", st.Statistics.Load()}, {"unknown", st.Unknown.Load()},
		} {
			counter(c.ngCommands, x.v, x.name)
		}
		counter(c.ngErrors, st.Errors.Load())
		counter(c.ngRejected, st.Rejected.Load())
		counter(c.ngIgnored, st.UnknownKeys.Load())

		counter(c.dtlsHandshakes, st.DTLSHandshakes.Load())
		counter(c.dtlsFailures, st.DTLSFailures.Load())
		counter(c.dtlsStrangers, st.DTLSStrangers.Load())
		counter(c.stunPackets, st.STUNAccepted.Load(), "accepted")
		counter(c.stunPackets, st.STUNUnauthorized.Load(), "unauthorized")
		counter(c.stunPackets, st.STUNDropped.Load(), "dropped")
	}
}
