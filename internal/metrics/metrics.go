// Package metrics exports ngrelay's counters to Prometheus: /metrics in
// the Prometheus text format, and /ping for health checks, on the
// --listen-http addresses (rtpengine serves both there too).
//
// Nothing here runs per packet. The data plane keeps its atomic counters
// (relay.Engine's totals, streams and workers; ng.Handler's command
// counts) and a custom prometheus.Collector reads them when Prometheus
// scrapes. Only NG command latencies are observed as they happen, by
// ObserveCommand, which the NG server calls once per command (control
// plane).
//
// Every metric lives in a private registry: the package keeps no global
// state and several instances (tests, several daemons in one process) do not
// clash.
//
// # Metrics
//
// Sessions and calls:
//
//	ngrelay_sessions{type="own"|"total"}         gauge: live calls (no foreign calls: "total" equals "own")
//	ngrelay_max_sessions                          gauge: the --max-sessions limit (-1: none)
//	ngrelay_calls_created_total                   counter
//	ngrelay_calls_deleted_total                   counter: calls ended for any reason
//	ngrelay_call_timeouts_total{kind}             counter: calls ended by kind="timeout"|"silent"|"final"|"offer", or "forced" (ended by an operator)
//
// Media, by protocol="rtp"|"rtcp" (the kind of the receiving stream: RTCP
// multiplexed on the RTP port counts as rtp). Packets and bytes count what
// was accepted for relaying; errors what was dropped (not RTP/RTCP, SRTP
// authentication failure, refused source address):
//
//	ngrelay_media_packets_total{protocol}         counter: every call since start, exact
//	ngrelay_media_bytes_total{protocol}           counter
//	ngrelay_media_errors_total{protocol}          counter
//	ngrelay_interface_media_packets_total{interface,address,protocol}   counter, see below
//	ngrelay_interface_media_bytes_total{interface,address,protocol}     counter
//	ngrelay_interface_media_errors_total{interface,address,protocol}    counter
//
// The engine keeps the counters of ended calls in engine-wide totals only,
// not per interface. The per-interface counters are therefore summed at
// scrape time over the streams of the live calls, plus, for every stream
// that has ended since, the values it had at the last scrape that saw it:
// they never go down, but what a stream received between the last scrape
// and its end is missing from them (it is in the engine-wide totals). With
// a 15 s scrape interval and calls of minutes, the gap is small; use the
// engine-wide counters for exact sums.
//
// Ports, per interface address, in RTP/RTCP pairs ("used" includes pairs
// resting in quarantine after a call):
//
//	ngrelay_port_pairs{interface,address,state="free"|"used"}           gauge
//
// Forwarding workers (threads of the data plane), by worker="0".."N-1":
//
//	ngrelay_worker_busy_seconds_total{worker}       counter: time spent processing, not waiting; rate() is the utilisation (0..1)
//	ngrelay_worker_wakeups_total{worker}            counter
//	ngrelay_worker_received_packets_total{worker}   counter
//	ngrelay_worker_sent_packets_total{worker}       counter
//	ngrelay_worker_send_errors_total{worker}        counter
//
// NG control protocol:
//
//	ngrelay_ng_commands_total{command}            counter: ping, offer, answer, delete, query, list, statistics, unknown (unrecognised commands)
//	ngrelay_ng_errors_total                       counter: error replies (any command, and undecodable messages)
//	ngrelay_ng_rejected_offers_total              counter: offers refused by --max-sessions
//	ngrelay_ng_ignored_keys_total                 counter: unknown keys and flags that were ignored
//	ngrelay_ng_command_duration_seconds{command,result="ok"|"error"}   histogram, from ObserveCommand
//
// WebRTC media whose ICE and DTLS-SRTP ngrelay terminates (counted by the
// NG handler's WebRTC sessions; a STUN or DTLS packet dropped because the
// session's control queue was full counts in ngrelay_media_errors_total
// instead):
//
//	ngrelay_dtls_handshakes_total                 counter: handshakes completed (SRTP keys installed)
//	ngrelay_dtls_failures_total                   counter: handshakes failed (certificate not matching a=fingerprint, alert, ...)
//	ngrelay_dtls_stranger_records_total           counter: DTLS records dropped for coming from an address other than the ICE-selected peer
//	ngrelay_stun_packets_total{result}            counter: result="accepted" (answered with success, responses, indications), "unauthorized" (unknown USERNAME or wrong MESSAGE-INTEGRITY: 401), "dropped" (malformed, bad FINGERPRINT, other errors)
//
// Plus the Go runtime (go_*), the process (process_*) and go_build_info.
//
// SRTP authentication failures are not exported apart yet: see the TODO in
// engineCollector. They are in ngrelay_media_errors_total meanwhile.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/relay"
)

// Namespace prefixes ngrelay's own metric names.
const Namespace = "ngrelay"

// Metrics is ngrelay's Prometheus exporter. Create it with New.
type Metrics struct {
	// Log receives the HTTP server's errors (nil: discarded). Set it
	// before Serve.
	Log *slog.Logger

	reg      *prometheus.Registry
	commands *prometheus.HistogramVec
	handler  http.Handler
}

// commandBuckets are the NG command latency buckets, in seconds: an offer
// takes tens of microseconds to a few milliseconds (port allocation, SDP
// rewrite), seconds only when something is badly wrong.
var commandBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// knownCommands are the NG commands that get their own label value in
// ngrelay_ng_command_duration_seconds; any other command is "other", so
// that no client can grow the number of series.
var knownCommands = map[string]bool{
	"ping": true, "offer": true, "answer": true, "delete": true, "query": true, "list": true, "statistics": true,
}

// New returns the exporter of engine's and handler's counters (handler may
// be nil: no NG metrics but the latencies).
func New(engine *relay.Engine, handler *ng.Handler) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.commands = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace,
		Name:      "ng_command_duration_seconds",
		Help:      "Time to execute an NG command, by command and result.",
		Buckets:   commandBuckets,
	}, []string{"command", "result"})
	for c := range knownCommands {
		for _, r := range []string{"ok", "error"} {
			m.commands.WithLabelValues(c, r) // the series exist from the start
		}
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		newEngineCollector(engine, handler),
		m.commands,
	)

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{m},
		ErrorHandling: promhttp.ContinueOnError,
		// Each scrape walks the live calls: a few at a time is plenty.
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})))
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "pong")
	})
	// Go's profiler, for operators measuring where the time goes
	// (ngrelay only: `go tool pprof http://HOST:PORT/debug/pprof/profile`).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.handler = mux
	return m
}

// Registry returns the private registry, to register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the HTTP handler serving /metrics and /ping.
func (m *Metrics) Handler() http.Handler { return m.handler }

// ObserveCommand records that the NG command took d and whether its reply
// was an error. It is safe for concurrent use and on a nil *Metrics (then it
// does nothing).
func (m *Metrics) ObserveCommand(command string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	command = strings.ToLower(command)
	if !knownCommands[command] {
		command = "other"
	}
	result := "ok"
	if failed {
		result = "error"
	}
	m.commands.WithLabelValues(command, result).Observe(d.Seconds())
}

// Serve serves Handler on ln until ctx ends, then shuts the server down
// (requests in progress get a few seconds) and returns nil. It also returns
// nil when ln is closed after ctx ended; any other error is returned.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           m.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.logger().Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	shutdown := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(shutdown)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	})
	err := srv.Serve(ln)
	if !stop() {
		<-shutdown // ctx ended: wait for the shutdown to finish
	} else {
		srv.Close()
	}
	if errors.Is(err, http.ErrServerClosed) || ctx.Err() != nil && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (m *Metrics) logger() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.New(slog.DiscardHandler)
}

// promLogger passes promhttp's errors (a collector that failed) to Log.
type promLogger struct{ m *Metrics }

func (l promLogger) Println(v ...any) {
	l.m.logger().Warn("metrics: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
