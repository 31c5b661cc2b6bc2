package sdp

import (
	"fmt"
	"slices"
	"strconv"
)

// Media is one media section: its m= line, "m=<media> <port>[/<number of
// ports>] <proto> <fmt> ...", and the lines up to the next m= line.
//
// The m= fields may be changed directly or through the setters; the m= line
// is rendered again only if they differ from what was parsed.
type Media struct {
	Type     string   // "audio", "video", "application", ...
	Port     int      // 0 for a rejected section
	NumPorts int      // the "/2" of "49170/2"; 0 if absent
	Proto    string   // "RTP/AVP", "UDP/TLS/RTP/SAVPF", ...
	Formats  []string // payload types or other format descriptions

	mline  Line   // m= line as parsed (Value verbatim)
	parsed bool   // mline and the orig fields below are valid
	oType  string // fields as parsed, to detect edits
	oPort  int
	oNum   int
	oProto string
	oFmt   string // text of mline.Value holding the formats

	lines []Line   // lines after the m= line
	sess  *Session // owning session, for fallbacks; may be nil
}

// NewMedia returns a media section with the given m= line and no other
// lines. Add it to a session with [Session.AddMedia].
func NewMedia(typ string, port int, proto string, formats []string) *Media {
	return &Media{Type: typ, Port: port, Proto: proto, Formats: slices.Clone(formats)}
}

// parseMLine parses the value of an m= line; msg describes a problem.
func parseMLine(v string) (m Media, msg string) {
	typ, rest := nextField(v)
	if typ == "" {
		return m, "missing media type"
	}
	ps, rest := nextField(rest)
	if ps == "" {
		return m, "missing port"
	}
	proto, rest := nextField(rest)
	port, count, hasCount := ps, "", false
	for i := 0; i < len(ps); i++ {
		if ps[i] == '/' {
			port, count, hasCount = ps[:i], ps[i+1:], true
			break
		}
	}
	p, ok := parsePort(port)
	if !ok {
		return m, fmt.Sprintf("port %s not numeric", quote(port))
	}
	if p > 65535 {
		return m, fmt.Sprintf("port %s out of range", port)
	}
	var np int
	if hasCount {
		if np, ok = parsePort(count); !ok {
			return m, fmt.Sprintf("port count %s not numeric", quote(count))
		}
		if np == 0 || np > 65535 {
			return m, fmt.Sprintf("port count %s out of range", count)
		}
	}
	if proto == "" {
		return m, "missing proto"
	}
	n := 0
	for r := rest; ; n++ {
		var f string
		if f, r = nextField(r); f == "" {
			break
		}
	}
	if n > 0 {
		m.Formats = make([]string, n)
		fields(rest, m.Formats)
	}
	m.Type, m.Port, m.NumPorts, m.Proto = typ, p, np, proto
	m.parsed = true
	m.oType, m.oPort, m.oNum, m.oProto, m.oFmt = typ, p, np, proto, rest
	return m, ""
}

// mlineEdited reports whether the m= fields differ from the parsed line.
func (m *Media) mlineEdited() bool {
	if !m.parsed || m.Type != m.oType || m.Port != m.oPort || m.NumPorts != m.oNum || m.Proto != m.oProto {
		return true
	}
	rest := m.oFmt
	for _, f := range m.Formats {
		var g string
		if g, rest = nextField(rest); g != f || g == "" {
			return true
		}
	}
	g, _ := nextField(rest)
	return g != ""
}

func (m *Media) appendMLineValue(dst []byte) []byte {
	if !m.mlineEdited() {
		return append(dst, m.mline.Value...)
	}
	dst = append(dst, m.Type...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(m.Port), 10)
	if m.NumPorts > 0 {
		dst = append(dst, '/')
		dst = strconv.AppendInt(dst, int64(m.NumPorts), 10)
	}
	dst = append(dst, ' ')
	dst = append(dst, m.Proto...)
	for _, f := range m.Formats {
		dst = append(dst, ' ')
		dst = append(dst, f...)
	}
	return dst
}

func (m *Media) appendTo(dst []byte, dom string, lastSection bool) []byte {
	dst = append(dst, 'm', '=')
	dst = m.appendMLineValue(dst)
	dst = appendEOL(dst, m.mline.eol, dom, lastSection && len(m.lines) == 0)
	return appendLines(dst, m.lines, dom, lastSection)
}

// Clone returns a deep copy of m that belongs to no session.
func (m *Media) Clone() *Media {
	c := *m
	c.Formats = slices.Clone(m.Formats)
	c.lines = slices.Clone(m.lines)
	c.sess = nil
	return &c
}

// Lines returns a copy of the section's lines, starting with the m= line as
// it would be serialized now.
func (m *Media) Lines() []Line {
	out := make([]Line, 0, len(m.lines)+1)
	out = append(out, Line{Type: 'm', Value: string(m.appendMLineValue(nil)), eol: m.mline.eol})
	return append(out, m.lines...)
}

// Rejected reports whether the section is rejected or disabled (port 0).
func (m *Media) Rejected() bool { return m.Port == 0 }

// SetPort sets the m= port (0 to 65535).
func (m *Media) SetPort(port int) { m.Port = port }

// SetProto sets the m= transport protocol, such as "RTP/AVP".
func (m *Media) SetProto(proto string) { m.Proto = proto }

// SetFormats sets the m= formats to a copy of f.
func (m *Media) SetFormats(f []string) { m.Formats = slices.Clone(f) }

// Connection returns the media-level c= line. It does not fall back to the
// session level; see [Media.EffectiveConnection].
func (m *Media) Connection() (Connection, bool) { return connection(m.lines) }

// EffectiveConnection returns the media-level c= line, or else the
// session-level one.
func (m *Media) EffectiveConnection() (Connection, bool) {
	if c, ok := connection(m.lines); ok {
		return c, true
	}
	if m.sess != nil {
		return m.sess.Connection()
	}
	return Connection{}, false
}

// SetConnection replaces the media-level c= line (removing any further ones)
// or inserts it right after the m= and i= lines, before b= and a= lines.
func (m *Media) SetConnection(c Connection) {
	setConnection(&m.lines, c, func(t byte) bool { return t == 'i' })
}

// RemoveConnection removes the media-level c= lines.
func (m *Media) RemoveConnection() { removeLines(&m.lines, 'c') }

// RTCP parses the a=rtcp attribute. It reports false if there is none or
// it is malformed.
func (m *Media) RTCP() (RTCPAttr, bool) {
	if v, ok := attr(m.lines, "rtcp"); ok {
		return parseRTCP(v)
	}
	return RTCPAttr{}, false
}

// SetRTCP replaces the a=rtcp attribute in place (removing any further
// ones), or inserts it before the first attribute of the section.
func (m *Media) SetRTCP(r RTCPAttr) {
	if attrIndex(m.lines, "rtcp", 0) >= 0 {
		setAttr(&m.lines, "rtcp", r.String())
		return
	}
	insertAttrAfter(&m.lines, "", "rtcp", r.String())
}

// Direction returns the effective direction of the section: its own
// sendrecv, sendonly, recvonly or inactive attribute, else the
// session-level one, else "sendrecv". Use [Media.DirectionAttr] to learn
// whether the section states it itself.
func (m *Media) Direction() string {
	if d, ok := directionAttr(m.lines); ok {
		return d
	}
	if m.sess != nil {
		if d, ok := directionAttr(m.sess.lines); ok {
			return d
		}
	}
	return SendRecv
}

// DirectionAttr returns the section's own direction attribute, if any.
func (m *Media) DirectionAttr() (string, bool) { return directionAttr(m.lines) }

// SetDirection sets the section's direction attribute: the first existing
// one is replaced in place and any others removed; if there is none, it is
// added after the last attribute. An empty dir removes all direction
// attributes of the section.
func (m *Media) SetDirection(dir string) { setDirection(&m.lines, dir) }

// Attr returns the value of the first a=name or a=name:value line of the
// section. The value is "" for a property attribute. Surrounding spaces and
// tabs of name and value are ignored.
func (m *Media) Attr(name string) (value string, ok bool) { return attr(m.lines, name) }

// Attrs returns the values of all a=name lines of the section, in order.
func (m *Media) Attrs(name string) []string { return attrs(m.lines, name) }

// HasAttr reports whether the section has an a=name line.
func (m *Media) HasAttr(name string) bool { return attrIndex(m.lines, name, 0) >= 0 }

// Attributes returns all attributes of the section, in order.
func (m *Media) Attributes() []Attribute { return attributes(m.lines) }

// SetAttr replaces the first a=name line in place with a=name:value (or
// a=name if value is empty), removes any further a=name lines, or adds the
// attribute if there is none.
func (m *Media) SetAttr(name, value string) { setAttr(&m.lines, name, value) }

// AddAttr adds a=name:value (or a=name if value is empty) after the last a=
// line of the section, or at its end if it has no attributes.
func (m *Media) AddAttr(name, value string) { addAttr(&m.lines, name, value) }

// InsertAttrAfter inserts a=name:value (or a=name) right after the last
// a=after line of the section. If after is empty or not present, the
// attribute goes in front of the section's first attribute (or at its end
// if it has none).
func (m *Media) InsertAttrAfter(after, name, value string) {
	insertAttrAfter(&m.lines, after, name, value)
}

// RemoveAttr removes all a=name lines of the section and returns how many
// were removed.
func (m *Media) RemoveAttr(name string) int { return removeAttr(&m.lines, name) }

// RemoveAttrFunc removes the attributes of the section for which f returns
// true and returns how many were removed.
func (m *Media) RemoveAttrFunc(f func(name, value string) bool) int {
	return removeAttrFunc(&m.lines, f)
}
