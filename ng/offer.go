package ng

import (
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ngrelay/ngrelay/relay"
	"github.com/ngrelay/ngrelay/sdp"
)

// iceAttributes are removed from SDP that ngrelay relays as plain RTP: the
// candidates name the endpoint's own addresses, which must not bypass the
// relay.
var iceAttributes = map[string]bool{
	"candidate": true, "ice-ufrag": true, "ice-pwd": true, "ice-options": true,
	"ice-lite": true, "remote-candidates": true, "end-of-candidates": true, "ice-mismatch": true,
}

// loopMarker is the session attribute of loop-protect.
const loopMarker = "rtpengine"

// side is one direction of an offer or answer: the leg whose SDP we read
// (from) and the leg it is rewritten for (to).
type side struct {
	from, to *relay.Leg
	call     *relay.Call
}

// offer handles the "offer" command.
func (h *Handler) offer(req *Request) (*reply, error) {
	if req.CallID == "" {
		return nil, errorReply("No call-id in message")
	}
	if req.FromTag == "" {
		return nil, errorReply("No from-tag in message")
	}
	sess, err := h.parseSDP(req)
	if err != nil {
		return nil, err
	}
	if h.loopDetected(req, sess) {
		return &reply{sdp: req.SDP, hasSDP: true}, nil
	}

	if max := h.maxSessions.Load(); max >= 0 && h.engine.Call(req.CallID) == nil && int64(h.engine.NumCalls()) >= max {
		h.Stats.Rejected.Add(1)
		if req.Supports["load limit"] {
			// The proxy understands this reply and tries another relay.
			return &reply{result: "load limit", warning: "Parallel session limit reached"}, nil
		}
		return nil, errorReply("Parallel session limit reached")
	}
	call, created := h.lockCall(req.CallID, true)
	defer call.Unlock()
	call.CancelDelete()
	call.LastSignal = h.now()

	legA := call.Leg(req.FromTag)
	if legA == nil {
		legA = call.NewLeg(req.FromTag, req.ViaBranch)
	}
	var legB *relay.Leg
	if req.ToTag != "" {
		legB = call.Leg(req.ToTag)
	}
	if legB == nil && legA.Peer != nil && (req.ViaBranch == "" || legA.Peer.Branch == req.ViaBranch || legA.Peer.Tag != "") {
		legB = legA.Peer
	}
	if legB == nil {
		legB = call.UntaggedPeer(legA, req.ViaBranch)
	}
	if legB == nil {
		legB = call.NewLeg(req.ToTag, req.ViaBranch)
		legB.SetOfferer(legA)
	}
	legA.Peer, legB.Peer = legB, legA
	applyLabel(req, legA)

	out, err := h.rewrite(req, sess, side{from: legA, to: legB, call: call}, true)
	if err != nil {
		if created {
			call.ScheduleDelete(0)
		}
		return nil, err
	}
	call.Publish()
	call.Log.Info("offer", slog.String("from-tag", req.FromTag), slog.Int("media", len(sess.Media)))
	return &reply{sdp: out, hasSDP: true}, nil
}

// answer handles the "answer" command.
func (h *Handler) answer(req *Request) (*reply, error) {
	if req.CallID == "" {
		return nil, errorReply("No call-id in message")
	}
	if req.FromTag == "" {
		return nil, errorReply("No from-tag in message")
	}
	if req.ToTag == "" {
		return nil, errorReply("No to-tag in message")
	}
	sess, err := h.parseSDP(req)
	if err != nil {
		return nil, err
	}
	if h.loopDetected(req, sess) {
		return &reply{sdp: req.SDP, hasSDP: true}, nil
	}
	call, _ := h.lockCall(req.CallID, false)
	if call == nil {
		return nil, errorReply("Unknown call-id")
	}
	defer call.Unlock()
	call.LastSignal = h.now()

	legA := call.Leg(req.FromTag)
	if legA == nil {
		return nil, errorReply("Unknown from-tag %q", req.FromTag)
	}
	legB := call.Leg(req.ToTag)
	if legB == nil {
		legB = call.UntaggedPeer(legA, req.ViaBranch)
	}
	if legB == nil && legA.Peer != nil {
		// A fork answering with a new to-tag: it receives media on the
		// ports the offer announced, so it takes the answering leg over.
		legB = legA.Peer
		call.Log.Info("answer from another fork takes over", slog.String("old-tag", legB.Tag), slog.String("to-tag", req.ToTag))
	}
	if legB == nil {
		return nil, errorReply("No offer seen for from-tag %q", req.FromTag)
	}
	legB.Tag = req.ToTag
	legA.Peer, legB.Peer = legB, legA
	applyLabel(req, legB)

	// The answer comes from leg B and is rewritten for leg A.
	out, err := h.rewrite(req, sess, side{from: legB, to: legA, call: call}, false)
	if err != nil {
		return nil, err
	}
	call.MarkAnswered()
	call.Publish()
	call.Log.Info("answer", slog.String("from-tag", req.FromTag), slog.String("to-tag", req.ToTag))
	return &reply{sdp: out, hasSDP: true}, nil
}

func (h *Handler) parseSDP(req *Request) (*sdp.Session, error) {
	if !req.HasSDP || strings.TrimSpace(req.SDP) == "" {
		return nil, errorReply("No SDP body in message")
	}
	sess, err := sdp.Parse([]byte(req.SDP))
	if err != nil {
		return nil, errorReply("Failed to parse SDP: %s", strings.TrimPrefix(err.Error(), "sdp: "))
	}
	return sess, nil
}

// lockCall finds (or creates) the call and locks it, retrying when it was
// destroyed between lookup and lock.
func (h *Handler) lockCall(id string, create bool) (*relay.Call, bool) {
	for {
		var c *relay.Call
		created := false
		if create {
			c, created = h.engine.CallOrCreate(id)
		} else if c = h.engine.Call(id); c == nil {
			return nil, false
		}
		c.Lock()
		if !c.Gone() {
			return c, created
		}
		c.Unlock()
	}
}

// applyLabel sets the label of the leg whose SDP the command carries (the
// offerer for an offer, the answerer for an answer): "label", or
// "set-label" when there is no "label", as rtpengine does.
func applyLabel(req *Request, l *relay.Leg) {
	switch {
	case req.Label != "":
		l.Label = req.Label
	case req.SetLabel != "":
		l.Label = req.SetLabel
	}
}

// loopDetected reports whether loop-protect is asked for and the SDP already
// carries our marker.
func (h *Handler) loopDetected(req *Request, s *sdp.Session) bool {
	if !req.Flags["loop-protect"] {
		return false
	}
	for _, v := range s.Attrs(loopMarker) {
		if v == h.instanceID {
			return true
		}
	}
	return false
}

// legOptions derives the forwarding options of the leg whose SDP is read.
func legOptions(req *Request) relay.LegOptions {
	o := relay.LegOptions{Latch: relay.LatchSymmetric}
	if req.Flags["asymmetric"] {
		o.Latch = relay.LatchAsymmetric
	}
	o.StrictSource = req.Flags["strict-source"]
	o.MediaHandover = req.Flags["media-handover"]
	return o
}

// family returns the SDP address family of a.
func family(a netip.Addr) string {
	if a.Is4() {
		return "IP4"
	}
	return "IP6"
}

// interfaces returns the interface names for the side the SDP comes from and
// the side it goes to.
func interfaceNames(req *Request, isOffer bool) (fromIf, toIf string, err error) {
	switch len(req.Direction) {
	case 0:
		return "", "", nil
	case 2:
	default:
		return "", "", errorReply(`Invalid "direction": expected two interface names`)
	}
	// direction names the offerer's interface first.
	if isOffer {
		return req.Direction[0], req.Direction[1], nil
	}
	return req.Direction[1], req.Direction[0], nil
}

// rewrite records the endpoints of sd.from from its SDP, makes sure both
// legs have ports, and rewrites the SDP so that sd.to sends media to the
// ports of sd.to's side. It returns the new body.
func (h *Handler) rewrite(req *Request, s *sdp.Session, sd side, isOffer bool) (string, error) {
	fromIf, toIf, err := interfaceNames(req, isOffer)
	if err != nil {
		return "", err
	}
	if req.Flags["sip-source-address"] && !req.ReceivedFrom.IsValid() {
		return "", errorReply("Incomplete SDP specification: SIP-source-address needs received-from")
	}
	sd.from.Opts = legOptions(req)
	sdesOpts, err := parseSDESOptions(req)
	if err != nil {
		return "", err
	}

	// A direction at session level applies to every m-line without its
	// own: move it there, as rtpengine does, so that hold handling below
	// sees each line's real direction.
	if dir, ok := s.DirectionAttr(); ok {
		for _, m := range s.Media {
			if _, own := m.DirectionAttr(); !own {
				m.SetDirection(dir)
			}
		}
		s.SetDirection("")
	}
	sessConn, hasSessConn := s.Connection()
	sessionICE := s.HasAttr("ice-ufrag")
	usesSessConn := false
	webrtc := false         // ICE/DTLS terminated on some m-line
	iceLite := false        // ngrelay is an ICE-lite agent towards the leg
	var bundleMids []string // mids of the BUNDLE group sent to a WebRTC leg
	var out netip.Addr      // the address announced in the rewritten SDP
	// Plain twins of SDES m-lines in a legacy best-effort SRTP offer
	// (OSRTP accept): offered rejected, without ports.
	var legacyTwins []bool
	if isOffer {
		legacyTwins = legacyOSRTPAlternatives(&sdesOpts, s)
	}
	fromPlan, toPlan := planBundles(req, s, sd, isOffer)
	for i, m := range s.Media {
		mf := sd.from.Media(i)
		mt := sd.to.Media(i)
		mf.Type, mt.Type = m.Type, m.Type
		inProto := m.Proto
		mf.Proto = m.Proto
		mt.Proto = outProto(req, m, mt, isOffer)
		// ngrelay terminates ICE and DTLS-SRTP on a WebRTC side bridged
		// to a non-DTLS one (terminateFrom: the SDP comes from it;
		// terminateTo: the SDP goes to it).
		terminateFrom := isDTLSProfile(inProto) && !isDTLSProfile(mt.Proto)
		terminateTo := isDTLSProfile(mt.Proto) && !isDTLSProfile(inProto)
		if (terminateFrom || terminateTo) && isRTPProto(m.Proto) && !m.Rejected() {
			switch req.DTLS {
			case "off", "no", "disable":
				return "", errorReply(`"DTLS" %q refuses the DTLS-SRTP that media %d needs (%s to %s)`, req.DTLS, i+1, inProto, mt.Proto)
			}
		}
		// An m-line of a BUNDLE that ngrelay terminates rides on its
		// transport m-line's streams, ICE and DTLS (RFC 8843).
		if terminateFrom {
			mf.Bundle = nil
			if fromPlan.member(i) {
				mf.Release()
				mf.Bundle = sd.from.Media(fromPlan[i])
			}
		}
		if terminateTo && isOffer {
			mt.Bundle = nil
			if toPlan.member(i) {
				mt.Release()
				mt.Bundle = sd.to.Media(toPlan[i])
			}
		}
		bundleOnly := m.Rejected() && m.HasAttr("bundle-only") && (mf.Bundle != nil || mt.Bundle != nil)
		if legacyTwins != nil && legacyTwins[i] {
			// The SDES m-line next to it carries the stream.
			mf.Release()
			mt.Release()
			mf.SetEndpoints(netip.AddrPort{}, netip.AddrPort{})
			m.SetPort(0)
			m.RemoveAttr("rtcp")
			stripICE(m)
			continue
		}
		// A WebRTC data channel has nothing to talk to on a plain RTP
		// side: reject it there (port 0), as rtpengine does.
		if isOffer && strings.Contains(m.Proto, "SCTP") && req.TransportProtocol != "" && !isDTLSProfile(req.TransportProtocol) {
			recordMid(s, m, mf) // its answer names it again
			mf.Release()
			mt.Release()
			m.SetPort(0)
			removeWebRTCAttrs(m)
			continue
		}
		mf.Direction = m.Direction()

		conn, ok := m.EffectiveConnection()
		if !ok {
			return "", errorReply("Failed to parse SDP: media %d has no connection address", i+1)
		}
		addr, ok := conn.Addr()
		if !ok {
			return "", errorReply("Failed to parse SDP: media %d: unsupported connection address %q", i+1, conn.Address)
		}
		// 0.0.0.0 is hold (RFC 3264), except on an ICE m-line, where it
		// only says that candidates come later (trickle ICE, RFC 8840).
		hold := addr.IsUnspecified() && !sessionICE && !m.HasAttr("ice-ufrag")
		if req.Flags["sip-source-address"] && req.ReceivedFrom.IsValid() && !hold {
			addr = req.ReceivedFrom
		}

		if m.Rejected() && !bundleOnly {
			// A rejected m-line keeps its ports (a re-INVITE may bring it
			// back) but sends nothing.
			mf.SetEndpoints(netip.AddrPort{}, netip.AddrPort{})
			m.SetPort(0)
			if !isOffer && mt.Proto != "" {
				// answer in the offerer's profile (rtpengine does)
				m.SetProto(mt.Proto)
			}
			if st, ok := mt.Signalling.(*mediaState); ok && !isOffer && st.mid != "" && !m.HasAttr("mid") {
				// a WebRTC offerer's m-line keeps its mid when
				// rejected (RFC 8829 section 5.3.1)
				m.AddAttr("mid", st.mid)
			}
			stripICE(m)
			continue
		}

		fromFamily := family(addr)
		toFamily := fromFamily
		if req.AddressFamily != "" && isOffer {
			toFamily = req.AddressFamily
		} else if !isOffer && mt.Local() != nil {
			toFamily = mt.Local().Family()
		}
		if mf.Bundle == nil && (mf.Local() == nil || fromIf != "") {
			la, err := h.engine.LocalAddr(fromIf, fromFamily)
			if err != nil {
				return "", errorReply("%s", err)
			}
			if err := mf.Allocate(la); err != nil {
				return "", portError(err)
			}
		}
		if mt.Bundle == nil && (mt.Local() == nil || (isOffer && (toIf != "" || req.AddressFamily != ""))) {
			la, err := h.engine.LocalAddr(toIf, toFamily)
			if err != nil {
				return "", errorReply("%s", err)
			}
			if err := mt.Allocate(la); err != nil {
				return "", portError(err)
			}
		}

		rtcpPort := m.Port + 1
		rtcpAddr := addr
		mux := m.HasAttr("rtcp-mux")
		if r, ok := m.RTCP(); ok {
			rtcpPort = r.Port
			if r.Conn != nil {
				if a, ok := r.Conn.Addr(); ok && !req.Flags["sip-source-address"] {
					rtcpAddr = a
				}
			}
		}
		if mux {
			rtcpPort, rtcpAddr = m.Port, addr
		}
		mf.RTCPMux = mux
		if !isOffer && state(mf).muxRequired {
			// rtcp-mux require: the leg counts as muxing whatever its
			// answer says (rtpengine's "pretends the client accepted")
			mf.RTCPMux = true
		}
		if isOffer {
			state(mt).muxRequired = req.RTCPMux["require"] && !req.RTCPMux["demux"] && !req.RTCPMux["reject"]
		}
		switch {
		case mt.Bundle != nil:
			mt.RTCPMux = true // a bundle multiplexes RTCP (RFC 8843 section 9.1)
		case terminateTo && isOffer:
			mt.RTCPMux = !req.RTCPMux["reject"] // offered to the browser
		case terminateTo:
			// answering the browser: mt.RTCPMux is what it offered
		case terminateFrom && isOffer:
			// towards a plain phone: demultiplex unless asked to offer
			mt.RTCPMux = mux && (req.RTCPMux["offer"] || req.RTCPMux["accept"]) || state(mt).muxRequired
		case terminateFrom:
			// answering a plain offerer: keep what it offered
		default:
			mt.RTCPMux = mux
			if req.RTCPMux["demux"] {
				mt.RTCPMux = false
			} else if (req.RTCPMux["offer"] || req.RTCPMux["require"]) && isOffer {
				mt.RTCPMux = true
			}
		}
		// Only RTP profiles carry RTP; anything else (T.38 over UDPTL,
		// SCTP over DTLS, ...) is relayed as plain UDP datagrams.
		isRTP := strings.Contains(m.Proto, "RTP")
		mf.RawUDP, mt.RawUDP = !isRTP, !isRTP
		mf.DTLS = strings.Contains(m.Proto, "TLS")
		mt.DTLS = strings.Contains(mt.Proto, "TLS")
		if isRTP {
			if err := negotiateSDES(req, &sdesOpts, m, m.Proto, mf, mt, isOffer); err != nil {
				return "", err
			}
		}
		mf.SetEndpoints(netip.AddrPortFrom(addr, uint16(m.Port)), netip.AddrPortFrom(rtcpAddr, uint16(rtcpPort)))

		if req.TOS >= 0 {
			for _, md := range []*relay.Media{mf, mt} {
				if err := md.SetTOS(req.TOS); err != nil {
					return "", errorReply("Failed to set TOS: %s", err)
				}
			}
		}
		tp := mt.Transport()
		local := tp.Local()
		adv := local.Advertise
		if req.MediaAddress.IsValid() {
			adv = req.MediaAddress
		}
		if hold {
			adv = unspecified(family(adv))
		}
		out = adv
		m.SetPort(tp.RTP.LocalPort())
		if isOffer && mt.Bundle != nil && req.Bundle["strict"] {
			// RFC 8843 bundle-only: the m-line exists only in the
			// bundle (zero port)
			m.SetPort(0)
			if !m.HasAttr("bundle-only") {
				m.AddAttr("bundle-only", "")
			}
		}
		if mt.Proto != "" {
			m.SetProto(mt.Proto)
		}
		if _, ok := m.Connection(); ok || !hasSessConn {
			m.SetConnection(sdp.NewConnection(adv))
		} else {
			usesSessConn = true
		}
		m.RemoveAttr("rtcp")
		if !isRTP {
			// no RTCP port to announce
		} else if !req.Flags["no-rtcp-attribute"] && mt.RTCP != nil && !mt.RTCPMux {
			r := sdp.RTCPAttr{Port: mt.RTCP.LocalPort()}
			if req.Flags["full-rtcp-attribute"] {
				c := sdp.NewConnection(adv)
				r.Conn = &c
			}
			m.SetRTCP(r)
		} else if mt.RTCPMux && req.Flags["full-rtcp-attribute"] {
			c := sdp.NewConnection(adv)
			m.SetRTCP(sdp.RTCPAttr{Port: tp.RTP.LocalPort(), Conn: &c})
		}
		if isRTP {
			if mt.RTCPMux && !m.HasAttr("rtcp-mux") {
				m.AddAttr("rtcp-mux", "")
			} else if !mt.RTCPMux {
				m.RemoveAttr("rtcp-mux")
			}
		}
		if hold && !req.Flags["original-sendrecv"] {
			if _, explicit := m.DirectionAttr(); !explicit {
				m.SetDirection("sendonly")
			}
		}
		// ICE (RFC 8445): ngrelay is the ICE agent of a leg whose SDP
		// carries ICE, and gives its own ICE to the leg the SDP goes to
		// as the "ICE" key says, and always to a leg whose DTLS-SRTP it
		// terminates (browsers insist on ICE). The leg's own ICE
		// attributes are read before they are replaced.
		fromICE := sessionICE || m.HasAttr("ice-ufrag")
		if mf.Bundle != nil {
			recordMid(s, m, mf)
		} else if terminateFrom || fromICE {
			rtc := h.rtcFor(sd.call, mf, rtcOptions{
				controlling: !isOffer || s.HasAttr("ice-lite") || m.HasAttr("ice-lite"),
				lite:        liteTowards(req, !isOffer),
				dtls:        terminateFrom,
			})
			if err := rtc.setRemote(s, m, mf.Local(), isOffer, req); err != nil {
				return "", err
			}
		}
		if terminateFrom {
			if mf.Bundle == nil {
				mf.MIDExtension = midExtension(s, m)
			}
			mf.Demux = demuxOf(m)
			removeWebRTCAttrs(m)
			removeMIDExtension(m) // the phone gets no BUNDLE
			webrtc = true
		}
		stripICE(m)
		// An answer gives ICE only to an offerer that offered it.
		if terminateTo || iceWanted(req, fromICE) && (isOffer || state(tp).rtc != nil) {
			rtc := h.rtcFor(sd.call, tp, rtcOptions{controlling: isOffer, lite: liteTowards(req, isOffer), dtls: terminateTo})
			if err := rtc.writeLocal(m, i, isOffer, req, local.Advertise, mt); err != nil {
				return "", err
			}
			iceLite = iceLite || rtc.lite
		}
		if terminateTo {
			webrtc = true
			bundled := toPlan.inBundle(i)
			if !isOffer {
				bundled = state(mt).bundled
			}
			if mid, ok := m.Attr("mid"); ok && bundled {
				bundleMids = append(bundleMids, mid)
			}
			// The phone's RTP carries no MID: negotiating the extension
			// would make browsers drop it (they require the MID of
			// unsignalled sources once it is negotiated), so ngrelay
			// sorts the browser's packets by SSRC and payload type.
			removeMIDExtension(m)
		}
	}
	sd.from.TrimMedias(len(s.Media))

	if out.IsValid() {
		// A session c= that every m-line overrides is left as it came.
		if hasSessConn && usesSessConn {
			sa, _ := sessConn.Addr()
			if sa.IsUnspecified() {
				s.SetConnection(sdp.NewConnection(unspecified(family(out))))
			} else {
				s.SetConnection(sdp.NewConnection(nonHold(out, sd.to)))
			}
		}
		h.replaceOrigin(req, s, sd.to, nonHold(out, sd.to))
	}
	s.RemoveAttrFunc(func(name, _ string) bool { return iceAttributes[name] })
	if webrtc {
		// ngrelay answers for the transports itself: the endpoint's
		// session-level DTLS attributes and BUNDLE grouping (each m-line
		// gets its own transport) do not apply.
		s.RemoveAttrFunc(func(name, value string) bool {
			return webrtcAttributes[name] || name == "group" && strings.HasPrefix(value, "BUNDLE")
		})
	}
	if len(bundleMids) > 0 {
		// The m-lines ngrelay carries on one transport towards a WebRTC
		// leg: all of them in its own offers (max-bundle, which
		// browsers expect), those the browser bundled in answers.
		s.AddAttr("group", "BUNDLE "+strings.Join(bundleMids, " "))
	}
	if iceLite {
		// ngrelay is an ICE-lite agent (RFC 8445 2.5) towards this leg,
		// as "ICE-lite" asked: it is reachable at its host candidates
		// and lets the leg nominate.
		s.AddAttr("ice-lite", "")
	}
	if req.Flags["loop-protect"] {
		s.AddAttr(loopMarker, h.instanceID)
	}
	return string(s.Bytes()), nil
}

// nonHold returns the address to name in session-level lines: the
// announced address, or the side's interface address when media is on hold.
func nonHold(a netip.Addr, l *relay.Leg) netip.Addr {
	if !a.IsUnspecified() {
		return a
	}
	for _, m := range l.Medias {
		if la := m.Local(); la != nil {
			return la.Advertise
		}
	}
	return a
}

// replaceOrigin applies the `replace` options to o= and s= of SDP sent to
// leg to, and remembers what was sent.
func (h *Handler) replaceOrigin(req *Request, s *sdp.Session, to *relay.Leg, addr netip.Addr) {
	o, ok := s.Origin()
	if !ok {
		return
	}
	sent := &to.Sent
	if req.Replace["origin"] {
		c := sdp.NewConnection(addr)
		o.AddrType, o.Address = c.AddrType, c.Address
	}
	if sent.Seen && req.Replace["username"] {
		o.Username = sent.Username
	}
	if sent.Seen && req.Replace["session-name"] {
		s.SetSessionName(sent.SessionName)
	}
	if req.Replace["sdp-version"] {
		s.SetOrigin(o)
		body := bodyWithoutOrigin(s)
		if sent.Seen {
			v := sent.Version
			if body != sent.Body {
				v++
			}
			o.SessVersion = strconv.FormatUint(v, 10)
		}
	}
	s.SetOrigin(o)
	v, err := strconv.ParseUint(o.SessVersion, 10, 64)
	if err != nil {
		v = sent.Version
	}
	*sent = relay.SentSDP{Seen: true, Username: o.Username, SessionName: s.SessionName(), Version: v, Body: bodyWithoutOrigin(s)}
}

// bodyWithoutOrigin is the SDP text less its o= line.
func bodyWithoutOrigin(s *sdp.Session) string {
	b := string(s.Bytes())
	if i := strings.Index(b, "o="); i >= 0 {
		if j := strings.IndexByte(b[i:], '\n'); j >= 0 {
			return b[:i] + b[i+j+1:]
		}
	}
	return b
}

func unspecified(fam string) netip.Addr {
	if fam == "IP6" {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

func stripICE(m *sdp.Media) {
	m.RemoveAttrFunc(func(name, _ string) bool { return iceAttributes[name] })
}

func portError(err error) error {
	if errors.Is(err, relay.ErrNoPorts) {
		return errorReply("Ran out of ports")
	}
	return errorReply("Failed to allocate ports: %s", err)
}

// iceWanted says whether ngrelay offers or answers its own ICE to the leg an
// SDP goes to, from the "ICE" key: remove never, force (and force-relay)
// always, default (or none) when the SDP came with ICE, as rtpengine does.
func iceWanted(req *Request, fromICE bool) bool {
	switch req.ICE {
	case "remove":
		return false
	case "force", "force-relay":
		return true
	default:
		return fromICE
	}
}

// liteTowards says whether ngrelay is an ICE-lite agent towards the
// recipient of the offer (offerRecipient) or the offerer, from the
// "ICE-lite" key: forward (the offer's recipient), backward (the
// offerer), both, or off (full ICE, the default).
func liteTowards(req *Request, offerRecipient bool) bool {
	switch req.ICELite {
	case "both":
		return true
	case "forward":
		return offerRecipient
	case "backward":
		return !offerRecipient
	}
	return false
}

// isRTPProto reports whether an m= protocol carries RTP.
func isRTPProto(proto string) bool { return strings.Contains(proto, "RTP") }
