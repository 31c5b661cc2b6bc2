package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ngrelay/ngrelay/relay"
)

// listSessions handles "list sessions all|own|foreign|json|N|CALL-ID".
// rtpengine takes anything but all/own/foreign as a call ID; ngrelay adds
// "json" and, when no call has that ID, a number N for the N newest calls.
func (s *Server) listSessions(rest string, w *out) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	calls := s.engine.CallList()
	slices.Reverse(calls) // newest first, as rtpengine lists them
	switch arg {
	case "all":
		s.writeSessionLines(w, calls, "No sessions on this media relay.\n")
		return
	case "own":
		s.writeSessionLines(w, calls, "No own sessions on this media relay.\n")
		return
	case "foreign":
		w.WriteString("No foreign sessions on this media relay.\n")
		return
	case "json":
		s.writeSessionsJSON(w, calls)
		return
	}
	if c := s.engine.Call(arg); c != nil {
		if s.writeCallInfo(w, c) {
			return
		}
	}
	if n, err := strconv.Atoi(arg); err == nil && n > 0 {
		s.writeSessionLines(w, calls[:min(n, len(calls))], "No sessions on this media relay.\n")
		return
	}
	fmt.Fprintf(w, "\nCall ID not found (%s).\n\n", arg)
}

func (s *Server) writeSessionLines(w *out, calls []*relay.Call, none string) {
	found := 0
	for _, c := range calls {
		c.Lock()
		gone := c.Gone()
		mark := yesNo(!c.DeleteAt().IsZero())
		c.Unlock()
		if gone {
			continue
		}
		found++
		fmt.Fprintf(w, "callid: %60s | deletionmark:%4s | created:%12d | proxy:%s | redis_keyspace:%d | foreign:%s\n",
			c.ID, mark, c.Created.Unix(), "", 0, "no")
	}
	if found == 0 {
		w.WriteString(none)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeCallInfo prints the details of a call, as rtpengine's "list sessions
// CALL-ID". It returns false when the call ended meanwhile.
func (s *Server) writeCallInfo(w *out, c *relay.Call) bool {
	c.Lock()
	defer c.Unlock()
	if c.Gone() {
		return false
	}
	fmt.Fprintf(w, "\ncallid: %s\ndeletionmark: %s\ncreated: %d\nproxy: %s\ntos: %d\nlast_signal: %d\nredis_keyspace: %d\nforeign: %s\n\n",
		c.ID, yesNo(!c.DeleteAt().IsZero()), c.Created.Unix(), "", s.engine.Config().TOS, c.LastSignal.Unix(), 0, "no")
	now := s.now()
	for _, l := range c.Legs() {
		writeTagInfo(w, c, l, now)
	}
	w.WriteString("\n")
	return true
}

// tagType is rtpengine's monologue type: the leg that offered is the
// FROM_TAG, the leg its offer created is the TO_TAG once an answer named
// it.
func tagType(l *relay.Leg) string {
	switch {
	case l.Tag == "":
		return "UNKNOWN"
	case l.Offerer() != nil:
		return "TO_TAG"
	default:
		return "FROM_TAG"
	}
}

// writeTagInfo prints one leg (rtpengine: monologue) with its media and
// streams. The call must be locked.
func writeTagInfo(w *out, c *relay.Call, l *relay.Leg, now time.Time) {
	d := max(now.Sub(l.Created), 0)
	fmt.Fprintf(w, "--- Tag '%s', type: %s, label '%s', branch '%s', callduration %d.%06d\n",
		l.Tag, tagType(l), l.Label, l.Branch, int64(d/time.Second), int64(d%time.Second/time.Microsecond))
	// Media received from a leg goes to its Peer: l is subscribed to the
	// legs whose Peer it is, and its own media goes to l.Peer.
	for _, x := range c.Legs() {
		if x.Peer == l {
			fmt.Fprintf(w, "---     subscribed to '%s'\n", x.Tag)
		}
	}
	if l.Peer != nil {
		fmt.Fprintf(w, "---     subscription of '%s'\n", l.Peer.Tag)
	}
	for i, m := range l.Medias {
		proto := m.Proto
		if proto == "" {
			proto = "(unknown)"
		}
		fmt.Fprintf(w, "------ Media #%d (%s over %s) using %s\n", m.Index, m.Type, proto, mediaCodec(c, l, i, m))
		for _, st := range mediaStreams(m) {
			local := st.Local()
			suffix := ""
			if st.Kind() == relay.KindRTCP {
				suffix = " (RTCP)"
			}
			ep := streamEndpoint(st, m)
			epAddr := ""
			if ep.Addr().IsValid() {
				epAddr = ep.Addr().String()
			}
			fmt.Fprintf(w, "-------- Port %15s:%-5d <> %15s:%-5d%s, SSRC %x, %d p, %d b, %d e, %d ts\n",
				local.Addr.String(), st.LocalPort(), epAddr, ep.Port(), suffix, 0,
				st.Stats.Packets.Load(), st.Stats.Bytes.Load(), st.Stats.Errors.Load(),
				st.LastPacket()/int64(time.Second))
		}
	}
}

// mediaStreams are the streams of a media that carry something: with
// rtcp-mux, RTCP shares the RTP stream.
func mediaStreams(m *relay.Media) []*relay.Stream {
	var out []*relay.Stream
	if m.RTP != nil {
		out = append(out, m.RTP)
	}
	if m.RTCP != nil && !m.RTCPMux {
		out = append(out, m.RTCP)
	}
	return out
}

// streamEndpoint is where media to the stream's leg goes: the address
// learned from media or, until then, the one from SDP.
func streamEndpoint(st *relay.Stream, m *relay.Media) netip.AddrPort {
	if p, _ := st.Peer(); p.IsValid() {
		return p
	}
	if st.Kind() == relay.KindRTCP {
		return m.RTCPEndpoint
	}
	return m.Endpoint
}

// mediaCodec names the codec of media index i of leg l, as rtpengine does
// from the RTP it received: "unknown codec" until media flows, then the
// first codec of the answer (the SDP last sent to the offering leg).
func mediaCodec(c *relay.Call, l *relay.Leg, i int, m *relay.Media) string {
	const unknown = "unknown codec"
	if m.RTP == nil || m.RTP.Stats.Packets.Load() == 0 {
		return unknown
	}
	offerer := l
	if o := l.Offerer(); o != nil {
		offerer = o
	} else if l.Tag == "" && l.Peer != nil {
		offerer = l.Peer
	}
	if !offerer.Sent.Seen {
		return unknown
	}
	if enc := firstCodec(offerer.Sent.Body, i); enc != "" {
		return enc
	}
	return unknown
}

// staticPayloadTypes are the RTP/AVP payload types with a fixed encoding
// (RFC 3551), for m= lines without a=rtpmap.
var staticPayloadTypes = map[string]string{
	"0": "PCMU/8000", "3": "GSM/8000", "4": "G723/8000", "5": "DVI4/8000",
	"6": "DVI4/16000", "7": "LPC/8000", "8": "PCMA/8000", "9": "G722/8000",
	"10": "L16/44100/2", "11": "L16/44100", "12": "QCELP/8000", "13": "CN/8000",
	"14": "MPA/90000", "15": "G728/8000", "16": "DVI4/11025", "17": "DVI4/22050",
	"18": "G729/8000",
}

// firstCodec returns the encoding of the first format of m= line index
// (0-based) of an SDP body, as rtpengine prints it ("opus/48000/2",
// "PCMU/8000"), or "".
func firstCodec(sdp string, index int) string {
	mline := -1
	pt := ""
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "m=") {
			mline++
			if mline > index {
				break
			}
			if mline == index {
				f := strings.Fields(line)
				if len(f) < 4 {
					return ""
				}
				pt = f[3]
			}
			continue
		}
		if mline != index || pt == "" {
			continue
		}
		if v, ok := strings.CutPrefix(line, "a=rtpmap:"+pt+" "); ok {
			enc := strings.TrimSpace(v)
			if strings.HasSuffix(enc, "/1") && strings.Count(enc, "/") == 2 {
				enc = strings.TrimSuffix(enc, "/1")
			}
			return enc
		}
	}
	return staticPayloadTypes[pt]
}

// --- terminate

func (s *Server) cmdTerminate(rest string, w *out) {
	arg, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	switch arg {
	case "all":
		n := s.terminateAll()
		s.log.Info("All calls terminated by operator.", slog.Int("calls", n))
		w.WriteString("All calls terminated by operator.\n")
		return
	case "own":
		n := s.terminateAll()
		s.log.Info("All own calls terminated by operator.", slog.Int("calls", n))
		w.WriteString("All own calls terminated by operator.\n")
		return
	case "foreign":
		// ngrelay has no foreign calls.
		s.log.Info("All foreign calls terminated by operator.", slog.Int("calls", 0))
		w.WriteString("All foreign calls terminated by operator.\n")
		return
	}
	c := s.engine.Call(arg)
	if c == nil || !s.terminate(c) {
		fmt.Fprintf(w, "\nCall Id not found (%s).\n\n", arg)
		return
	}
	s.log.Warn(fmt.Sprintf("Call Id (%s) successfully terminated by operator.", arg), slog.String("call-id", arg))
	fmt.Fprintf(w, "\nCall Id (%s) successfully terminated by operator.\n\n", arg)
}

// terminate ends a call now, as a delete without delay, and counts it as a
// forced termination. It returns false when the call had ended already.
func (s *Server) terminate(c *relay.Call) bool {
	c.Lock()
	defer c.Unlock()
	return c.Terminate()
}

func (s *Server) terminateAll() int {
	n := 0
	for _, c := range s.engine.CallList() {
		if s.terminate(c) {
			n++
		}
	}
	return n
}

// --- call CALL-ID info|terminate|debug|tag TAG info

func (s *Server) cmdCall(rest string, w *out) {
	rest, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	callID, rest, _ := strings.Cut(rest, " ")
	if callID == "" {
		w.WriteString("No call ID specified\n")
		return
	}
	c := s.engine.Call(callID)
	if c == nil {
		fmt.Fprintf(w, "No such call '%s'\n", callID)
		return
	}
	w.call = c
	s.dispatch(callCommands, rest, w)
	w.call = nil
}

func (s *Server) callInfo(_ string, w *out) {
	if !s.writeCallInfo(w, w.call) {
		fmt.Fprintf(w, "No such call '%s'\n", w.call.ID)
	}
}

func (s *Server) callTerminate(_ string, w *out) {
	c := w.call
	if !s.terminate(c) {
		fmt.Fprintf(w, "No such call '%s'\n", c.ID)
		return
	}
	s.log.Warn(fmt.Sprintf("Call %s terminated by operator", c.ID), slog.String("call-id", c.ID))
	fmt.Fprintf(w, "\nCall '%s' terminated.\n\n", c.ID)
}

func (s *Server) callDebug(_ string, w *out) {
	fmt.Fprintf(w, "Fail setting debugging for call '%s'; not supported by ngrelay\n", w.call.ID)
}

func (s *Server) callTag(rest string, w *out) {
	rest, ok := shift1(rest)
	if !ok {
		w.WriteString(moreParams)
		return
	}
	tag, rest, _ := strings.Cut(rest, " ")
	if tag == "" {
		w.WriteString("No tag specified\n")
		return
	}
	c := w.call
	c.Lock()
	l := c.Leg(tag)
	if c.Gone() {
		l = nil
	}
	c.Unlock()
	if l == nil {
		fmt.Fprintf(w, "No such tag '%s'\n", tag)
		return
	}
	if rest == "help" {
		w.WriteString("Available sub-commands at this level:\n\tinfo\n")
		return
	}
	if !strings.HasPrefix(rest, "info") {
		fmt.Fprintf(w, "Unknown or incomplete command::%s\n", rest)
		return
	}
	c.Lock()
	defer c.Unlock()
	if c.Gone() || c.Leg(tag) != l {
		fmt.Fprintf(w, "No such tag '%s'\n", tag)
		return
	}
	writeTagInfo(w, c, l, s.now())
}

// --- list sessions json (ngrelay)

// SessionsJSON is the reply of "list sessions json": every live call with
// its legs, media, streams and counters, newest call first.
type SessionsJSON struct {
	// Time is when the snapshot was taken, in unix seconds.
	Time     float64       `json:"time"`
	Sessions []SessionJSON `json:"sessions"`
}

// SessionJSON is one call of SessionsJSON.
type SessionJSON struct {
	CallID       string    `json:"callid"`
	Created      float64   `json:"created"`
	LastSignal   int64     `json:"last_signal"`
	DeletionMark bool      `json:"deletionmark"`
	Packets      uint64    `json:"packets"`
	Bytes        uint64    `json:"bytes"`
	Errors       uint64    `json:"errors"`
	Tags         []TagJSON `json:"tags"`
}

// TagJSON is one leg (rtpengine: tag or monologue) of a call.
type TagJSON struct {
	Tag    string      `json:"tag"`
	Type   string      `json:"type"`
	Label  string      `json:"label,omitempty"`
	Branch string      `json:"branch,omitempty"`
	Peer   string      `json:"peer,omitempty"`
	Medias []MediaJSON `json:"medias"`
}

// MediaJSON is one m= line of a leg.
type MediaJSON struct {
	Index    int          `json:"index"`
	Type     string       `json:"type"`
	Protocol string       `json:"protocol"`
	Streams  []StreamJSON `json:"streams"`
}

// StreamJSON is one local port of a media, counting what it received.
type StreamJSON struct {
	Kind       string `json:"kind"`
	Local      string `json:"local"`
	Endpoint   string `json:"endpoint,omitempty"`
	Packets    uint64 `json:"packets"`
	Bytes      uint64 `json:"bytes"`
	Errors     uint64 `json:"errors"`
	LastPacket int64  `json:"last_packet"`
}

func (s *Server) writeSessionsJSON(w *out, calls []*relay.Call) {
	now := s.now()
	out := SessionsJSON{Time: float64(now.UnixMicro()) / 1e6, Sessions: []SessionJSON{}}
	for _, c := range calls {
		c.Lock()
		if !c.Gone() {
			out.Sessions = append(out.Sessions, sessionJSON(c))
		}
		c.Unlock()
	}
	b, err := json.Marshal(out)
	if err != nil { // cannot happen: plain data
		fmt.Fprintf(w, "Failed to encode sessions: %v\n", err)
		return
	}
	w.Write(b)
	w.WriteString("\n")
}

// sessionJSON renders a locked call.
func sessionJSON(c *relay.Call) SessionJSON {
	t := c.Traffic()
	sj := SessionJSON{
		CallID:       c.ID,
		Created:      float64(c.Created.UnixMicro()) / 1e6,
		LastSignal:   c.LastSignal.Unix(),
		DeletionMark: !c.DeleteAt().IsZero(),
		Packets:      t.Packets(),
		Bytes:        t.Bytes(),
		Errors:       t.Errors(),
		Tags:         []TagJSON{},
	}
	for _, l := range c.Legs() {
		tj := TagJSON{Tag: l.Tag, Type: tagType(l), Label: l.Label, Branch: l.Branch, Medias: []MediaJSON{}}
		if l.Peer != nil {
			tj.Peer = l.Peer.Tag
		}
		for _, m := range l.Medias {
			mj := MediaJSON{Index: m.Index, Type: m.Type, Protocol: m.Proto, Streams: []StreamJSON{}}
			for _, st := range mediaStreams(m) {
				sj := StreamJSON{
					Kind:       st.Kind().String(),
					Local:      netip.AddrPortFrom(st.Local().Addr, uint16(st.LocalPort())).String(),
					Packets:    st.Stats.Packets.Load(),
					Bytes:      st.Stats.Bytes.Load(),
					Errors:     st.Stats.Errors.Load(),
					LastPacket: st.LastPacket() / int64(time.Second),
				}
				if ep := streamEndpoint(st, m); ep.IsValid() {
					sj.Endpoint = ep.String()
				}
				mj.Streams = append(mj.Streams, sj)
			}
			tj.Medias = append(tj.Medias, mj)
		}
		sj.Tags = append(sj.Tags, tj)
	}
	return sj
}
