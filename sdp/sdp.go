package sdp

import (
	"fmt"
	"slices"
	"strings"
)

// Limits enforced by [Parse].
const (
	MaxSize  = 64 << 10 // maximum input size in bytes
	MaxLines = 2048     // maximum number of lines, trailing blank lines included
	MaxMedia = 128      // maximum number of m= sections
)

// eol is the terminator of a line.
type eol uint8

const (
	eolDefault eol = iota // new line: the session's dominant terminator
	eolCRLF               // "\r\n"
	eolLF                 // "\n"
	eolNone               // final line without terminator
)

// Line is one "X=value" line of an SDP body.
type Line struct {
	// Type is the line type letter, such as 'v', 'o', 'c', 'm' or 'a'.
	Type byte
	// Value is the text after "X=", exactly as received (trailing
	// whitespace included), without the line terminator.
	Value string

	eol eol // terminator as received; eolDefault for new lines
}

// String returns the line as "X=value", without terminator.
func (l Line) String() string { return string(l.Type) + "=" + l.Value }

// Session is a parsed SDP body: the session-level lines (v=, o=, s=, c=, t=,
// a=, ...) followed by the media sections.
//
// Media may be reordered or truncated directly; sections added through
// [Session.AddMedia] (or parsed) also see the session for
// [Media.Direction] and [Media.EffectiveConnection].
type Session struct {
	// Media holds the m= sections in order.
	Media []*Media

	lines   []Line // session-level lines, starting with v=
	trailer string // trailing blank lines, verbatim
	eol     eol    // dominant terminator: eolCRLF or eolLF
}

// ParseError is the error returned by [Parse]. Line is the 1-based line
// number of the problem, or 0 when it concerns the whole input.
type ParseError struct {
	Line int
	Msg  string
}

// Error formats the error as "sdp: line N: msg", or "sdp: msg" when Line is 0.
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("sdp: line %d: %s", e.Line, e.Msg)
	}
	return "sdp: " + e.Msg
}

func errorf(line int, format string, args ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses an SDP body. The returned session serializes back to b byte
// for byte until it is edited. Parse keeps no reference to b.
func Parse(b []byte) (*Session, error) {
	if len(b) == 0 {
		return nil, &ParseError{Msg: "empty input"}
	}
	if len(b) > MaxSize {
		return nil, errorf(0, "input too large (%d bytes, max %d)", len(b), MaxSize)
	}
	src := string(b)
	all := make([]Line, 0, min(strings.Count(src, "\n")+1, MaxLines))
	var (
		medias     []Media
		starts     []int // index in all of each m= line
		pos        int
		lineNo     int
		blankAt    int // first blank line not yet followed by content
		contentEnd int // offset just past the last non-blank line
	)
	for pos < len(src) {
		lineNo++
		if lineNo > MaxLines {
			return nil, errorf(lineNo, "too many lines (max %d)", MaxLines)
		}
		var text string
		var e eol
		if i := strings.IndexByte(src[pos:], '\n'); i < 0 {
			text, e = src[pos:], eolNone
			pos = len(src)
		} else {
			text, e = src[pos:pos+i], eolLF
			pos += i + 1
			if n := len(text); n > 0 && text[n-1] == '\r' {
				text, e = text[:n-1], eolCRLF
			}
		}
		if isBlank(text) {
			if blankAt == 0 {
				blankAt = lineNo
			}
			continue
		}
		if blankAt != 0 {
			return nil, errorf(blankAt, "empty line")
		}
		contentEnd = pos
		if len(all) == 0 && !strings.HasPrefix(text, "v=") {
			return nil, errorf(lineNo, "first line must be v=, got %s", quote(text))
		}
		if len(text) < 2 || text[1] != '=' || !isLetter(text[0]) {
			return nil, errorf(lineNo, "malformed line %s: want \"X=value\"", quote(text))
		}
		if i := strings.IndexByte(text, '\r'); i >= 0 {
			return nil, errorf(lineNo, "invalid character 0x0d (bare CR)")
		}
		if i := strings.IndexByte(text, 0); i >= 0 {
			return nil, errorf(lineNo, "invalid character 0x00")
		}
		l := Line{Type: text[0], Value: text[2:], eol: e}
		switch l.Type {
		case 'm':
			if len(medias) == MaxMedia {
				return nil, errorf(lineNo, "too many media sections (max %d)", MaxMedia)
			}
			m, msg := parseMLine(l.Value)
			if msg != "" {
				return nil, errorf(lineNo, "malformed m= line: %s", msg)
			}
			m.mline = l
			medias = append(medias, m)
			starts = append(starts, len(all))
		case 'c':
			if _, ok := parseConnection(l.Value); !ok {
				return nil, errorf(lineNo, "malformed c= line: too few fields")
			}
		case 'o':
			if _, ok := parseOrigin(l.Value); !ok {
				return nil, errorf(lineNo, "malformed o= line: too few fields")
			}
		}
		all = append(all, l)
	}
	if len(all) == 0 {
		return nil, &ParseError{Msg: "empty input"}
	}

	s := &Session{trailer: src[contentEnd:], eol: eolCRLF}
	if all[0].eol == eolLF {
		s.eol = eolLF
	}
	end := len(all)
	if len(starts) > 0 {
		end = starts[0]
	}
	// Full slice expressions: each section owns its capacity, so inserting
	// into one never overwrites the next.
	s.lines = all[:end:end]
	if len(medias) > 0 {
		s.Media = make([]*Media, len(medias))
		for i := range medias {
			m := &medias[i]
			lo, hi := starts[i]+1, len(all)
			if i+1 < len(starts) {
				hi = starts[i+1]
			}
			m.lines = all[lo:hi:hi]
			m.sess = s
			s.Media[i] = m
		}
	}
	return s, nil
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// quote quotes s for an error message, shortened to a readable length.
func quote(s string) string {
	const maxLen = 40
	if len(s) > maxLen {
		return fmt.Sprintf("%q...", s[:maxLen])
	}
	return fmt.Sprintf("%q", s)
}

// Bytes serializes the session.
func (s *Session) Bytes() []byte { return s.AppendTo(make([]byte, 0, s.sizeHint())) }

// String returns the serialized session.
func (s *Session) String() string { return string(s.Bytes()) }

// AppendTo appends the serialized session to dst and returns the result.
func (s *Session) AppendTo(dst []byte) []byte {
	dom := "\r\n"
	if s.eol == eolLF {
		dom = "\n"
	}
	last := -1
	for i := len(s.Media) - 1; i >= 0; i-- {
		if s.Media[i] != nil {
			last = i
			break
		}
	}
	dst = appendLines(dst, s.lines, dom, last < 0)
	for i, m := range s.Media {
		if m != nil {
			dst = m.appendTo(dst, dom, i == last)
		}
	}
	return append(dst, s.trailer...)
}

func (s *Session) sizeHint() int {
	n := len(s.trailer) + linesSize(s.lines)
	for _, m := range s.Media {
		if m != nil {
			n += len(m.mline.Value) + len(m.Type) + len(m.Proto) + 20 + linesSize(m.lines)
			for _, f := range m.Formats {
				n += len(f) + 1
			}
		}
	}
	return n
}

func linesSize(lines []Line) int {
	n := 0
	for i := range lines {
		n += len(lines[i].Value) + 4
	}
	return n
}

func appendLines(dst []byte, lines []Line, dom string, lastSection bool) []byte {
	for i := range lines {
		dst = append(dst, lines[i].Type, '=')
		dst = append(dst, lines[i].Value...)
		dst = appendEOL(dst, lines[i].eol, dom, lastSection && i == len(lines)-1)
	}
	return dst
}

func appendEOL(dst []byte, e eol, dom string, last bool) []byte {
	switch e {
	case eolCRLF:
		return append(dst, '\r', '\n')
	case eolLF:
		return append(dst, '\n')
	case eolNone:
		if last {
			return dst
		}
	}
	return append(dst, dom...)
}

// Clone returns a deep copy of the session. Edits to the copy do not affect s.
func (s *Session) Clone() *Session {
	c := &Session{lines: slices.Clone(s.lines), trailer: s.trailer, eol: s.eol}
	if s.Media != nil {
		c.Media = make([]*Media, len(s.Media))
		for i, m := range s.Media {
			if m != nil {
				mc := m.Clone()
				mc.sess = c
				c.Media[i] = mc
			}
		}
	}
	return c
}

// Lines returns a copy of the session-level lines (those before the first
// m= line), in order.
func (s *Session) Lines() []Line { return slices.Clone(s.lines) }

// AddMedia appends m to the session's media sections.
func (s *Session) AddMedia(m *Media) {
	m.sess = s
	s.Media = append(s.Media, m)
}

// RemoveMedia removes the media section at index i. It panics if i is out
// of range.
func (s *Session) RemoveMedia(i int) {
	m := s.Media[i]
	s.Media = slices.Delete(s.Media, i, i+1)
	if m != nil && m.sess == s {
		m.sess = nil
	}
}

// Origin returns the parsed o= line.
func (s *Session) Origin() (Origin, bool) {
	if i := lineIndex(s.lines, 'o', 0); i >= 0 {
		return parseOrigin(s.lines[i].Value)
	}
	return Origin{}, false
}

// SetOrigin replaces the o= line, or inserts one after v= if there is none.
func (s *Session) SetOrigin(o Origin) {
	if i := lineIndex(s.lines, 'o', 0); i >= 0 {
		s.lines[i].Value = o.String()
		return
	}
	s.lines = slices.Insert(s.lines, afterV(s.lines), Line{Type: 'o', Value: o.String()})
}

// SessionName returns the value of the s= line, or "" if there is none.
func (s *Session) SessionName() string {
	if i := lineIndex(s.lines, 's', 0); i >= 0 {
		return s.lines[i].Value
	}
	return ""
}

// SetSessionName replaces the s= line, or inserts one after o= (or v=) if
// there is none. RFC 8866 suggests "-" when there is no meaningful name.
func (s *Session) SetSessionName(name string) {
	if i := lineIndex(s.lines, 's', 0); i >= 0 {
		s.lines[i].Value = name
		return
	}
	at := afterV(s.lines)
	if i := lineIndex(s.lines, 'o', 0); i >= 0 {
		at = i + 1
	}
	s.lines = slices.Insert(s.lines, at, Line{Type: 's', Value: name})
}

func afterV(lines []Line) int {
	if len(lines) > 0 && lines[0].Type == 'v' {
		return 1
	}
	return 0
}

// Connection returns the session-level c= line.
func (s *Session) Connection() (Connection, bool) { return connection(s.lines) }

// SetConnection replaces the session-level c= line (removing any further
// ones) or, if there is none, inserts it where RFC 8866 puts it: after the
// v=, o=, s=, i=, u=, e= and p= lines, before b=, t= and the rest.
func (s *Session) SetConnection(c Connection) {
	setConnection(&s.lines, c, func(t byte) bool { return strings.IndexByte("vosiuep", t) >= 0 })
}

// RemoveConnection removes the session-level c= lines.
func (s *Session) RemoveConnection() { removeLines(&s.lines, 'c') }

// DirectionAttr returns the session-level direction attribute (sendrecv,
// sendonly, recvonly or inactive), if there is one.
func (s *Session) DirectionAttr() (string, bool) { return directionAttr(s.lines) }

// SetDirection sets the session-level direction attribute; see
// [Media.SetDirection].
func (s *Session) SetDirection(dir string) { setDirection(&s.lines, dir) }

// Attr returns the value of the first session-level a=name or a=name:value
// line; see [Media.Attr].
func (s *Session) Attr(name string) (value string, ok bool) { return attr(s.lines, name) }

// Attrs returns the values of all session-level a=name lines, in order.
func (s *Session) Attrs(name string) []string { return attrs(s.lines, name) }

// HasAttr reports whether there is a session-level a=name line.
func (s *Session) HasAttr(name string) bool { return attrIndex(s.lines, name, 0) >= 0 }

// Attributes returns all session-level attributes, in order.
func (s *Session) Attributes() []Attribute { return attributes(s.lines) }

// SetAttr sets a session-level attribute; see [Media.SetAttr].
func (s *Session) SetAttr(name, value string) { setAttr(&s.lines, name, value) }

// AddAttr appends a session-level attribute after the last session-level a=
// line (so before the first m= line); see [Media.AddAttr].
func (s *Session) AddAttr(name, value string) { addAttr(&s.lines, name, value) }

// InsertAttrAfter inserts a session-level attribute after another one; see
// [Media.InsertAttrAfter].
func (s *Session) InsertAttrAfter(after, name, value string) {
	insertAttrAfter(&s.lines, after, name, value)
}

// RemoveAttr removes all session-level a=name lines and returns how many
// were removed.
func (s *Session) RemoveAttr(name string) int { return removeAttr(&s.lines, name) }

// RemoveAttrFunc removes the session-level attributes for which f returns
// true and returns how many were removed.
func (s *Session) RemoveAttrFunc(f func(name, value string) bool) int {
	return removeAttrFunc(&s.lines, f)
}
