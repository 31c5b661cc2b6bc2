package framing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ngrelay/ngrelay/ng/bencode"
)

const offerBody = "d7:command5:offer7:call-id31:a84b4c76e66710@pc33.example.com8:from-tag10:1928301774" +
	"3:sdp93:v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\nm=audio 2000 RTP/AVP 0\r\n" +
	"5:flagsl13:trust-addresse7:replacel6:origin18:session-connectione" +
	"5:codecd5:stripl4:PCMAee3:TOSi184ee"

const jsonBody = `{"command":"offer","call-id":"x{y}\"z\\","sdp":"v=0\r\n","flags":["a]","{"],"codec":{"strip":[]}}`

func TestParseAccepts(t *testing.T) {
	cookie64 := strings.Repeat("c", 64)
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{"a bencode body", "5323_1 d7:command4:pinge", Message{Cookie: "5323_1", Body: []byte("d7:command4:pinge")}},
		{"a JSON body", `abc {"command":"ping"}`, Message{Cookie: "abc", Body: []byte(`{"command":"ping"}`), JSON: true}},
		{"a realistic offer", "8725_1 " + offerBody, Message{Cookie: "8725_1", Body: []byte(offerBody)}},
		{"a 64-byte cookie", cookie64 + " de", Message{Cookie: cookie64, Body: []byte("de")}},
		{"a one-byte cookie", "x de", Message{Cookie: "x", Body: []byte("de")}},
		{"a cookie of punctuation", "!~{}:\" de", Message{Cookie: "!~{}:\"", Body: []byte("de")}},
		{"a body with trailing newline", "c de\r\n", Message{Cookie: "c", Body: []byte("de")}},
		{"a body with a space inside", "c d1:a3:x ye", Message{Cookie: "c", Body: []byte("d1:a3:x ye")}},
		{"a garbled body after a valid start", "c dxyz", Message{Cookie: "c", Body: []byte("dxyz")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if m.Cookie != tt.want.Cookie || !bytes.Equal(m.Body, tt.want.Body) || m.JSON != tt.want.JSON {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, m, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		text string
	}{
		{"an empty datagram", "", ErrMissingCookie, "framing: missing cookie"},
		{"a leading space", " d7:command4:pinge", ErrMissingCookie, "framing: missing cookie"},
		{"a 65-byte cookie", strings.Repeat("c", 65) + " de", ErrCookieTooLong, "framing: cookie too long"},
		{"a long datagram without a space", strings.Repeat("c", 100), ErrCookieTooLong, "framing: cookie too long"},
		{"a cookie with a control byte", "ab\x01c de", ErrInvalidCookie, "framing: cookie contains a byte that is not printable ASCII"},
		{"a cookie ended by a tab", "abc\tde", ErrInvalidCookie, "framing: cookie contains a byte that is not printable ASCII"},
		{"a cookie with a high byte", "ab\xc3\xa9 de", ErrInvalidCookie, "framing: cookie contains a byte that is not printable ASCII"},
		{"a cookie alone", "abc", ErrMissingBody, "framing: missing body"},
		{"a cookie and space", "abc ", ErrMissingBody, "framing: missing body"},
		{"a cookie and whitespace", "abc \r\n", ErrMissingBody, "framing: missing body"},
		{"a list body", "abc le", ErrBadBody, "framing: body is neither a bencode dictionary nor a JSON object"},
		{"a JSON array body", "abc []", ErrBadBody, "framing: body is neither a bencode dictionary nor a JSON object"},
		{"two spaces", "abc  de", ErrBadBody, "framing: body is neither a bencode dictionary nor a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.want) || err.Error() != tt.text {
				t.Fatalf("Parse(%q) = %+v, %v; want %q", tt.in, m, err, tt.text)
			}
		})
	}
}

func TestParseBodyAliasesTheDatagram(t *testing.T) {
	d := []byte("c d1:ai1ee")
	m, err := Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	d[len(d)-2] = 'X'
	if m.Body[len(m.Body)-2] != 'X' {
		t.Fatal("Body does not alias the datagram")
	}
}

func TestAppendReplyWritesCookieSpaceBody(t *testing.T) {
	got := AppendReply([]byte("prev|"), "5323_1", []byte("d6:result4:ponge"))
	if string(got) != "prev|5323_1 d6:result4:ponge" {
		t.Fatalf("AppendReply = %q", got)
	}
	m, err := Parse(got[len("prev|"):])
	if err != nil || m.Cookie != "5323_1" || string(m.Body) != "d6:result4:ponge" {
		t.Fatalf("reply does not parse back: %+v, %v", m, err)
	}
}

// stream is a TCP byte stream of several messages and the messages in it.
func stream() ([]byte, []Message) {
	msgs := []Message{
		{Cookie: "1_a", Body: []byte("d7:command4:pinge")},
		{Cookie: "2_b", Body: []byte(offerBody)},
		{Cookie: "3_c", Body: []byte(jsonBody), JSON: true},
		{Cookie: "4_d", Body: []byte("de")},
		{Cookie: "5_e", Body: []byte(`{}`), JSON: true},
		{Cookie: "6_f", Body: []byte("d1:ali-5ei0e0:l0:ee1:b" + "3:e}de")},
	}
	var b []byte
	for _, m := range msgs {
		b = AppendReply(b, m.Cookie, m.Body)
	}
	return b, msgs
}

func readAll(t *testing.T, r *Reader) ([]Message, error) {
	t.Helper()
	var got []Message
	for {
		m, err := r.Next()
		if err != nil {
			return got, err
		}
		got = append(got, m)
		if len(got) > 1000 {
			t.Fatal("runaway reader")
		}
	}
}

func sameMessages(t *testing.T, got, want []Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Cookie != want[i].Cookie || !bytes.Equal(got[i].Body, want[i].Body) || got[i].JSON != want[i].JSON {
			t.Fatalf("message %d = {%q %q %v}, want {%q %q %v}", i,
				got[i].Cookie, got[i].Body, got[i].JSON, want[i].Cookie, want[i].Body, want[i].JSON)
		}
	}
}

func TestReaderSplitsTheStream(t *testing.T) {
	data, want := stream()
	readers := []struct {
		name string
		r    func() io.Reader
	}{
		{"with all messages in one read", func() io.Reader { return bytes.NewReader(data) }},
		{"with one byte per read", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		{"with half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
		{"with EOF arriving with the last data", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }},
		{"with empty reads in between", func() io.Reader { return &stutterReader{data: data} }},
	}
	for _, rd := range readers {
		for _, limit := range []int{0, len(offerBody) + 4, 4096} {
			t.Run(rd.name, func(t *testing.T) {
				got, err := readAll(t, NewReader(rd.r(), limit))
				if err != io.EOF {
					t.Fatalf("final error %v, want io.EOF", err)
				}
				sameMessages(t, got, want)
			})
		}
	}
}

// stutterReader returns a few bytes, then an empty read, alternately.
type stutterReader struct {
	data  []byte
	empty bool
}

func (s *stutterReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	s.empty = !s.empty
	if s.empty {
		return 0, nil
	}
	n := copy(p[:min(len(p), 3)], s.data)
	s.data = s.data[n:]
	return n, nil
}

func TestReaderSkipsLineBreaksBetweenMessages(t *testing.T) {
	in := "\r\n1 de\n\n2 {}\r\n"
	got, err := readAll(t, NewReader(strings.NewReader(in), 0))
	if err != io.EOF {
		t.Fatalf("final error %v, want io.EOF", err)
	}
	sameMessages(t, got, []Message{{Cookie: "1", Body: []byte("de")}, {Cookie: "2", Body: []byte("{}"), JSON: true}})
}

func TestReaderReturnsEOFOnAnEmptyStream(t *testing.T) {
	if _, err := NewReader(strings.NewReader(""), 0).Next(); err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
}

func TestReaderReturnsCopies(t *testing.T) {
	data := []byte("1 d1:ai1ee2 d1:bi2ee")
	r := NewReader(bytes.NewReader(data), 0)
	m1, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	m1.Body[0] = 'X'
	m2, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if string(m2.Body) != "d1:bi2ee" || data[2] != 'd' {
		t.Fatal("Body aliases the reader's buffer or the input")
	}
}

func TestReaderAcceptsAMessageOfExactlyTheLimit(t *testing.T) {
	msg := "c d1:a3:xyze" // 12 bytes
	for _, rd := range []io.Reader{strings.NewReader(msg + msg), iotest.OneByteReader(strings.NewReader(msg + msg))} {
		got, err := readAll(t, NewReader(rd, len(msg)))
		if err != io.EOF || len(got) != 2 {
			t.Fatalf("got %d messages, %v; want 2 and io.EOF", len(got), err)
		}
	}
}

func TestReaderRejects(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		good  int // messages expected before the error
		want  error
		text  string
	}{
		{name: "a message one byte over the limit", in: "c d1:a4:wxyze", limit: 12,
			want: ErrTooLarge, text: "framing: message too large: message at offset 0 exceeds 12 bytes"},
		{name: "a JSON message over the limit", in: `c {"a":"wxyz"}`, limit: 12,
			want: ErrTooLarge, text: "framing: message too large: message at offset 0 exceeds 12 bytes"},
		{name: "a string claiming more than the limit", in: "ok de" + "c d3:sdp2000000:v=0", limit: 1000, good: 1,
			want: ErrTooLarge, text: "framing: message too large: message at offset 5 exceeds 1000 bytes"},
		{name: "a string length with absurdly many digits", in: "c d" + strings.Repeat("9", 40), limit: 0,
			want: ErrTooLarge, text: "framing: message too large: message at offset 0 exceeds 1048576 bytes"},
		{name: "a missing cookie", in: " d7:command4:pinge", want: ErrMissingCookie, text: "framing: missing cookie"},
		{name: "a cookie too long", in: strings.Repeat("x", 65), want: ErrCookieTooLong, text: "framing: cookie too long"},
		{name: "a cookie with a control byte after a message", in: "1 de\x00", good: 1,
			want: ErrInvalidCookie, text: "framing: cookie contains a byte that is not printable ASCII"},
		{name: "a list body", in: "c le", want: ErrBadBody, text: "framing: body is neither a bencode dictionary nor a JSON object"},
		{name: "garbage in a bencode body", in: "c d1:ax", want: ErrMalformedBody, text: "framing: malformed body: unexpected 'x' at offset 6"},
		{name: "a negative string length", in: "c d1:a-1:e", want: ErrMalformedBody, text: "framing: malformed body: unexpected '-' at offset 6"},
		{name: "a letter in an integer", in: "c di1xe", want: ErrMalformedBody, text: "framing: malformed body: unexpected 'x' at offset 5"},
		{name: "an overlong integer", in: "c d1:ai" + strings.Repeat("1", 30), want: ErrMalformedBody,
			text: "framing: malformed body: overlong integer ending in '1' at offset 27"},
		{name: "mismatched JSON brackets", in: `c {"a":[}`, want: ErrMalformedBody, text: "framing: malformed body: mismatched '}' at offset 8"},
		{name: "a stream ending inside a message", in: "1 de2 d1:a", good: 1,
			want: io.ErrUnexpectedEOF, text: "framing: stream ended inside a message at offset 4: unexpected EOF"},
		{name: "a stream ending after a cookie", in: "1 de2 ", good: 1,
			want: io.ErrUnexpectedEOF, text: "framing: stream ended inside a message at offset 4: unexpected EOF"},
		{name: "a stream ending inside a JSON string", in: `1 {"a":"}`,
			want: io.ErrUnexpectedEOF, text: "framing: stream ended inside a message at offset 0: unexpected EOF"},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			if oneByte {
				name += " one byte at a time"
			}
			t.Run(name, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tt.in)
				if oneByte {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src, tt.limit)
				got, err := readAll(t, r)
				if len(got) != tt.good {
					t.Fatalf("got %d messages before the error, want %d", len(got), tt.good)
				}
				if !errors.Is(err, tt.want) || err.Error() != tt.text {
					t.Fatalf("error %q, want %q", err, tt.text)
				}
				if _, again := r.Next(); again != err {
					t.Fatalf("error not sticky: then %v", again)
				}
			})
		}
	}
}

func TestReaderRejectsAHugeClaimWithoutReadingIt(t *testing.T) {
	src := io.MultiReader(strings.NewReader("c d3:sdp99999999:v=0\r\n"), iotest.ErrReader(errors.New("read past the claim")))
	_, err := NewReader(src, 65536).Next()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Next = %v, want ErrTooLarge", err)
	}
}

func TestReaderPassesOnReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("1 de2 d"), iotest.ErrReader(boom))
	r := NewReader(src, 0)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != boom {
		t.Fatalf("Next = %v, want the read error", err)
	}
}

func TestReaderGivesUpOnEndlessEmptyReads(t *testing.T) {
	if _, err := NewReader(emptyReader{}, 0).Next(); err != io.ErrNoProgress {
		t.Fatalf("Next = %v, want io.ErrNoProgress", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderScansLinearlyOnOneByteReads(t *testing.T) {
	// A maximum-size message of tiny tokens delivered one byte at a time
	// must not be rescanned from its start on every read.
	body := "dl" + strings.Repeat("i0e", 100000) + "ee"
	in := "c " + body
	r := NewReader(iotest.OneByteReader(strings.NewReader(in)), len(in))
	m, err := r.Next()
	if err != nil || string(m.Body) != body {
		t.Fatalf("Next = %d bytes, %v", len(m.Body), err)
	}
}

func BenchmarkReaderOffers(b *testing.B) {
	one := AppendReply(nil, "8725_1", []byte(offerBody))
	data := bytes.Repeat(one, 100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), 0)
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

func TestFixturesAreValidNGBodies(t *testing.T) {
	_, msgs := stream()
	for _, m := range msgs {
		if m.JSON {
			if _, err := bencode.FromJSON(m.Body, bencode.DefaultLimits); err != nil {
				t.Errorf("%s: %v", m.Body, err)
			}
		} else if _, err := bencode.Decode(m.Body); err != nil {
			t.Errorf("%q: %v", m.Body, err)
		}
	}
}
