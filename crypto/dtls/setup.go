package dtls

import (
	"errors"
	"fmt"
	"strings"
)

// Role is which side of the DTLS handshake an Endpoint takes.
type Role uint8

const (
	// Active is the DTLS client: it sends the ClientHello. It is the side
	// whose a=setup is "active" (RFC 5763 section 5).
	Active Role = iota + 1
	// Passive is the DTLS server: it waits for the ClientHello. It is the
	// side whose a=setup is "passive".
	Passive
)

// Valid reports whether r is Active or Passive.
func (r Role) Valid() bool { return r == Active || r == Passive }

// String returns "active", "passive" or "Role(N)".
func (r Role) String() string {
	switch r {
	case Active:
		return "active"
	case Passive:
		return "passive"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Setup returns the a=setup value announcing the role: "active" or
// "passive" ("" for an invalid role).
func (r Role) Setup() string {
	if !r.Valid() {
		return ""
	}
	return r.String()
}

// Opposite returns the peer's role: Passive for Active and vice versa.
func (r Role) Opposite() Role {
	switch r {
	case Active:
		return Passive
	case Passive:
		return Active
	}
	return r
}

// Setup is an a=setup attribute value (RFC 4145 section 4, RFC 5763
// section 5, RFC 8842 section 5).
type Setup uint8

const (
	// SetupNone is the zero value: no (or an empty) a=setup attribute.
	SetupNone Setup = iota
	// SetupActPass ("actpass") lets the answerer choose; an offerer of
	// DTLS-SRTP must use it (RFC 5763 section 5).
	SetupActPass
	// SetupActive ("active") is the DTLS client.
	SetupActive
	// SetupPassive ("passive") is the DTLS server.
	SetupPassive
	// SetupHoldConn ("holdconn") defers the connection.
	SetupHoldConn
)

// ErrInvalidSetup reports an a=setup value that is none of actpass,
// active, passive and holdconn.
var ErrInvalidSetup = errors.New("dtls: invalid a=setup value")

// ErrHoldConn reports that the peer said a=setup:holdconn, so no DTLS
// association is to be set up for now.
var ErrHoldConn = errors.New("dtls: a=setup:holdconn: no DTLS association now")

// ParseSetup parses an a=setup attribute value, case-insensitively and
// ignoring surrounding white space. The empty string yields SetupNone.
func ParseSetup(s string) (Setup, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return SetupNone, nil
	case "actpass":
		return SetupActPass, nil
	case "active":
		return SetupActive, nil
	case "passive":
		return SetupPassive, nil
	case "holdconn":
		return SetupHoldConn, nil
	}
	return SetupNone, fmt.Errorf("%w: %q", ErrInvalidSetup, s)
}

// String returns the attribute value ("" for SetupNone).
func (s Setup) String() string {
	switch s {
	case SetupActPass:
		return "actpass"
	case SetupActive:
		return "active"
	case SetupPassive:
		return "passive"
	case SetupHoldConn:
		return "holdconn"
	}
	return ""
}

// Role returns the DTLS role of the side that sent this a=setup value:
// Active for "active", Passive for "passive". For "actpass", "holdconn"
// and none, the value alone does not decide the role and ok is false.
func (s Setup) Role() (r Role, ok bool) {
	switch s {
	case SetupActive:
		return Active, true
	case SetupPassive:
		return Passive, true
	}
	return 0, false
}

// AnswerSetup returns the a=setup value for an answer to an offer whose
// a=setup is offered (RFC 5763 section 5, RFC 4145 section 4.1):
//
//   - actpass: "active" (the answerer is the DTLS client, as RFC 5763 and
//     RFC 8842 recommend), or "passive" when prefer is Passive;
//   - active: "passive"; passive: "active";
//   - holdconn: "holdconn";
//   - absent: "passive", since an offer without a=setup is "active" by
//     RFC 4145's default;
//   - anything else: as actpass.
//
// The local role is then the result's Setup.Role().
func AnswerSetup(offered string, prefer Role) string {
	s, err := ParseSetup(offered)
	if err != nil {
		s = SetupActPass
	}
	switch s {
	case SetupActive, SetupNone:
		return "passive"
	case SetupPassive:
		return "active"
	case SetupHoldConn:
		return "holdconn"
	}
	if prefer == Passive {
		return "passive"
	}
	return "active"
}

// RoleForPeerSetup returns our role given the peer's a=setup value, as an
// offerer learns it from the answer (after offering actpass) or an
// answerer from the offer (after answering with AnswerSetup): the peer
// "active" makes us Passive, the peer "passive" makes us Active. An absent
// value takes RFC 4145's default: "active" when the peer's SDP was the
// offer (peerOffered), "passive" when it was the answer. "actpass" is
// ambiguous here and yields an error wrapping ErrInvalidSetup: an answerer
// must pick one (AnswerSetup). "holdconn" yields ErrHoldConn.
func RoleForPeerSetup(peer string, peerOffered bool) (Role, error) {
	s, err := ParseSetup(peer)
	if err != nil {
		return 0, err
	}
	if s == SetupNone {
		s = SetupPassive
		if peerOffered {
			s = SetupActive
		}
	}
	switch s {
	case SetupActive:
		return Passive, nil
	case SetupPassive:
		return Active, nil
	case SetupHoldConn:
		return 0, ErrHoldConn
	}
	return 0, fmt.Errorf("%w: peer's a=setup is actpass; the answerer must choose active or passive", ErrInvalidSetup)
}
