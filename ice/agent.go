package ice

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pion/stun/v3"
)

// Timing defaults (RFC 8445 section 14, RFC 5389 section 7.2.1, RFC 7675).
const (
	// DefaultTa is the pacing interval between new connectivity checks.
	DefaultTa = 50 * time.Millisecond
	// MinRTO is the lower bound of the initial retransmission timeout of a
	// connectivity check.
	MinRTO = 500 * time.Millisecond
	// MaxTransmissions is Rc: how often a check is sent before it fails.
	MaxTransmissions = 7
	// FinalWaitFactor is Rm: after the last transmission a check waits
	// Rm times the initial RTO for a response.
	FinalWaitFactor = 16
	// DefaultConsentInterval is the mean interval of consent checks; each
	// interval is randomised to 0.8-1.2 times this value.
	DefaultConsentInterval = 5 * time.Second
	// DefaultConsentTimeout is how long consent lasts without a response.
	DefaultConsentTimeout = 30 * time.Second
	// DefaultNominationDelay bounds how long a controlling agent waits for
	// better pairs after the first pair succeeded before it nominates.
	DefaultNominationDelay = time.Second
	// MaxPairs bounds the check list (RFC 8445 section 6.1.2.5).
	MaxPairs = 100
)

// Config configures an Agent.
type Config struct {
	// Local are our credentials (a=ice-ufrag/a=ice-pwd we sent).
	Local Credentials
	// Remote are the peer's credentials; they may be left empty and set
	// later with SetRemoteCredentials. Until then incoming checks are
	// answered (their USERNAME's remote half is not checked) but no checks
	// are sent and no responses can be verified.
	Remote Credentials
	// Lite makes us an ICE-lite agent: we never send checks and are always
	// controlled; Controlling is ignored.
	Lite bool
	// Controlling is the initial role of a full agent.
	Controlling bool
	// Tiebreaker is our role-conflict tiebreaker (RFC 8445 section 7.3.1.1).
	// Zero means a random one drawn from Rand.
	Tiebreaker uint64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of transaction IDs, tiebreakers and consent
	// jitter; nil means crypto/rand.
	Rand io.Reader

	// Ta is the check pacing interval; zero means DefaultTa.
	Ta time.Duration
	// ConsentInterval is the mean consent check interval; zero means
	// DefaultConsentInterval.
	ConsentInterval time.Duration
	// ConsentTimeout is how long consent lasts without a response (full
	// agent) or without an authenticated check from the selected peer
	// (lite agent); zero means DefaultConsentTimeout.
	ConsentTimeout time.Duration
	// NominationDelay: see DefaultNominationDelay; zero means the default.
	NominationDelay time.Duration
	// LocalPreference is the local preference of our host candidates, used
	// for pair priorities and the PRIORITY of our checks; zero means 65535.
	LocalPreference uint16
}

// Event is something the caller must act on: *Nominated, *ConsentLost or
// *Failed. A nil Event means nothing happened.
type Event interface{ iceEvent() }

// Nominated reports that a candidate pair was nominated and is now the
// selected pair of Component: media for that component goes to Remote.
type Nominated struct {
	Component int
	Remote    netip.AddrPort
}

// ConsentLost reports that consent to send to Remote expired (RFC 7675):
// the caller must stop sending media on Component. For a lite agent it
// means the peer stopped sending authenticated checks (the browser is
// gone). Selected returns false afterwards until a new nomination.
type ConsentLost struct {
	Component int
	Remote    netip.AddrPort
}

// Failed reports that, after EndOfCandidates, every pair of Component
// failed and none was selected.
type Failed struct {
	Component int
}

func (*Nominated) iceEvent()   {}
func (*ConsentLost) iceEvent() {}
func (*Failed) iceEvent()      {}

// Outgoing is a packet to send from the socket of Component to To.
type Outgoing struct {
	Component int
	To        netip.AddrPort
	Packet    []byte
}

// Stats are an Agent's counters.
type Stats struct {
	Requests      uint64 // binding requests answered with a success response
	BadRequests   uint64 // requests answered 400 (missing USERNAME/MESSAGE-INTEGRITY, malformed) or 420
	Unauthorized  uint64 // requests answered 401 because of an unknown USERNAME
	BadIntegrity  uint64 // requests answered 401 and responses dropped for a wrong MESSAGE-INTEGRITY
	RoleConflicts uint64 // role conflicts: 487 sent, role switched on a request, or 487 received
	Indications   uint64 // binding indications (keepalives) accepted
	ChecksSent    uint64 // binding requests we sent, including retransmissions and consent checks
	Responses     uint64 // success responses to our checks accepted
	ErrorsRecv    uint64 // error responses to our checks accepted
	Dropped       uint64 // packets rejected without a response (not STUN, bad fingerprint, unknown transaction, ...)
	Nominations   uint64 // pairs nominated
	ConsentLosses uint64 // consent expirations
}

// Errors returned by the Agent's methods; match them with errors.Is. When
// HandleSTUN returns a response together with an error, the response must
// still be sent: the error only says why it is an error response.
var (
	ErrNotSTUN            = errors.New("ice: not a STUN message")
	ErrBadFingerprint     = errors.New("ice: bad FINGERPRINT")
	ErrUnsupported        = errors.New("ice: unsupported STUN message")
	ErrBadRequest         = errors.New("ice: bad binding request")
	ErrUnknownUsername    = errors.New("ice: unknown USERNAME")
	ErrBadIntegrity       = errors.New("ice: bad MESSAGE-INTEGRITY")
	ErrUnknownAttribute   = errors.New("ice: unknown comprehension-required attribute")
	ErrRoleConflict       = errors.New("ice: role conflict")
	ErrUnknownTransaction = errors.New("ice: response to unknown transaction")
	ErrBadComponent       = errors.New("ice: bad component")
	ErrBadAddress         = errors.New("ice: invalid source address")
	ErrTooManyCandidates  = errors.New("ice: too many candidates")
)

type pairState uint8

const (
	stateWaiting pairState = iota
	stateInProgress
	stateSucceeded
	stateFailed
)

// pair is a candidate pair: our socket for comp and a remote address.
type pair struct {
	comp      int
	remote    netip.AddrPort
	rprio     uint32
	state     pairState
	prio      uint64
	triggered bool // queued in the triggered-check queue
	// nominateOnSuccess: a controlling peer sent USE-CANDIDATE before our
	// own check on this pair succeeded (controlled full agent).
	nominateOnSuccess bool
}

type txn struct {
	id          [stun.TransactionIDSize]byte
	p           *pair
	raw         []byte
	rto0        time.Duration
	rto         time.Duration
	next        time.Time // next retransmission, or timeout when n == MaxTransmissions
	n           int       // transmissions so far
	useCand     bool
	consent     bool
	controlling bool // our role when the request was sent
}

type component struct {
	id    int
	pairs []*pair
	// selection
	hasSel  bool
	sel     netip.AddrPort
	current bool // selection made in the current ICE generation (since last Restart)
	lost    bool
	// controlling full agent
	firstValid time.Time
	nominating *pair
	// consent
	consentAt   time.Time // last time consent was granted
	nextConsent time.Time
	failedSent  bool
}

// Agent is the ICE agent of one ICE session: one BUNDLE transport or one
// m-line, with component 1 (RTP) and, without rtcp-mux, component 2 (RTCP).
// Its methods are safe for concurrent use.
type Agent struct {
	mu          sync.Mutex
	cfg         Config
	local       Credentials
	remote      Credentials
	lite        bool
	controlling bool
	tiebreaker  uint64
	comps       []*component // sorted by id
	txns        []*txn
	triggered   []*pair
	lastCheck   time.Time
	eoc         bool
	stats       Stats
	in          *stun.Message
}

// NewAgent returns an agent configured by cfg.
func NewAgent(cfg Config) *Agent {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = crand.Reader
	}
	if cfg.Ta <= 0 {
		cfg.Ta = DefaultTa
	}
	if cfg.ConsentInterval <= 0 {
		cfg.ConsentInterval = DefaultConsentInterval
	}
	if cfg.ConsentTimeout <= 0 {
		cfg.ConsentTimeout = DefaultConsentTimeout
	}
	if cfg.NominationDelay <= 0 {
		cfg.NominationDelay = DefaultNominationDelay
	}
	if cfg.LocalPreference == 0 {
		cfg.LocalPreference = 65535
	}
	a := &Agent{
		cfg:         cfg,
		local:       cfg.Local,
		remote:      cfg.Remote,
		lite:        cfg.Lite,
		controlling: cfg.Controlling && !cfg.Lite,
		tiebreaker:  cfg.Tiebreaker,
		in:          stun.NewWithOptions(stun.WithStrict(true)),
	}
	if a.tiebreaker == 0 {
		var b [8]byte
		a.readRand(b[:])
		a.tiebreaker = binary.BigEndian.Uint64(b[:])
	}
	return a
}

func (a *Agent) readRand(b []byte) {
	if _, err := io.ReadFull(a.cfg.Rand, b); err != nil {
		_, _ = crand.Read(b)
	}
}

// Local returns our current credentials.
func (a *Agent) Local() Credentials {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.local
}

// Controlling reports whether the agent is currently in the controlling
// role (it may have changed through a role conflict).
func (a *Agent) Controlling() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.controlling
}

// Stats returns a snapshot of the counters.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// SetRemoteCredentials sets the peer's credentials once they are known
// (from the SDP answer or offer). Setting the same credentials again is a
// no-op. Changing credentials that were already set means that the peer
// restarted ICE (RFC 8445 section 9): the agent starts a new generation as
// Restart does, keeping its own credentials, so remote candidates of the
// new generation must be added after this call.
func (a *Agent) SetRemoteCredentials(c Credentials) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.remote == c {
		return
	}
	if a.remote.Ufrag != "" || a.remote.Pwd != "" {
		a.newGeneration()
	}
	a.remote = c
}

// Selected returns the remote address of the selected (nominated) pair of
// component, unless there is none or its consent was lost. After Restart
// the previous selection remains until a new nomination.
func (a *Agent) Selected(component int) (netip.AddrPort, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.comp(component, false)
	if c == nil || !c.hasSel || c.lost {
		return netip.AddrPort{}, false
	}
	return c.sel, true
}

// Restart starts a new ICE generation after an ICE restart (RFC 8445
// section 9): the check list, pending transactions and remote candidates
// are discarded and the new credentials are used from now on. local are
// our new credentials (from NewCredentials), to be sent in the SDP that
// restarts ICE or answers the restart; remote are the peer's new ones, or
// the zero Credentials when they are not known yet (we offer the restart),
// to be set later with SetRemoteCredentials; add the new generation's
// remote candidates after the remote credentials.
//
// The current selection, if any, keeps being reported by Selected until
// the new generation nominates a pair, which is reported with a Nominated
// event even when it has the same address. Consent checks on it go on with
// the new remote credentials once known; if the peer does not answer them,
// ConsentLost follows after ConsentTimeout as usual.
func (a *Agent) Restart(local, remote Credentials) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.local, a.remote = local, remote
	a.newGeneration()
}

// newGeneration discards the state of the current ICE generation.
func (a *Agent) newGeneration() {
	clear(a.txns)
	a.txns = a.txns[:0]
	clear(a.triggered)
	a.triggered = a.triggered[:0]
	a.eoc = false
	for _, c := range a.comps {
		clear(c.pairs)
		c.pairs = c.pairs[:0]
		c.current = false
		c.firstValid = time.Time{}
		c.nominating = nil
		c.failedSent = false
	}
}

// AddRemoteCandidate adds a remote candidate to the check list of a full
// agent. Only UDP candidates with an IP address are used; others (TCP,
// mDNS names) are ignored without error, as are duplicates. The caller
// should filter out address families that the relay's sockets cannot
// reach. A lite agent ignores remote candidates: it learns remote
// addresses from incoming checks.
func (a *Agent) AddRemoteCandidate(cand Candidate) error {
	if cand.Component < 1 || cand.Component > MaxComponent {
		return ErrBadComponent
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lite {
		return nil
	}
	if !cand.IsUDP() || cand.Host != "" || !cand.Addr.Addr().IsValid() || cand.Addr.Port() == 0 {
		return nil
	}
	c := a.comp(cand.Component, true)
	addr := normAddr(cand.Addr)
	if p := c.find(addr); p != nil {
		if cand.Priority > p.rprio && p.state == stateWaiting {
			p.rprio = cand.Priority
			a.prioritize(p)
		}
		return nil
	}
	if a.numPairs() >= MaxPairs {
		return ErrTooManyCandidates
	}
	p := &pair{comp: c.id, remote: addr, rprio: cand.Priority}
	a.prioritize(p)
	c.pairs = append(c.pairs, p)
	c.failedSent = false
	return nil
}

// EndOfCandidates records that the peer signalled end-of-candidates: once
// every pair of a component has failed, Tick reports Failed for it.
func (a *Agent) EndOfCandidates() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.eoc = true
}

func (a *Agent) numPairs() int {
	n := 0
	for _, c := range a.comps {
		n += len(c.pairs)
	}
	return n
}

func (a *Agent) comp(id int, create bool) *component {
	i, ok := slices.BinarySearchFunc(a.comps, id, func(c *component, id int) int { return c.id - id })
	if ok {
		return a.comps[i]
	}
	if !create {
		return nil
	}
	c := &component{id: id}
	a.comps = slices.Insert(a.comps, i, c)
	return c
}

func (c *component) find(addr netip.AddrPort) *pair {
	for _, p := range c.pairs {
		if p.remote == addr {
			return p
		}
	}
	return nil
}

// localPriority is the priority of our (host) candidate for component.
func (a *Agent) localPriority(component int) uint32 {
	return CandidatePriority(TypeHost, a.cfg.LocalPreference, component)
}

// prflxPriority is the PRIORITY we put in our checks (RFC 8445 7.1.1).
func (a *Agent) prflxPriority(component int) uint32 {
	return CandidatePriority(TypePrflx, a.cfg.LocalPreference, component)
}

// prioritize computes the pair priority of RFC 8445 section 6.1.2.3.
func (a *Agent) prioritize(p *pair) {
	g, d := uint64(a.localPriority(p.comp)), uint64(p.rprio)
	if !a.controlling {
		g, d = d, g
	}
	p.prio = 1<<32*min(g, d) + 2*max(g, d)
	if g > d {
		p.prio++
	}
}

func (a *Agent) reprioritize() {
	for _, c := range a.comps {
		for _, p := range c.pairs {
			a.prioritize(p)
		}
	}
}

// setRole switches the role after a role conflict.
func (a *Agent) setRole(controlling bool) {
	if a.controlling == controlling {
		return
	}
	a.controlling = controlling
	a.reprioritize()
	if !controlling {
		for _, c := range a.comps {
			c.nominating = nil
		}
	}
}

// normAddr unmaps IPv4-mapped IPv6 addresses so that addresses from
// dual-stack sockets match IPv4 candidates.
func normAddr(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}
