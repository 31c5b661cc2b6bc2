package rtpp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Op is a command's letter, upper case.
type Op byte

// Commands of the rtpproxy protocol.
const (
	OpUpdate     Op = 'U' // offer: create or update a session
	OpLookup     Op = 'L' // answer: look a session up and update it
	OpDelete     Op = 'D'
	OpQuery      Op = 'Q'
	OpVersion    Op = 'V'
	OpFeature    Op = 'F' // "VF": is a protocol capability supported
	OpInfo       Op = 'I'
	OpDeleteAll  Op = 'X'
	OpPlay       Op = 'P'
	OpStopPlay   Op = 'S'
	OpRecord     Op = 'R' // refused
	OpCopy       Op = 'C' // refused
	OpNoRecord   Op = 'N' // refused
	OpStats      Op = 'G' // refused
	OpUnknownCmd Op = '?'
)

// Name is the command as the protocol spells it ("U", "VF", ...), or "?"
// for an unknown or refused command.
func (o Op) Name() string {
	switch o {
	case OpFeature:
		return "VF"
	case OpUpdate, OpLookup, OpDelete, OpQuery, OpVersion, OpInfo, OpDeleteAll, OpPlay, OpStopPlay:
		return string(rune(o))
	}
	return "?"
}

// Error codes of "E<code>" replies: rtpproxy's ECODE_* values
// (rtpp_command_ecodes.h). rtpengine answers every failure of the
// commands it implements (U, L, D, Q) with E8, and so does ngrelay; the
// other codes are rtpproxy's, for the commands rtpengine lacks.
const (
	ECodeNArgs          = 1  // ECODE_PARSE_NARGS: wrong number of arguments
	ECodeModifiers      = 2  // ECODE_PARSE_MODS: the command takes no modifiers
	ECodeFailed         = 8  // rtpengine's reply to any failure, and to unsupported commands
	ECodePlayCount      = 17 // ECODE_PARSE_6: bad P repetition count
	ECodeInfoModifier   = 18 // ECODE_PARSE_7: bad I modifier
	ECodeNoCodecs       = 35 // ECODE_INVLARG_5: P "session" but no codecs known
	ECodeSessionUnknown = 50 // ECODE_SESUNKN
	ECodePlayerFailed   = 60 // ECODE_PLRFAIL: no prompt file for any codec
)

// MaxMedia bounds the media number of a tag ("tag;N"): a larger N is
// refused rather than allocating N media.
const MaxMedia = 32

// Error is a command that cannot be executed, answered with "E<Code>".
type Error struct {
	Code   int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("E%d: %s", e.Code, e.Reason) }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Request is one parsed command line: COOKIE COMMAND[MODIFIERS] ARGS...
type Request struct {
	Cookie string
	Op     Op
	// Mods are the modifiers that follow the command letter(s), as sent.
	Mods string

	// CallID and Branch: "CALLID[;VIABRANCH]" (U, L, D, Q, P, S).
	CallID, Branch string
	// FromTag and ToTag without their ";N" media number; Media is the
	// from-tag's media number (1 when absent).
	FromTag, ToTag string
	Media          int

	// U and L: the remote endpoint; an unspecified address is hold, port
	// 0 a rejected stream.
	Addr netip.Addr
	Port int
	// U and L modifiers. Asymmetric: "a" (no latching) unless a later "s".
	// Directions: the interfaces named by "i" (internal) and "e"
	// (external), for the from side then the to side. Codecs: the payload
	// types of "c" (nil when absent). IPv6: "6". Local: the address of
	// "l", when it parses.
	Asymmetric bool
	Directions []string
	Codecs     []int
	IPv6       bool
	Local      netip.Addr
	// NotifySocket and NotifyTag: U's optional timeout notification
	// arguments (accepted, not used).
	NotifySocket, NotifyTag string

	// P: the prompt's name, the codec list ("session" or payload types
	// separated by commas) and the repetition count (-1: until S).
	Prompt      string
	PlayCodecs  string
	Count       int
	Feature     string // VF: the capability date
	InfoLoad    bool   // I: "l" modifier
	InfoBrief   bool   // I: "b" modifier
	Unsupported string // R, C, N, G: the command, refused
}

// isSpace reports whether c separates words (rtpproxy splits on "\r\n\t ").
func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

// Parse parses one command (a datagram, or a line without its newline).
// The request is returned even on error, with the cookie when the line had
// one: a line without a cookie gets no reply at all.
func Parse(line string) (*Request, error) {
	w := strings.FieldsFunc(line, isSpace)
	r := &Request{Media: 1}
	if len(w) == 0 {
		return r, errorf(ECodeFailed, "empty command")
	}
	r.Cookie = w[0]
	if len(w) < 2 {
		r.Op = OpUnknownCmd
		return r, errorf(ECodeFailed, "no command")
	}
	cmd, args := w[1], w[2:]
	r.Mods = cmd[1:]
	switch c := cmd[0] | 0x20; c { // lower case
	case 'u', 'l':
		r.Op = OpUpdate
		if c == 'l' {
			r.Op = OpLookup
		}
		return r, r.parseUL(args)
	case 'd', 'q':
		r.Op = OpDelete
		if c == 'q' {
			r.Op = OpQuery
		}
		// rtpengine ignores D and Q modifiers (rtpproxy's "w" and "v").
		if len(args) < 2 || len(args) > 3 {
			return r, errorf(ECodeFailed, "%c: want CALLID FROMTAG [TOTAG], got %d arguments", r.Op, len(args))
		}
		return r, r.parseIDTags(args[0], args[1], args[2:])
	case 'v':
		if len(r.Mods) > 0 && r.Mods[0]|0x20 == 'f' {
			r.Op = OpFeature
			if len(args) < 1 {
				return r, errorf(ECodeNArgs, "VF: no capability")
			}
			r.Feature = args[0]
			return r, nil
		}
		// rtpengine answers V whatever follows it.
		r.Op = OpVersion
		return r, nil
	case 'i':
		r.Op = OpInfo
		for _, m := range r.Mods {
			switch m | 0x20 {
			case 'b':
				r.InfoBrief = true
			case 'l':
				r.InfoLoad = true
			default:
				return r, errorf(ECodeInfoModifier, "I: unknown modifier %q", m)
			}
		}
		if len(args) != 0 {
			return r, errorf(ECodeNArgs, "I takes no arguments")
		}
		return r, nil
	case 'x':
		r.Op = OpDeleteAll
		if r.Mods != "" {
			return r, errorf(ECodeModifiers, "X takes no modifiers")
		}
		if len(args) != 0 {
			return r, errorf(ECodeNArgs, "X takes no arguments")
		}
		return r, nil
	case 'p':
		r.Op = OpPlay
		if len(args) < 4 || len(args) > 5 {
			return r, errorf(ECodeNArgs, "P: want CALLID PROMPT CODECS FROMTAG [TOTAG], got %d arguments", len(args))
		}
		r.Count = 1
		if r.Mods != "" {
			n, err := strconv.Atoi(r.Mods)
			if err != nil || len(r.Mods) > 6 {
				return r, errorf(ECodePlayCount, "P: bad count %q", r.Mods)
			}
			r.Count = n
		}
		r.Prompt, r.PlayCodecs = args[1], args[2]
		return r, r.parseIDTags(args[0], args[3], args[4:])
	case 's':
		r.Op = OpStopPlay
		if r.Mods != "" {
			return r, errorf(ECodeModifiers, "S takes no modifiers")
		}
		if len(args) < 2 || len(args) > 3 {
			return r, errorf(ECodeNArgs, "S: want CALLID FROMTAG [TOTAG], got %d arguments", len(args))
		}
		return r, r.parseIDTags(args[0], args[1], args[2:])
	case 'r', 'c', 'n', 'g':
		r.Op = Op(c &^ 0x20)
		r.Unsupported = cmd
		return r, errorf(ECodeFailed, "command %q is not supported", cmd)
	}
	r.Op = OpUnknownCmd
	return r, errorf(ECodeFailed, "unknown command %q", cmd)
}

// parseUL parses U and L: CALLID ADDR PORT FROMTAG [TOTAG] and, for U,
// [NOTIFY_SOCKET NOTIFY_TAG].
func (r *Request) parseUL(args []string) error {
	max := 5
	if r.Op == OpUpdate {
		max = 7
	}
	if len(args) < 4 || len(args) > max {
		return errorf(ECodeFailed, "%c: want CALLID ADDR PORT FROMTAG [TOTAG], got %d arguments", r.Op, len(args))
	}
	var to []string
	switch len(args) {
	case 5:
		to = args[4:5]
	case 6: // rtpproxy: no to-tag, but a notification socket and tag
		r.NotifySocket, r.NotifyTag = args[4], args[5]
	case 7:
		to = args[4:5]
		r.NotifySocket, r.NotifyTag = args[5], args[6]
	}
	if err := r.parseIDTags(args[0], args[3], to); err != nil {
		return err
	}
	a, err := netip.ParseAddr(args[1])
	if err != nil || a.Zone() != "" {
		return errorf(ECodeFailed, "bad address %q", args[1])
	}
	r.Addr = a.Unmap()
	if r.Port, err = parsePort(args[2]); err != nil {
		return err
	}
	return r.parseULModifiers()
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errorf(ECodeFailed, "bad port %q", s)
	}
	p, _ := strconv.Atoi(s)
	if p > 65535 {
		return 0, errorf(ECodeFailed, "bad port %q", s)
	}
	return p, nil
}

// parseULModifiers interprets U and L modifiers as rtpproxy does. Unknown
// modifiers are ignored (rtpproxy logs them; rtpengine ignores all but "i"
// and "e").
func (r *Request) parseULModifiers() error {
	m := r.Mods
	for i := 0; i < len(m); i++ {
		switch m[i] | 0x20 {
		case 'a':
			r.Asymmetric = true
		case 's':
			r.Asymmetric = false
		case 'i', 'e':
			if len(r.Directions) < 2 {
				d := "internal"
				if m[i]|0x20 == 'e' {
					d = "external"
				}
				r.Directions = append(r.Directions, d)
			}
		case '6':
			r.IPv6 = true
		case 'c':
			j := i + 1
			for j < len(m) && (m[j] >= '0' && m[j] <= '9' || m[j] == ',') {
				j++
			}
			r.Codecs = parseCodecs(m[i+1 : j])
			if r.Codecs == nil {
				r.Codecs = []int{}
			}
			i = j - 1
		case 'z': // re-packetisation: not supported, ignored (as rtpengine)
			j := i + 1
			for j < len(m) && m[j] >= '0' && m[j] <= '9' {
				j++
			}
			i = j - 1
		case 'l', 'r': // local address; remote address to route to (ignored)
			j := i + 1
			if j < len(m) && m[j] == '[' {
				for j < len(m) && m[j] != ']' {
					j++
				}
				if j < len(m) {
					j++
				}
			} else {
				for j < len(m) && (m[j] >= '0' && m[j] <= '9' || m[j] == '.') {
					j++
				}
			}
			if m[i]|0x20 == 'l' {
				if a, err := netip.ParseAddr(strings.Trim(m[i+1:j], "[]")); err == nil {
					r.Local = a.Unmap()
				}
			}
			i = j - 1
		}
	}
	return nil
}

// parseCodecs parses "0,8,101"; empty items are skipped.
func parseCodecs(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f == "" || len(f) > 3 {
			continue
		}
		if n, err := strconv.Atoi(f); err == nil && n < 128 {
			out = append(out, n)
		}
	}
	return out
}

// parseIDTags parses "CALLID[;BRANCH]", "FROMTAG[;N]" and the optional
// "TOTAG[;N]".
func (r *Request) parseIDTags(id, from string, to []string) error {
	r.CallID, r.Branch, _ = strings.Cut(id, ";")
	if r.CallID == "" {
		return errorf(ECodeFailed, "empty call-id")
	}
	var err error
	if r.FromTag, r.Media, err = parseTag(from); err != nil {
		return err
	}
	if len(to) > 0 {
		if r.ToTag, _, err = parseTag(to[0]); err != nil {
			return err
		}
	}
	return nil
}

// parseTag splits "TAG;N" into the tag and the media number N (1 when
// absent; 0 counts as 1, as rtpengine takes it).
func parseTag(s string) (string, int, error) {
	tag, n := s, 1
	if i := strings.LastIndexByte(s, ';'); i >= 0 {
		num := s[i+1:]
		if num != "" && len(num) <= 4 && strings.TrimLeft(num, "0123456789") == "" {
			tag = s[:i]
			n, _ = strconv.Atoi(num)
			if n == 0 {
				n = 1
			}
		}
	}
	if tag == "" {
		return "", 0, errorf(ECodeFailed, "empty tag in %q", s)
	}
	if n > MaxMedia {
		return "", 0, errorf(ECodeFailed, "media number %d of %q above %d", n, s, MaxMedia)
	}
	return tag, n, nil
}
