package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v3"
	"golang.org/x/sys/unix"

	"github.com/ngrelay/ngrelay/crypto/dtls"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/ng/bencode"
)

// WebRTC mode: the generator plays the browser of a JsSIP call. A's leg
// is the browser's: its offer is a WebRTC audio offer (UDP/TLS/RTP/SAVPF,
// PCMU, ICE credentials and one host candidate for A's socket, a DTLS
// fingerprint, a=setup:actpass, rtcp-mux, BUNDLE), sent with the flags
// Kamailio uses for JsSIP to a phone:
//
//	"transport-protocol": "RTP/AVP", "ICE": "remove", "rtcp-mux": [ "demux" ]
//
// B, the phone, answers plain RTP/AVP. From the relay's answer to the
// browser A takes the relay's ICE credentials, candidate, fingerprint and
// a=setup; it then runs ICE as the controlling agent (STUN Binding
// requests with USE-CANDIDATE, retransmitted until a success response,
// answering the relay's own checks) and DTLS-SRTP (crypto/dtls) over A's
// socket, demultiplexing by the first byte (RFC 7983: STUN 0-3, DTLS
// 20-63, RTP/RTCP 128-191). The SRTP keys DTLS exports give A's two
// crypto/srtp contexts: the relay decrypts A->B and encrypts B->A, as it
// does for a real browser. During the traffic the worker hands A's
// non-RTP datagrams to its rtcPeer (DTLS retransmissions, the relay's
// STUN checks) and A sends a consent check every 4 to 6 s (RFC 7675).

// WebRTCConfig configures the browser legs.
type WebRTCConfig struct {
	// Profiles are the DTLS-SRTP protection profiles A offers (as DTLS
	// client) or accepts (as server), most preferred first (nil:
	// DefaultWebRTCProfiles).
	Profiles []srtp.Suite
	// RelaySetup, when set ("active" or "passive"), is sent as the NG
	// "DTLS" key of the offer: the relay's DTLS role towards the browser.
	// Empty leaves the relay's default (both answer a=setup:active).
	RelaySetup string
	// RTO is the initial retransmission timeout of A's STUN checks and of
	// its DTLS flights (default 100 ms; doubled on each retransmission).
	RTO time.Duration
	// Timeout bounds one call from the offer to keyed DTLS (default 10 s).
	Timeout time.Duration
}

// DefaultWebRTCProfiles is what A offers by default: the profile every
// DTLS-SRTP implementation has, so both relays use the same cipher.
func DefaultWebRTCProfiles() []srtp.Suite { return []srtp.Suite{srtp.AES128CMSHA1_80} }

// ParseProfiles parses a comma-separated list of suite names for
// -dtls-profiles ("" gives DefaultWebRTCProfiles).
func ParseProfiles(s string) ([]srtp.Suite, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultWebRTCProfiles(), nil
	}
	var out []srtp.Suite
	for name := range strings.SplitSeq(s, ",") {
		su, err := srtp.ParseSuite(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("-dtls-profiles %q: %w", name, err)
		}
		out = append(out, su)
	}
	return out, nil
}

func (c *WebRTCConfig) defaults() {
	if len(c.Profiles) == 0 {
		c.Profiles = DefaultWebRTCProfiles()
	}
	if c.RTO <= 0 {
		c.RTO = 100 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

// rtcShared is what the browser legs of one run share: one certificate
// (a browser makes one per PeerConnection; generating one per call would
// only load the generator) and the configuration.
type rtcShared struct {
	cfg  WebRTCConfig
	cert *dtls.Certificate
	fp   string // sha-256 fingerprint of cert, for a=fingerprint
}

func newRTCShared(cfg WebRTCConfig) (*rtcShared, error) {
	cfg.defaults()
	cert, err := dtls.GenerateCertificate()
	if err != nil {
		return nil, err
	}
	fp, err := cert.Fingerprint("sha-256")
	if err != nil {
		return nil, err
	}
	return &rtcShared{cfg: cfg, cert: cert, fp: fp}, nil
}

// webrtcOfferSDP is the browser's offer naming addr as its one host
// candidate.
func webrtcOfferSDP(addr netip.AddrPort, sessID uint64, ufrag, pwd, fingerprint string) string {
	ip := addr.Addr().String()
	var b strings.Builder
	b.WriteString("v=0\r\n")
	fmt.Fprintf(&b, "o=- %d 2 IN IP4 %s\r\n", sessID, ip)
	b.WriteString("s=-\r\n")
	b.WriteString("t=0 0\r\n")
	b.WriteString("a=group:BUNDLE 0\r\n")
	b.WriteString("a=msid-semantic: WMS\r\n")
	fmt.Fprintf(&b, "m=audio %d UDP/TLS/RTP/SAVPF 0\r\n", addr.Port())
	fmt.Fprintf(&b, "c=IN IP4 %s\r\n", ip)
	fmt.Fprintf(&b, "a=rtcp:%d IN IP4 %s\r\n", addr.Port(), ip)
	fmt.Fprintf(&b, "a=candidate:1 1 udp %d %s %d typ host generation 0\r\n", hostPriority, ip, addr.Port())
	b.WriteString("a=ice-ufrag:" + ufrag + "\r\n")
	b.WriteString("a=ice-pwd:" + pwd + "\r\n")
	b.WriteString("a=fingerprint:sha-256 " + fingerprint + "\r\n")
	b.WriteString("a=setup:actpass\r\n")
	b.WriteString("a=mid:0\r\n")
	b.WriteString("a=sendrecv\r\n")
	b.WriteString("a=rtcp-mux\r\n")
	b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
	b.WriteString("a=ptime:20\r\n")
	return b.String()
}

// ICE priorities (RFC 8445 section 5.1.2.1) of A's host candidate and of
// the peer-reflexive candidate its checks announce (component 1).
const (
	hostPriority  = 126<<24 | 65535<<8 | 255
	prflxPriority = 110<<24 | 65535<<8 | 255
)

// webrtcOffer adds the JsSIP-to-phone flags to an offer request.
func webrtcOffer(req *bencode.Value, relaySetup string) {
	req.Set("transport-protocol", bencode.String("RTP/AVP"))
	req.Set("ICE", bencode.String("remove"))
	req.Set("rtcp-mux", bencode.List(bencode.String("demux")))
	if relaySetup != "" {
		req.Set("DTLS", bencode.String(relaySetup))
	}
}

// rtcMedia is what A reads of the relay's answer to the browser.
type rtcMedia struct {
	addr         netip.AddrPort // c= and m= of the audio stream
	proto        string
	ufrag, pwd   string
	candidates   []netip.AddrPort // UDP IPv4 candidates of component 1, in order
	fingerprints []string         // a=fingerprint values
	setup        string
	iceLite      bool
	rtcpMux      bool
}

// parseWebRTC parses the first audio stream of the relay's answer to the
// browser, with the ICE and DTLS attributes at session or media level.
func parseWebRTC(sdp string) (rtcMedia, error) {
	a, err := parseAudio(sdp)
	if err != nil {
		return rtcMedia{}, err
	}
	m := rtcMedia{addr: a.addr, proto: a.proto}
	inAudio, seenMedia := false, false
	for line := range strings.SplitSeq(sdp, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "m=") {
			if inAudio {
				break
			}
			seenMedia = true
			inAudio = strings.HasPrefix(line, "m=audio ")
			continue
		}
		if seenMedia && !inAudio {
			continue
		}
		if !strings.HasPrefix(line, "a=") {
			continue
		}
		k, v, _ := strings.Cut(line[2:], ":")
		v = strings.TrimSpace(v)
		switch k {
		case "ice-ufrag":
			m.ufrag = v
		case "ice-pwd":
			m.pwd = v
		case "ice-lite":
			m.iceLite = true
		case "fingerprint":
			m.fingerprints = append(m.fingerprints, v)
		case "setup":
			m.setup = v
		case "rtcp-mux":
			m.rtcpMux = true
		case "candidate":
			// foundation component transport priority address port typ type
			f := strings.Fields(v)
			if len(f) < 8 || f[1] != "1" || !strings.EqualFold(f[2], "udp") {
				continue
			}
			ip, err1 := netip.ParseAddr(f[4])
			port, err2 := strconv.Atoi(f[5])
			if err1 != nil || err2 != nil || !ip.Is4() {
				continue
			}
			m.candidates = append(m.candidates, netip.AddrPortFrom(ip, uint16(port)))
		}
	}
	switch {
	case m.proto != "UDP/TLS/RTP/SAVPF":
		return m, fmt.Errorf("relay answered the browser %s, want UDP/TLS/RTP/SAVPF", m.proto)
	case m.ufrag == "" || m.pwd == "":
		return m, errors.New("relay's answer to the browser has no a=ice-ufrag/a=ice-pwd")
	case len(m.fingerprints) == 0:
		return m, errors.New("relay's answer to the browser has no a=fingerprint")
	}
	return m, nil
}

// iceTarget is where A sends: the relay's first candidate, else c=/m=.
func (m rtcMedia) iceTarget() netip.AddrPort {
	if len(m.candidates) > 0 {
		return m.candidates[0]
	}
	return m.addr
}

func randToken(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// rtcPeer is the browser end of one call: A's socket, its ICE agent and
// its DTLS endpoint.
type rtcPeer struct {
	sh         *rtcShared
	fd         int
	evfd       int // eventfd: OnKeys or OnFailure happened
	ufrag, pwd string
	tieBreaker [8]byte
	ans        rtcMedia
	relay      netip.AddrPort
	role       dtls.Role
	ep         *dtls.Endpoint

	txID      [stun.TransactionIDSize]byte // current check
	checkSent time.Time
	iceOK     atomic.Bool

	mu            sync.Mutex
	tStart        time.Time // offer sent
	tAnswered     time.Time // NG answer reply parsed
	tICE          time.Time // success response to our check
	tKeyed        time.Time // OnKeys
	local, remote srtp.Params
	failErr       error

	// Counters (atomics: the handshake goroutine, then the worker thread,
	// and the DTLS endpoint's goroutines touch them).
	checksSent, checksOK, checkErrs atomic.Uint64
	reqsIn, reqsBad, reqsConflict   atomic.Uint64
	dtlsIn, mediaEarly, stunOther   atomic.Uint64
	dtlsSent                        atomic.Uint64 // by A's endpoint, taken at close
	consentSent, consentOK          atomic.Uint64
	consentTx                       [stun.TransactionIDSize]byte // worker thread only
	nextConsent                     int64                        // worker thread only, worker ns
	firstErrResp                    atomic.Pointer[string]
}

// newRTCPeer makes the browser end for A's socket fd.
func newRTCPeer(sh *rtcShared, fd int) (*rtcPeer, error) {
	ev, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &rtcPeer{sh: sh, fd: fd, evfd: ev, ufrag: randToken(8), pwd: randToken(24)}
	rand.Read(p.tieBreaker[:])
	return p, nil
}

// offerSDP is A's offer.
func (p *rtcPeer) offerSDP(addr netip.AddrPort, sessID uint64) string {
	return webrtcOfferSDP(addr, sessID, p.ufrag, p.pwd, p.sh.fp)
}

// answered takes the relay's answer to the browser: it connects A's
// socket to the relay's candidate and creates the DTLS endpoint (started
// at once as DTLS server, after ICE as client).
func (p *rtcPeer) answered(sdp string) error {
	m, err := parseWebRTC(sdp)
	if err != nil {
		return err
	}
	p.ans = m
	p.relay = m.iceTarget()
	if p.role, err = dtls.RoleForPeerSetup(m.setup, false); err != nil {
		return fmt.Errorf("relay's a=setup:%s: %w", m.setup, err)
	}
	var fps []dtls.Fingerprint
	for _, v := range m.fingerprints {
		fp, err := dtls.ParseFingerprint(v)
		if err != nil {
			return fmt.Errorf("relay's a=fingerprint:%s: %w", v, err)
		}
		fps = append(fps, fp)
	}
	if err := connectUDP(p.fd, p.relay); err != nil {
		return fmt.Errorf("connect A to %s: %w", p.relay, err)
	}
	fd := p.fd
	p.ep = dtls.New(dtls.Config{
		Cert: p.sh.cert, Role: p.role, RemoteFingerprints: fps, Profiles: p.sh.cfg.Profiles,
		Send: func(pkt []byte) error {
			_, err := unix.Write(fd, pkt)
			return err
		},
		OnKeys:             p.onKeys,
		OnFailure:          p.onFailure,
		HandshakeTimeout:   p.sh.cfg.Timeout,
		RetransmitInterval: p.sh.cfg.RTO,
	})
	p.mu.Lock()
	p.tAnswered = time.Now()
	p.mu.Unlock()
	if p.role == dtls.Passive {
		return p.ep.Start(context.Background())
	}
	return nil
}

// wake wakes connect's poll; p.mu must be held (close closes the
// eventfd under it).
func (p *rtcPeer) wake() {
	if p.evfd < 0 {
		return
	}
	var one [8]byte
	ne.PutUint64(one[:], 1)
	unix.Write(p.evfd, one[:])
}

func (p *rtcPeer) onKeys(local, remote srtp.Params) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tKeyed = time.Now()
	p.local, p.remote = local, remote
	p.wake()
}

func (p *rtcPeer) onFailure(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failErr = err
	p.wake()
}

// close ends the DTLS association (close_notify) and frees the eventfd;
// A's socket is the caller's.
func (p *rtcPeer) close() {
	if p.ep != nil {
		p.dtlsSent.Store(p.ep.Stats().Sent)
		p.ep.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.evfd >= 0 {
		unix.Close(p.evfd)
		p.evfd = -1
	}
}

// check builds a connectivity check with transaction id tx.
func (p *rtcPeer) check(tx [stun.TransactionIDSize]byte, useCandidate bool) ([]byte, error) {
	var prio [4]byte
	binary.BigEndian.PutUint32(prio[:], prflxPriority)
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(tx), stun.BindingRequest,
		stun.NewUsername(p.ans.ufrag + ":" + p.ufrag),
		stun.RawAttribute{Type: stun.AttrPriority, Value: prio[:]},
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: p.tieBreaker[:]},
	}
	if useCandidate {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrUseCandidate})
	}
	setters = append(setters, stun.NewShortTermIntegrity(p.ans.pwd), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		return nil, err
	}
	return m.Raw, nil
}

func (p *rtcPeer) sendCheck() error {
	b, err := p.check(p.txID, true)
	if err != nil {
		return err
	}
	p.checksSent.Add(1)
	_, err = unix.Write(p.fd, b)
	return err
}

// handleCtrl handles a datagram of A's socket that is not RTP: STUN
// (answers the relay's checks, takes the responses to A's), DTLS (to the
// endpoint); RTCP and anything else is counted and dropped. It runs on
// the handshake goroutine and then on the worker thread.
func (p *rtcPeer) handleCtrl(b []byte) {
	if len(b) == 0 {
		return
	}
	switch c := b[0]; {
	case c <= 3:
		p.handleSTUN(b)
	case c >= 20 && c <= 63:
		p.dtlsIn.Add(1)
		if p.ep != nil {
			p.ep.Deliver(b)
		}
	default:
		p.mediaEarly.Add(1)
	}
}

func (p *rtcPeer) handleSTUN(b []byte) {
	if !stun.IsMessage(b) {
		p.stunOther.Add(1)
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if err := m.Decode(); err != nil {
		p.stunOther.Add(1)
		return
	}
	switch m.Type {
	case stun.BindingRequest:
		p.answerCheck(m)
	case stun.BindingSuccess:
		if stun.NewShortTermIntegrity(p.ans.pwd).Check(m) != nil {
			p.stunOther.Add(1)
			return
		}
		switch m.TransactionID {
		case p.txID:
			p.checksOK.Add(1)
			if !p.iceOK.Swap(true) {
				p.mu.Lock()
				p.tICE = time.Now()
				p.mu.Unlock()
			}
		case p.consentTx:
			p.consentOK.Add(1)
		default:
			p.stunOther.Add(1)
		}
	case stun.BindingError:
		p.checkErrs.Add(1)
		var ec stun.ErrorCodeAttribute
		ec.GetFrom(m)
		s := fmt.Sprintf("%d %s", ec.Code, ec.Reason)
		p.firstErrResp.CompareAndSwap(nil, &s)
	default:
		p.stunOther.Add(1)
	}
}

// answerCheck answers the relay's connectivity check: it must be for our
// ufrag and carry MESSAGE-INTEGRITY with our password.
func (p *rtcPeer) answerCheck(m *stun.Message) {
	p.reqsIn.Add(1)
	var u stun.Username
	if u.GetFrom(m) != nil || !strings.HasPrefix(u.String(), p.ufrag+":") ||
		stun.NewShortTermIntegrity(p.pwd).Check(m) != nil {
		p.reqsBad.Add(1)
		return
	}
	if m.Contains(stun.AttrICEControlling) {
		// Both controlling: the relay should be the controlled agent of
		// an answer. Counted and answered anyway.
		p.reqsConflict.Add(1)
	}
	resp, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IP(p.relay.Addr().AsSlice()), Port: int(p.relay.Port())},
		stun.NewShortTermIntegrity(p.pwd), stun.Fingerprint)
	if err != nil {
		return
	}
	unix.Write(p.fd, resp.Raw)
}

// consent sends a consent freshness check (RFC 7675) when one is due:
// every 4 to 6 s. now is the worker's clock (ns).
func (p *rtcPeer) consent(now int64) {
	if now < p.nextConsent {
		return
	}
	var r [1]byte
	rand.Read(r[:])
	p.nextConsent = now + int64(4*time.Second) + int64(r[0])*int64(2*time.Second)/255
	rand.Read(p.consentTx[:])
	b, err := p.check(p.consentTx, false)
	if err != nil {
		return
	}
	p.consentSent.Add(1)
	unix.Write(p.fd, b)
}

// connect runs ICE and the DTLS handshake on A's socket until the DTLS
// endpoint is keyed, it fails, or the timeout (from the offer) passes.
// STUN checks are retransmitted with RTO doubling up to 1 s.
func (p *rtcPeer) connect() error {
	p.mu.Lock()
	deadline := p.tStart.Add(p.sh.cfg.Timeout)
	p.mu.Unlock()
	rand.Read(p.txID[:])
	rto := p.sh.cfg.RTO
	next := time.Now()
	dtlsStarted := p.role == dtls.Passive
	buf := make([]byte, recvBufSize)
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}, {Fd: int32(p.evfd), Events: unix.POLLIN}}
	for {
		now := time.Now()
		if now.After(deadline) {
			return p.stuck(fmt.Errorf("not keyed %v after the offer", p.sh.cfg.Timeout))
		}
		ice := p.iceOK.Load()
		if !ice && !now.Before(next) {
			if err := p.sendCheck(); err != nil {
				return fmt.Errorf("send STUN check: %w", err)
			}
			next = now.Add(rto)
			rto = min(2*rto, time.Second)
		}
		if ice && !dtlsStarted {
			dtlsStarted = true
			if err := p.ep.Start(context.Background()); err != nil {
				return fmt.Errorf("start DTLS: %w", err)
			}
		}
		p.mu.Lock()
		keyed, ferr := !p.tKeyed.IsZero(), p.failErr
		p.mu.Unlock()
		if ferr != nil {
			return p.stuck(fmt.Errorf("DTLS failed: %w", ferr))
		}
		if keyed {
			return nil
		}
		wait := deadline.Sub(now)
		if !ice {
			wait = min(wait, next.Sub(now))
		}
		ms := max(int(wait/time.Millisecond), 1)
		if _, err := unix.Poll(fds, ms); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll: %w", err)
		}
		if fds[1].Revents != 0 {
			unix.Read(p.evfd, buf[:8])
		}
		for {
			n, err := unix.Read(p.fd, buf)
			if err != nil {
				break // EAGAIN, or ECONNREFUSED from an ICMP error: retransmission recovers
			}
			b := buf[:n]
			if n > 0 && b[0] >= 128 && b[0] <= 191 {
				p.mediaEarly.Add(1)
				continue
			}
			p.handleCtrl(b)
		}
	}
}

// stuck describes how far a handshake got, for the error report.
func (p *rtcPeer) stuck(err error) error {
	st := dtls.Stats{}
	if p.ep != nil {
		st = p.ep.Stats()
	}
	resp := ""
	if s := p.firstErrResp.Load(); s != nil {
		resp = ", first error response " + *s
	}
	return fmt.Errorf("%w: relay setup %q (we are DTLS %s), ice-lite %v, candidate %s; ICE: %d checks sent, %d succeeded, %d error responses%s, %d relay checks (%d bad, %d role conflicts); DTLS: %d datagrams in, %d sent, %d delivered, %d invalid, %d alerts in",
		err, p.ans.setup, p.role, p.ans.iceLite, p.relay, p.checksSent.Load(), p.checksOK.Load(), p.checkErrs.Load(), resp,
		p.reqsIn.Load(), p.reqsBad.Load(), p.reqsConflict.Load(), p.dtlsIn.Load(), st.Sent, st.Delivered, st.Invalid, st.AlertsReceived)
}

// contexts returns A's SRTP contexts from the DTLS keys: tx protects what
// A sends, rx unprotects what the relay sends A.
func (p *rtcPeer) contexts() (tx, rx *srtp.Context, err error) {
	p.mu.Lock()
	local, remote := p.local, p.remote
	p.mu.Unlock()
	if tx, err = srtp.NewContext(local); err != nil {
		return nil, nil, err
	}
	if rx, err = srtp.NewContext(remote); err != nil {
		return nil, nil, err
	}
	return tx, rx, nil
}

// times returns offer->answered, answered->ICE success, and offer->keyed
// (zero when not reached).
func (p *rtcPeer) times() (ng, ice, keyed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tAnswered.IsZero() {
		ng = p.tAnswered.Sub(p.tStart)
		if !p.tICE.IsZero() {
			ice = p.tICE.Sub(p.tAnswered)
		}
	}
	if !p.tKeyed.IsZero() {
		keyed = p.tKeyed.Sub(p.tStart)
	}
	return
}

// WebRTCStats sums up the browser legs of a run: handshakes, times and
// what the relays did.
type WebRTCStats struct {
	Calls      int      `json:"calls"`  // calls attempted
	Keyed      int      `json:"keyed"`  // calls whose DTLS handshake completed
	Failed     int      `json:"failed"` // calls that did not reach keyed (or two-way media, in the DTLS storm)
	FirstError string   `json:"first_error,omitempty"`
	Profiles   []string `json:"profiles"` // chosen DTLS-SRTP profiles, one entry per distinct value, with counts
	RelaySetup []string `json:"relay_setup"`
	ICELite    int      `json:"relay_ice_lite"` // calls whose answer said a=ice-lite
	// Time from sending the offer to: the NG answer parsed, then ICE (our
	// check answered, from the answer), then keyed (from the offer).
	NG    Quantiles `json:"ng"`
	ICE   Quantiles `json:"ice"`
	Total Quantiles `json:"offer_to_keyed"`
	// STUN: our checks, and the relay's checks A answered.
	ChecksSent   uint64 `json:"checks_sent"`
	ChecksOK     uint64 `json:"checks_succeeded"`
	CheckErrors  uint64 `json:"check_error_responses"`
	RelayChecks  uint64 `json:"relay_checks"`
	RelayBad     uint64 `json:"relay_checks_bad"`
	RoleConflict uint64 `json:"relay_checks_controlling"`
	ConsentSent  uint64 `json:"consent_sent"`
	ConsentOK    uint64 `json:"consent_succeeded"`
	DTLSIn       uint64 `json:"dtls_datagrams_in"`
	DTLSSent     uint64 `json:"dtls_datagrams_sent"` // retransmissions included
	EarlyMedia   uint64 `json:"media_before_keyed"`
}

// collect sums up peers (nil entries are skipped).
func collectRTC(peers []*rtcPeer) WebRTCStats {
	var st WebRTCStats
	var ng, ice, tot []time.Duration
	prof, setup := map[string]int{}, map[string]int{}
	for _, p := range peers {
		if p == nil {
			continue
		}
		st.Calls++
		a, i, k := p.times()
		if a > 0 {
			ng = append(ng, a)
		}
		if i > 0 {
			ice = append(ice, i)
		}
		if k > 0 {
			tot = append(tot, k)
			st.Keyed++
			p.mu.Lock()
			prof[p.local.Suite.Name()]++
			p.mu.Unlock()
		}
		if p.ans.setup != "" {
			setup[p.ans.setup]++
		}
		if p.ans.iceLite {
			st.ICELite++
		}
		st.ChecksSent += p.checksSent.Load()
		st.ChecksOK += p.checksOK.Load()
		st.CheckErrors += p.checkErrs.Load()
		st.RelayChecks += p.reqsIn.Load()
		st.RelayBad += p.reqsBad.Load()
		st.RoleConflict += p.reqsConflict.Load()
		st.ConsentSent += p.consentSent.Load()
		st.ConsentOK += p.consentOK.Load()
		st.DTLSIn += p.dtlsIn.Load()
		sent := p.dtlsSent.Load()
		if p.ep != nil {
			sent = max(sent, p.ep.Stats().Sent)
		}
		st.DTLSSent += sent
		st.EarlyMedia += p.mediaEarly.Load()
	}
	st.NG, st.ICE, st.Total = SampleQuantiles(ng), SampleQuantiles(ice), SampleQuantiles(tot)
	st.Profiles, st.RelaySetup = counted(prof), counted(setup)
	return st
}

func counted(m map[string]int) []string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s x%d", k, n))
	}
	return out
}

// profileNames is "A,B" of the suites.
func profileNames(ss []srtp.Suite) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name())
	}
	return strings.Join(n, ",")
}

// setupWebRTCCall does one call's offer (A, the browser), answer (B, the
// phone), ICE and DTLS, on the NG client c. It fills cl and returns the
// peer (also when it failed, for the statistics).
func setupWebRTCCall(c *ng.Client, l *rttLog, sh *rtcShared, cl *call, sessID uint64) (*rtcPeer, error) {
	p, err := newRTCPeer(sh, cl.fdA)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.tStart = time.Now()
	p.mu.Unlock()
	req := offerReq(cl.id, cl.fromTag, p.offerSDP(cl.addrA, sessID))
	webrtcOffer(&req, sh.cfg.RelaySetup)
	rep, rtt, err := ngDo(c, req)
	if err != nil {
		return p, err
	}
	l.offer = append(l.offer, rtt)
	sdp, _ := rep.GetString("sdp")
	m, err := parseAudio(sdp)
	if err != nil {
		return p, fmt.Errorf("offer reply: %w", err)
	}
	if m.proto != "RTP/AVP" || len(m.cryptos) > 0 || strings.Contains(sdp, "a=ice-") || strings.Contains(sdp, "a=fingerprint") {
		return p, fmt.Errorf("offer reply: the phone's leg is %s with %d a=crypto lines (ICE or DTLS attributes: %v), want plain RTP/AVP:\n%s",
			m.proto, len(m.cryptos), strings.Contains(sdp, "a=ice-") || strings.Contains(sdp, "a=fingerprint"), sdp)
	}
	cl.relayB = m.addr
	rep, rtt, err = ngDo(c, answerReq(cl.id, cl.fromTag, cl.toTag, offerSDP(cl.addrB, sessID)))
	if err != nil {
		return p, err
	}
	l.answer = append(l.answer, rtt)
	cl.up = true // delete it whatever happens next
	sdp, _ = rep.GetString("sdp")
	if err := p.answered(sdp); err != nil {
		return p, fmt.Errorf("answer reply: %w\n%s", err, sdp)
	}
	cl.relayA = p.relay
	if err := p.connect(); err != nil {
		return p, err
	}
	return p, nil
}

// DTLSSetupConfig is a WebRTC call-setup storm: Clients parallel
// browsers, each setting up calls one after the other, every call through
// offer/answer, ICE and DTLS to keyed, one packet each way to check that
// both ends have the keys, then delete.
type DTLSSetupConfig struct {
	Target   Target
	Clients  int           // parallel browsers (default 8)
	Calls    int           // calls in all; 0: as many as Duration allows
	Duration time.Duration // with Calls 0 (default 10 s)
	WebRTC   WebRTCConfig
	// MediaTimeout bounds the two-way media check after keyed (default 2 s).
	MediaTimeout time.Duration
}

// DTLSSetupResult is the outcome of a DTLS storm.
type DTLSSetupResult struct {
	Relay    string   `json:"relay,omitempty"`
	Clients  int      `json:"clients"`
	Offered  string   `json:"profiles_offered"`
	Seconds  float64  `json:"seconds"`
	Attempts int      `json:"calls"`
	Complete int      `json:"completed"` // keyed, and a packet decrypted each way
	Rate     float64  `json:"handshakes_per_s"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures,omitempty"` // kind xN
	// Errors are the first few failures in full.
	Errors []string `json:"errors,omitempty"`
	// RTC sums up the handshakes; Media is the time from the offer until a
	// packet went through each way (A's SRTP decrypted at B, B's RTP
	// encrypted to A).
	RTC   WebRTCStats `json:"webrtc"`
	Media Quantiles   `json:"offer_to_media"`
	NG    NGStats     `json:"ng"` // offer, answer and delete round trips

	RelayCPUPerCallUs float64    `json:"relay_cpu_per_call_us,omitempty"`
	RelayCPUPct       float64    `json:"relay_cpu_pct,omitempty"`
	GenCPUPct         float64    `json:"gen_cpu_pct"`
	LoadAvg           [3]float64 `json:"loadavg"`
	Warnings          []string   `json:"warnings,omitempty"`
}

// failKind classifies a failed call by how far it got.
func failKind(p *rtcPeer, err error) string {
	if p == nil {
		return "socket"
	}
	p.mu.Lock()
	answered, keyed, ferr := !p.tAnswered.IsZero(), !p.tKeyed.IsZero(), p.failErr
	p.mu.Unlock()
	switch {
	case !answered && strings.Contains(err.Error(), "result"):
		return "ng-error"
	case !answered:
		return "ng-or-sdp"
	case ferr != nil:
		return "dtls-failed"
	case !p.iceOK.Load():
		return "ice-timeout"
	case !keyed:
		return "dtls-timeout"
	}
	return "media"
}

// mediaCheck sends one packet each way until both have arrived: A's SRTP
// (protected with A's DTLS key) must reach B decrypted, B's RTP must reach
// A encrypted with the relay's key. It returns the time both had arrived.
func mediaCheck(p *rtcPeer, cl *call, timeout time.Duration) (time.Time, error) {
	tx, rx, err := p.contexts()
	if err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(timeout)
	toB := &unix.SockaddrInet4{Port: int(cl.relayB.Port()), Addr: cl.relayB.Addr().As4()}
	var pkt [rtpHeaderLen + 20 + srtpRoom]byte
	buf := make([]byte, recvBufSize)
	fds := []unix.PollFd{{Fd: int32(cl.fdA), Events: unix.POLLIN}, {Fd: int32(cl.fdB), Events: unix.POLLIN}}
	gotA, gotB := false, false
	// Resend after 2 ms, doubling up to 50 ms: the relay may key a moment
	// after A (when A's flight ends the handshake).
	gap := 2 * time.Millisecond
	for seq := uint16(1); ; seq++ {
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("media check: no packet %s within %v of keyed (A got the relay's SRTP: %v, B got A's packet decrypted: %v; %d non-RTP datagrams at A)",
				map[bool]string{true: "A->B", false: "B->A"}[!gotB], timeout, gotA, gotB, p.mediaEarly.Load())
		}
		n := rtpHeaderLen + 20
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		if !gotB {
			binary.BigEndian.PutUint32(pkt[8:], 0xa0a0a0a0)
			m, err := tx.ProtectRTP(pkt[:], n)
			if err != nil {
				return time.Time{}, err
			}
			unix.Write(cl.fdA, pkt[:m])
		}
		if !gotA {
			binary.BigEndian.PutUint32(pkt[8:], 0xb0b0b0b0)
			clear(pkt[rtpHeaderLen:])
			unix.Sendto(cl.fdB, pkt[:n], 0, toB)
		}
		wait := time.Now().Add(gap)
		gap = min(2*gap, 50*time.Millisecond)
		for !(gotA && gotB) && time.Now().Before(wait) {
			unix.Poll(fds, max(int(time.Until(wait)/time.Millisecond), 1))
			for {
				k, err := unix.Read(cl.fdA, buf)
				if err != nil {
					break
				}
				if !isRTP(buf[:k]) {
					p.handleCtrl(buf[:k])
					continue
				}
				if _, err := rx.UnprotectRTP(buf, k); err == nil {
					gotA = true
				}
			}
			for {
				k, _, err := unix.Recvfrom(cl.fdB, buf, 0)
				if err != nil {
					break
				}
				if k >= rtpHeaderLen && buf[0]&0xc0 == 0x80 && ne.Uint32(buf[8:]) == 0xa0a0a0a0 {
					gotB = true
				}
			}
		}
		if gotA && gotB {
			return time.Now(), nil
		}
	}
}

// RunDTLSSetup runs the storm.
func RunDTLSSetup(cfg DTLSSetupConfig) (*DTLSSetupResult, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	if cfg.Calls <= 0 && cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = 2 * time.Second
	}
	sh, err := newRTCShared(cfg.WebRTC)
	if err != nil {
		return nil, err
	}
	ids := newCallIDs()
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	type clientOut struct {
		log      rttLog
		peers    []*rtcPeer
		media    []time.Duration
		complete int
		kinds    map[string]int
		errs     []string
	}
	outs := make([]*clientOut, cfg.Clients)
	var started atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	r0, s0 := cfg.Target.cpu(), SelfCPU()
	t0 := time.Now()
	for k := range outs {
		o := &clientOut{kinds: map[string]int{}}
		outs[k] = o
		wg.Go(func() {
			c, err := ng.Dial("udp", cfg.Target.NG)
			if err != nil {
				o.log.fail(err)
				o.kinds["ng-dial"]++
				return
			}
			defer c.Close()
			c.SetTimeout(2 * time.Second)
			fail := func(p *rtcPeer, err error) {
				o.kinds[failKind(p, err)]++
				if len(o.errs) < 3 {
					o.errs = append(o.errs, err.Error())
				}
			}
			for !stop.Load() {
				i := started.Add(1)
				if cfg.Calls > 0 && int(i) > cfg.Calls {
					return
				}
				cl := &call{fdA: -1, fdB: -1, id: ids.next()}
				cl.fromTag, cl.toTag = "ft-"+cl.id, "tt-"+cl.id
				if cl.fdA, cl.addrA, err = udpSocket(lo, 1<<16); err == nil {
					cl.fdB, cl.addrB, err = udpSocket(lo, 1<<16)
				}
				if err != nil {
					fail(nil, err)
					unix.Close(cl.fdA)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				p, err := setupWebRTCCall(c, &o.log, sh, cl, uint64(i))
				if err == nil {
					var at time.Time
					if at, err = mediaCheck(p, cl, cfg.MediaTimeout); err == nil {
						o.complete++
						o.media = append(o.media, at.Sub(p.tStart))
					}
				}
				if err != nil {
					fail(p, err)
				}
				if p != nil {
					p.close()
					p.ep = nil
					o.peers = append(o.peers, p)
				}
				if cl.up {
					_, rtt, err := ngDo(c, deleteReq(cl.id, cl.fromTag))
					if err != nil {
						o.log.fail(err)
					} else {
						o.log.del = append(o.log.del, rtt)
					}
				}
				unix.Close(cl.fdA)
				unix.Close(cl.fdB)
			}
		})
	}
	if cfg.Calls <= 0 {
		time.Sleep(cfg.Duration)
		stop.Store(true)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	r1, s1 := cfg.Target.cpu(), SelfCPU()

	res := &DTLSSetupResult{Relay: cfg.Target.Name, Clients: cfg.Clients, Offered: profileNames(sh.cfg.Profiles), Seconds: elapsed.Seconds()}
	var peers []*rtcPeer
	var media []time.Duration
	var logs []*rttLog
	kinds := map[string]int{}
	for _, o := range outs {
		peers = append(peers, o.peers...)
		media = append(media, o.media...)
		logs = append(logs, &o.log)
		res.Complete += o.complete
		for k, n := range o.kinds {
			kinds[k] += n
			res.Failed += n
		}
		res.Errors = append(res.Errors, o.errs...)
	}
	res.Attempts = res.Complete + res.Failed
	res.RTC = collectRTC(peers)
	res.RTC.Failed = res.Failed
	if len(res.Errors) > 0 {
		res.RTC.FirstError = res.Errors[0]
	}
	res.Media = SampleQuantiles(media)
	res.NG = mergeRTTs(logs, res.Complete, elapsed)
	res.Failures = counted(kinds)
	res.Rate = float64(res.Complete) / elapsed.Seconds()
	res.GenCPUPct = 100 * float64(s1-s0) / float64(elapsed)
	if r0 >= 0 && r1 >= 0 {
		res.RelayCPUPct = 100 * float64(r1-r0) / float64(elapsed)
		if res.Complete > 0 {
			res.RelayCPUPerCallUs = us(r1-r0) / float64(res.Complete)
		}
	}
	res.LoadAvg, _ = LoadAvg()
	if res.Failed > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d calls failed (%s); first: %s", res.Failed, res.Attempts, strings.Join(res.Failures, ", "), res.RTC.FirstError))
	}
	if res.GenCPUPct > 85 && res.RelayCPUPct < 85 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("generator used %.0f%% of a CPU, the relay %.0f%%: if the generator has one CPU, the rate is its limit, not the relay's", res.GenCPUPct, res.RelayCPUPct))
	}
	if res.RTC.RoleConflict > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the relay sent %d checks with ICE-CONTROLLING (it should be controlled)", res.RTC.RoleConflict))
	}
	if res.RTC.RelayBad > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of the relay's checks had a wrong USERNAME or MESSAGE-INTEGRITY", res.RTC.RelayBad))
	}
	return res, nil
}
