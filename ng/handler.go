// Package ng implements rtpengine's NG control protocol: framing over UDP and
// TCP, the reply cache for retransmissions, command dispatch, and the
// offer/answer logic that rewrites SDP and drives the relay engine.
package ng

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/crypto/dtls"
	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/relay"
)

// Handler executes NG commands against a relay engine. It is safe for
// concurrent use; commands on one call are serialised by the call's lock.
type Handler struct {
	engine     *relay.Engine
	log        *slog.Logger
	instanceID string
	started    time.Time
	now        func() time.Time

	// Stats counts commands, for "statistics" and operators.
	Stats CommandStats
	// draining makes offers fail while the daemon shuts down.
	draining atomic.Bool
	// maxSessions limits concurrent calls (-1: no limit).
	maxSessions atomic.Int64
	// proxies counts commands per proxy address.
	proxies proxyStats
	// cert is the DTLS certificate, made on first use.
	certOnce sync.Once
	cert     *dtls.Certificate
	certErr  error
	// observe, when set, is told each command's duration (metrics).
	observe atomic.Pointer[func(command string, d time.Duration, failed bool)]
}

// SetObserver makes the handler report every command's name, duration and
// failure to f (the metrics' latency histograms).
func (h *Handler) SetObserver(f func(command string, d time.Duration, failed bool)) {
	h.observe.Store(&f)
}

// SetMaxSessions limits the number of concurrent calls: offers that would
// create a call beyond it are refused (rtpengine's --max-sessions; -1 is no
// limit, 0 refuses every new call).
func (h *Handler) SetMaxSessions(n int) { h.maxSessions.Store(int64(n)) }

// MaxSessions returns the limit set by SetMaxSessions.
func (h *Handler) MaxSessions() int { return int(h.maxSessions.Load()) }

// CommandStats counts NG commands by kind.
type CommandStats struct {
	Ping, Offer, Answer, Delete, Query, List, Statistics, Errors, Unknown atomic.Uint64
	// Rejected counts offers refused by the session limit.
	Rejected atomic.Uint64
	// DTLSHandshakes and DTLSFailures count DTLS-SRTP handshakes.
	DTLSHandshakes, DTLSFailures atomic.Uint64
	// STUNAccepted counts STUN packets accepted (binding requests answered
	// with success, responses to our checks, indications);
	// STUNUnauthorized those refused for an unknown USERNAME or a wrong
	// MESSAGE-INTEGRITY (401); STUNDropped other STUN packets refused or
	// dropped (malformed, bad FINGERPRINT, unknown transaction, 400/420/487).
	STUNAccepted, STUNUnauthorized, STUNDropped atomic.Uint64
	// DTLSStrangers counts DTLS records dropped because they came from
	// an address other than the ICE-selected peer.
	DTLSStrangers atomic.Uint64
	// UnknownKeys counts dictionary keys and flags that were ignored.
	UnknownKeys atomic.Uint64
}

// NewHandler returns a handler driving engine.
func NewHandler(engine *relay.Engine, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [6]byte
	rand.Read(id[:])
	h := &Handler{engine: engine, log: log, instanceID: hex.EncodeToString(id[:]), started: time.Now(), now: time.Now}
	h.maxSessions.Store(-1)
	return h
}

// Drain makes every later offer fail with an error reply: the daemon is
// shutting down and takes no new calls.
func (h *Handler) Drain() { h.draining.Store(true) }

// reply is the result of a command, before encoding.
type reply struct {
	result  string // "ok" when empty
	sdp     string
	hasSDP  bool
	warning string
	// fields come before "result" in the reply dictionary (query, delete).
	fields []bencode.Pair
}

// Handle executes one decoded NG request dictionary and returns the reply
// dictionary. It never panics on bad input: every problem becomes a reply
// with result "error" and a reason.
func (h *Handler) Handle(msg bencode.Value) bencode.Value { return h.HandleFrom("", msg) }

// HandleFrom is Handle for a request from the proxy at address proxy, which
// is counted in the per-proxy control statistics.
func (h *Handler) HandleFrom(proxy string, msg bencode.Value) bencode.Value {
	start := h.now()
	cmd, _ := msg.GetString("command")
	r, err := h.handle(msg)
	took := h.now().Sub(start)
	h.proxies.count(proxy, strings.ToLower(cmd), took, err != nil)
	if f := h.observe.Load(); f != nil {
		(*f)(strings.ToLower(cmd), took, err != nil)
	}
	if err != nil {
		h.Stats.Errors.Add(1)
		return bencode.Dict(bencode.P("result", bencode.String("error")), bencode.P("error-reason", bencode.String(err.Error())))
	}
	var d bencode.Value
	d.Kind = bencode.KindDict
	if r.hasSDP {
		d.Dict = append(d.Dict, bencode.P("sdp", bencode.String(r.sdp)))
	}
	d.Dict = append(d.Dict, r.fields...)
	if r.warning != "" {
		d.Dict = append(d.Dict, bencode.P("warning", bencode.String(r.warning)))
	}
	res := r.result
	if res == "" {
		res = "ok"
	}
	d.Dict = append(d.Dict, bencode.P("result", bencode.String(res)))
	return d
}

func (h *Handler) handle(msg bencode.Value) (*reply, error) {
	req, err := parseRequest(msg)
	if err != nil {
		return nil, err
	}
	if n := len(req.Unknown); n > 0 {
		h.Stats.UnknownKeys.Add(uint64(n))
		h.log.Debug("ignored NG keys or flags", slog.String("call-id", req.CallID), slog.Any("ignored", req.Unknown))
	}
	switch req.Command {
	case "ping":
		h.Stats.Ping.Add(1)
		return &reply{result: "pong"}, nil
	case "offer":
		h.Stats.Offer.Add(1)
		if h.draining.Load() {
			return nil, errorReply("Shutting down: not accepting new calls")
		}
		return h.offer(req)
	case "answer":
		h.Stats.Answer.Add(1)
		return h.answer(req)
	case "delete":
		h.Stats.Delete.Add(1)
		return h.delete(req)
	case "query":
		h.Stats.Query.Add(1)
		return h.query(req)
	case "list":
		h.Stats.List.Add(1)
		return h.list(req)
	case "statistics":
		h.Stats.Statistics.Add(1)
		return h.statistics()
	}
	h.Stats.Unknown.Add(1)
	return nil, errorReply("Unrecognized command")
}

// SetCertificate makes c the DTLS certificate of every later handshake,
// instead of one generated on first use.
func (h *Handler) SetCertificate(c *dtls.Certificate) {
	h.certOnce.Do(func() {})
	h.cert, h.certErr = c, nil
}
