package ng

import (
	"bytes"
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
	// local is ngrelay's crypto line in use towards the leg (what ngrelay
	// encrypts with): the answer, or the offered line the leg picked. A
	// later negotiation in either direction keeps its key when the suite
	// stays the same.
	local *sdes.Crypto
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
	// muxRequired: an offer to this leg had rtcp-mux "require", so the
	// leg counts as muxing RTCP even if its answer does not say so.
	muxRequired bool
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
	// session parameters for the crypto lines ngrelay generates, and
	// their negations (which also strip them from an answer that copies
	// the offerer's)
	unencryptedSRTP, unencryptedSRTCP, unauthenticatedSRTP bool
	encryptedSRTP, encryptedSRTCP, authenticatedSRTP       bool
	// pad writes the inline keys with base64 padding; lifetime gives the
	// keys ngrelay generates the lifetime 2^31 (rtpengine's SDES-pad and
	// SDES-lifetime).
	pad, lifetime bool
	recrypt       bool
	// OSRTP: osrtpOffer offers RFC 8643 OSRTP (a=crypto on RTP/AVP);
	// osrtpAccept takes RTP/AVP with a=crypto as SRTP; osrtpAcceptLegacy
	// takes an SDES m-line next to a plain twin (FreeSWITCH's best-effort
	// SRTP) as one SRTP stream. "accept" is both, as in rtpengine.
	osrtpOffer, osrtpAccept, osrtpAcceptLegacy bool
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
		case low == "encrypted-srtp":
			o.encryptedSRTP = true
		case low == "encrypted-srtcp":
			o.encryptedSRTCP = true
		case low == "authenticated-srtp":
			o.authenticatedSRTP = true
		case low == "pad":
			o.pad = true
		case low == "lifetime":
			o.lifetime = true
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
	// a negation wins over its parameter
	o.unencryptedSRTP = o.unencryptedSRTP && !o.encryptedSRTP
	o.unencryptedSRTCP = o.unencryptedSRTCP && !o.encryptedSRTCP
	o.unauthenticatedSRTP = o.unauthenticatedSRTP && !o.authenticatedSRTP
	o.recrypt = req.Flags["recrypt"]
	o.osrtpOffer = req.OSRTP["offer"] || req.OSRTP["offer-rfc"]
	o.osrtpAccept = req.OSRTP["accept"] || req.OSRTP["accept-rfc"]
	o.osrtpAcceptLegacy = req.OSRTP["accept"] || req.OSRTP["accept-legacy"]
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

// parseCryptos returns the usable a=crypto lines of an m-line, in order,
// and whether the m-line had any a=crypto line at all.
func parseCryptos(m *sdp.Media) (usable []sdes.Crypto, hasCrypto bool) {
	for _, v := range m.Attrs("crypto") {
		hasCrypto = true
		c, err := sdes.Parse(v)
		if err != nil {
			continue // unknown or unsupported suite: skip the line
		}
		if _, err := checkedParams(c); err != nil {
			continue
		}
		usable = append(usable, c)
	}
	return usable, hasCrypto
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

// decorate applies the request's session parameters to a crypto line
// ngrelay generates. UNAUTHENTICATED_SRTP is not written on the AEAD
// suites, whose tag is part of the cipher (RFC 7714 section 12): no SRTP
// context can honour it there (rtpengine 10.5 writes it on them anyway).
func (o *sdesOptions) decorate(c *sdes.Crypto) {
	c.UnencryptedSRTP = o.unencryptedSRTP
	c.UnencryptedSRTCP = o.unencryptedSRTCP
	c.UnauthenticatedSRTP = o.unauthenticatedSRTP && !c.Suite.AEAD()
	o.setLifetime(c)
}

// setLifetime writes the key lifetime 2^31 on a line ngrelay generates
// when SDES-lifetime asks for it (rtpengine writes no lifetime otherwise).
// The lifetime is declarative only: ngrelay does not re-key.
func (o *sdesOptions) setLifetime(c *sdes.Crypto) {
	if len(c.Keys) == 0 {
		return
	}
	c.Keys[0].Lifetime = 0
	if o.lifetime {
		c.Keys[0].Lifetime = 1 << 31
	}
}

// sameLine reports whether a line ngrelay offered before can be offered
// again unchanged for suite s with the request's options.
func (o *sdesOptions) sameLine(c sdes.Crypto, s srtp.Suite) bool {
	want := sdes.Crypto{Suite: s, Keys: []sdes.KeyParam{{}}}
	o.decorate(&want)
	return c.Suite == s && c.UnencryptedSRTP == want.UnencryptedSRTP && c.UnencryptedSRTCP == want.UnencryptedSRTCP &&
		c.UnauthenticatedSRTP == want.UnauthenticatedSRTP && (c.Keys[0].Lifetime != 0) == (want.Keys[0].Lifetime != 0)
}

// offerCryptos returns the crypto lines to offer to a leg: one per allowed
// suite in rtpengine's order, tagged 1, 2, ... A re-offer keeps the lines
// offered before when the suites and options are the same, and otherwise
// keeps the key ngrelay already encrypts with towards the leg for its
// suite; every other line gets a fresh key.
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
			same = same && o.sameLine(c, suites[i])
			if st.local != nil && c.Suite == st.local.Suite {
				same = same && sameKey(c, *st.local)
			}
		}
		if same {
			return st.offered, nil
		}
	}
	out := make([]sdes.Crypto, 0, len(suites))
	for i, s := range suites {
		var c sdes.Crypto
		if st.local != nil && st.local.Suite == s {
			c = cloneCrypto(*st.local)
			c.Tag, c.SuiteName = i+1, s.Name()
		} else {
			var err error
			if c, err = sdes.Generate(i+1, s, nil); err != nil {
				return nil, fmt.Errorf("generate SRTP key: %w", err)
			}
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

// sameKey reports whether two crypto lines have the same first key.
func sameKey(a, b sdes.Crypto) bool {
	return len(a.Keys) > 0 && len(b.Keys) > 0 && bytes.Equal(a.Keys[0].Key, b.Keys[0].Key) && bytes.Equal(a.Keys[0].Salt, b.Keys[0].Salt)
}

// cloneCrypto copies c so that changing the copy's session parameters or
// key parameters leaves c alone.
func cloneCrypto(c sdes.Crypto) sdes.Crypto {
	c.Keys = slices.Clone(c.Keys)
	c.SessionParams = slices.Clone(c.SessionParams)
	return c
}

// setCryptoLines replaces the m-line's a=crypto lines by cs; with pad, the
// inline keys keep their base64 padding (rtpengine's SDES-pad).
func setCryptoLines(m *sdp.Media, cs []sdes.Crypto, pad bool) {
	m.RemoveAttr("crypto")
	for _, c := range cs {
		v := c.String()
		if pad {
			v = padKeys(v)
		}
		m.AddAttr("crypto", v)
	}
}

// padKeys adds base64 padding to every inline key of an a=crypto value.
func padKeys(v string) string {
	var b strings.Builder
	for {
		i := strings.Index(v, "inline:")
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		i += len("inline:")
		b.WriteString(v[:i])
		v = v[i:]
		n := strings.IndexAny(v, "|; ")
		if n < 0 {
			n = len(v)
		}
		b.WriteString(v[:n])
		if r := n % 4; r != 0 {
			b.WriteString("==="[:4-r])
		}
		v = v[n:]
	}
}

// negotiateSDES applies SDES (RFC 4568) to one m-line being rewritten: m is
// the SDP of leg `from` (media mf), rewritten for leg `to` (media mt).
// inProto is the m-line's protocol as received; mt.Proto is the one sent.
func negotiateSDES(req *Request, o *sdesOptions, m *sdp.Media, inProto string, mf, mt *relay.Media, isOffer bool) error {
	fromSt, toSt := sdesState(mf), sdesState(mt)
	inCryptos, hasCrypto := parseCryptos(m)
	inSRTP := isSRTPProfile(inProto) || o.osrtpAccept && hasCrypto && !strings.Contains(inProto, "TLS")
	outSRTP := isSRTPProfile(mt.Proto)

	if !isOffer {
		return answerSDES(o, m, inCryptos, hasCrypto, mf, mt, fromSt, toSt)
	}
	// An offer from `from` to `to`.
	switch {
	case inSRTP && outSRTP && !o.recrypt && !o.off:
		// Both sides speak SDES: the endpoints key each other end to
		// end and ngrelay passes SRTP through.
		mf.SRTPIn, mf.SRTPOut, mt.SRTPIn, mt.SRTPOut = nil, nil, nil, nil
		fromSt.answer, fromSt.remote, fromSt.local, toSt.offered, toSt.local = nil, nil, nil, nil, nil
		return nil
	case inSRTP:
		// ngrelay terminates the offerer's SRTP: the first acceptable
		// crypto line (in the offer's order, skipping suites ngrelay does
		// not implement and those SDES no-/only- exclude) is answered
		// with a key of ngrelay's own, same tag and suite, spelled as the
		// offerer spelled it.
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
		ans, err := answerCrypto(o, fromSt, chosen)
		if err != nil {
			return err
		}
		out, err := checkedParams(ans)
		if err != nil {
			return errorReply("Unusable SRTP key: %s", err)
		}
		fromSt.answer, fromSt.local, fromSt.remote = &ans, &ans, chosen
		mf.SRTPIn, mf.SRTPOut = in, out
	default:
		mf.SRTPIn, mf.SRTPOut = nil, nil
		fromSt.answer, fromSt.remote, fromSt.local = nil, nil, nil
	}
	// What the other side gets offered.
	if (outSRTP || o.osrtpOffer && !strings.Contains(mt.Proto, "TLS")) && !o.off {
		cs, err := offerCryptos(toSt, o)
		if err != nil {
			return errorReply("%s", err)
		}
		setCryptoLines(m, cs, o.pad)
	} else {
		m.RemoveAttr("crypto")
		toSt.offered, toSt.local = nil, nil
		mt.SRTPIn, mt.SRTPOut = nil, nil
	}
	return nil
}

// answerCrypto is ngrelay's answer to the offerer's crypto line chosen:
// the key ngrelay already encrypts with towards the offerer if its suite is
// the chosen one (a re-INVITE keeps it), else a fresh key. Its session
// parameters are the offerer's (RFC 4568 section 6.3: they describe the
// stream in both directions), less those the request negates.
func answerCrypto(o *sdesOptions, st *mediaSDES, chosen *sdes.Crypto) (sdes.Crypto, error) {
	var c sdes.Crypto
	if st.local != nil && st.local.Suite == chosen.Suite {
		c = cloneCrypto(*st.local)
		c.Tag = chosen.Tag
	} else {
		var err error
		if c, err = sdes.Generate(chosen.Tag, chosen.Suite, nil); err != nil {
			return c, errorReply("Failed to generate an SRTP key: %s", err)
		}
	}
	o.setLifetime(&c)
	// FreeSWITCH spells AES_256_CM_HMAC_SHA1_80 as AES_CM_256_HMAC_SHA1_80
	// and may not know the RFC spelling: answer in the offerer's.
	c.SuiteName = chosen.SuiteName
	c.UnencryptedSRTP = chosen.UnencryptedSRTP && !o.encryptedSRTP
	c.UnencryptedSRTCP = chosen.UnencryptedSRTCP && !o.encryptedSRTCP
	c.UnauthenticatedSRTP = chosen.UnauthenticatedSRTP && !o.authenticatedSRTP
	return c, nil
}

// answerSDES handles the crypto of an answer from leg `from` (media mf,
// answering what ngrelay offered it) rewritten for leg `to` (media mt,
// whose offer ngrelay may have terminated).
func answerSDES(o *sdesOptions, m *sdp.Media, inCryptos []sdes.Crypto, hasCrypto bool, mf, mt *relay.Media, fromSt, toSt *mediaSDES) error {
	if len(fromSt.offered) > 0 {
		// The answerer picked one of our lines by tag (RFC 4568 6.1).
		mf.SRTPIn, mf.SRTPOut = nil, nil
		fromSt.remote, fromSt.local = nil, nil
		if m.Port != 0 && hasCrypto {
			if len(inCryptos) == 0 {
				return errorReply("No usable SRTP crypto line in the answer")
			}
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
			local := fromSt.offered[i]
			fromSt.remote, fromSt.local = &ans, &local
			mf.SRTPIn, mf.SRTPOut = in, out
		}
	}
	if toSt.answer != nil {
		// ngrelay terminated the offerer's SRTP: answer it our key.
		setCryptoLines(m, []sdes.Crypto{*toSt.answer}, o.pad)
	} else if len(fromSt.offered) > 0 {
		m.RemoveAttr("crypto")
	}
	return nil
}

// legacyOSRTPAlternatives finds, in an offer, the legacy "best effort" SRTP
// form that FreeSWITCH sends (and that rtpengine accepts with OSRTP
// accept-legacy or accept, since version 11): an SDES m-line (RTP/SAVP or
// RTP/SAVPF with a=crypto) next to a plain twin (RTP/AVP or RTP/AVPF) of
// the same media type, either order, as alternatives for one stream. It
// returns, by m-line index, the plain twins of non-rejected SDES m-lines:
// the rewrite offers them rejected (port 0) and allocates no ports for
// them, so that the SDES m-line carries the stream and the answer to the
// offerer accepts SRTP and rejects the twin, as RFC 3264 section 6 wants
// one answer m-line per offered one. It returns nil when the request does
// not ask for it (OSRTP accept or accept-legacy) or there is no such pair.
// Each m-line is in at most one pair; pairs are taken left to right.
//
// rtpengine 10.5 (the version ngrelay replaces) does not know
// accept-legacy: it relays both m-lines as separate streams, as ngrelay
// does without the flag.
func legacyOSRTPAlternatives(o *sdesOptions, s *sdp.Session) []bool {
	if !o.osrtpAcceptLegacy {
		return nil
	}
	var alt []bool
	for i := 1; i < len(s.Media); i++ {
		a, b := s.Media[i-1], s.Media[i]
		if alt != nil && alt[i-1] || a.Type != b.Type || !isPlainRTPProfile(a.Proto) && !isPlainRTPProfile(b.Proto) {
			continue
		}
		secure, plainIdx := a, i
		if isPlainRTPProfile(a.Proto) {
			secure, plainIdx = b, i-1
		}
		plain := s.Media[plainIdx]
		if !isSRTPProfile(secure.Proto) || !isPlainRTPProfile(plain.Proto) || secure.Rejected() || plain.Rejected() || !secure.HasAttr("crypto") {
			continue
		}
		if alt == nil {
			alt = make([]bool, len(s.Media))
		}
		alt[plainIdx] = true
		i++ // b is taken
	}
	return alt
}

// isPlainRTPProfile reports whether an m= protocol is plain RTP (RTP/AVP,
// RTP/AVPF).
func isPlainRTPProfile(proto string) bool {
	return proto == "RTP/AVP" || proto == "RTP/AVPF"
}
