package bencode

import (
	"fmt"
	"io"
	"math"
	"sync"
)

// SyntaxError describes input that is not acceptable bencode (or, from
// [FromJSON], acceptable JSON).
type SyntaxError struct {
	// Offset is the byte offset in the input at which the problem was
	// detected.
	Offset int
	// Msg describes the problem, e.g. "leading zero in integer".
	Msg string
	// Truncated reports that the input ended before the value was
	// complete: more input could still make it valid. Stream readers use
	// this to tell "read more" from "garbage"; errors.Is(err,
	// io.ErrUnexpectedEOF) reports the same thing.
	Truncated bool
}

// Error returns e.g. "bencode: offset 12: leading zero in integer".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bencode: offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns io.ErrUnexpectedEOF if e.Truncated, and nil otherwise.
func (e *SyntaxError) Unwrap() error {
	if e.Truncated {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Limits bounds the resources one decode may use. A zero or negative field
// means the corresponding field of [DefaultLimits].
type Limits struct {
	// MaxDepth is the deepest nesting of lists and dictionaries allowed;
	// the outermost container is at depth 1, scalars add nothing.
	MaxDepth int
	// MaxItems is the most values allowed in total: every string, integer,
	// list and dictionary counts one; dictionary keys do not count.
	MaxItems int
	// MaxStringLen is the longest string (or dictionary key) allowed, in
	// bytes.
	MaxStringLen int
}

// DefaultLimits are the limits used by [Decode] and whenever a [Limits]
// field is zero. They are generous for NG traffic. Do not modify.
var DefaultLimits = Limits{MaxDepth: 32, MaxItems: 100000, MaxStringLen: 1 << 20}

func (l Limits) normalized() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultLimits.MaxItems
	}
	if l.MaxStringLen <= 0 {
		l.MaxStringLen = DefaultLimits.MaxStringLen
	}
	return l
}

// Decode decodes b, which must hold exactly one bencode value and nothing
// else, under [DefaultLimits]. Errors are of type *[SyntaxError].
func Decode(b []byte) (Value, error) {
	return DecodeLimits(b, DefaultLimits)
}

// DecodeLimits is like [Decode] with caller-chosen limits.
func DecodeLimits(b []byte, l Limits) (Value, error) {
	v, n, err := DecodePrefix(b, l)
	if err != nil {
		return Value{}, err
	}
	if n != len(b) {
		return Value{}, &SyntaxError{Offset: n, Msg: "trailing data"}
	}
	return v, nil
}

// DecodePrefix decodes one bencode value from the front of b and returns it
// together with the number of bytes it occupied. Bytes after the value are
// not examined. If b holds only the beginning of a valid value the error is
// a *[SyntaxError] with Truncated set.
//
// Note that b is converted to a string as a whole, so string values share
// the memory of a copy of all of b; pass only what is needed.
func DecodePrefix(b []byte, l Limits) (v Value, n int, err error) {
	d := decoder{s: string(b), lim: l.normalized()}
	sc := scratchPool.Get().(*scratch)
	d.vstack, d.pstack = sc.vstack[:0], sc.pstack[:0]
	v, err = d.value()
	if cap(d.vstack) <= maxPooledScratch && cap(d.pstack) <= maxPooledScratch {
		// Popped elements were cleared as containers closed; after an
		// error some may remain, holding references into the input.
		clear(d.vstack)
		clear(d.pstack)
		sc.vstack, sc.pstack = d.vstack[:0], d.pstack[:0]
		scratchPool.Put(sc)
	}
	if err != nil {
		return Value{}, 0, err
	}
	return v, d.pos, nil
}

// scratch holds the element stacks of one decoder, pooled so that steady
// state decoding allocates only the result.
type scratch struct {
	vstack []Value
	pstack []Pair
}

// maxPooledScratch caps the stack capacity kept in the pool, so that one
// huge message does not pin a large buffer forever.
const maxPooledScratch = 256

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// decoder is a one-pass, index-based recursive-descent decoder over one
// string. Container elements are collected on shared scratch stacks and
// copied into exactly sized slices when the container ends, so each list or
// dictionary costs one allocation.
type decoder struct {
	s      string
	pos    int
	items  int
	depth  int
	lim    Limits
	vstack []Value
	pstack []Pair
}

func (d *decoder) fail(at int, msg string) error {
	return &SyntaxError{Offset: at, Msg: msg}
}

func (d *decoder) truncated(at int, msg string) error {
	return &SyntaxError{Offset: at, Msg: msg, Truncated: true}
}

func (d *decoder) value() (Value, error) {
	if d.pos >= len(d.s) {
		return Value{}, d.truncated(d.pos, "unexpected end of input")
	}
	d.items++
	if d.items > d.lim.MaxItems {
		return Value{}, d.fail(d.pos, fmt.Sprintf("more than %d values", d.lim.MaxItems))
	}
	switch c := d.s[d.pos]; {
	case c >= '0' && c <= '9':
		s, err := d.str()
		return Value{Kind: KindString, Str: s}, err
	case c == 'i':
		return d.integer()
	case c == 'l':
		return d.list()
	case c == 'd':
		return d.dict()
	default:
		return Value{}, d.fail(d.pos, "invalid character "+quoteByte(c)+" at start of value")
	}
}

// str decodes "<len>:<bytes>" at d.pos, whose first byte is a digit.
func (d *decoder) str() (string, error) {
	s, start := d.s, d.pos
	i := start
	if s[i] == '0' && i+1 < len(s) && isDigit(s[i+1]) {
		return "", d.fail(i, "leading zero in string length")
	}
	maxLen := d.lim.MaxStringLen
	n := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		c := int(s[i] - '0')
		if n > maxLen/10 || n*10 > maxLen-c {
			return "", d.fail(start, fmt.Sprintf("string longer than %d bytes", maxLen))
		}
		n = n*10 + c
	}
	if i == len(s) {
		return "", d.truncated(start, "unterminated string length")
	}
	if s[i] != ':' {
		return "", d.fail(i, "invalid character "+quoteByte(s[i])+" in string length")
	}
	i++
	if n > len(s)-i {
		return "", d.truncated(start, "truncated string")
	}
	d.pos = i + n
	return s[i : i+n], nil
}

// integer decodes "i<digits>e" at d.pos.
func (d *decoder) integer() (Value, error) {
	start := d.pos
	n, i, msg, at := scanInt(d.s, start+1)
	if msg != "" {
		return Value{}, d.fail(at, msg)
	}
	if i == len(d.s) {
		return Value{}, d.truncated(start, "unterminated integer")
	}
	if d.s[i] != 'e' {
		return Value{}, d.fail(i, "invalid character "+quoteByte(d.s[i])+" in integer")
	}
	if i == start+1 || (i == start+2 && d.s[start+1] == '-') {
		return Value{}, d.fail(start, "empty integer")
	}
	if n == 0 && d.s[start+1] == '-' {
		return Value{}, d.fail(start, "negative zero in integer")
	}
	d.pos = i + 1
	return Value{Kind: KindInt, Int: n}, nil
}

func (d *decoder) enter(start int) error {
	d.depth++
	if d.depth > d.lim.MaxDepth {
		return d.fail(start, fmt.Sprintf("nesting deeper than %d", d.lim.MaxDepth))
	}
	return nil
}

func (d *decoder) list() (Value, error) {
	start := d.pos
	if err := d.enter(start); err != nil {
		return Value{}, err
	}
	d.pos++
	base := len(d.vstack)
	for {
		if d.pos >= len(d.s) {
			return Value{}, d.truncated(start, "unterminated list")
		}
		if d.s[d.pos] == 'e' {
			break
		}
		v, err := d.value()
		if err != nil {
			return Value{}, err
		}
		d.vstack = append(d.vstack, v)
	}
	d.pos++
	d.depth--
	var list []Value
	if n := len(d.vstack) - base; n > 0 {
		list = make([]Value, n)
		copy(list, d.vstack[base:])
		clear(d.vstack[base:])
		d.vstack = d.vstack[:base]
	}
	return Value{Kind: KindList, List: list}, nil
}

// linearDupLimit is the dictionary size up to which duplicate keys are
// found by linear search; larger dictionaries switch to a map so that
// hostile input cannot make decoding quadratic.
const linearDupLimit = 16

func (d *decoder) dict() (Value, error) {
	start := d.pos
	if err := d.enter(start); err != nil {
		return Value{}, err
	}
	d.pos++
	base := len(d.pstack)
	var seen map[string]struct{}
	for {
		if d.pos >= len(d.s) {
			return Value{}, d.truncated(start, "unterminated dictionary")
		}
		c := d.s[d.pos]
		if c == 'e' {
			break
		}
		if !isDigit(c) {
			return Value{}, d.fail(d.pos, "dictionary key is not a string")
		}
		keyAt := d.pos
		key, err := d.str()
		if err != nil {
			return Value{}, err
		}
		if n := len(d.pstack) - base; n < linearDupLimit {
			for j := base; j < len(d.pstack); j++ {
				if d.pstack[j].Key == key {
					return Value{}, d.fail(keyAt, fmt.Sprintf("duplicate key %q", key))
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*n)
				for j := base; j < len(d.pstack); j++ {
					seen[d.pstack[j].Key] = struct{}{}
				}
			}
			if _, dup := seen[key]; dup {
				return Value{}, d.fail(keyAt, fmt.Sprintf("duplicate key %q", key))
			}
			seen[key] = struct{}{}
		}
		if d.pos >= len(d.s) {
			return Value{}, d.truncated(start, "unterminated dictionary")
		}
		if d.s[d.pos] == 'e' {
			return Value{}, d.fail(d.pos, fmt.Sprintf("missing value for key %q", key))
		}
		v, err := d.value()
		if err != nil {
			return Value{}, err
		}
		d.pstack = append(d.pstack, Pair{Key: key, Value: v})
	}
	d.pos++
	d.depth--
	var pairs []Pair
	if n := len(d.pstack) - base; n > 0 {
		pairs = make([]Pair, n)
		copy(pairs, d.pstack[base:])
		clear(d.pstack[base:])
		d.pstack = d.pstack[:base]
	}
	return Value{Kind: KindDict, Dict: pairs}, nil
}

// scanInt parses an optional '-' and decimal digits in s starting at i,
// stopping at the first other byte (or the end). It returns the value and
// the index of that byte. On a leading zero or int64 overflow msg is set and
// at is the offset to report; an empty digit string is not an error here.
func scanInt(s string, i int) (n int64, end int, msg string, at int) {
	start := i
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	digits := i
	var u uint64
	for ; i < len(s) && isDigit(s[i]); i++ {
		if i > digits && u == 0 {
			return 0, i, "leading zero in integer", digits
		}
		c := uint64(s[i] - '0')
		if u > (limit-c)/10 {
			return 0, i, "integer overflows int64", start
		}
		u = u*10 + c
	}
	if neg {
		return -int64(u-1) - 1, i, "", 0 // avoids overflow for MinInt64
	}
	return int64(u), i, "", 0
}

// parseInt parses s as a canonical bencode integer body (no 'i' or 'e').
func parseInt(s string) (int64, string) {
	n, end, msg, _ := scanInt(s, 0)
	switch {
	case msg != "":
		return 0, msg
	case end != len(s):
		return 0, "invalid character in integer"
	case end == 0 || s == "-":
		return 0, "empty integer"
	case s == "-0":
		return 0, "negative zero in integer"
	}
	return n, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// quoteByte renders c for an error message: 'x' if printable ASCII, else
// 0xNN.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\'' && c != '\\' {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}
