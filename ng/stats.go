package ng

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/relay"
)

const notFound = "Call-ID not found or tags didn't match"

// query handles "query": the call's legs, media and per-stream statistics.
func (h *Handler) query(req *Request) (*reply, error) {
	if req.CallID == "" {
		return nil, errorReply("No call-id in message")
	}
	call, _ := h.lockCall(req.CallID, false)
	if call == nil {
		return nil, errorReply("Unknown call-id")
	}
	defer call.Unlock()
	if req.FromTag != "" && call.Leg(req.FromTag) == nil {
		return nil, errorReply("Unknown from-tag %q", req.FromTag)
	}
	return &reply{fields: callStats(call, req.FromTag, req.ToTag)}, nil
}

// delete handles "delete": the whole call, or one fork branch.
func (h *Handler) delete(req *Request) (*reply, error) {
	if req.CallID == "" {
		return nil, errorReply("No call-id in message")
	}
	missing := func() (*reply, error) {
		if req.Flags["fatal"] {
			return nil, errorReply(notFound)
		}
		return &reply{warning: notFound}, nil
	}
	call, _ := h.lockCall(req.CallID, false)
	if call == nil {
		return missing()
	}
	defer call.Unlock()
	if req.FromTag != "" && call.Leg(req.FromTag) == nil {
		return missing()
	}
	if req.ToTag != "" && call.Leg(req.ToTag) == nil {
		return missing()
	}
	stats := callStats(call, "", "")

	// A via-branch names one fork: delete its legs only while the call
	// has others.
	if req.ViaBranch != "" {
		var branch []*relay.Leg
		for _, l := range call.Legs() {
			if l.Branch == req.ViaBranch && l.Tag != req.FromTag {
				branch = append(branch, l)
			}
		}
		if len(branch) > 0 && len(branch) < len(call.Legs())-1 {
			for _, l := range branch {
				call.DeleteLeg(l)
			}
			call.Log.Info("fork deleted", "via-branch", req.ViaBranch)
			return &reply{fields: stats}, nil
		}
	}
	delay := h.engine.Config().DeleteDelay
	if req.DeleteDelay >= 0 {
		delay = time.Duration(req.DeleteDelay) * time.Second
	}
	call.ScheduleDelete(delay)
	return &reply{fields: stats}, nil
}

// list handles "list": the IDs of live calls, at most `limit` (default 32).
func (h *Handler) list(req *Request) (*reply, error) {
	limit := req.Limit
	if limit < 0 {
		limit = 32
	}
	var ids []bencode.Value
	for _, c := range h.engine.CallList() {
		if len(ids) >= limit {
			break
		}
		ids = append(ids, bencode.String(c.ID))
	}
	return &reply{fields: []bencode.Pair{bencode.P("calls", bencode.List(ids...))}}, nil
}

// statistics handles "statistics", with rtpengine's key names.
func (h *Handler) statistics() (*reply, error) {
	e := h.engine
	t := e.Traffic()
	r := e.Rates()
	tot := e.Totals()
	n := int64(e.NumCalls())
	cur := bencode.Dict(
		bencode.P("sessionsown", bencode.Int(n)),
		bencode.P("sessionsforeign", bencode.Int(0)),
		bencode.P("sessionstotal", bencode.Int(n)),
		bencode.P("transcodedmedia", bencode.Int(0)),
		bencode.P("packetrate", bencode.Int(int64(r.Packets))),
		bencode.P("byterate", bencode.Int(int64(r.Bytes))),
		bencode.P("errorrate", bencode.Int(int64(r.Errors))),
	)
	timeouts := tot.Timeouts.Load()
	silent := tot.SilentTimeouts.Load()
	final := tot.FinalTimeouts.Load()
	offerTO := tot.OfferTimeouts.Load()
	deleted := tot.CallsDeleted.Load()
	forced := tot.ForcedTerminations.Load()
	regular := deleted - min(deleted, timeouts+silent+final+offerTO+forced)
	total := bencode.Dict(
		bencode.P("uptime", bencode.String(fmt.Sprintf("%d", int64(h.now().Sub(h.started).Seconds())))),
		bencode.P("managedsessions", bencode.Int(int64(tot.CallsCreated.Load()))),
		bencode.P("rejectedsessions", bencode.Int(int64(h.Stats.Rejected.Load()))),
		bencode.P("timeoutsessions", bencode.Int(int64(timeouts))),
		bencode.P("silenttimeoutsessions", bencode.Int(int64(silent))),
		bencode.P("finaltimeoutsessions", bencode.Int(int64(final))),
		bencode.P("offertimeoutsessions", bencode.Int(int64(offerTO))),
		bencode.P("regularterminatedsessions", bencode.Int(int64(regular))),
		bencode.P("forcedterminatedsessions", bencode.Int(int64(forced))),
		bencode.P("relayedpackets", bencode.Int(int64(t.Packets()))),
		bencode.P("relayedpacketerrors", bencode.Int(int64(t.Errors()))),
		bencode.P("relayedbytes", bencode.Int(int64(t.Bytes()))),
	)
	ctl := h.proxies.render()
	st := bencode.Dict(
		bencode.P("currentstatistics", cur),
		bencode.P("totalstatistics", total),
		bencode.P("controlstatistics", ctl),
	)
	return &reply{fields: []bencode.Pair{bencode.P("statistics", st)}}, nil
}

// callStats renders a call in the shape of rtpengine's query/delete reply.
// With fromTag (and toTag), only that leg (and its peer, or the leg toTag)
// is listed. The call must be locked.
func callStats(c *relay.Call, fromTag, toTag string) []bencode.Pair {
	var tags []bencode.Pair
	for _, l := range c.Legs() {
		if l.Tag == "" {
			continue
		}
		if fromTag != "" && l.Tag != fromTag && l.Tag != toTag && (toTag != "" || l.Peer == nil || l.Peer.Tag != fromTag) {
			continue
		}
		tags = append(tags, bencode.P(l.Tag, legStats(l)))
	}
	t := c.Traffic()
	totals := bencode.Dict(
		bencode.P("RTP", counts(t.RTPPackets, t.RTPBytes, t.RTPErrors)),
		bencode.P("RTCP", counts(t.RTCPPackets, t.RTCPBytes, t.RTCPErrors)),
	)
	return []bencode.Pair{
		bencode.P("created", bencode.Int(c.Created.Unix())),
		bencode.P("created_us", bencode.Int(int64(c.Created.Nanosecond()/1000))),
		bencode.P("last signal", bencode.Int(c.LastSignal.Unix())),
		bencode.P("SSRC", bencode.Dict()),
		bencode.P("tags", bencode.Dict(tags...)),
		bencode.P("totals", totals),
	}
}

func counts(p, b, e uint64) bencode.Value {
	return bencode.Dict(
		bencode.P("packets", bencode.Int(int64(p))),
		bencode.P("bytes", bencode.Int(int64(b))),
		bencode.P("errors", bencode.Int(int64(e))),
	)
}

func legStats(l *relay.Leg) bencode.Value {
	d := bencode.Dict(bencode.P("tag", bencode.String(l.Tag)))
	if l.Label != "" {
		d.Set("label", bencode.String(l.Label))
	}
	d.Set("created", bencode.Int(l.Created.Unix()))
	if l.Peer != nil && l.Peer.Tag != "" {
		sub := bencode.List(bencode.Dict(bencode.P("tag", bencode.String(l.Peer.Tag)), bencode.P("type", bencode.String("offer/answer"))))
		d.Set("in dialogue with", bencode.String(l.Peer.Tag))
		d.Set("subscriptions", sub)
		d.Set("subscribers", sub)
	}
	var medias []bencode.Value
	for _, m := range l.Medias {
		medias = append(medias, mediaStats(m))
	}
	d.Set("medias", bencode.List(medias...))
	return d
}

func mediaStats(m *relay.Media) bencode.Value {
	var streams []bencode.Value
	for _, s := range []*relay.Stream{m.RTP, m.RTCP} {
		if s != nil {
			streams = append(streams, streamStats(s, m))
		}
	}
	flags := []bencode.Value{bencode.String("initialized")}
	switch m.Direction {
	case "sendrecv", "":
		flags = append(flags, bencode.String("send"), bencode.String("recv"))
	case "sendonly":
		flags = append(flags, bencode.String("send"))
	case "recvonly":
		flags = append(flags, bencode.String("recv"))
	}
	if m.RTCPMux {
		flags = append(flags, bencode.String("rtcp-mux"))
	}
	return bencode.Dict(
		bencode.P("index", bencode.Int(int64(m.Index))),
		bencode.P("type", bencode.String(m.Type)),
		bencode.P("protocol", bencode.String(m.Proto)),
		bencode.P("streams", bencode.List(streams...)),
		bencode.P("flags", bencode.List(flags...)),
	)
}

// endpoint renders an address the way rtpengine's replies do.
func endpoint(ap netip.AddrPort) bencode.Value {
	return bencode.Dict(
		bencode.P("family", bencode.String(ipFamily(ap.Addr()))),
		bencode.P("address", bencode.String(ap.Addr().String())),
		bencode.P("port", bencode.Int(int64(ap.Port()))),
	)
}

// ipFamily names the family as rtpengine's replies do.
func ipFamily(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func streamStats(s *relay.Stream, m *relay.Media) bencode.Value {
	local := s.Local()
	d := bencode.Dict(
		bencode.P("local port", bencode.Int(int64(s.LocalPort()))),
		bencode.P("local address", bencode.String(local.Addr.String())),
		bencode.P("family", bencode.String(ipFamily(local.Addr))),
	)
	flags := []bencode.Value{bencode.String(s.Kind().String())}
	if peer, confirmed := s.Peer(); peer.IsValid() {
		d.Set("endpoint", endpoint(peer))
		flags = append(flags, bencode.String("filled"))
		if confirmed {
			flags = append(flags, bencode.String("confirmed"))
		}
	}
	adv := m.Endpoint
	if s.Kind() == relay.KindRTCP {
		adv = m.RTCPEndpoint
	}
	if adv.IsValid() {
		d.Set("advertised endpoint", endpoint(adv))
	}
	d.Set("last packet", bencode.Int(time.Unix(0, s.LastPacket()).Unix()))
	d.Set("flags", bencode.List(flags...))
	d.Set("stats", counts(s.Stats.Packets.Load(), s.Stats.Bytes.Load(), s.Stats.Errors.Load()))
	return d
}
