package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// The NG protocol (rtpengine's control protocol): one UDP datagram
// "COOKIE BENCODED-DICT" per request, the reply echoes the cookie. This
// file speaks just enough of it for the harness (ping, list); the real
// codec lives elsewhere in ngrelay.

// NGCommand sends the bencoded request to the NG endpoint at addr and
// returns the bencoded reply (cookie stripped). Replies with another
// cookie are ignored. It waits at most timeout.
func NGCommand(addr netip.AddrPort, request []byte, timeout time.Duration) ([]byte, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var c [8]byte
	if _, err := rand.Read(c[:]); err != nil {
		return nil, err
	}
	cookie := hex.EncodeToString(c[:])
	msg := append([]byte(cookie+" "), request...)
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("NG %s: %w", addr, err)
		}
		reply, ok := bytes.CutPrefix(buf[:n], []byte(cookie+" "))
		if ok {
			return bytes.Clone(reply), nil
		}
	}
}

// NGPing sends an NG ping and checks for the pong.
func NGPing(addr netip.AddrPort, timeout time.Duration) error {
	reply, err := NGCommand(addr, []byte("d7:command4:pinge"), timeout)
	if err != nil {
		return err
	}
	if string(reply) != "d6:result4:ponge" {
		return fmt.Errorf("NG ping %s: unexpected reply %q", addr, reply)
	}
	return nil
}

// NGListCalls sends an NG list command and returns the call ids of the
// calls the relay holds.
func NGListCalls(addr netip.AddrPort, timeout time.Duration) ([]string, error) {
	reply, err := NGCommand(addr, []byte("d7:command4:liste"), timeout)
	if err != nil {
		return nil, err
	}
	v, rest, err := bdecode(reply)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing bytes")
	}
	if err != nil {
		return nil, fmt.Errorf("NG list %s: reply %q: %v", addr, reply, err)
	}
	d, _ := v.(map[string]any)
	if d == nil || d["result"] != "ok" {
		return nil, fmt.Errorf("NG list %s: reply %q", addr, reply)
	}
	list, ok := d["calls"].([]any)
	if !ok {
		return nil, fmt.Errorf("NG list %s: no calls list in %q", addr, reply)
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("NG list %s: call id %v is not a string", addr, e)
		}
		ids = append(ids, s)
	}
	return ids, nil
}

// bdecode decodes one bencoded value from b: strings as string, integers
// as int64, lists as []any, dictionaries as map[string]any. It returns the
// bytes after the value.
func bdecode(b []byte) (any, []byte, error) {
	return bdecodeDepth(b, 0)
}

func bdecodeDepth(b []byte, depth int) (any, []byte, error) {
	if depth > 32 {
		return nil, nil, errors.New("bencode: nested too deeply")
	}
	if len(b) == 0 {
		return nil, nil, errors.New("bencode: unexpected end")
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, nil, errors.New("bencode: unterminated integer")
		}
		n, err := strconv.ParseInt(string(b[1:end]), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("bencode: integer: %v", err)
		}
		return n, b[end+1:], nil
	case c == 'l':
		list := []any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			v, rest, err := bdecodeDepth(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			list = append(list, v)
			b = rest
		}
		if len(b) == 0 {
			return nil, nil, errors.New("bencode: unterminated list")
		}
		return list, b[1:], nil
	case c == 'd':
		dict := map[string]any{}
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			k, rest, err := bdecodeDepth(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, nil, errors.New("bencode: dictionary key is not a string")
			}
			v, rest, err := bdecodeDepth(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			dict[key] = v
			b = rest
		}
		if len(b) == 0 {
			return nil, nil, errors.New("bencode: unterminated dictionary")
		}
		return dict, b[1:], nil
	case c >= '0' && c <= '9':
		colon := bytes.IndexByte(b, ':')
		if colon < 0 {
			return nil, nil, errors.New("bencode: string without colon")
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 || n > len(b)-colon-1 {
			return nil, nil, errors.New("bencode: bad string length")
		}
		return string(b[colon+1 : colon+1+n]), b[colon+1+n:], nil
	default:
		return nil, nil, fmt.Errorf("bencode: unexpected byte %q", c)
	}
}
