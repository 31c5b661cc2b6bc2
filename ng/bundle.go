package ng

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ngrelay/ngrelay/relay"
	"github.com/ngrelay/ngrelay/sdp"
)

// midExtensionURI names the RTP header extension that carries the MID
// (RFC 8843 section 15.2).
const midExtensionURI = "urn:ietf:params:rtp-hdrext:sdes:mid"

// bundleGroups returns the BUNDLE groups of a session: the mids of each
// a=group:BUNDLE line.
func bundleGroups(s *sdp.Session) [][]string {
	var gs [][]string
	for _, g := range s.Attrs("group") {
		if f := strings.Fields(g); len(f) > 1 && f[0] == "BUNDLE" {
			gs = append(gs, f[1:])
		}
	}
	return gs
}

// bundlePlan says, for each m-line of an SDP, the index of the m-line whose
// transport it shares, or -1 when it has its own. An m-line that is the
// transport of its bundle maps to itself.
type bundlePlan []int

// member reports whether m-line i rides on another m-line's transport.
func (p bundlePlan) member(i int) bool { return p[i] >= 0 && p[i] != i }

// inBundle reports whether m-line i is part of a bundle (member or
// transport).
func (p bundlePlan) inBundle(i int) bool { return p[i] >= 0 }

// planFromGroups bundles the m-lines that eligible allows according to the
// SDP's own BUNDLE groups: the first eligible m-line of a group carries the
// others (RFC 8843: the offerer or answerer tagged m-line).
func planFromGroups(s *sdp.Session, eligible func(i int) bool) bundlePlan {
	plan := make(bundlePlan, len(s.Media))
	for i := range plan {
		plan[i] = -1
	}
	for _, g := range bundleGroups(s) {
		t := -1
		for i, m := range s.Media {
			mid, ok := m.Attr("mid")
			if !ok || !slices.Contains(g, mid) || !eligible(i) {
				continue
			}
			if t < 0 {
				t = i
			}
			plan[i] = t
		}
	}
	return plan
}

// planAll bundles every eligible m-line onto the first one (ngrelay's own
// offer to a WebRTC leg: max-bundle, as browsers expect).
func planAll(n int, eligible func(i int) bool) bundlePlan {
	plan := make(bundlePlan, n)
	t := -1
	for i := range plan {
		plan[i] = -1
		if eligible(i) {
			if t < 0 {
				t = i
			}
			plan[i] = t
		}
	}
	return plan
}

// demuxOf reads how the data plane recognises an m-line's packets on a
// bundle transport: its mid, payload types and declared SSRCs.
func demuxOf(m *sdp.Media) relay.Demux {
	var d relay.Demux
	d.MID, _ = m.Attr("mid")
	for _, f := range m.Formats {
		if pt, err := strconv.ParseUint(f, 10, 7); err == nil {
			d.PayloadTypes = append(d.PayloadTypes, uint8(pt))
		}
	}
	for _, v := range m.Attrs("ssrc") {
		id, _, _ := strings.Cut(v, " ")
		if ssrc, err := strconv.ParseUint(id, 10, 32); err == nil && !slices.Contains(d.SSRCs, uint32(ssrc)) {
			d.SSRCs = append(d.SSRCs, uint32(ssrc))
		}
	}
	return d
}

// midExtension returns the id the SDP gives the MID header extension on
// m-line m (or at session level), or 0.
func midExtension(s *sdp.Session, m *sdp.Media) uint8 {
	for _, v := range append(m.Attrs("extmap"), s.Attrs("extmap")...) {
		f := strings.Fields(v)
		if len(f) < 2 || f[1] != midExtensionURI {
			continue
		}
		id, _, _ := strings.Cut(f[0], "/") // "3/sendrecv"
		if n, err := strconv.ParseUint(id, 10, 8); err == nil && n >= 1 && n <= 255 {
			return uint8(n)
		}
	}
	return 0
}

// removeMIDExtension drops the MID header extension from an m-line.
func removeMIDExtension(m *sdp.Media) {
	m.RemoveAttrFunc(func(name, value string) bool {
		if name != "extmap" {
			return false
		}
		f := strings.Fields(value)
		return len(f) >= 2 && f[1] == midExtensionURI
	})
}

// outProto is the m= protocol an m-line gets towards the other leg: the
// offered one, or the "transport-protocol" of an offer for RTP media; an
// answer keeps what the other leg was offered.
func outProto(req *Request, m *sdp.Media, mt *relay.Media, isOffer bool) string {
	p := mt.Proto
	if p == "" || isOffer {
		p = m.Proto
	}
	if req.TransportProtocol != "" && isOffer && strings.Contains(m.Proto, "RTP") {
		p = req.TransportProtocol
	}
	return p
}

// planBundles decides which m-lines share a transport that ngrelay
// terminates: on the side the SDP comes from, as that WebRTC leg grouped
// them (fromPlan); on the side it goes to, every RTP m-line of an offer to
// a WebRTC leg (toPlan). An answer to a WebRTC leg keeps the bundle its
// offer made. The "bundle" key's reject turns both off: each m-line keeps
// its own transport.
func planBundles(req *Request, s *sdp.Session, sd side, isOffer bool) (fromPlan, toPlan bundlePlan) {
	terminates := func(i int) (from, to bool) {
		m := s.Media[i]
		op := outProto(req, m, sd.to.Media(i), isOffer)
		if !strings.Contains(m.Proto, "RTP") {
			return false, false
		}
		return isDTLSProfile(m.Proto) && !isDTLSProfile(op), isDTLSProfile(op) && !isDTLSProfile(m.Proto)
	}
	fromPlan = planFromGroups(s, func(i int) bool {
		from, _ := terminates(i)
		m := s.Media[i]
		return from && (!m.Rejected() || m.HasAttr("bundle-only"))
	})
	toPlan = make(bundlePlan, len(s.Media))
	for i := range toPlan {
		toPlan[i] = -1
	}
	if req.Bundle["reject"] {
		// every m-line on its own transport, as a leg without BUNDLE
		// support would have it
		for i := range fromPlan {
			fromPlan[i] = -1
		}
		return fromPlan, toPlan
	}
	if isOffer {
		toPlan = planAll(len(s.Media), func(i int) bool {
			_, to := terminates(i)
			return to && !s.Media[i].Rejected()
		})
	}
	return fromPlan, toPlan
}

// recordMid keeps the a=mid a WebRTC leg gave an m-line, and whether its
// SDP bundled it, for the SDP ngrelay sends back.
func recordMid(s *sdp.Session, m *sdp.Media, media *relay.Media) {
	mid, ok := m.Attr("mid")
	if !ok {
		return
	}
	st := state(media)
	st.mid = mid
	st.bundled = false
	for _, g := range bundleGroups(s) {
		if slices.Contains(g, mid) {
			st.bundled = true
		}
	}
}
