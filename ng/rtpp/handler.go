package rtpp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/ngrelay/ngrelay/relay"
)

// Version is the base protocol version answered to V.
const Version = "20040107"

// features are the capability dates answered 1 to VF: rtpengine's three
// (basic protocol, multiple streams, V extras), RTP statistics (Q) and
// codecs in U/L (the "c" modifier). Kamailio's rtpproxy module asks
// 20050322 (required), 20071116 (re-packetisation: not supported) and
// 20081102, without which it refuses rtpproxy_stream2uac/uas.
var features = map[string]bool{
	"20040107": true,
	"20050322": true,
	"20060704": true,
	"20080403": true,
	"20081102": true,
}

// noSession is rtpengine's answer to L for a call it does not know.
const noSession = "0 0.0.0.0"

// mediaState is what the server keeps on a relay.Media (its Signalling).
type mediaState struct {
	// codecs are the payload types of the leg's last U or L "c"
	// modifier: what the leg can receive, for P "session".
	codecs []int
}

func (s *Server) execute(r *Request) string {
	switch r.Op {
	case OpVersion:
		s.Stats.Version.Add(1)
		return Version
	case OpFeature:
		s.Stats.Version.Add(1)
		if features[r.Feature] {
			return "1"
		}
		return "0"
	case OpUpdate:
		s.Stats.Update.Add(1)
		return s.update(r)
	case OpLookup:
		s.Stats.Lookup.Add(1)
		return s.lookup(r)
	case OpDelete:
		s.Stats.Delete.Add(1)
		return s.delete(r)
	case OpQuery:
		s.Stats.Query.Add(1)
		return s.query(r)
	case OpInfo:
		s.Stats.Info.Add(1)
		return s.info(r)
	case OpDeleteAll:
		s.Stats.DeleteAll.Add(1)
		for _, c := range s.engine.CallList() {
			c.Lock()
			if !c.Gone() {
				c.ScheduleDelete(0)
			}
			c.Unlock()
		}
		s.log.Info("rtpproxy X: deleted all calls")
		return "0"
	case OpPlay:
		s.Stats.Play.Add(1)
		return s.play(r)
	case OpStopPlay:
		s.Stats.StopPlay.Add(1)
		return s.stopPlay(r)
	}
	return s.fail(r, errorf(ECodeFailed, "unsupported command"))
}

// lockCall finds (or creates) the call and locks it, retrying when it was
// destroyed between lookup and lock.
func (s *Server) lockCall(id string, create bool) (*relay.Call, bool) {
	for {
		var c *relay.Call
		created := false
		if create {
			c, created = s.engine.CallOrCreate(id)
		} else if c = s.engine.Call(id); c == nil {
			return nil, false
		}
		c.Lock()
		if !c.Gone() {
			return c, created
		}
		c.Unlock()
	}
}

// update handles U: the offer (or a re-offer) from the from-tag's leg. The
// reply is the port and address that the other leg is to send to.
func (s *Server) update(r *Request) string {
	if r.ToTag == r.FromTag {
		return s.fail(r, errorf(ECodeFailed, "to-tag equals from-tag"))
	}
	if s.engine.Call(r.CallID) == nil {
		if s.draining.Load() {
			return s.fail(r, errorf(ECodeFailed, "shutting down: not accepting new calls"))
		}
		if max := s.maxSessions.Load(); max >= 0 && int64(s.engine.NumCalls()) >= max {
			return s.fail(r, errorf(ECodeFailed, "parallel session limit reached"))
		}
	}
	call, created := s.lockCall(r.CallID, true)
	defer call.Unlock()
	call.CancelDelete()
	call.LastSignal = s.now()

	legA := call.Leg(r.FromTag)
	if legA == nil {
		legA = call.NewLeg(r.FromTag, r.Branch)
	}
	var legB *relay.Leg
	if r.ToTag != "" {
		legB = call.Leg(r.ToTag)
	}
	if legB == nil && legA.Peer != nil && (r.Branch == "" || legA.Peer.Branch == r.Branch || legA.Peer.Tag != "") {
		legB = legA.Peer
	}
	if legB == nil {
		legB = call.UntaggedPeer(legA, r.Branch)
	}
	if legB == nil {
		legB = call.NewLeg(r.ToTag, r.Branch)
		legB.SetOfferer(legA)
	}
	if legB.Tag == "" && r.ToTag != "" {
		legB.Tag = r.ToTag
	}
	legA.Peer, legB.Peer = legB, legA

	out, err := s.setMedia(r, legA, legB)
	if err != nil {
		if created {
			call.ScheduleDelete(0)
		}
		return s.fail(r, err)
	}
	call.Publish()
	call.Log.Info("rtpproxy update", slog.String("from-tag", r.FromTag), slog.Int("media", r.Media), slog.String("reply", out))
	return out
}

// lookup handles L: the answer from the to-tag's leg to the from-tag's
// offer. The reply is the port and address that the from-tag's leg is to
// send to; "0 0.0.0.0" when there is no such offer.
func (s *Server) lookup(r *Request) string {
	call, _ := s.lockCall(r.CallID, false)
	if call == nil {
		return noSession
	}
	defer call.Unlock()
	legA := call.Leg(r.FromTag)
	if legA == nil {
		return noSession
	}
	var legB *relay.Leg
	if r.ToTag != "" {
		legB = call.Leg(r.ToTag)
	}
	if legB == nil {
		legB = call.UntaggedPeer(legA, r.Branch)
	}
	if legB == nil && legA.Peer != nil {
		// A fork answering with a new to-tag takes the answering leg
		// over: it receives media on the ports the offer announced.
		legB = legA.Peer
	}
	if legB == nil || legB == legA {
		return noSession
	}
	if r.ToTag != "" {
		legB.Tag = r.ToTag
	}
	legA.Peer, legB.Peer = legB, legA
	call.LastSignal = s.now()

	out, err := s.setMedia(r, legB, legA)
	if err != nil {
		return s.fail(r, err)
	}
	call.MarkAnswered()
	call.Publish()
	call.Log.Info("rtpproxy lookup", slog.String("from-tag", r.FromTag), slog.String("to-tag", r.ToTag), slog.Int("media", r.Media), slog.String("reply", out))
	return out
}

// setMedia records the endpoint of leg from's media r.Media, makes sure
// both legs' media have ports, and returns "PORT ADDR 4|6": the port and
// advertised address of leg to's media, where leg to sends.
func (s *Server) setMedia(r *Request, from, to *relay.Leg) (string, error) {
	i := r.Media - 1
	mf, mt := from.Media(i), to.Media(i)
	for _, m := range []*relay.Media{mf, mt} {
		if m.Type == "" {
			m.Type, m.Proto, m.Direction = "audio", "RTP/AVP", "sendrecv"
		}
	}
	from.Opts = relay.LegOptions{Latch: relay.LatchSymmetric}
	if r.Asymmetric {
		from.Opts.Latch = relay.LatchAsymmetric
	}
	var fromIf, toIf string
	if len(r.Directions) > 0 {
		fromIf = s.interfaceFor(r.Directions[0])
	}
	if len(r.Directions) > 1 {
		toIf = s.interfaceFor(r.Directions[1])
	}
	fam := "IP4"
	if r.Addr.Is6() {
		fam = "IP6"
	}
	// "l": the local address to use, when it is one of ours.
	var local *relay.LocalAddr
	if r.Local.IsValid() {
		for _, la := range s.engine.LocalAddrs() {
			if la.Addr == r.Local || la.Advertise == r.Local {
				local = la
				break
			}
		}
	}
	if mf.Local() == nil || fromIf != "" {
		la, err := s.engine.LocalAddr(fromIf, fam)
		if err != nil {
			return "", err
		}
		if err := mf.Allocate(la); err != nil {
			return "", err
		}
	}
	if mt.Local() == nil || toIf != "" || local != nil {
		la := local
		if la == nil {
			var err error
			if la, err = s.engine.LocalAddr(toIf, fam); err != nil {
				return "", err
			}
		}
		if err := mt.Allocate(la); err != nil {
			return "", err
		}
	}
	if r.Codecs != nil {
		st, _ := mf.Signalling.(*mediaState)
		if st == nil && mf.Signalling == nil {
			st = &mediaState{}
			mf.Signalling = st
		}
		if st != nil {
			st.codecs = r.Codecs
		}
	}
	if r.Port == 0 {
		// A rejected stream: nothing is sent to the leg.
		mf.SetEndpoints(netip.AddrPort{}, netip.AddrPort{})
	} else {
		rtcp := netip.AddrPort{}
		if r.Port < 65535 {
			rtcp = netip.AddrPortFrom(r.Addr, uint16(r.Port+1))
		}
		mf.SetEndpoints(netip.AddrPortFrom(r.Addr, uint16(r.Port)), rtcp)
	}

	la := mt.Local()
	adv := la.Advertise
	if r.Addr.IsUnspecified() { // hold
		if adv.Is4() {
			adv = netip.IPv4Unspecified()
		} else {
			adv = netip.IPv6Unspecified()
		}
	}
	port := mt.RTP.LocalPort()
	if r.Port == 0 {
		port = 0
	}
	af := "4"
	if adv.Is6() {
		af = "6"
	}
	return fmt.Sprintf("%d %s %s", port, adv, af), nil
}

// interfaceFor maps the "i" and "e" modifiers to a configured interface:
// the interface named "internal" or "external" when there is one (as
// rtpengine does); otherwise the first configured interface for internal
// and the second for external (rtpproxy's bridging mode), or the first
// when there is only one.
func (s *Server) interfaceFor(dir string) string {
	var names []string
	for _, la := range s.engine.LocalAddrs() {
		if len(names) == 0 || names[len(names)-1] != la.Interface {
			names = append(names, la.Interface)
		}
	}
	for _, n := range names {
		if n == dir {
			return n
		}
	}
	if dir == "external" && len(names) > 1 {
		return names[1]
	}
	return names[0]
}

// delete handles D: the whole call (after the delete delay), or one fork
// when the call-id names a via-branch. "0", or E8 when neither tag is
// known.
func (s *Server) delete(r *Request) string {
	call, _ := s.lockCall(r.CallID, false)
	if call == nil {
		return s.fail(r, errorf(ECodeFailed, "call-id not found"))
	}
	defer call.Unlock()
	if call.Leg(r.FromTag) == nil && (r.ToTag == "" || call.Leg(r.ToTag) == nil) {
		return s.fail(r, errorf(ECodeFailed, "tags not found"))
	}
	if r.Branch != "" {
		var branch []*relay.Leg
		for _, l := range call.Legs() {
			if l.Branch == r.Branch && l.Tag != r.FromTag {
				branch = append(branch, l)
			}
		}
		if len(branch) > 0 && len(branch) < len(call.Legs())-1 {
			for _, l := range branch {
				call.DeleteLeg(l)
			}
			call.Log.Info("rtpproxy delete: fork deleted", slog.String("via-branch", r.Branch))
			return "0"
		}
	}
	delay := s.engine.Config().DeleteDelay
	call.ScheduleDelete(delay)
	call.Log.Info("rtpproxy delete", slog.String("from-tag", r.FromTag), slog.Duration("delay", delay))
	return "0"
}

// query handles Q as rtpengine does: "TTL RTP RTCP 0 0", the seconds left
// before the silent timeout and the RTP and RTCP packets received from the
// legs named (the from-tag's and the to-tag's, or the from-tag's and its
// peer's).
func (s *Server) query(r *Request) string {
	call, _ := s.lockCall(r.CallID, false)
	if call == nil {
		return s.fail(r, errorf(ECodeFailed, "call-id not found"))
	}
	defer call.Unlock()
	var legs []*relay.Leg
	if l := call.Leg(r.FromTag); l != nil {
		legs = append(legs, l)
		if r.ToTag == "" && l.Peer != nil {
			legs = append(legs, l.Peer)
		}
	}
	if r.ToTag != "" {
		if l := call.Leg(r.ToTag); l != nil && (len(legs) == 0 || legs[0] != l) {
			legs = append(legs, l)
		}
	}
	var rtp, rtcp uint64
	last := call.LastSignal.UnixNano()
	for _, l := range legs {
		for _, m := range l.Medias {
			if m.RTP != nil {
				rtp += m.RTP.Stats.Packets.Load()
				last = max(last, m.RTP.LastPacket())
			}
			if m.RTCP != nil {
				rtcp += m.RTCP.Stats.Packets.Load()
				last = max(last, m.RTCP.LastPacket())
			}
		}
	}
	ttl := int64(s.engine.Config().SilentTimeout.Seconds()) - (s.now().Unix() - last/1e9)
	return fmt.Sprintf("%d %d %d 0 0", ttl, rtp, rtcp)
}

// info handles I in rtpproxy's format.
func (s *Server) info(r *Request) string {
	streams := 0
	for _, c := range s.engine.CallList() {
		c.Lock()
		for _, l := range c.Legs() {
			for _, m := range l.Medias {
				if m.RTP != nil {
					streams++
				}
			}
		}
		c.Unlock()
	}
	t := s.engine.Traffic()
	var b strings.Builder
	fmt.Fprintf(&b, "sessions created: %d\nactive sessions: %d\nactive streams: %d\npackets received: %d\npackets transmitted: %d",
		s.engine.Totals().CallsCreated.Load(), s.engine.NumCalls(), streams, t.Packets()+t.Errors(), t.Packets())
	if r.InfoLoad {
		b.WriteString("\naverage load: 0.000000")
	}
	return b.String()
}

// targetMedia finds the media that P and S act on: media r.Media of the
// from-tag's leg, to which the prompt plays.
func (s *Server) targetMedia(call *relay.Call, r *Request) (*relay.Media, error) {
	l := call.Leg(r.FromTag)
	if l == nil {
		return nil, errorf(ECodeSessionUnknown, "tag %q not found", r.FromTag)
	}
	if r.Media > len(l.Medias) || l.Medias[r.Media-1].RTP == nil {
		return nil, errorf(ECodeSessionUnknown, "tag %q has no media %d", r.FromTag, r.Media)
	}
	return l.Medias[r.Media-1], nil
}

// play handles P: play the prompt to the from-tag's leg, in the first of
// the codecs with a prompt file, count times, while that leg's peer is
// muted to it.
func (s *Server) play(r *Request) string {
	call, _ := s.lockCall(r.CallID, false)
	if call == nil {
		return s.fail(r, errorf(ECodeSessionUnknown, "call-id not found"))
	}
	defer call.Unlock()
	m, err := s.targetMedia(call, r)
	if err != nil {
		return s.fail(r, err)
	}
	if r.Count == 0 {
		m.StopPlaying()
		return "0"
	}
	var codecs []int
	if r.PlayCodecs == "session" {
		if st, _ := m.Signalling.(*mediaState); st != nil {
			codecs = st.codecs
		}
		if len(codecs) == 0 {
			return s.fail(r, errorf(ECodeNoCodecs, "no codecs known for the session"))
		}
	} else {
		codecs = parseCodecs(r.PlayCodecs)
	}
	var lastErr error = errorf(ECodePlayerFailed, "no codec")
	for _, pt := range codecs {
		p, err := LoadPrompt(s.promptDir, r.Prompt, pt)
		if err != nil {
			lastErr = err
			continue
		}
		if _, err := m.Play(p, r.Count); err != nil {
			return s.fail(r, errorf(ECodePlayerFailed, "%v", err))
		}
		call.Log.Info("rtpproxy play", slog.String("to-tag", r.FromTag), slog.String("prompt", r.Prompt),
			slog.Int("payload-type", pt), slog.Int("count", r.Count))
		return "0"
	}
	return s.fail(r, errorf(ECodePlayerFailed, "cannot play %q: %v", r.Prompt, lastErr))
}

// stopPlay handles S: stop the prompt playing to the from-tag's leg.
func (s *Server) stopPlay(r *Request) string {
	call, _ := s.lockCall(r.CallID, false)
	if call == nil {
		return s.fail(r, errorf(ECodeSessionUnknown, "call-id not found"))
	}
	defer call.Unlock()
	m, err := s.targetMedia(call, r)
	if err != nil {
		return s.fail(r, err)
	}
	if m.StopPlaying() {
		call.Log.Info("rtpproxy stop play", slog.String("to-tag", r.FromTag))
	}
	return "0"
}
