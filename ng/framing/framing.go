// Package framing splits NG control traffic into messages.
//
// An NG message is
//
//	COOKIE SP BODY
//
// where COOKIE is 1 to [MaxCookieLen] printable, non-space ASCII bytes
// (0x21-0x7e) chosen by the client and echoed in the reply, SP is one space,
// and BODY is a bencode dictionary (first byte 'd') or a JSON object (first
// byte '{'). Over UDP each datagram carries exactly one message; see [Parse].
//
// Over TCP (rtpengine's --listen-tcp-ng) the same messages are sent back to
// back with no length prefix and no delimiter: the body delimits itself.
// This matches rtpengine (daemon/control_ng.c, chunk_message): it takes
// everything up to the first space as the cookie, runs bencode_valid over
// the rest to find where the dictionary ends, and cuts the message there.
// Replies go back on the same connection in the same COOKIE SP BODY form.
// [Reader] does the same, with these differences:
//
//   - rtpengine only recognises bencode bodies on TCP; Reader also accepts a
//     JSON object body, whose end it finds by matching braces and brackets
//     outside of strings (escape aware).
//   - rtpengine closes the connection when more than 1024 unparsed bytes are
//     buffered after a read, which can cut off large offers that arrive in
//     several segments; Reader instead allows messages of up to a
//     caller-chosen size.
//   - Reader skips CR and LF bytes between messages, which rtpengine would
//     take as part of the next cookie; this helps hand-driven testing with
//     line-oriented tools.
//
// Reader only splits the stream. It checks the body just enough to find its
// end (token syntax for bencode, bracket nesting for JSON); semantic checks
// such as duplicate keys or leading zeros are left to the body decoder, so
// a well-delimited but invalid message can be answered with an error
// instead of dropping the connection.
package framing

import (
	"bytes"
	"errors"
)

// MaxCookieLen is the longest cookie accepted, in bytes.
const MaxCookieLen = 64

// DefaultMaxMessage is the message size limit [NewReader] uses when given a
// limit of zero or less.
const DefaultMaxMessage = 1 << 20

// Errors returned by [Parse] and [Reader.Next]. Reader wraps ErrMalformedBody
// with details; compare with errors.Is.
var (
	ErrMissingCookie = errors.New("framing: missing cookie")
	ErrCookieTooLong = errors.New("framing: cookie too long")
	ErrInvalidCookie = errors.New("framing: cookie contains a byte that is not printable ASCII")
	ErrMissingBody   = errors.New("framing: missing body")
	ErrBadBody       = errors.New("framing: body is neither a bencode dictionary nor a JSON object")
	ErrMalformedBody = errors.New("framing: malformed body")
	ErrTooLarge      = errors.New("framing: message too large")
)

// Message is one NG message.
type Message struct {
	// Cookie is the client's transaction cookie, to be echoed in the reply.
	Cookie string
	// Body is the bencode dictionary or JSON object, undecoded.
	Body []byte
	// JSON reports that Body is a JSON object rather than bencode.
	JSON bool
}

// Parse splits one UDP datagram into cookie and body. Trailing spaces, tabs,
// CRs and LFs after the body are dropped; the body is not otherwise checked.
// The returned Body aliases datagram. When the cookie is valid but the body
// is missing or of the wrong kind, the error comes with a Message holding
// just the Cookie, so that the caller can still send an error reply.
func Parse(datagram []byte) (Message, error) {
	n, err := cookieEnd(datagram)
	if err != nil {
		return Message{}, err
	}
	cookieOnly := Message{Cookie: string(datagram[:n])}
	if n == len(datagram) {
		return cookieOnly, ErrMissingBody
	}
	body := bytes.TrimRight(datagram[n+1:], " \t\r\n")
	if len(body) == 0 {
		return cookieOnly, ErrMissingBody
	}
	m := Message{Cookie: cookieOnly.Cookie, Body: body}
	switch body[0] {
	case 'd':
	case '{':
		m.JSON = true
	default:
		return cookieOnly, ErrBadBody
	}
	return m, nil
}

// cookieEnd returns the length of the cookie at the start of b, which is
// also the index of the space after it, or len(b) if b ends within a
// cookie of acceptable length.
func cookieEnd(b []byte) (int, error) {
	i := 0
	for ; i < len(b) && i <= MaxCookieLen; i++ {
		c := b[i]
		if c == ' ' {
			break
		}
		if c < 0x21 || c > 0x7e {
			return 0, ErrInvalidCookie
		}
	}
	switch {
	case i > MaxCookieLen:
		return 0, ErrCookieTooLong
	case i == 0:
		return 0, ErrMissingCookie
	}
	return i, nil
}

// AppendReply appends the message COOKIE SP BODY to dst and returns the
// extended slice. It works for UDP and TCP alike.
func AppendReply(dst []byte, cookie string, body []byte) []byte {
	dst = append(dst, cookie...)
	dst = append(dst, ' ')
	return append(dst, body...)
}
