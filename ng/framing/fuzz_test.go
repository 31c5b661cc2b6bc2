package framing

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

var sentinels = []error{ErrMissingCookie, ErrCookieTooLong, ErrInvalidCookie, ErrMissingBody, ErrBadBody}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"5323_1 d7:command4:pinge", `abc {"command":"ping"}`, "8725_1 " + offerBody, "", " de", "abc",
		"abc ", "abc le", "ab\x01 de", "c de\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(in)
		if err != nil {
			for _, s := range sentinels {
				if err == s {
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
		if len(m.Cookie) < 1 || len(m.Cookie) > MaxCookieLen {
			t.Fatalf("cookie length %d", len(m.Cookie))
		}
		for i := 0; i < len(m.Cookie); i++ {
			if c := m.Cookie[i]; c < 0x21 || c > 0x7e {
				t.Fatalf("cookie byte %#x", c)
			}
		}
		if len(m.Body) == 0 || m.JSON != (m.Body[0] == '{') || (!m.JSON && m.Body[0] != 'd') {
			t.Fatalf("body %q with JSON=%v", m.Body, m.JSON)
		}
		m2, err := Parse(AppendReply(nil, m.Cookie, m.Body))
		if err != nil || m2.Cookie != m.Cookie || !bytes.Equal(m2.Body, m.Body) || m2.JSON != m.JSON {
			t.Fatalf("reply of %+v parses as %+v, %v", m, m2, err)
		}
	})
}

// chunkReader returns reads of 1, 2, ..., n, 1, 2, ... bytes.
type chunkReader struct {
	data []byte
	n, i int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.i = c.i%c.n + 1
	k := copy(p[:min(len(p), c.i)], c.data)
	c.data = c.data[k:]
	return k, nil
}

func collect(r *Reader) ([]Message, error) {
	var msgs []Message
	for {
		m, err := r.Next()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
	}
}

func FuzzReader(f *testing.F) {
	data, _ := stream()
	f.Add(data, uint8(0), uint16(0))
	f.Add(data, uint8(7), uint16(200))
	for _, s := range []string{
		"1 de\r\n2 {}", "c d3:sdp99999999:v=0", "c {\"a\":\"}\\\"\"}", "c d1:ai" + "123456789012345678901234e",
		" de", "c le", "1 de2 d1:a", `c {"a":[}`, "c dl" + "i0ei1ei2e" + "ee",
	} {
		f.Add([]byte(s), uint8(3), uint16(16))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8, limit uint16) {
		whole, err1 := collect(NewReader(bytes.NewReader(in), int(limit)))
		parts, err2 := collect(NewReader(&chunkReader{data: in, n: int(chunk) + 1}, int(limit)))
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Fatalf("chunking changed the final error: %v vs %v", err1, err2)
		}
		if len(whole) != len(parts) {
			t.Fatalf("chunking changed the message count: %d vs %d", len(whole), len(parts))
		}
		consumed := 0
		for i, m := range whole {
			p := parts[i]
			if m.Cookie != p.Cookie || !bytes.Equal(m.Body, p.Body) || m.JSON != p.JSON {
				t.Fatalf("chunking changed message %d", i)
			}
			last := m.Body[len(m.Body)-1]
			if (m.JSON && last != '}') || (!m.JSON && last != 'e') {
				t.Fatalf("message %d body %q ends badly", i, m.Body)
			}
			if pm, err := Parse(AppendReply(nil, m.Cookie, m.Body)); err != nil || pm.Cookie != m.Cookie || !bytes.Equal(pm.Body, m.Body) || pm.JSON != m.JSON {
				t.Fatalf("message %d does not survive Parse: %v", i, err)
			}
			if !m.JSON {
				// The splitter and the decoder must agree on where a
				// bencode body ends.
				_, n, err := bencode.DecodePrefix(m.Body, bencode.DefaultLimits)
				if err == nil && n != len(m.Body) {
					t.Fatalf("message %d: decoder ends at %d of %d", i, n, len(m.Body))
				}
				if errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("message %d: decoder wants more than the splitter gave: %v", i, err)
				}
			}
			consumed += len(m.Cookie) + 1 + len(m.Body)
		}
		if consumed > len(in) {
			t.Fatalf("messages hold %d bytes of %d input", consumed, len(in))
		}
	})
}
