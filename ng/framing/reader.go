package framing

import (
	"fmt"
	"io"
	"math"
)

// Reader splits a TCP byte stream into NG messages. Scanning is incremental:
// each byte is examined a bounded number of times however the stream is
// chunked, and a message that announces (or grows) past the size limit is
// rejected as soon as that is known, without waiting for its bytes.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	r   io.Reader
	max int

	buf        []byte
	start, end int   // unconsumed input is buf[start:end]
	base       int64 // stream offset of buf[0]

	rerr error // sticky error from r
	ferr error // sticky framing error

	// Scan state of the message starting at buf[start].
	phase     phase
	pos       int    // bytes of the message examined so far
	cookieLen int    // valid once phase > phaseCookie
	stack     []byte // open containers: 'l' or 'd' (bencode), '[' or '{' (JSON)
	inString  bool   // JSON: inside a string
	escaped   bool   // JSON: after a backslash inside a string
}

type phase uint8

const (
	phaseCookie phase = iota
	phaseBodyStart
	phaseBencode
	phaseJSON
)

const (
	initialBufSize = 4096
	maxEmptyReads  = 100
	maxIntToken    = 22 // "i" + sign + 19 digits + "e" is 22 bytes
	// maxLimit caps the size limit so that length arithmetic cannot
	// overflow.
	maxLimit = math.MaxInt / 16
)

// NewReader returns a Reader that reads messages from r. A message (cookie,
// space and body) longer than maxMessage bytes is an error; zero or less
// means [DefaultMaxMessage].
func NewReader(r io.Reader, maxMessage int) *Reader {
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessage
	}
	maxMessage = min(maxMessage, maxLimit)
	return &Reader{r: r, max: maxMessage}
}

// Next returns the next message. Cookie and Body are copies the caller may
// keep.
//
// At a clean end of stream (nothing buffered but CR/LF) Next returns io.EOF;
// if the stream ends inside a message it returns an error wrapping
// io.ErrUnexpectedEOF. An oversize message yields an error wrapping
// [ErrTooLarge]; a message whose cookie or body cannot be delimited yields
// [ErrMissingCookie], [ErrCookieTooLong], [ErrInvalidCookie], [ErrBadBody] or
// an error wrapping [ErrMalformedBody]. Errors from the underlying reader are
// returned as they are. All errors are sticky: the stream cannot be
// resynchronised, so the caller should close the connection.
func (r *Reader) Next() (Message, error) {
	for {
		if r.ferr != nil {
			return Message{}, r.ferr
		}
		n, err := r.scan()
		if err != nil {
			r.ferr = err
			return Message{}, err
		}
		if n > 0 {
			return r.take(n), nil
		}
		if r.rerr != nil {
			if r.rerr == io.EOF && r.end > r.start {
				r.ferr = fmt.Errorf("framing: stream ended inside a message at offset %d: %w",
					r.base+int64(r.start), io.ErrUnexpectedEOF)
				return Message{}, r.ferr
			}
			return Message{}, r.rerr
		}
		r.fill()
	}
}

// take consumes the complete n-byte message at buf[start].
func (r *Reader) take(n int) Message {
	msg := r.buf[r.start : r.start+n]
	m := Message{
		Cookie: string(msg[:r.cookieLen]),
		Body:   append([]byte(nil), msg[r.cookieLen+1:]...),
		JSON:   r.phase == phaseJSON,
	}
	r.start += n
	r.phase, r.pos, r.cookieLen = phaseCookie, 0, 0
	r.stack = r.stack[:0]
	r.inString, r.escaped = false, false
	return m
}

// fill reads more input, making room first if the buffer is full.
func (r *Reader) fill() {
	if r.end == len(r.buf) {
		if r.start > 0 {
			copy(r.buf, r.buf[r.start:r.end])
			r.base += int64(r.start)
			r.end -= r.start
			r.start = 0
		}
		if r.end == len(r.buf) {
			size := min(max(2*len(r.buf), initialBufSize), r.max)
			if size <= len(r.buf) { // cannot happen: scan rejects a full buffer
				r.ferr = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.max)
				return
			}
			nb := make([]byte, size)
			copy(nb, r.buf[:r.end])
			r.buf = nb
		}
	}
	for range maxEmptyReads {
		n, err := r.r.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			r.rerr = fmt.Errorf("framing: invalid count %d from Read", n)
			return
		}
		r.end += n
		if err != nil {
			r.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.rerr = io.ErrNoProgress
}

// scan advances over the buffered part of the current message. It returns
// the message length once the message is complete, 0 if more input is
// needed, or a framing error.
func (r *Reader) scan() (int, error) {
	if r.phase == phaseCookie && r.pos == 0 {
		for r.start < r.end && (r.buf[r.start] == '\r' || r.buf[r.start] == '\n') {
			r.start++
		}
	}
	// Never look past the size limit, so that the outcome depends only on
	// the bytes of the stream, not on how reads happened to split them.
	msg := r.buf[r.start:min(r.end, r.start+r.max)]
	n, err := r.scanMessage(msg)
	if err != nil || n > 0 {
		if n > r.max {
			return 0, r.tooLarge()
		}
		return n, err
	}
	// Incomplete. It needs at least one more byte, so if it already has
	// max bytes it is too large.
	if len(msg) >= r.max {
		return 0, r.tooLarge()
	}
	return 0, nil
}

func (r *Reader) tooLarge() error {
	return fmt.Errorf("%w: message at offset %d exceeds %d bytes", ErrTooLarge, r.base+int64(r.start), r.max)
}

func (r *Reader) malformed(what string, msg []byte, at int) error {
	return fmt.Errorf("%w: %s %s at offset %d", ErrMalformedBody, what, quoteByte(msg[at]), r.base+int64(r.start+at))
}

func (r *Reader) scanMessage(msg []byte) (int, error) {
	for {
		switch r.phase {
		case phaseCookie:
			if r.pos == len(msg) {
				return 0, nil
			}
			n, err := cookieEnd(msg)
			if err != nil {
				return 0, err
			}
			if n == len(msg) { // cookie still arriving
				r.pos = n
				return 0, nil
			}
			r.cookieLen = n
			r.pos = n + 1
			r.phase = phaseBodyStart
		case phaseBodyStart:
			if r.pos == len(msg) {
				return 0, nil
			}
			switch msg[r.pos] {
			case 'd':
				r.phase = phaseBencode
			case '{':
				r.phase = phaseJSON
			default:
				return 0, ErrBadBody
			}
		case phaseBencode:
			return r.scanBencode(msg)
		case phaseJSON:
			return r.scanJSON(msg)
		}
	}
}

// scanBencode advances r.pos over whole bencode tokens. A token that is
// only partly buffered is rescanned when more input arrives; that costs
// O(1) per attempt because integers are short and strings are skipped by
// their length.
func (r *Reader) scanBencode(msg []byte) (int, error) {
	pos := r.pos
	for pos < len(msg) {
		c := msg[pos]
		switch {
		case c == 'd' || c == 'l':
			r.stack = append(r.stack, c)
			pos++
		case c == 'e':
			if len(r.stack) == 0 {
				return 0, r.malformed("unexpected", msg, pos)
			}
			r.stack = r.stack[:len(r.stack)-1]
			pos++
			if len(r.stack) == 0 {
				return pos, nil
			}
		case c == 'i':
			j := pos + 1
			for j < len(msg) && j-pos < maxIntToken && (isDigit(msg[j]) || msg[j] == '-') {
				j++
			}
			if j-pos >= maxIntToken {
				return 0, r.malformed("overlong integer ending in", msg, j-1)
			}
			if j == len(msg) {
				r.pos = pos
				return 0, nil
			}
			if msg[j] != 'e' {
				return 0, r.malformed("unexpected", msg, j)
			}
			pos = j + 1
		case isDigit(c):
			j, n := pos, 0
			for ; j < len(msg) && isDigit(msg[j]); j++ {
				n = n*10 + int(msg[j]-'0') // no overflow: n <= r.max <= maxLimit before
				if n > r.max {
					return 0, r.tooLarge()
				}
			}
			if j == len(msg) {
				r.pos = pos
				return 0, nil
			}
			if msg[j] != ':' {
				return 0, r.malformed("unexpected", msg, j)
			}
			end := j + 1 + n
			if end > r.max {
				return 0, r.tooLarge()
			}
			if end > len(msg) {
				r.pos = pos
				return 0, nil
			}
			pos = end
		default:
			return 0, r.malformed("unexpected", msg, pos)
		}
	}
	r.pos = pos
	return 0, nil
}

// scanJSON advances r.pos byte by byte, tracking strings and bracket
// nesting; other JSON syntax is left to the decoder.
func (r *Reader) scanJSON(msg []byte) (int, error) {
	pos := r.pos
	for pos < len(msg) {
		c := msg[pos]
		pos++
		if r.inString {
			switch {
			case r.escaped:
				r.escaped = false
			case c == '\\':
				r.escaped = true
			case c == '"':
				r.inString = false
			}
			continue
		}
		switch c {
		case '"':
			r.inString = true
		case '{', '[':
			r.stack = append(r.stack, c)
		case '}', ']':
			open := byte('{')
			if c == ']' {
				open = '['
			}
			if len(r.stack) == 0 || r.stack[len(r.stack)-1] != open {
				return 0, r.malformed("mismatched", msg, pos-1)
			}
			r.stack = r.stack[:len(r.stack)-1]
			if len(r.stack) == 0 {
				return pos, nil
			}
		}
	}
	r.pos = pos
	return 0, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f && c != '\'' && c != '\\' {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}
