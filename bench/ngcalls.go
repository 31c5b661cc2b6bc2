package bench

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/ng/bencode"
)

// callIDs makes call-ids unique to one generator run.
type callIDs struct {
	prefix string
	n      atomic.Uint64
}

func newCallIDs() *callIDs {
	var b [6]byte
	rand.Read(b[:])
	return &callIDs{prefix: "bench-" + hex.EncodeToString(b[:]) + "-"}
}

func (c *callIDs) next() string { return c.prefix + strconv.FormatUint(c.n.Add(1), 10) }

// offerSDP is a plain RTP/AVP PCMU audio offer or answer naming addr.
func offerSDP(addr netip.AddrPort, sessID uint64) string {
	return audioSDP(addr, sessID, "RTP/AVP", "")
}

// audioSDP is a PCMU audio offer or answer naming addr, with the m= line's
// protocol proto and, unless empty, one a=crypto line of value crypto.
func audioSDP(addr netip.AddrPort, sessID uint64, proto, crypto string) string {
	ip := addr.Addr().String()
	var b strings.Builder
	b.WriteString("v=0\r\n")
	fmt.Fprintf(&b, "o=- %d 1 IN IP4 %s\r\n", sessID, ip)
	b.WriteString("s=ngrelay-bench\r\n")
	fmt.Fprintf(&b, "c=IN IP4 %s\r\n", ip)
	b.WriteString("t=0 0\r\n")
	fmt.Fprintf(&b, "m=audio %d %s 0\r\n", addr.Port(), proto)
	b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
	b.WriteString("a=ptime:20\r\n")
	b.WriteString("a=sendrecv\r\n")
	if crypto != "" {
		b.WriteString("a=crypto:" + crypto + "\r\n")
	}
	return b.String()
}

// audioMedia is what the generator reads of the first audio stream of an
// SDP body.
type audioMedia struct {
	addr    netip.AddrPort
	proto   string   // the m= line's transport protocol
	cryptos []string // a=crypto values, in order
}

// sdpAudio returns the address of the first audio stream of sdp: the
// media-level c= line if there is one, else the session-level one.
func sdpAudio(sdp string) (netip.AddrPort, error) {
	m, err := parseAudio(sdp)
	return m.addr, err
}

// parseAudio parses the first audio stream of sdp.
func parseAudio(sdp string) (audioMedia, error) {
	var sessionAddr, mediaAddr string
	var out audioMedia
	port := -1
	inAudio, seenMedia := false, false
	for line := range strings.SplitSeq(sdp, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "m="):
			if inAudio {
				goto done
			}
			seenMedia = true
			f := strings.Fields(line[2:])
			if len(f) >= 3 && f[0] == "audio" && port < 0 {
				p, err := strconv.Atoi(f[1])
				if err != nil {
					return out, fmt.Errorf("sdp: bad m= line %q", line)
				}
				port = p
				out.proto = f[2]
				inAudio = true
			}
		case strings.HasPrefix(line, "c="):
			f := strings.Fields(line[2:])
			if len(f) < 3 {
				return out, fmt.Errorf("sdp: bad c= line %q", line)
			}
			if !seenMedia {
				sessionAddr = f[2]
			} else if inAudio {
				mediaAddr = f[2]
			}
		case inAudio && strings.HasPrefix(line, "a=crypto:"):
			out.cryptos = append(out.cryptos, strings.TrimSpace(line[len("a=crypto:"):]))
		}
	}
done:
	if port < 0 {
		return out, errors.New("sdp: no audio m= line")
	}
	a := mediaAddr
	if a == "" {
		a = sessionAddr
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(a, "/127"))
	if err != nil {
		return out, fmt.Errorf("sdp: connection address %q: %w", a, err)
	}
	out.addr = netip.AddrPortFrom(ip, uint16(port))
	return out, nil
}

func offerReq(callID, fromTag, sdp string) bencode.Value {
	return bencode.Dict(
		bencode.P("command", bencode.String("offer")),
		bencode.P("call-id", bencode.String(callID)),
		bencode.P("from-tag", bencode.String(fromTag)),
		bencode.P("sdp", bencode.String(sdp)),
	)
}

func answerReq(callID, fromTag, toTag, sdp string) bencode.Value {
	return bencode.Dict(
		bencode.P("command", bencode.String("answer")),
		bencode.P("call-id", bencode.String(callID)),
		bencode.P("from-tag", bencode.String(fromTag)),
		bencode.P("to-tag", bencode.String(toTag)),
		bencode.P("sdp", bencode.String(sdp)),
	)
}

func deleteReq(callID, fromTag string) bencode.Value {
	return bencode.Dict(
		bencode.P("command", bencode.String("delete")),
		bencode.P("call-id", bencode.String(callID)),
		bencode.P("from-tag", bencode.String(fromTag)),
	)
}

// ngDo sends req, times it and checks the result.
func ngDo(c *ng.Client, req bencode.Value) (bencode.Value, time.Duration, error) {
	t0 := time.Now()
	rep, err := c.Do(req)
	rtt := time.Since(t0)
	if err != nil {
		return rep, rtt, err
	}
	res, _ := rep.GetString("result")
	if res != "ok" && res != "pong" {
		reason, _ := rep.GetString("error-reason")
		cmd, _ := req.GetString("command")
		return rep, rtt, fmt.Errorf("%s: result %q: %s", cmd, res, reason)
	}
	return rep, rtt, nil
}

// Ping sends an NG ping and waits up to timeout for the pong.
func Ping(addr string, timeout time.Duration) error {
	c, err := ng.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(timeout)
	_, _, err = ngDo(c, bencode.Dict(bencode.P("command", bencode.String("ping"))))
	return err
}

// call is one call of a steady run: the generator's two sockets and what
// the relay gave them.
type call struct {
	id, fromTag, toTag string
	fdA, fdB           int
	addrA, addrB       netip.AddrPort // the generator's endpoints
	relayA, relayB     netip.AddrPort // where A sends (from the answer), where B sends (from the offer)
	up                 bool           // offer and answer succeeded
	// SRTP on B's leg: B protects with bTx (its own key, in its answer)
	// and unprotects with bRx (the key the relay offered B).
	bTx, bRx *srtp.Context
	// WebRTC on A's leg (webrtc.go): the browser end, and A's SRTP
	// contexts from its DTLS keys.
	peer     *rtcPeer
	aTx, aRx *srtp.Context
}

// NGStats are the NG requests of a phase.
type NGStats struct {
	Calls   int       `json:"calls"`   // offer+answer pairs (or full offer/answer/delete cycles) that succeeded
	Errors  int       `json:"errors"`  // requests that failed
	Seconds float64   `json:"seconds"` // wall time of the phase
	Rate    float64   `json:"rate"`    // Calls per second
	RTT     Quantiles `json:"rtt"`     // round trips of every request, offer and answer (and delete) alike
	Offer   Quantiles `json:"offer"`   // offer round trips
	Answer  Quantiles `json:"answer"`  // answer round trips
	Delete  Quantiles `json:"delete"`  // delete round trips (setup storm only)
	FirstEr string    `json:"first_error,omitempty"`
}

// rttLog collects the round trips of one NG client.
type rttLog struct {
	offer, answer, del []time.Duration
	errors             int
	firstErr           error
}

func (l *rttLog) fail(err error) {
	l.errors++
	if l.firstErr == nil {
		l.firstErr = err
	}
}

func mergeRTTs(logs []*rttLog, calls int, elapsed time.Duration) NGStats {
	var all, offer, answer, del []time.Duration
	st := NGStats{Calls: calls, Seconds: elapsed.Seconds()}
	for _, l := range logs {
		offer = append(offer, l.offer...)
		answer = append(answer, l.answer...)
		del = append(del, l.del...)
		st.Errors += l.errors
		if l.firstErr != nil && st.FirstEr == "" {
			st.FirstEr = l.firstErr.Error()
		}
	}
	all = append(append(append(all, offer...), answer...), del...)
	st.RTT = SampleQuantiles(all)
	st.Offer = SampleQuantiles(offer)
	st.Answer = SampleQuantiles(answer)
	st.Delete = SampleQuantiles(del)
	if elapsed > 0 {
		st.Rate = float64(calls) / elapsed.Seconds()
	}
	return st
}

// setupCalls runs offer and answer for every call with `clients` parallel
// NG clients. With a suite, B's leg is SRTP (see srtpOffer). With rtc, A's
// leg is a browser's (see webrtc.go): each call is set up to keyed DTLS.
func setupCalls(ngAddr string, calls []*call, clients int, suite srtp.Suite, rtc *rtcShared) (NGStats, error) {
	clients = max(1, min(clients, len(calls)))
	logs := make([]*rttLog, clients)
	var next atomic.Int64
	var ok atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for k := range logs {
		l := &rttLog{}
		logs[k] = l
		wg.Go(func() {
			c, err := ng.Dial("udp", ngAddr)
			if err != nil {
				l.fail(err)
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(calls) {
					return
				}
				cl := calls[i]
				if rtc != nil {
					p, err := setupWebRTCCall(c, l, rtc, cl, uint64(i)+1)
					cl.peer = p
					if err == nil {
						cl.aTx, cl.aRx, err = p.contexts()
					}
					if err != nil {
						l.fail(fmt.Errorf("WebRTC call %s: %w", cl.id, err))
						continue
					}
					ok.Add(1)
					continue
				}
				req := offerReq(cl.id, cl.fromTag, offerSDP(cl.addrA, uint64(i)+1))
				if suite.Valid() {
					srtpOffer(&req, suite)
				}
				rep, rtt, err := ngDo(c, req)
				if err != nil {
					l.fail(err)
					continue
				}
				l.offer = append(l.offer, rtt)
				sdp, _ := rep.GetString("sdp")
				m, err := parseAudio(sdp)
				if err != nil {
					l.fail(fmt.Errorf("offer reply: %w", err))
					continue
				}
				cl.relayB = m.addr
				answer := offerSDP(cl.addrB, uint64(i)+1)
				if suite.Valid() {
					crypto, err := cl.srtpAnswer(m, suite)
					if err != nil {
						l.fail(fmt.Errorf("offer reply: %w", err))
						continue
					}
					answer = audioSDP(cl.addrB, uint64(i)+1, "RTP/SAVP", crypto)
				}
				rep, rtt, err = ngDo(c, answerReq(cl.id, cl.fromTag, cl.toTag, answer))
				if err != nil {
					l.fail(err)
					continue
				}
				l.answer = append(l.answer, rtt)
				sdp, _ = rep.GetString("sdp")
				if m, err = parseAudio(sdp); err != nil {
					l.fail(fmt.Errorf("answer reply: %w", err))
					continue
				}
				if suite.Valid() && (m.proto != "RTP/AVP" || len(m.cryptos) > 0) {
					l.fail(fmt.Errorf("answer reply: A's leg is %s with %d a=crypto lines, want plain RTP/AVP", m.proto, len(m.cryptos)))
					continue
				}
				cl.relayA = m.addr
				cl.up = true
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	st := mergeRTTs(logs, int(ok.Load()), time.Since(t0))
	if st.Errors > 0 {
		return st, fmt.Errorf("call setup: %d of %d calls failed; first error: %s", len(calls)-st.Calls, len(calls), st.FirstEr)
	}
	return st, nil
}

// deleteCalls deletes the calls that were set up, best effort.
func deleteCalls(ngAddr string, calls []*call, clients int) error {
	clients = max(1, min(clients, len(calls)))
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			c, err := ng.Dial("udp", ngAddr)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(calls) {
					return
				}
				if !calls[i].up {
					continue
				}
				if _, _, err := ngDo(c, deleteReq(calls[i].id, calls[i].fromTag)); err != nil {
					mu.Lock()
					if len(errs) < 3 {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SetupConfig is a call-setup storm.
type SetupConfig struct {
	Target   Target
	Clients  int           // parallel NG clients
	Duration time.Duration // how long
}

// SetupResult is the outcome of a call-setup storm.
type SetupResult struct {
	Relay   string  `json:"relay,omitempty"`
	Clients int     `json:"clients"`
	NG      NGStats `json:"ng"`
	// RelayCPUPerCallUs is the relay's CPU time per offer/answer/delete
	// cycle.
	RelayCPUPerCallUs float64    `json:"relay_cpu_per_call_us,omitempty"`
	RelayCPUPct       float64    `json:"relay_cpu_pct,omitempty"` // of one CPU
	GenCPUPct         float64    `json:"gen_cpu_pct"`             // of one CPU
	LoadAvg           [3]float64 `json:"loadavg"`
	Warnings          []string   `json:"warnings,omitempty"`
}

// RunSetup runs the setup storm: Clients NG clients each doing
// offer+answer+delete back to back for Duration.
func RunSetup(cfg SetupConfig) (*SetupResult, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Second
	}
	ids := newCallIDs()
	addrA := netip.MustParseAddrPort("127.0.0.1:9")
	addrB := netip.MustParseAddrPort("127.0.0.1:11")
	logs := make([]*rttLog, cfg.Clients)
	var done atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	r0 := cfg.Target.cpu()
	s0 := SelfCPU()
	t0 := time.Now()
	for k := range logs {
		l := &rttLog{}
		logs[k] = l
		wg.Go(func() {
			c, err := ng.Dial("udp", cfg.Target.NG)
			if err != nil {
				l.fail(err)
				return
			}
			defer c.Close()
			c.SetTimeout(500 * time.Millisecond)
			for !stop.Load() {
				id := ids.next()
				_, rtt, err := ngDo(c, offerReq(id, "ft-"+id, offerSDP(addrA, 1)))
				if err != nil {
					l.fail(err)
					continue
				}
				l.offer = append(l.offer, rtt)
				_, rtt, err = ngDo(c, answerReq(id, "ft-"+id, "tt-"+id, offerSDP(addrB, 1)))
				if err == nil {
					l.answer = append(l.answer, rtt)
				} else {
					l.fail(err)
				}
				_, rtt, err2 := ngDo(c, deleteReq(id, "ft-"+id))
				if err2 != nil {
					l.fail(err2)
					continue
				}
				l.del = append(l.del, rtt)
				if err == nil {
					done.Add(1)
				}
			}
		})
	}
	time.Sleep(cfg.Duration)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(t0)
	r1 := cfg.Target.cpu()
	s1 := SelfCPU()
	res := &SetupResult{Relay: cfg.Target.Name, Clients: cfg.Clients, NG: mergeRTTs(logs, int(done.Load()), elapsed)}
	res.GenCPUPct = 100 * float64(s1-s0) / float64(elapsed)
	if r0 >= 0 && r1 >= 0 {
		res.RelayCPUPct = 100 * float64(r1-r0) / float64(elapsed)
		if res.NG.Calls > 0 {
			res.RelayCPUPerCallUs = us(r1-r0) / float64(res.NG.Calls)
		}
	}
	res.LoadAvg, _ = LoadAvg()
	if res.NG.Errors > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d NG requests failed; first: %s", res.NG.Errors, res.NG.FirstEr))
	}
	return res, nil
}
