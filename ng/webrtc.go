package ng

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/crypto/dtls"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/ice"
	"github.com/ngrelay/ngrelay/relay"
	"github.com/ngrelay/ngrelay/sdp"
)

// rtcSession terminates ICE and DTLS-SRTP for one WebRTC leg's media: it
// answers and sends STUN on the media's sockets, runs the DTLS handshake,
// and feeds the keys it yields into the media's SRTP contexts. One
// goroutine serves it until the call ends.
type rtcSession struct {
	h     *Handler
	call  *relay.Call
	media *relay.Media
	q     chan relay.ControlPacket
	agent *ice.Agent
	log   *slog.Logger

	// dtls says that ngrelay terminates the leg's DTLS-SRTP too (not
	// only its ICE).
	dtls bool
	// lite: ngrelay is an ICE-lite agent towards the leg.
	lite bool

	wake chan struct{}
	// offered is set once ngrelay's ICE credentials went to the leg in
	// an SDP: only then does the agent check the leg's candidates.
	offered atomic.Bool

	mu     sync.Mutex
	remote ice.Credentials // the leg's ICE credentials last seen
	// authed are addresses whose binding requests passed our
	// MESSAGE-INTEGRITY: DTLS from them is the peer's even before a pair
	// is nominated (a browser starts DTLS as soon as its check succeeds).
	authed []netip.AddrPort
	// early are DTLS datagrams from the peer that came before the
	// endpoint was started.
	early       [][]byte
	remoteFPs   []dtls.Fingerprint
	role        dtls.Role
	ep          *dtls.Endpoint
	peer        netip.AddrPort // where DTLS records go: the selected pair
	remoteSetup string
}

// controlQueueLen bounds the STUN/DTLS packets waiting for one session.
const controlQueueLen = 256

// certificate returns the daemon's DTLS certificate, made on first use.
func (h *Handler) certificate() (*dtls.Certificate, error) {
	h.certOnce.Do(func() {
		if h.cert == nil {
			h.cert, h.certErr = dtls.GenerateCertificate()
		}
	})
	return h.cert, h.certErr
}

// rtcOptions say how ngrelay meets a leg's media: as a full or lite ICE
// agent in the given initial role, and whether it terminates DTLS-SRTP.
type rtcOptions struct {
	controlling, lite, dtls bool
}

// rtcFor returns the ICE (and DTLS) session of a media, starting it if
// needed. A session started for ICE alone takes on DTLS when asked to.
func (h *Handler) rtcFor(call *relay.Call, m *relay.Media, o rtcOptions) *rtcSession {
	st := state(m)
	if r := st.rtc; r != nil {
		if o.dtls && !r.dtls {
			r.mu.Lock()
			r.dtls = true
			r.mu.Unlock()
			m.AwaitKeys, m.ControlDTLS = true, true
		}
		return r
	}
	q := make(chan relay.ControlPacket, controlQueueLen)
	r := &rtcSession{h: h, call: call, media: m, q: q, wake: make(chan struct{}, 1), dtls: o.dtls, lite: o.lite, log: call.Log.With(slog.Int("media", m.Index))}
	r.agent = ice.NewAgent(ice.Config{Local: ice.NewCredentials(nil), Lite: o.lite, Controlling: o.controlling && !o.lite})
	m.Control = q
	m.AwaitKeys, m.ControlDTLS = o.dtls, o.dtls
	st.rtc = r
	go r.run()
	return r
}

// component is the ICE component of a stream: 1 for RTP, 2 for RTCP.
func component(s *relay.Stream) int {
	if s.Kind() == relay.KindRTCP {
		return 2
	}
	return 1
}

func (r *rtcSession) run() {
	// The agent is stepped when something happens (a packet, new remote
	// parameters) and when it next has something to do (NextTick): a
	// connected call costs one timer per consent check, not a ticker.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() {
		r.mu.Lock()
		ep := r.ep
		r.mu.Unlock()
		if ep != nil {
			ep.Close()
		}
	}()
	for {
		select {
		case <-r.call.Done():
			return
		case p := <-r.q:
			r.packet(p)
		case <-r.wake:
		case <-timer.C:
		}
		if !r.offered.Load() {
			// The leg has not been given ngrelay's ICE (an answer
			// without it, or none yet): no checks towards it.
			continue
		}
		r.step(time.Now())
		d := time.Hour
		if next, ok := r.agent.NextTick(); ok {
			d = max(time.Until(next), 0)
		}
		timer.Reset(d)
	}
}

// step sends what the agent has due (checks, triggered checks, consent)
// and handles its events.
func (r *rtcSession) step(now time.Time) {
	out, evs := r.agent.Tick(now)
	for _, o := range out {
		if s := r.stream(o.Component); s != nil {
			s.SendTo(o.Packet, o.To)
		}
	}
	for _, ev := range evs {
		r.event(ev)
	}
}

// kick makes the session goroutine step the agent now (its remote
// parameters changed).
func (r *rtcSession) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *rtcSession) stream(component int) *relay.Stream {
	r.call.Lock()
	defer r.call.Unlock()
	if component == 2 && r.media.RTCP != nil && !r.media.RTCPMux {
		return r.media.RTCP
	}
	return r.media.RTP
}

func (r *rtcSession) packet(p relay.ControlPacket) {
	if len(p.Data) == 0 {
		return
	}
	if p.Data[0] <= 3 {
		resp, ev, err := r.agent.HandleSTUN(p.Data, p.From, component(p.Stream))
		if resp != nil {
			p.Stream.SendTo(resp, p.From)
		}
		r.countSTUN(err)
		if err == nil && resp != nil {
			r.noteAuthed(p.From)
		}
		if err != nil {
			r.log.Debug("STUN", slog.String("from", p.From.String()), slog.Any("error", err))
		}
		if ev != nil {
			r.event(ev)
		}
		return
	}
	// DTLS: only from the selected pair once there is one (RFC 7983;
	// a stranger's records must not disturb the handshake).
	r.mu.Lock()
	if !r.dtls {
		r.mu.Unlock()
		return
	}
	if !r.peer.IsValid() {
		// Not the first sender just because it was first: the peer is
		// the pair ICE selected (its DTLS retransmits what is dropped
		// meanwhile), or, for a DTLS endpoint that speaks no ICE, the
		// first sender.
		if sel, ok := r.agent.Selected(1); ok {
			r.peer = sel
		} else if r.remote.Ufrag == "" || slices.Contains(r.authed, p.From) {
			r.peer = p.From
		}
	}
	ok := r.peer.IsValid() && p.From == r.peer
	ep := r.ep
	r.mu.Unlock()
	if !ok {
		r.h.Stats.DTLSStrangers.Add(1)
		return
	}
	if ep != nil {
		ep.Deliver(p.Data)
		return
	}
	// The peer's first flight can come before ngrelay knows its
	// fingerprint (a browser answering starts DTLS as soon as its ICE
	// check succeeds, before the answer reaches ngrelay): keep it for
	// the endpoint rather than wait for a retransmission.
	r.mu.Lock()
	if r.ep == nil && len(r.early) < maxEarlyDTLS {
		r.early = append(r.early, p.Data)
	}
	ep = r.ep
	r.mu.Unlock()
	if ep != nil {
		ep.Deliver(p.Data) // started meanwhile
	}
}

// maxEarlyDTLS bounds the DTLS datagrams kept before the endpoint exists.
const maxEarlyDTLS = 4

// maxAuthed bounds the addresses remembered as authenticated.
const maxAuthed = 8

func (r *rtcSession) noteAuthed(from netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.authed, from) && len(r.authed) < maxAuthed {
		r.authed = append(r.authed, from)
	}
}

// countSTUN counts the outcome of one STUN packet handed to the agent.
func (r *rtcSession) countSTUN(err error) {
	switch {
	case err == nil:
		r.h.Stats.STUNAccepted.Add(1)
	case errors.Is(err, ice.ErrBadIntegrity), errors.Is(err, ice.ErrUnknownUsername):
		r.h.Stats.STUNUnauthorized.Add(1)
	default:
		r.h.Stats.STUNDropped.Add(1)
	}
}

func (r *rtcSession) event(ev ice.Event) {
	switch e := ev.(type) {
	case *ice.Nominated:
		if s := r.stream(e.Component); s != nil {
			s.SetPeer(e.Remote)
		}
		if e.Component == 1 {
			r.mu.Lock()
			r.peer = e.Remote
			withDTLS := r.dtls
			r.mu.Unlock()
			if withDTLS {
				r.startDTLS()
			}
		}
		r.log.Info("ICE nominated", slog.Int("component", e.Component), slog.String("remote", e.Remote.String()))
	case *ice.ConsentLost:
		// RFC 7675: no more media to a peer that stopped consenting,
		// until a pair is nominated again.
		if s := r.stream(e.Component); s != nil {
			s.StopSending()
		}
		r.log.Warn("ICE consent lost: media to the leg stopped", slog.Int("component", e.Component), slog.String("remote", e.Remote.String()))
	case *ice.Failed:
		r.log.Warn("ICE failed", slog.Int("component", e.Component))
	}
}

// startDTLS starts the handshake once the role and fingerprints are known.
func (r *rtcSession) startDTLS() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ep != nil || len(r.remoteFPs) == 0 || !r.role.Valid() {
		return
	}
	cert, err := r.h.certificate()
	if err != nil {
		r.log.Error("DTLS certificate", slog.Any("error", err))
		return
	}
	rtp := r.media.RTP // the stream may be released with the call while DTLS closes
	ep := dtls.New(dtls.Config{
		Cert:               cert,
		Role:               r.role,
		RemoteFingerprints: r.remoteFPs,
		Log:                r.log,
		Send: func(pkt []byte) error {
			r.mu.Lock()
			to := r.peer
			r.mu.Unlock()
			if !to.IsValid() {
				return fmt.Errorf("no DTLS peer yet")
			}
			if rtp == nil {
				return fmt.Errorf("media has no RTP stream")
			}
			return rtp.SendTo(pkt, to)
		},
		OnKeys: r.keyed,
		OnFailure: func(err error) {
			r.log.Warn("DTLS handshake failed", slog.Any("error", err))
			r.h.Stats.DTLSFailures.Add(1)
		},
	})
	if err := ep.Start(context.Background()); err != nil {
		r.log.Error("DTLS start", slog.Any("error", err))
		return
	}
	r.ep = ep
	for _, pkt := range r.early {
		ep.Deliver(pkt)
	}
	r.early = nil
}

// keyed installs the DTLS-SRTP keys: local encrypts towards the browser,
// remote decrypts what it sends.
func (r *rtcSession) keyed(local, remote srtp.Params) {
	r.h.Stats.DTLSHandshakes.Add(1)
	r.call.Lock()
	defer r.call.Unlock()
	if r.call.Gone() {
		return
	}
	r.media.SRTPIn, r.media.SRTPOut = &remote, &local
	r.call.Publish()
	r.log.Info("DTLS-SRTP keyed", slog.String("suite", local.Suite.Name()))
}

// setRemote records the leg's ICE parameters from its SDP (offer or
// answer), read before ngrelay strips them, and, when ngrelay terminates
// its DTLS, its fingerprints and setup, deciding our DTLS role.
// peerOffered says whether that SDP is an offer.
func (r *rtcSession) setRemote(s *sdp.Session, m *sdp.Media, la *relay.LocalAddr, peerOffered bool, req *Request) error {
	defer r.kick() // new credentials or candidates: checks to send
	attr := func(name string) (string, bool) {
		if v, ok := m.Attr(name); ok {
			return v, true
		}
		return s.Attr(name)
	}
	ufrag, _ := attr("ice-ufrag")
	pwd, _ := attr("ice-pwd")
	if ufrag != "" && pwd != "" {
		rc := ice.Credentials{Ufrag: ufrag, Pwd: pwd}
		r.mu.Lock()
		old := r.remote
		r.remote = rc
		r.mu.Unlock()
		if old.Ufrag != "" && old != rc && peerOffered {
			// An ICE restart (RFC 8445 section 9): new credentials
			// of our own go into the answer.
			r.agent.Restart(ice.NewCredentials(nil), rc)
			r.log.Info("ICE restart by the peer")
		} else {
			r.agent.SetRemoteCredentials(rc)
		}
	}
	mux := m.HasAttr("rtcp-mux")
	for _, v := range m.Attrs("candidate") {
		c, err := ice.ParseCandidate(v)
		if err != nil || !c.IsUDP() || !c.Addr.IsValid() || c.Addr.Addr().Is4() != la.Addr.Is4() {
			continue
		}
		if mux && c.Component != 1 {
			continue // RTCP shares the RTP transport
		}
		r.agent.AddRemoteCandidate(c)
	}
	if m.HasAttr("end-of-candidates") || s.HasAttr("end-of-candidates") {
		r.agent.EndOfCandidates()
	}
	recordMid(s, m, r.media)
	r.mu.Lock()
	withDTLS := r.dtls
	r.mu.Unlock()
	if !withDTLS {
		return nil
	}
	var fps []dtls.Fingerprint
	for _, v := range append(m.Attrs("fingerprint"), s.Attrs("fingerprint")...) {
		fp, err := dtls.ParseFingerprint(v)
		if err == nil {
			fps = append(fps, fp)
		}
	}
	setup, _ := attr("setup")
	r.mu.Lock()
	changed := r.ep != nil && !sameFingerprints(r.remoteFPs, fps)
	r.remoteFPs = fps
	r.remoteSetup = setup
	role, err := dtls.RoleForPeerSetup(setup, peerOffered)
	if peerOffered {
		prefer := dtls.Active
		if req.DTLS == "passive" {
			prefer = dtls.Passive
		}
		if answer, aerr := dtls.ParseSetup(dtls.AnswerSetup(setup, prefer)); aerr == nil {
			if rl, ok := answer.Role(); ok {
				role, err = rl, nil
			}
		}
	}
	if err == nil {
		r.role = role
	}
	var old *dtls.Endpoint
	if changed {
		old, r.ep = r.ep, nil
	}
	passive := r.role == dtls.Passive
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if err != nil {
		return errorReply("Invalid a=setup %q: %s", setup, err)
	}
	if len(fps) == 0 {
		return errorReply("No usable a=fingerprint in DTLS-SRTP media")
	}
	if passive {
		r.startDTLS() // wait for the peer's ClientHello
	} else if _, ok := r.agent.Selected(1); ok {
		r.startDTLS()
	} else if ufrag == "" {
		// A DTLS endpoint without ICE: the handshake goes to the
		// address its SDP names.
		r.mu.Lock()
		if !r.peer.IsValid() {
			r.peer = r.media.Endpoint
		}
		r.mu.Unlock()
		r.startDTLS()
	}
	return nil
}

func sameFingerprints(a, b []dtls.Fingerprint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

// writeLocal adds ngrelay's ICE and DTLS attributes to an m-line sent to
// the WebRTC side: media's m-line, carried by r's transport (the same media
// unless bundled). offer says whether it is an offer (setup:actpass).
func (r *rtcSession) writeLocal(m *sdp.Media, index int, offer bool, req *Request, adv netip.Addr, media *relay.Media) error {
	r.mu.Lock()
	withDTLS := r.dtls
	r.mu.Unlock()
	var fp string
	if withDTLS {
		cert, err := r.h.certificate()
		if err != nil {
			return errorReply("DTLS certificate: %s", err)
		}
		if fp, err = cert.Fingerprint("sha-256"); err != nil {
			return errorReply("DTLS fingerprint: %s", err)
		}
		removeWebRTCAttrs(m)
		m.RemoveAttr("crypto")
	} else {
		stripICE(m)
	}
	defer func() { r.offered.Store(true); r.kick() }()
	creds := r.agent.Local()
	if _, ok := m.Attr("mid"); !ok {
		st := state(media)
		switch {
		case !offer && st.mid != "":
			// an answer carries the mid the browser offered (RFC 8843)
			m.AddAttr("mid", st.mid)
		case req.Flags["generate-mid"] || offer:
			m.AddAttr("mid", fmt.Sprint(index))
		}
	}
	m.AddAttr("ice-ufrag", creds.Ufrag)
	m.AddAttr("ice-pwd", creds.Pwd)
	if withDTLS {
		m.AddAttr("fingerprint", "sha-256 "+fp)
		setup := "actpass"
		if !offer {
			r.mu.Lock()
			setup = r.role.Setup()
			r.mu.Unlock()
		}
		m.AddAttr("setup", setup)
	}
	if s := r.media.RTP; s != nil {
		m.AddAttr("candidate", ice.HostCandidate(netip.AddrPortFrom(adv, uint16(s.LocalPort())), 1, 65535).String())
	}
	if s := r.media.RTCP; s != nil && !r.media.RTCPMux {
		m.AddAttr("candidate", ice.HostCandidate(netip.AddrPortFrom(adv, uint16(s.LocalPort())), 2, 65535).String())
	}
	m.AddAttr("end-of-candidates", "")
	return nil
}

// webrtcAttributes are what a WebRTC m-line carries that a plain RTP phone
// must not see.
var webrtcAttributes = map[string]bool{
	"fingerprint": true, "setup": true, "tls-id": true, "dtls-id": true,
}

func removeWebRTCAttrs(m *sdp.Media) {
	m.RemoveAttrFunc(func(name, _ string) bool { return iceAttributes[name] || webrtcAttributes[name] })
}

// isDTLSProfile reports whether an m= protocol runs over DTLS.
func isDTLSProfile(proto string) bool { return strings.Contains(proto, "TLS") }
