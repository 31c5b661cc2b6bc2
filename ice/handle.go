package ice

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v3"
)

const (
	stunHeaderSize  = 20
	fingerprintAttr = 8 // FINGERPRINT TLV size
	integritySize   = 20
)

// HandleSTUN processes one STUN packet that arrived from the address from
// on the socket of component, and returns the response to send back to
// from on that same socket (nil if none) and an Event (nil if none).
//
//   - Binding requests (connectivity and consent checks) are
//     authenticated with our short-term credentials: USERNAME must be
//     "LOCALUFRAG:REMOTEUFRAG" (the remote half is checked once the remote
//     credentials are known), MESSAGE-INTEGRITY must verify with our pwd
//     and FINGERPRINT, when present, must be valid. Role conflicts are
//     resolved per RFC 8445 section 7.3.1.1. A valid request is answered
//     with a Binding success response carrying XOR-MAPPED-ADDRESS (from),
//     MESSAGE-INTEGRITY and FINGERPRINT; its source is recorded as a
//     (peer-reflexive) remote candidate; USE-CANDIDATE from a controlling
//     peer nominates the pair (Event *Nominated when the selection changes).
//     Requests that fail are answered 400, 401, 420 or 487 as RFC 5389 and
//     RFC 8445 prescribe, and err says why: the response must be sent
//     even when err is not nil.
//   - Binding success and error responses are matched to our own checks by
//     transaction ID and verified with the remote pwd; a success marks the
//     pair succeeded (and may complete a nomination: Event *Nominated, or
//     refresh consent).
//   - Binding indications (keepalives) are accepted silently.
//
// Anything else returns an error and no response. HandleSTUN never panics
// on malformed input.
func (a *Agent) HandleSTUN(pkt []byte, from netip.AddrPort, component int) (resp []byte, ev Event, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if component < 1 || component > MaxComponent {
		a.stats.Dropped++
		return nil, nil, ErrBadComponent
	}
	if !from.Addr().IsValid() {
		a.stats.Dropped++
		return nil, nil, ErrBadAddress
	}
	from = normAddr(from)
	m := a.in
	if err := a.decode(m, pkt); err != nil {
		a.stats.Dropped++
		return nil, nil, err
	}
	if m.Type.Method != stun.MethodBinding {
		a.stats.Dropped++
		return nil, nil, fmt.Errorf("%w: method %s", ErrUnsupported, m.Type.Method)
	}
	switch m.Type.Class {
	case stun.ClassRequest:
		return a.handleRequest(m, from, component)
	case stun.ClassIndication:
		a.stats.Indications++
		return nil, nil, nil
	case stun.ClassSuccessResponse, stun.ClassErrorResponse:
		ev, err := a.handleResponse(m, from, component)
		if err != nil {
			a.stats.Dropped++
		}
		return nil, ev, err
	}
	a.stats.Dropped++
	return nil, nil, ErrUnsupported
}

// decode parses pkt into m and checks the framing and the FINGERPRINT.
func (a *Agent) decode(m *stun.Message, pkt []byte) error {
	if len(pkt) < stunHeaderSize || pkt[0]&0xc0 != 0 || !stun.IsMessage(pkt) {
		return ErrNotSTUN
	}
	// Over UDP the datagram is exactly one message (RFC 5389 section 7.3).
	if n := int(binary.BigEndian.Uint16(pkt[2:4])); n%4 != 0 || stunHeaderSize+n != len(pkt) {
		return fmt.Errorf("%w: length field does not match datagram", ErrNotSTUN)
	}
	m.Raw = append(m.Raw[:0], pkt...)
	if err := m.Decode(); err != nil {
		return fmt.Errorf("%w: %v", ErrNotSTUN, err)
	}
	if m.Contains(stun.AttrFingerprint) {
		// FINGERPRINT must be the last attribute (RFC 5389 section 15.5);
		// pion's check assumes it is.
		end := len(m.Raw) - fingerprintAttr
		if len(m.Raw) < stunHeaderSize+fingerprintAttr ||
			stun.AttrType(binary.BigEndian.Uint16(m.Raw[end:end+2])) != stun.AttrFingerprint {
			return ErrBadFingerprint
		}
		if err := stun.Fingerprint.Check(m); err != nil {
			return ErrBadFingerprint
		}
	}
	return nil
}

// knownAttrs are the comprehension-required attributes (< 0x8000) we
// understand in a Binding request.
func knownRequired(t stun.AttrType) bool {
	switch t {
	case stun.AttrMappedAddress, stun.AttrUsername, stun.AttrMessageIntegrity,
		stun.AttrErrorCode, stun.AttrUnknownAttributes, stun.AttrRealm, stun.AttrNonce,
		stun.AttrXORMappedAddress, stun.AttrPriority, stun.AttrUseCandidate,
		stun.AttrMessageIntegritySHA256, stun.AttrPasswordAlgorithm, stun.AttrUserhash:
		return true
	}
	return false
}

func (a *Agent) handleRequest(m *stun.Message, from netip.AddrPort, component int) ([]byte, Event, error) {
	// RFC 5389 section 10.1.2: authentication.
	user, uerr := m.Get(stun.AttrUsername)
	mi, merr := m.Get(stun.AttrMessageIntegrity)
	if uerr != nil || merr != nil || len(mi) != integritySize {
		a.stats.BadRequests++
		return a.errorResponse(m, stun.CodeBadRequest, false, nil),
			nil, fmt.Errorf("%w: missing USERNAME or MESSAGE-INTEGRITY", ErrBadRequest)
	}
	if !a.usernameOK(user) {
		a.stats.Unauthorized++
		return a.errorResponse(m, stun.CodeUnauthorized, false, nil),
			nil, fmt.Errorf("%w: %q", ErrUnknownUsername, user)
	}
	if err := stun.NewShortTermIntegrity(a.local.Pwd).Check(m); err != nil {
		a.stats.BadIntegrity++
		return a.errorResponse(m, stun.CodeUnauthorized, false, nil), nil, ErrBadIntegrity
	}
	// RFC 5389 section 7.3.1: unknown comprehension-required attributes.
	var unknown stun.UnknownAttributes
	for _, at := range m.Attributes {
		if at.Type < 0x8000 && !knownRequired(at.Type) {
			unknown = append(unknown, at.Type)
		}
	}
	if len(unknown) > 0 {
		a.stats.BadRequests++
		return a.errorResponse(m, stun.CodeUnknownAttribute, true, unknown), nil, ErrUnknownAttribute
	}
	prio := a.prflxPriority(component) // default if PRIORITY is missing
	if v, err := m.Get(stun.AttrPriority); err == nil {
		if len(v) != 4 {
			a.stats.BadRequests++
			return a.errorResponse(m, stun.CodeBadRequest, true, nil), nil, fmt.Errorf("%w: PRIORITY size", ErrBadRequest)
		}
		prio = binary.BigEndian.Uint32(v)
	}
	var peerControlling, peerControlled bool
	var peerTie uint64
	if v, err := m.Get(stun.AttrICEControlling); err == nil {
		if len(v) != 8 {
			a.stats.BadRequests++
			return a.errorResponse(m, stun.CodeBadRequest, true, nil), nil, fmt.Errorf("%w: ICE-CONTROLLING size", ErrBadRequest)
		}
		peerControlling, peerTie = true, binary.BigEndian.Uint64(v)
	} else if v, err := m.Get(stun.AttrICEControlled); err == nil {
		if len(v) != 8 {
			a.stats.BadRequests++
			return a.errorResponse(m, stun.CodeBadRequest, true, nil), nil, fmt.Errorf("%w: ICE-CONTROLLED size", ErrBadRequest)
		}
		peerControlled, peerTie = true, binary.BigEndian.Uint64(v)
	}
	// RFC 8445 section 7.3.1.1: role conflicts.
	switch {
	case a.controlling && peerControlling:
		a.stats.RoleConflicts++
		if a.tiebreaker >= peerTie {
			return a.errorResponse(m, stun.CodeRoleConflict, true, nil), nil, ErrRoleConflict
		}
		a.setRole(false)
	case !a.controlling && peerControlled:
		a.stats.RoleConflicts++
		// A lite agent cannot take the controlling role: it always asks
		// the full peer to switch.
		if a.lite || a.tiebreaker < peerTie {
			return a.errorResponse(m, stun.CodeRoleConflict, true, nil), nil, ErrRoleConflict
		}
		a.setRole(true)
	}
	useCand := m.Contains(stun.AttrUseCandidate)
	now := a.cfg.Now()

	resp := a.successResponse(m, from)
	a.stats.Requests++
	var ev Event
	c := a.comp(component, true)
	p := c.find(from)
	if p == nil && a.numPairs() < MaxPairs {
		// RFC 8445 section 7.3.1.3: learn a peer-reflexive candidate.
		p = &pair{comp: component, remote: from, rprio: prio}
		a.prioritize(p)
		c.pairs = append(c.pairs, p)
		c.failedSent = false
	}
	if p == nil {
		return resp, nil, nil
	}
	if a.lite {
		p.state = stateSucceeded
		if useCand && !a.controlling {
			ev = a.nominate(c, p, now)
		}
		if c.hasSel && c.sel == from {
			c.consentAt = now // the peer still checks the selected pair
		}
		return resp, ev, nil
	}
	// Full agent: triggered check (RFC 8445 section 7.3.1.4).
	switch p.state {
	case stateWaiting, stateFailed:
		p.state = stateWaiting
		if !p.triggered {
			p.triggered = true
			a.triggered = append(a.triggered, p)
		}
	}
	if useCand && !a.controlling {
		// RFC 8445 section 7.3.1.5.
		if p.state == stateSucceeded {
			ev = a.nominate(c, p, now)
		} else {
			p.nominateOnSuccess = true
		}
	}
	return resp, ev, nil
}

// usernameOK checks "LOCALUFRAG:REMOTEUFRAG".
func (a *Agent) usernameOK(user []byte) bool {
	l := len(a.local.Ufrag)
	if len(user) < l+1 || string(user[:l]) != a.local.Ufrag || user[l] != ':' {
		return false
	}
	return a.remote.Ufrag == "" || string(user[l+1:]) == a.remote.Ufrag
}

// nominate makes p the selected pair of c.
func (a *Agent) nominate(c *component, p *pair, now time.Time) Event {
	p.nominateOnSuccess = false
	if c.nominating == p {
		c.nominating = nil
	}
	changed := !c.hasSel || !c.current || c.lost || c.sel != p.remote
	if !changed {
		return nil
	}
	c.hasSel, c.sel, c.current, c.lost = true, p.remote, true, false
	c.consentAt = now
	c.nextConsent = now.Add(a.consentInterval())
	a.stats.Nominations++
	return &Nominated{Component: c.id, Remote: p.remote}
}

func (a *Agent) successResponse(req *stun.Message, from netip.AddrPort) []byte {
	out := new(stun.Message)
	err := out.Build(
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IP(from.Addr().AsSlice()), Port: int(from.Port())},
		stun.NewShortTermIntegrity(a.local.Pwd),
		stun.Fingerprint,
	)
	if err != nil { // cannot happen: all values are well-formed
		return nil
	}
	return out.Raw
}

// errorResponse builds a Binding error response; integrity-protected with
// our pwd when the request was authenticated.
func (a *Agent) errorResponse(req *stun.Message, code stun.ErrorCode, integrity bool, unknown stun.UnknownAttributes) []byte {
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingError,
		code,
	}
	if len(unknown) > 0 {
		setters = append(setters, unknown)
	}
	if integrity {
		setters = append(setters, stun.NewShortTermIntegrity(a.local.Pwd))
	}
	setters = append(setters, stun.Fingerprint)
	out := new(stun.Message)
	if err := out.Build(setters...); err != nil {
		return nil
	}
	return out.Raw
}

func (a *Agent) handleResponse(m *stun.Message, from netip.AddrPort, component int) (Event, error) {
	i := -1
	for j, t := range a.txns {
		if t.id == m.TransactionID {
			i = j
			break
		}
	}
	if i < 0 {
		return nil, ErrUnknownTransaction
	}
	t := a.txns[i]
	if t.p.comp != component || t.p.remote != from {
		// RFC 8445 section 7.2.5.2.1: non-symmetric; also protects the
		// transaction from off-path spoofing from other addresses.
		return nil, fmt.Errorf("%w: from %s, sent to %s", ErrUnknownTransaction, from, t.p.remote)
	}
	integ := stun.NewShortTermIntegrity(a.remote.Pwd)
	if m.Type.Class == stun.ClassSuccessResponse || m.Contains(stun.AttrMessageIntegrity) {
		if err := integ.Check(m); err != nil {
			a.stats.BadIntegrity++
			return nil, ErrBadIntegrity
		}
	}
	a.txns = append(a.txns[:i], a.txns[i+1:]...)
	now := a.cfg.Now()
	c := a.comp(component, true)
	p := t.p
	if m.Type.Class == stun.ClassErrorResponse {
		a.stats.ErrorsRecv++
		var ec stun.ErrorCodeAttribute
		_ = ec.GetFrom(m)
		if t.consent {
			return nil, nil
		}
		if ec.Code == stun.CodeRoleConflict {
			// RFC 8445 section 7.2.5.1: switch role (unless already
			// switched) and retry the pair.
			a.stats.RoleConflicts++
			if !a.lite && t.controlling == a.controlling {
				a.setRole(!t.controlling)
			}
			p.state = stateWaiting
			if !p.triggered {
				p.triggered = true
				a.triggered = append(a.triggered, p)
			}
			if c.nominating == p {
				c.nominating = nil
			}
			return nil, nil
		}
		a.failPair(c, p)
		return nil, fmt.Errorf("ice: check to %s failed: %d %s", p.remote, ec.Code, ec.Reason)
	}
	a.stats.Responses++
	if c.hasSel && c.sel == p.remote {
		c.consentAt = now // RFC 7675: any response on the selected pair
	}
	if t.consent {
		return nil, nil
	}
	p.state = stateSucceeded
	if c.firstValid.IsZero() {
		c.firstValid = now
	}
	if (t.useCand && a.controlling) || (p.nominateOnSuccess && !a.controlling) {
		return a.nominate(c, p, now), nil
	}
	return nil, nil
}

func (a *Agent) failPair(c *component, p *pair) {
	p.state = stateFailed
	p.nominateOnSuccess = false
	if c.nominating == p {
		c.nominating = nil
	}
}
