package ng

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

// Request is one NG command with its keys and flags parsed into typed
// fields. It is built once at the edge; the offer/answer logic never looks
// at raw dictionary keys.
type Request struct {
	Command   string
	CallID    string
	FromTag   string
	ToTag     string
	ViaBranch string
	SDP       string
	HasSDP    bool

	// Flags holds the normalised flags (lower case, '-' for '_' and ' ').
	Flags map[string]bool
	// Replace holds the normalised `replace` items (origin,
	// session-connection, sdp-version, username, session-name).
	Replace map[string]bool

	Direction         []string
	ReceivedFrom      netip.Addr
	MediaAddress      netip.Addr
	AddressFamily     string // "IP4", "IP6" or ""
	TransportProtocol string
	ICE               string
	ICELite           string
	DTLS              string
	// RTCPMux holds the "rtcp-mux" items (offer, require, demux, accept,
	// reject), lower case.
	RTCPMux map[string]bool
	// Bundle holds the items of the "bundle" key (accept, offer,
	// require, strict, reject).
	Bundle      map[string]bool
	Label       string
	SetLabel    string
	DeleteDelay int // seconds; -1 when not given
	TOS         int // -1 when not given
	Limit       int // list: maximum number of calls; -1 when not given
	// Supports lists the proxy's capabilities ("load limit").
	Supports map[string]bool
	// SDES holds the items of the "SDES" key and of SDES-... flags, as
	// given (suite names keep their case).
	SDES []string
	// OSRTP holds the items of the "OSRTP" key and OSRTP-... flags
	// (offer, accept), lower case.
	OSRTP map[string]bool

	// Unknown lists keys and flags ngrelay does not act on, for debug logs
	// and counters (rtpengine ignores them too).
	Unknown []string
}

// requestError is an NG error reply with a reason for a human.
type requestError struct{ reason string }

func (e *requestError) Error() string { return e.reason }

func errorReply(format string, args ...any) error {
	return &requestError{reason: fmt.Sprintf(format, args...)}
}

// normFlag lowercases a flag and spells its separators as '-'.
func normFlag(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' {
			return '-'
		}
		return r
	}, s)
}

// parseRequest turns an NG dictionary into a Request.
func parseRequest(d bencode.Value) (*Request, error) {
	if d.Kind != bencode.KindDict {
		return nil, errorReply("Message is not a dictionary")
	}
	cmd, ok := d.GetString("command")
	if !ok {
		return nil, errorReply(`Dictionary contains no key "command"`)
	}
	r := &Request{
		Command:     strings.ToLower(cmd),
		Flags:       map[string]bool{},
		Replace:     map[string]bool{},
		DeleteDelay: -1,
		TOS:         -1,
		Limit:       -1,
		Supports:    map[string]bool{},
		OSRTP:       map[string]bool{},
		RTCPMux:     map[string]bool{},
		Bundle:      map[string]bool{},
	}
	for _, p := range d.Dict {
		if err := r.setKey(p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// stringOf returns a string or integer value as a string.
func stringOf(v bencode.Value) (string, bool) {
	switch v.Kind {
	case bencode.KindString:
		return v.Str, true
	case bencode.KindInt:
		return strconv.FormatInt(v.Int, 10), true
	}
	return "", false
}

// stringsOf returns a list of strings (a single string counts as a list of
// one; rtpengine accepts both).
func stringsOf(key string, v bencode.Value) ([]string, error) {
	switch v.Kind {
	case bencode.KindString, bencode.KindInt:
		s, _ := stringOf(v)
		return []string{s}, nil
	case bencode.KindList:
		out := make([]string, 0, len(v.List))
		for _, x := range v.List {
			s, ok := stringOf(x)
			if !ok {
				return nil, errorReply("Invalid value in list %q: expected strings", key)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errorReply("Invalid type of key %q: expected a string or a list", key)
}

func intOf(key string, v bencode.Value) (int, error) {
	switch v.Kind {
	case bencode.KindInt:
		return int(v.Int), nil
	case bencode.KindString:
		n, err := strconv.Atoi(strings.TrimSpace(v.Str))
		if err == nil {
			return n, nil
		}
	}
	return 0, errorReply("Invalid value of key %q: expected an integer", key)
}

// setKey applies one dictionary key.
func (r *Request) setKey(key string, v bencode.Value) error {
	str := func() (string, error) {
		s, ok := stringOf(v)
		if !ok {
			return "", errorReply("Invalid type of key %q: expected a string", key)
		}
		return s, nil
	}
	var err error
	switch normFlag(key) {
	case "command":
	case "call-id":
		r.CallID, err = str()
	case "from-tag":
		r.FromTag, err = str()
	case "to-tag":
		r.ToTag, err = str()
	case "via-branch":
		r.ViaBranch, err = str()
	case "sdp":
		r.SDP, err = str()
		r.HasSDP = err == nil
	case "flags":
		var fl []string
		if fl, err = stringsOf(key, v); err == nil {
			for _, f := range fl {
				if err = r.setToken(f); err != nil {
					return err
				}
			}
		}
	case "rtpp-flags":
		var s string
		if s, err = str(); err == nil {
			for _, f := range strings.Fields(s) {
				if err = r.setToken(f); err != nil {
					return err
				}
			}
		}
	case "replace":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			for _, it := range items {
				r.Replace[normFlag(it)] = true
			}
		}
	case "direction":
		r.Direction, err = stringsOf(key, v)
	case "received-from":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			if len(items) != 2 {
				return errorReply(`Invalid "received-from": expected [family, address]`)
			}
			a, perr := netip.ParseAddr(items[1])
			if perr != nil {
				return errorReply(`Invalid "received-from" address %q`, items[1])
			}
			r.ReceivedFrom = a.Unmap()
		}
	case "media-address":
		var s string
		if s, err = str(); err == nil {
			a, perr := netip.ParseAddr(s)
			if perr != nil {
				return errorReply(`Invalid "media-address" %q`, s)
			}
			r.MediaAddress = a.Unmap()
		}
	case "address-family":
		var s string
		if s, err = str(); err == nil {
			switch strings.ToUpper(s) {
			case "IP4", "IP6":
				r.AddressFamily = strings.ToUpper(s)
			default:
				return errorReply(`Invalid "address-family" %q: expected IP4 or IP6`, s)
			}
		}
	case "transport-protocol":
		r.TransportProtocol, err = str()
	case "ice":
		r.ICE, err = str()
		r.ICE = normFlag(r.ICE)
	case "label", "from-label":
		r.Label, err = str()
	case "set-label":
		r.SetLabel, err = str()
	case "delete-delay":
		r.DeleteDelay, err = intOf(key, v)
	case "tos":
		r.TOS, err = intOf(key, v)
		if err == nil && (r.TOS < 0 || r.TOS > 255) {
			return errorReply(`Invalid "TOS" %d: expected 0 to 255`, r.TOS)
		}
	case "limit":
		r.Limit, err = intOf(key, v)
		if err == nil && r.Limit < 0 {
			return errorReply("invalid limit, must be >= 0")
		}
	case "ice-lite":
		r.ICELite, err = str()
		r.ICELite = normFlag(r.ICELite)
	case "dtls":
		r.DTLS, err = str()
		r.DTLS = normFlag(r.DTLS)
		switch r.DTLS {
		case "off", "no", "disable", "passive", "active", "":
		default:
			return errorReply(`Invalid "DTLS" %q: expected off, no, disable, passive or active`, r.DTLS)
		}
	case "bundle":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			for _, it := range items {
				switch f := normFlag(it); f {
				case "accept", "offer", "require", "strict", "reject":
					r.Bundle[f] = true
				default:
					return errorReply(`Invalid "bundle" item %q: expected accept, offer, require, strict or reject`, it)
				}
			}
		}
	case "rtcp-mux":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			for _, it := range items {
				r.RTCPMux[normFlag(it)] = true
			}
		}
	case "sdes":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			r.SDES = append(r.SDES, items...)
		}
	case "osrtp":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			for _, it := range items {
				r.OSRTP[normFlag(it)] = true
			}
		}
	case "supports":
		var items []string
		if items, err = stringsOf(key, v); err == nil {
			for _, it := range items {
				r.Supports[strings.ToLower(it)] = true
			}
		}
	default:
		r.Unknown = append(r.Unknown, key)
	}
	return err
}

// setToken applies one flag, as found in `flags` or in an `rtpp_flags`
// string: a plain flag, a KEY=VALUE pair, or one of rtpengine's prefixed
// forms (replace-origin, RTP/AVP...).
func (r *Request) setToken(tok string) error {
	if tok == "" {
		return nil
	}
	if k, v, ok := strings.Cut(tok, "="); ok {
		nk := normFlag(k)
		switch nk {
		case "direction":
			r.Direction = append(r.Direction, v)
			return nil
		case "replace":
			r.Replace[normFlag(v)] = true
			return nil
		case "received-from":
			a, err := netip.ParseAddr(v)
			if err != nil {
				return errorReply(`Invalid "received-from" address %q`, v)
			}
			r.ReceivedFrom = a.Unmap()
			return nil
		case "command", "sdp", "flags", "rtpp-flags":
			// A flag string must not rewrite the request itself.
			r.Unknown = append(r.Unknown, tok)
			return nil
		case "call-id", "from-tag", "to-tag", "via-branch":
			// Accepted only where the dictionary did not say (rtpp-flags
			// may carry them); the dictionary wins.
			if r.identity(nk) != "" {
				return nil
			}
		}
		return r.setKey(k, bencode.String(v))
	}
	f := normFlag(tok)
	switch {
	case strings.HasPrefix(f, "sdes-"):
		r.SDES = append(r.SDES, tok[len("SDES-"):])
	case strings.HasPrefix(f, "osrtp-"):
		r.OSRTP[strings.TrimPrefix(f, "osrtp-")] = true
	case f == "osrtp":
		r.OSRTP["offer"] = true
	case strings.HasPrefix(f, "rtcp-mux-"):
		r.RTCPMux[strings.TrimPrefix(f, "rtcp-mux-")] = true
	case f == "webrtc":
		// rtpengine's one flag for a browser side.
		r.Flags["webrtc"] = true
		r.TransportProtocol = "UDP/TLS/RTP/SAVPF"
		r.ICE = "force"
		r.RTCPMux["offer"] = true
		r.RTCPMux["require"] = true
		r.Flags["generate-mid"] = true
	case strings.HasPrefix(f, "replace-"):
		r.Replace[strings.TrimPrefix(f, "replace-")] = true
	case isProfile(tok):
		r.TransportProtocol = tok
	default:
		r.Flags[f] = true
		if !knownFlags[f] {
			r.Unknown = append(r.Unknown, tok)
		}
	}
	return nil
}

// identity returns the value of one of the call's identifying keys.
func (r *Request) identity(key string) string {
	switch key {
	case "call-id":
		return r.CallID
	case "from-tag":
		return r.FromTag
	case "to-tag":
		return r.ToTag
	}
	return r.ViaBranch
}

// isProfile reports whether tok names an RTP profile (RTP/AVP, UDP/TLS/RTP/SAVPF, ...).
func isProfile(tok string) bool {
	switch strings.ToUpper(tok) {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF":
		return true
	}
	return false
}

// knownFlags are the flags ngrelay acts on.
var knownFlags = map[string]bool{
	"trust-address":       true,
	"sip-source-address":  true,
	"symmetric":           true,
	"asymmetric":          true,
	"strict-source":       true,
	"media-handover":      true,
	"port-latching":       true, // ngrelay always keeps its ports when the peer moves
	"no-rtcp-attribute":   true,
	"full-rtcp-attribute": true,
	"loop-protect":        true,
	"original-sendrecv":   true,
	"fatal":               true,
	"recrypt":             true,
	"generate-mid":        true,
}
