package sdp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	manyMedia := "v=0\r\n" + strings.Repeat("m=audio 9 RTP/AVP 0\r\n", MaxMedia+1)
	manyLines := "v=0\r\n" + strings.Repeat("a=x\r\n", MaxLines)
	for _, tc := range []struct {
		name, in, want string
		line           int
	}{
		{"empty", "", "sdp: empty input", 0},
		{"blank only", "\r\n\r\n", "sdp: empty input", 0},
		{"spaces only", "  ", "sdp: empty input", 0},
		{"too large", "v=0\r\n" + strings.Repeat("a", MaxSize), "sdp: input too large (65541 bytes, max 65536)", 0},
		{"first not v", "o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n", `sdp: line 1: first line must be v=, got "o=- 1 1 IN IP4 192.0.2.1"`, 1},
		{"first garbage", "hello", `sdp: line 1: first line must be v=, got "hello"`, 1},
		{"leading blank", "\r\nv=0\r\n", "sdp: line 1: empty line", 1},
		{"blank in middle", "v=0\r\ns=-\r\n\r\nt=0 0\r\n", "sdp: line 3: empty line", 3},
		{"no equals", "v=0\r\ns=-\r\nhello world\r\n", `sdp: line 3: malformed line "hello world": want "X=value"`, 3},
		{"space before equals", "v=0\r\na =foo\r\n", `sdp: line 2: malformed line "a =foo": want "X=value"`, 2},
		{"leading space", "v=0\r\n a=foo\r\n", `sdp: line 2: malformed line " a=foo": want "X=value"`, 2},
		{"digit type", "v=0\r\n1=foo\r\n", `sdp: line 2: malformed line "1=foo": want "X=value"`, 2},
		{"one char", "v=0\r\na\r\n", `sdp: line 2: malformed line "a": want "X=value"`, 2},
		{"long line quoted short", "v=0\r\n" + strings.Repeat("z", 100), `sdp: line 2: malformed line "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"...: want "X=value"`, 2},
		{"bare CR", "v=0\r\ns=a\rb\r\n", "sdp: line 2: invalid character 0x0d (bare CR)", 2},
		{"CR CR LF", "v=0\r\r\n", "sdp: line 1: invalid character 0x0d (bare CR)", 1},
		{"NUL", "v=0\r\ns=a\x00b\r\n", "sdp: line 2: invalid character 0x00", 2},
		{"m port not numeric", "v=0\r\ns=-\r\nm=audio abc RTP/AVP 0\r\n", `sdp: line 3: malformed m= line: port "abc" not numeric`, 3},
		{"m port negative", "v=0\r\ns=-\r\nm=audio -1 RTP/AVP 0\r\n", `sdp: line 3: malformed m= line: port "-1" not numeric`, 3},
		{"m port too big", "v=0\r\ns=-\r\nm=audio 65536 RTP/AVP 0\r\n", "sdp: line 3: malformed m= line: port 65536 out of range", 3},
		{"m port huge", "v=0\r\nm=audio 99999999999999999999999 RTP/AVP 0\r\n", "sdp: line 2: malformed m= line: port 99999999999999999999999 out of range", 2},
		{"m port count", "v=0\r\nm=audio 49170/x RTP/AVP 0\r\n", `sdp: line 2: malformed m= line: port count "x" not numeric`, 2},
		{"m port count empty", "v=0\r\nm=audio 49170/ RTP/AVP 0\r\n", `sdp: line 2: malformed m= line: port count "" not numeric`, 2},
		{"m port count zero", "v=0\r\nm=audio 49170/0 RTP/AVP 0\r\n", "sdp: line 2: malformed m= line: port count 0 out of range", 2},
		{"m missing proto", "v=0\r\ns=-\r\nm=audio 49170\r\n", "sdp: line 3: malformed m= line: missing proto", 3},
		{"m missing proto trailing space", "v=0\r\nm=audio 49170 \t \r\n", "sdp: line 2: malformed m= line: missing proto", 2},
		{"m missing port", "v=0\r\nm=audio\r\n", "sdp: line 2: malformed m= line: missing port", 2},
		{"m empty", "v=0\r\nm= \r\n", "sdp: line 2: malformed m= line: missing media type", 2},
		{"c too few", "v=0\r\nc=IN\r\n", "sdp: line 2: malformed c= line: too few fields", 2},
		{"c empty", "v=0\r\nm=audio 9 RTP/AVP 0\r\nc=\r\n", "sdp: line 3: malformed c= line: too few fields", 3},
		{"o too few", "v=0\r\no=- 1 1 IN\r\n", "sdp: line 2: malformed o= line: too few fields", 2},
		{"too many media", manyMedia, "sdp: line 130: too many media sections (max 128)", 130},
		{"too many lines", manyLines, "sdp: line 2049: too many lines (max 2048)", 2049},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %q", s.Bytes())
			}
			if s != nil {
				t.Errorf("non-nil session with error")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != tc.line {
				t.Errorf("ParseError line = %+v, want %d", pe, tc.line)
			}
		})
	}
}

func TestParseLimitsAccepted(t *testing.T) {
	in := "v=0\r\n" + strings.Repeat("m=audio 9 RTP/AVP 0\r\n", MaxMedia) + strings.Repeat("a=x\r\n", MaxLines-MaxMedia-1) + "\r\n"
	if _, err := Parse([]byte(in)); err == nil {
		t.Fatalf("2049 lines with a trailing blank line accepted")
	}
	in = strings.TrimSuffix(in, "\r\n")
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Media) != MaxMedia || string(s.Bytes()) != in {
		t.Fatalf("limits: %d media", len(s.Media))
	}
	big := "v=0\r\na=" + strings.Repeat("x", MaxSize-9) + "\r\n"
	if len(big) != MaxSize {
		t.Fatalf("len %d", len(big))
	}
	if _, err := Parse([]byte(big)); err != nil {
		t.Fatal(err)
	}
}
