// Package sdp is a lossless model of SDP bodies (RFC 8866) for a media
// relay: it parses an offer or answer, lets the caller edit the parts a relay
// rewrites (origin, connection addresses, media ports and protocols, a=rtcp,
// direction, ICE/DTLS attributes), and serializes the result.
//
// # Losslessness
//
// The model keeps every line of the body, in order, as its type letter and
// the exact text after "X=", together with that line's own terminator (CRLF,
// LF, or none for a final line without one) and any trailing blank lines.
// Serializing a session that was not edited therefore gives back the input
// byte for byte, including lines and attributes the package does not know.
//
// Only what is edited changes: a line rewritten through a setter is rendered
// from the new value (normalizing the spacing of that line only) and keeps
// its terminator, removed lines disappear, and new lines take the session's
// dominant terminator, that of the first line (CRLF unless the first line
// ended in a bare LF). A final line without a terminator keeps it missing as long as it
// stays last; if lines are added after it, it gets the dominant terminator.
//
// # Parsing
//
// [Parse] checks the structure a relay depends on and reports the first
// problem with its line number, as in "sdp: line 3: malformed m= line: port
// "x" not numeric". It tolerates what real endpoints send: extra spaces or
// tabs between fields, trailing whitespace, missing s= or t= lines, o= and c=
// lines without an address, trailing blank lines. It rejects empty input, a
// first line that is not v=, lines not of the form "X=value", blank lines
// between other lines, NUL or bare CR characters, malformed m= lines (missing
// port or proto, port not numeric or above 65535), and c= or o= lines with too
// few fields. Inputs are limited to [MaxSize] bytes, [MaxLines] lines and
// [MaxMedia] media sections.
//
// # Editing
//
// [Session] holds the session-level lines and a slice of [Media] sections.
// Both offer the same attribute helpers (Attr, Attrs, HasAttr, SetAttr,
// AddAttr, InsertAttrAfter, RemoveAttr, RemoveAttrFunc, Attributes) and
// connection helpers. Setters place new lines where RFC 8866 wants them: a
// session c= line after v=, o=, s=, i=, u=, e= and p=; a media c= line right
// after the m= and i= lines; attributes after the last a= line of the section.
//
// Values passed to setters are written as given and must not contain CR or
// LF. The package does no I/O and holds no global state; a Session is not
// safe for concurrent mutation.
package sdp
