package sdp

import (
	"slices"
	"strings"
)

// Attribute is an a= line split into name and value: "a=rtpmap:0 PCMU/8000"
// has Name "rtpmap" and Value "0 PCMU/8000"; a property attribute such as
// "a=rtcp-mux" has an empty Value.
type Attribute struct {
	Name, Value string
}

// String returns the attribute as it appears after "a=": "name:value", or
// "name" when Value is empty.
func (a Attribute) String() string {
	if a.Value == "" {
		return a.Name
	}
	return a.Name + ":" + a.Value
}

// splitAttr splits the value of an a= line at the first colon. Spaces and
// tabs around the name and the value are dropped.
func splitAttr(v string) (name, value string) {
	i := strings.IndexByte(v, ':')
	if i < 0 {
		return trimWS(v), ""
	}
	return trimWS(v[:i]), trimWS(v[i+1:])
}

func isWS(c byte) bool { return c == ' ' || c == '\t' }

func trimWS(s string) string {
	for len(s) > 0 && isWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// The helpers below work on the lines of one section: the session-level
// lines, or the lines of a media section after its m= line.

func lineIndex(lines []Line, t byte, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i].Type == t {
			return i
		}
	}
	return -1
}

func removeLines(p *[]Line, t byte) int {
	n := len(*p)
	*p = slices.DeleteFunc(*p, func(l Line) bool { return l.Type == t })
	return n - len(*p)
}

func attrIndex(lines []Line, name string, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i].Type == 'a' {
			if n, _ := splitAttr(lines[i].Value); n == name {
				return i
			}
		}
	}
	return -1
}

func attr(lines []Line, name string) (string, bool) {
	if i := attrIndex(lines, name, 0); i >= 0 {
		_, v := splitAttr(lines[i].Value)
		return v, true
	}
	return "", false
}

func attrs(lines []Line, name string) []string {
	var out []string
	for i := range lines {
		if lines[i].Type == 'a' {
			if n, v := splitAttr(lines[i].Value); n == name {
				out = append(out, v)
			}
		}
	}
	return out
}

func attributes(lines []Line) []Attribute {
	var out []Attribute
	for i := range lines {
		if lines[i].Type == 'a' {
			n, v := splitAttr(lines[i].Value)
			out = append(out, Attribute{Name: n, Value: v})
		}
	}
	return out
}

func attrLine(name, value string) Line {
	return Line{Type: 'a', Value: Attribute{Name: name, Value: value}.String()}
}

// setAttr replaces the first a=name line in place and removes the others,
// or adds the attribute.
func setAttr(p *[]Line, name, value string) {
	i := attrIndex(*p, name, 0)
	if i < 0 {
		addAttr(p, name, value)
		return
	}
	(*p)[i].Value = Attribute{Name: name, Value: value}.String()
	removeAttrsFrom(p, i+1, func(n, _ string) bool { return n == name })
}

// addAttr inserts after the last a= line, or at the end of the section.
func addAttr(p *[]Line, name, value string) {
	at := len(*p)
	for i := len(*p) - 1; i >= 0; i-- {
		if (*p)[i].Type == 'a' {
			at = i + 1
			break
		}
	}
	*p = slices.Insert(*p, at, attrLine(name, value))
}

// insertAttrAfter inserts after the last a=after line; if after is "" or
// absent, before the first a= line (or at the end of the section).
func insertAttrAfter(p *[]Line, after, name, value string) {
	at := -1
	if after != "" {
		for i := len(*p) - 1; i >= 0; i-- {
			if (*p)[i].Type == 'a' {
				if n, _ := splitAttr((*p)[i].Value); n == after {
					at = i + 1
					break
				}
			}
		}
	}
	if at < 0 {
		if at = lineIndex(*p, 'a', 0); at < 0 {
			at = len(*p)
		}
	}
	*p = slices.Insert(*p, at, attrLine(name, value))
}

func removeAttr(p *[]Line, name string) int {
	return removeAttrsFrom(p, 0, func(n, _ string) bool { return n == name })
}

func removeAttrFunc(p *[]Line, f func(name, value string) bool) int {
	return removeAttrsFrom(p, 0, f)
}

func removeAttrsFrom(p *[]Line, from int, f func(name, value string) bool) int {
	lines := *p
	j := from
	for i := from; i < len(lines); i++ {
		if lines[i].Type == 'a' {
			if n, v := splitAttr(lines[i].Value); f(n, v) {
				continue
			}
		}
		lines[j] = lines[i]
		j++
	}
	clear(lines[j:])
	*p = lines[:j]
	return len(lines) - j
}

// Direction attribute names.
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// IsDirection reports whether name is one of the four direction attributes.
func IsDirection(name string) bool {
	switch name {
	case SendRecv, SendOnly, RecvOnly, Inactive:
		return true
	}
	return false
}

func directionIndex(lines []Line, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i].Type == 'a' {
			if n, _ := splitAttr(lines[i].Value); IsDirection(n) {
				return i
			}
		}
	}
	return -1
}

func directionAttr(lines []Line) (string, bool) {
	if i := directionIndex(lines, 0); i >= 0 {
		n, _ := splitAttr(lines[i].Value)
		return n, true
	}
	return "", false
}

func setDirection(p *[]Line, dir string) {
	isDir := func(n, _ string) bool { return IsDirection(n) }
	if dir == "" {
		removeAttrsFrom(p, 0, isDir)
		return
	}
	i := directionIndex(*p, 0)
	if i < 0 {
		addAttr(p, dir, "")
		return
	}
	(*p)[i].Value = dir
	removeAttrsFrom(p, i+1, isDir)
}

func connection(lines []Line) (Connection, bool) {
	if i := lineIndex(lines, 'c', 0); i >= 0 {
		return parseConnection(lines[i].Value)
	}
	return Connection{}, false
}

// setConnection replaces the first c= line and removes the others, or
// inserts one before the first line whose type does not satisfy before.
func setConnection(p *[]Line, c Connection, before func(t byte) bool) {
	v := c.String()
	if i := lineIndex(*p, 'c', 0); i >= 0 {
		(*p)[i].Value = v
		lines := *p
		j := i + 1
		for k := i + 1; k < len(lines); k++ {
			if lines[k].Type != 'c' {
				lines[j] = lines[k]
				j++
			}
		}
		clear(lines[j:])
		*p = lines[:j]
		return
	}
	at := len(*p)
	for i := range *p {
		if !before((*p)[i].Type) {
			at = i
			break
		}
	}
	*p = slices.Insert(*p, at, Line{Type: 'c', Value: v})
}
