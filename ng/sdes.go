package ng

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	"github.com/ngrelay/ngrelay/relay"
	"github.com/ngrelay/ngrelay/sdp"
)

// mediaSDES is the SDES state of one leg's media, kept across re-INVITEs in
// relay.Media.Signalling.
type mediaSDES struct {
	// offered are the crypto lines ngrelay offered to this leg (keys it
	// will encrypt with towards the leg, by tag).
	offered []sdes.Crypto
	// answer is the crypto line ngrelay answers to this leg when the leg
	// offered SRTP and ngrelay terminates it.
	answer *sdes.Crypto
	// remote is the leg's own crypto line in use (what it encrypts with).
	remote *sdes.Crypto
}

// mediaState is ngrelay's control-plane state of one leg's media, kept in
// relay.Media.Signalling.
type mediaState struct {
	sdes mediaSDES
	rtc  *rtcSession
	// mid is the a=mid the leg gave the m-line (WebRTC), for answers;
	// bundled says that the leg's SDP put it in a BUNDLE group.
	mid     string
	bundled bool
}

func state(m *relay.Media) *mediaState {
	st, _ := m.Signalling.(*mediaState)
	if st == nil {
		st = &mediaState{}
		m.Signalling = st
	}
	return st
}

func sdesState(m *relay.Media) *mediaSDES { return &state(m).sdes }

// sdesOptions are the parsed "SDES" items and related flags of a request.
type sdesOptions struct {
	off      bool
	no, only map[srtp.Suite]bool
	// session parameters for the crypto lines ngrelay generates
	unencryptedSRTP, unencryptedSRTCP, unauthenticatedSRTP bool
	recrypt                                                bool
	osrtpOffer, osrtpAccept                                bool
}

func parseSDESOptions(req *Request) (sdesOptions, error) {
	o := sdesOptions{no: map[srtp.Suite]bool{}, only: map[srtp.Suite]bool{}}
	for _, item := range req.SDES {
		low := normFlag(item)
		switch {
		case low == "off" || low == "no" || low == "disable":
			o.off = true
		case low == "unencrypted-srtp":
			o.unencryptedSRTP = true
		case low == "unencrypted-srtcp":
			o.unencryptedSRTCP = true
		case low == "unauthenticated-srtp":
			o.unauthenticatedSRTP = true
		case low == "encrypted-srtp", low == "encrypted-srtcp", low == "authenticated-srtp":
			// the defaults
		case strings.HasPrefix(low, "no-"), strings.HasPrefix(low, "only-"):
			name := item[strings.IndexByte(item, '-')+1:]
			suite, err := srtp.ParseSuite(name)
			if err != nil {
				// rtpengine ignores suites it does not know here too
				req.Unknown = append(req.Unknown, "SDES-"+item)
				continue
			}
			if strings.HasPrefix(low, "no-") {
				o.no[suite] = true
			} else {
				o.only[suite] = true
			}
		default:
			req.Unknown = append(req.Unknown, "SDES-"+item)
		}
	}
	o.recrypt = req.Flags["recrypt"]
	o.osrtpOffer = req.OSRTP["offer"]
	o.osrtpAccept = req.OSRTP["accept"]
	return o, nil
}

func (o *sdesOptions) allowed(s srtp.Suite) bool {
	if o.no[s] {
		return false
	}
	return len(o.only) == 0 || o.only[s]
}

// isSRTPProfile reports whether an m= protocol is an SRTP profile keyed by
// SDES (RTP/SAVP, RTP/SAVPF); the DTLS profiles (UDP/TLS/...) are not.
func isSRTPProfile(proto string) bool {
	return strings.HasPrefix(proto, "RTP/SAVP")
}

// parseCryptos returns the usable a=crypto lines of an m-line, in order.
func parseCryptos(m *sdp.Media) []sdes.Crypto {
	var out []sdes.Crypto
	for _, v := range m.Attrs("crypto") {
		c, err := sdes.Parse(v)
		if err != nil {
			continue // unknown or unsupported suite: skip the line
		}
		if _, err := c.Params(); err != nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// checkedParams returns the SRTP parameters of c, checked by building a
// context once, so that the data plane never meets unusable keys.
func checkedParams(c sdes.Crypto) (*srtp.Params, error) {
	p, err := c.Params()
	if err != nil {
		return nil, err
	}
	if _, err := srtp.NewContext(p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (o *sdesOptions) decorate(c *sdes.Crypto) {
	c.UnencryptedSRTP = c.UnencryptedSRTP || o.unencryptedSRTP
	c.UnencryptedSRTCP = c.UnencryptedSRTCP || o.unencryptedSRTCP
	c.UnauthenticatedSRTP = c.UnauthenticatedSRTP || o.unauthenticatedSRTP
}

// offerCryptos returns the crypto lines to offer to a leg: one per allowed
// suite in rtpengine's order, with fresh keys, or the ones offered before
// (a re-INVITE keeps its keys).
func offerCryptos(st *mediaSDES, o *sdesOptions) ([]sdes.Crypto, error) {
	var suites []srtp.Suite
	for _, s := range srtp.OfferOrder() {
		if o.allowed(s) {
			suites = append(suites, s)
		}
	}
	if len(suites) == 0 {
		return nil, errors.New("no SRTP crypto suite left to offer")
	}
	if len(st.offered) == len(suites) {
		same := true
		for i, c := range st.offered {
			same = same && c.Suite == suites[i]
		}
		if same {
			return st.offered, nil
		}
	}
	out := make([]sdes.Crypto, 0, len(suites))
	for i, s := range suites {
		c, err := sdes.Generate(i+1, s, nil)
		if err != nil {
			return nil, fmt.Errorf("generate SRTP key: %w", err)
		}
		o.decorate(&c)
		if _, err := checkedParams(c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	st.offered = out
	return out, nil
}

// setCryptoLines replaces the m-line's a=crypto lines by cs.
func setCryptoLines(m *sdp.Media, cs []sdes.Crypto) {
	m.RemoveAttr("crypto")
	for _, c := range cs {
		m.AddAttr("crypto", c.String())
	}
}

// negotiateSDES applies SDES (RFC 4568) to one m-line being rewritten: m is
// the SDP of leg `from` (media mf), rewritten for leg `to` (media mt).
// inProto is the m-line's protocol as received; mt.Proto is the one sent.
func negotiateSDES(req *Request, o *sdesOptions, m *sdp.Media, inProto string, mf, mt *relay.Media, isOffer bool) error {
	fromSt, toSt := sdesState(mf), sdesState(mt)
	inCryptos := parseCryptos(m)
	inSRTP := isSRTPProfile(inProto) || o.osrtpAccept && len(inCryptos) > 0 && !strings.Contains(inProto, "TLS")
	outSRTP := isSRTPProfile(mt.Proto)

	if !isOffer {
		return answerSDES(m, inCryptos, mf, mt, fromSt, toSt)
	}
	// An offer from `from` to `to`.
	switch {
	case inSRTP && outSRTP && !o.recrypt && !o.off:
		// Both sides speak SDES: the endpoints key each other end to
		// end and ngrelay passes SRTP through.
		mf.SRTPIn, mf.SRTPOut, mt.SRTPIn, mt.SRTPOut = nil, nil, nil, nil
		fromSt.answer, fromSt.remote, toSt.offered = nil, nil, nil
		return nil
	case inSRTP:
		// ngrelay terminates the offerer's SRTP: the first acceptable
		// crypto line is answered with a key of our own (same tag and
		// suite), kept across re-INVITEs unless the suite changes.
		var chosen *sdes.Crypto
		for i := range inCryptos {
			if o.allowed(inCryptos[i].Suite) {
				chosen = &inCryptos[i]
				break
			}
		}
		if chosen == nil {
			return errorReply("No usable SRTP crypto suite in the offer")
		}
		in, err := checkedParams(*chosen)
		if err != nil {
			return errorReply("Unusable SRTP key in the offer: %s", err)
		}
		if fromSt.answer == nil || fromSt.answer.Suite != chosen.Suite || fromSt.answer.Tag != chosen.Tag {
			c, err := sdes.Generate(chosen.Tag, chosen.Suite, nil)
			if err != nil {
				return errorReply("Failed to generate an SRTP key: %s", err)
			}
			c.UnencryptedSRTP, c.UnencryptedSRTCP, c.UnauthenticatedSRTP = chosen.UnencryptedSRTP, chosen.UnencryptedSRTCP, chosen.UnauthenticatedSRTP
			fromSt.answer = &c
		}
		out, err := checkedParams(*fromSt.answer)
		if err != nil {
			return errorReply("Unusable SRTP key: %s", err)
		}
		fromSt.remote = chosen
		mf.SRTPIn, mf.SRTPOut = in, out
	default:
		mf.SRTPIn, mf.SRTPOut = nil, nil
		fromSt.answer, fromSt.remote = nil, nil
	}
	// What the other side gets offered.
	if (outSRTP || o.osrtpOffer && !strings.Contains(mt.Proto, "TLS")) && !o.off {
		cs, err := offerCryptos(toSt, o)
		if err != nil {
			return errorReply("%s", err)
		}
		setCryptoLines(m, cs)
	} else {
		m.RemoveAttr("crypto")
		toSt.offered = nil
		mt.SRTPIn, mt.SRTPOut = nil, nil
	}
	return nil
}

// answerSDES handles the crypto of an answer from leg `from` (media mf,
// answering what ngrelay offered it) rewritten for leg `to` (media mt,
// whose offer ngrelay may have terminated).
func answerSDES(m *sdp.Media, inCryptos []sdes.Crypto, mf, mt *relay.Media, fromSt, toSt *mediaSDES) error {
	if len(fromSt.offered) > 0 {
		// The answerer picked one of our lines by tag (RFC 4568 6.1).
		mf.SRTPIn, mf.SRTPOut = nil, nil
		if len(inCryptos) > 0 && m.Port != 0 {
			ans := inCryptos[0]
			i := slices.IndexFunc(fromSt.offered, func(c sdes.Crypto) bool { return c.Tag == ans.Tag })
			if i < 0 || fromSt.offered[i].Suite != ans.Suite {
				return errorReply("SRTP answer names crypto tag %d with suite %s, which was not offered", ans.Tag, ans.SuiteName)
			}
			in, err := checkedParams(ans)
			if err != nil {
				return errorReply("Unusable SRTP key in the answer: %s", err)
			}
			out, err := checkedParams(fromSt.offered[i])
			if err != nil {
				return errorReply("Unusable SRTP key: %s", err)
			}
			fromSt.remote = &ans
			mf.SRTPIn, mf.SRTPOut = in, out
		}
	}
	if toSt.answer != nil {
		// ngrelay terminated the offerer's SRTP: answer it our key.
		setCryptoLines(m, []sdes.Crypto{*toSt.answer})
	} else if len(fromSt.offered) > 0 {
		m.RemoveAttr("crypto")
	}
	return nil
}
