package bencode

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const offerSDP = "v=0\r\n" +
	"o=- 1545997027 1 IN IP4 198.51.100.1\r\n" +
	"s=tester\r\n" +
	"t=0 0\r\n" +
	"m=audio 2000 RTP/AVP 0 8 101\r\n" +
	"c=IN IP4 198.51.100.1\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-15\r\n" +
	"a=sendrecv\r\n"

// ngOffer is a realistic NG "offer" request as Kamailio sends it (keys
// unsorted, flags as lists, a nested dictionary two levels deep).
func ngOffer() Value {
	return Dict(
		P("sdp", String(offerSDP)),
		P("call-id", String("a84b4c76e66710@pc33.example.com")),
		P("from-tag", String("1928301774")),
		P("flags", List(String("trust-address"), String("symmetric"), String("loop-protect"))),
		P("replace", List(String("origin"), String("session-connection"))),
		P("direction", List(String("external"), String("internal"))),
		P("received-from", List(String("IP4"), String("198.51.100.1"))),
		P("transport-protocol", String("RTP/AVP")),
		P("ICE", String("remove")),
		P("rtcp-mux", List(String("demux"))),
		P("codec", Dict(
			P("strip", List(String("PCMU"))),
			P("transcode", List(String("opus/48000/2"))),
		)),
		P("sdp-attr", Dict(
			P("audio", Dict(P("add", List(String("ptime:20"))))),
		)),
		P("TOS", Int(184)),
		P("record-call", String("no")),
		P("command", String("offer")),
	)
}

func ngReply() Value {
	return Dict(
		P("sdp", String(strings.ReplaceAll(offerSDP, "198.51.100.1", "203.0.113.7"))),
		P("result", String("ok")),
	)
}

func TestDecodeAcceptsAndReencodesIdentically(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Value
	}{
		{"an empty string", "0:", String("")},
		{"a string", "4:spam", String("spam")},
		{"a string with binary bytes", "3:\x00\xff\n", String("\x00\xff\n")},
		{"zero", "i0e", Int(0)},
		{"a negative integer", "i-42e", Int(-42)},
		{"the largest int64", "i9223372036854775807e", Int(math.MaxInt64)},
		{"the smallest int64", "i-9223372036854775808e", Int(math.MinInt64)},
		{"an empty list", "le", List()},
		{"an empty dictionary", "de", Dict()},
		{"a nested list", "lli1eel0:ee", List(List(Int(1)), List(String("")))},
		{"a dictionary with unsorted keys", "d1:bi1e1:ai2ee", Dict(P("b", Int(1)), P("a", Int(2)))},
		{"a realistic NG offer", string(Encode(ngOffer())), ngOffer()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if !v.Equal(tt.want) {
				t.Fatalf("Decode(%q) = %#v, want %#v", tt.in, v, tt.want)
			}
			if got := string(Encode(v)); got != tt.in {
				t.Fatalf("Encode(Decode(%q)) = %q", tt.in, got)
			}
			if n := EncodedLen(v); n != len(tt.in) {
				t.Fatalf("EncodedLen = %d, want %d", n, len(tt.in))
			}
		})
	}
}

func TestEncodeWritesKnownBytes(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"a dictionary keeps insertion order", Dict(P("z", Int(1)), P("a", String("x"))), "d1:zi1e1:a1:xe"},
		{"the zero value is an empty string", Value{}, "0:"},
		{"a list holding the zero value", List(Value{}, Int(-1)), "l0:i-1ee"},
		{"a string with CRLF", String("a\r\nb"), "4:a\r\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Encode(tt.v)); got != tt.want {
				t.Fatalf("Encode = %q, want %q", got, tt.want)
			}
			if got := string(Append([]byte("x"), tt.v)); got != "x"+tt.want {
				t.Fatalf("Append = %q, want %q", got, "x"+tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		lim       Limits
		want      string
		truncated bool
	}{
		{name: "a leading zero in an integer", in: "i03e", want: "bencode: offset 1: leading zero in integer"},
		{name: "a leading zero in a negative integer", in: "i-03e", want: "bencode: offset 2: leading zero in integer"},
		{name: "a leading zero in a string length", in: "03:abc", want: "bencode: offset 0: leading zero in string length"},
		{name: "negative zero", in: "i-0e", want: "bencode: offset 0: negative zero in integer"},
		{name: "an empty integer", in: "ie", want: "bencode: offset 0: empty integer"},
		{name: "a lone minus sign", in: "i-e", want: "bencode: offset 0: empty integer"},
		{name: "a plus sign", in: "i+1e", want: "bencode: offset 1: invalid character '+' in integer"},
		{name: "a space in an integer", in: "i 1e", want: "bencode: offset 1: invalid character ' ' in integer"},
		{name: "a letter in an integer", in: "i12xe", want: "bencode: offset 3: invalid character 'x' in integer"},
		{name: "an integer above int64", in: "i9223372036854775808e", want: "bencode: offset 1: integer overflows int64"},
		{name: "an integer below int64", in: "i-9223372036854775809e", want: "bencode: offset 1: integer overflows int64"},
		{name: "an unterminated integer", in: "i12", want: "bencode: offset 0: unterminated integer", truncated: true},
		{name: "a string running past the end", in: "5:abc", want: "bencode: offset 0: truncated string", truncated: true},
		{name: "a string length without colon at the end", in: "12", want: "bencode: offset 0: unterminated string length", truncated: true},
		{name: "a letter in a string length", in: "3x:abc", want: "bencode: offset 1: invalid character 'x' in string length"},
		{name: "a huge claimed string length", in: "99999999999:", want: "bencode: offset 0: string longer than 1048576 bytes"},
		{name: "an absurd claimed string length", in: "99999999999999999999999999:", want: "bencode: offset 0: string longer than 1048576 bytes"},
		{name: "an unterminated list", in: "li1e", want: "bencode: offset 0: unterminated list", truncated: true},
		{name: "an unterminated nested list", in: "lli1ee", want: "bencode: offset 0: unterminated list", truncated: true},
		{name: "an unterminated dictionary", in: "d1:ai1e", want: "bencode: offset 0: unterminated dictionary", truncated: true},
		{name: "a dictionary ending after a key", in: "d1:a", want: "bencode: offset 0: unterminated dictionary", truncated: true},
		{name: "a dictionary key missing its value", in: "d1:ae", want: "bencode: offset 4: missing value for key \"a\""},
		{name: "an integer dictionary key", in: "di1ei2ee", want: "bencode: offset 1: dictionary key is not a string"},
		{name: "a list dictionary key", in: "dlei1ee", want: "bencode: offset 1: dictionary key is not a string"},
		{name: "a duplicate dictionary key", in: "d7:call-id1:a7:call-id1:be", want: "bencode: offset 13: duplicate key \"call-id\""},
		{name: "a duplicate key in a large dictionary", in: largeDictWithDuplicate(40), want: "bencode: offset 321: duplicate key \"k05\""},
		{name: "trailing data", in: "i1ei2e", want: "bencode: offset 3: trailing data"},
		{name: "a trailing newline", in: "de\n", want: "bencode: offset 2: trailing data"},
		{name: "empty input", in: "", want: "bencode: offset 0: unexpected end of input", truncated: true},
		{name: "a stray end marker", in: "e", want: "bencode: offset 0: invalid character 'e' at start of value"},
		{name: "a negative string length", in: "-1:", want: "bencode: offset 0: invalid character '-' at start of value"},
		{name: "a non-ASCII byte", in: "\xff", want: "bencode: offset 0: invalid character 0xff at start of value"},
		{name: "nesting deeper than the default limit", in: strings.Repeat("l", 33) + strings.Repeat("e", 33), want: "bencode: offset 32: nesting deeper than 32"},
		{name: "nesting deeper than a custom limit", in: "d1:ad1:bdeee", lim: Limits{MaxDepth: 2}, want: "bencode: offset 8: nesting deeper than 2"},
		{name: "more values than allowed", in: "li1ei2ei3ee", lim: Limits{MaxItems: 3}, want: "bencode: offset 7: more than 3 values"},
		{name: "a string longer than allowed", in: "4:abcd", lim: Limits{MaxStringLen: 3}, want: "bencode: offset 0: string longer than 3 bytes"},
		{name: "a key longer than allowed", in: "d4:abcdi1ee", lim: Limits{MaxStringLen: 3}, want: "bencode: offset 1: string longer than 3 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.lim
			if lim == (Limits{}) {
				lim = DefaultLimits
			}
			v, err := DecodeLimits([]byte(tt.in), lim)
			if err == nil {
				t.Fatalf("Decode(%q) = %#v, want error %q", tt.in, v, tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("Decode(%q) error\n got %q\nwant %q", tt.in, err.Error(), tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			if se.Truncated != tt.truncated || errors.Is(err, io.ErrUnexpectedEOF) != tt.truncated {
				t.Fatalf("Truncated = %v, errors.Is(io.ErrUnexpectedEOF) = %v, want %v",
					se.Truncated, errors.Is(err, io.ErrUnexpectedEOF), tt.truncated)
			}
		})
	}
}

// largeDictWithDuplicate returns a dictionary of n distinct keys followed by
// a repeat of key k05, large enough to use map-based duplicate detection.
func largeDictWithDuplicate(n int) string {
	var b strings.Builder
	b.WriteString("d")
	for i := range n {
		b.WriteString("3:k")
		b.WriteByte('0' + byte(i/10))
		b.WriteByte('0' + byte(i%10))
		b.WriteString("i1e")
	}
	b.WriteString("3:k05i2ee")
	return b.String()
}

func TestDecodeAcceptsALargeDictionaryWithoutDuplicates(t *testing.T) {
	in := strings.TrimSuffix(largeDictWithDuplicate(40), "3:k05i2ee") + "e"
	v, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Dict) != 40 {
		t.Fatalf("got %d keys, want 40", len(v.Dict))
	}
}

func TestDecodeAcceptsExactlyTheLimits(t *testing.T) {
	deep := strings.Repeat("l", 32) + strings.Repeat("e", 32)
	if _, err := Decode([]byte(deep)); err != nil {
		t.Errorf("32 levels of nesting: %v", err)
	}
	if _, err := DecodeLimits([]byte("li1ei2ee"), Limits{MaxItems: 3}); err != nil {
		t.Errorf("3 values under MaxItems 3: %v", err)
	}
	if _, err := DecodeLimits([]byte("3:abc"), Limits{MaxStringLen: 3}); err != nil {
		t.Errorf("3-byte string under MaxStringLen 3: %v", err)
	}
}

func TestEveryProperPrefixOfAValueIsTruncated(t *testing.T) {
	full := Encode(ngOffer())
	for i := range len(full) {
		_, _, err := DecodePrefix(full[:i], DefaultLimits)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("DecodePrefix(first %d bytes) = %v, want a truncation error", i, err)
		}
	}
}

func TestDecodePrefixWalksConcatenatedValues(t *testing.T) {
	in := []byte("i1e3:abcle" + "d1:ai-5ee" + string(Encode(ngOffer())))
	want := []Value{Int(1), String("abc"), List(), Dict(P("a", Int(-5))), ngOffer()}
	var got []Value
	for len(in) > 0 {
		v, n, err := DecodePrefix(in, DefaultLimits)
		if err != nil {
			t.Fatalf("after %d values: %v", len(got), err)
		}
		got = append(got, v)
		in = in[n:]
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("value %d = %#v, want %#v", i, got[i], want[i])
		}
	}
}

func TestDecodePrefixReportsTheBytesConsumed(t *testing.T) {
	v, n, err := DecodePrefix([]byte("d3:foo3:bare garbage"), DefaultLimits)
	if err != nil || n != 12 {
		t.Fatalf("DecodePrefix = %v, %d, %v; want 12 bytes consumed", v, n, err)
	}
}

func TestZeroLimitsMeanDefaultLimits(t *testing.T) {
	deep := strings.Repeat("l", 33) + strings.Repeat("e", 33)
	_, err := DecodeLimits([]byte(deep), Limits{})
	if err == nil || !strings.Contains(err.Error(), "nesting deeper than 32") {
		t.Fatalf("got %v, want the default depth limit", err)
	}
}

func TestHugeClaimedLengthsDoNotAllocate(t *testing.T) {
	inputs := [][]byte{
		[]byte("99999999999:"),
		[]byte("1048576:abc"),     // within MaxStringLen, past the end
		[]byte("d1048575:abcdef"), // key claims the same
		[]byte("l1048576:"),
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range 100 {
			if _, err := Decode(in); err == nil {
				t.Fatalf("Decode(%q) succeeded", in)
			}
		}
		runtime.ReadMemStats(&after)
		if perCall := (after.TotalAlloc - before.TotalAlloc) / 100; perCall > 1024 {
			t.Errorf("Decode(%q) allocated %d bytes per call", in, perCall)
		}
	}
}

func TestStringValuesShareTheDecodedInputCopy(t *testing.T) {
	in := []byte("d3:key5:valuee")
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	in[9] = 'X' // the decoder must have copied the input
	if s, _ := v.GetString("key"); s != "value" {
		t.Fatalf("value changed with the input buffer: %q", s)
	}
}

func TestDictionaryHelpers(t *testing.T) {
	v := Dict(P("call-id", String("abc")), P("port", Int(2000)), P("num", String("-17")),
		P("flags", List(String("x"))), P("codec", Dict(P("strip", List()))))

	t.Run("Get finds a key", func(t *testing.T) {
		if e, ok := v.Get("call-id"); !ok || e.Str != "abc" {
			t.Fatalf("Get = %v, %v", e, ok)
		}
	})
	t.Run("Get misses an absent key and a non-dictionary", func(t *testing.T) {
		if _, ok := v.Get("nope"); ok {
			t.Fatal("found absent key")
		}
		if _, ok := String("x").Get("x"); ok {
			t.Fatal("found key in a string")
		}
	})
	t.Run("GetString renders an integer in decimal", func(t *testing.T) {
		if s, ok := v.GetString("port"); !ok || s != "2000" {
			t.Fatalf("GetString = %q, %v", s, ok)
		}
		if _, ok := v.GetString("flags"); ok {
			t.Fatal("GetString accepted a list")
		}
	})
	t.Run("GetInt parses a canonical decimal string", func(t *testing.T) {
		if n, ok := v.GetInt("num"); !ok || n != -17 {
			t.Fatalf("GetInt = %d, %v", n, ok)
		}
		if n, ok := v.GetInt("port"); !ok || n != 2000 {
			t.Fatalf("GetInt = %d, %v", n, ok)
		}
		for _, s := range []string{"", "-", "-0", "01", "1x", " 1", "99999999999999999999"} {
			w := Dict(P("n", String(s)))
			if n, ok := w.GetInt("n"); ok {
				t.Errorf("GetInt accepted %q as %d", s, n)
			}
		}
	})
	t.Run("GetList and GetDict check the kind", func(t *testing.T) {
		if l, ok := v.GetList("flags"); !ok || len(l) != 1 {
			t.Fatalf("GetList = %v, %v", l, ok)
		}
		if _, ok := v.GetList("codec"); ok {
			t.Fatal("GetList accepted a dictionary")
		}
		if d, ok := v.GetDict("codec"); !ok || len(d.Dict) != 1 {
			t.Fatalf("GetDict = %v, %v", d, ok)
		}
	})
	t.Run("Set replaces in place and appends new keys", func(t *testing.T) {
		w := Dict(P("a", Int(1)), P("b", Int(2)))
		w.Set("a", String("x"))
		w.Set("c", Int(3))
		if got := string(Encode(w)); got != "d1:a1:x1:bi2e1:ci3ee" {
			t.Fatalf("after Set: %q", got)
		}
	})
	t.Run("Set turns the zero value into a dictionary", func(t *testing.T) {
		var w Value
		w.Set("result", String("ok"))
		if got := string(Encode(w)); got != "d6:result2:oke" {
			t.Fatalf("after Set: %q", got)
		}
	})
	t.Run("Set panics on a list", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		w := List()
		w.Set("a", Int(1))
	})
	t.Run("Delete removes a key keeping order", func(t *testing.T) {
		w := Dict(P("a", Int(1)), P("b", Int(2)), P("c", Int(3)))
		if !w.Delete("b") || w.Delete("b") {
			t.Fatal("Delete reported wrongly")
		}
		if got := string(Encode(w)); got != "d1:ai1e1:ci3ee" {
			t.Fatalf("after Delete: %q", got)
		}
	})
	t.Run("IsZero is true only for the zero value", func(t *testing.T) {
		if !(Value{}).IsZero() || String("").IsZero() || Int(0).IsZero() || List().IsZero() || Dict().IsZero() {
			t.Fatal("IsZero wrong")
		}
	})
	t.Run("Equal treats nil and empty containers alike", func(t *testing.T) {
		if !List().Equal(Value{Kind: KindList, List: []Value{}}) || !Dict().Equal(Value{Kind: KindDict, Dict: []Pair{}}) {
			t.Fatal("nil and empty differ")
		}
		if Dict(P("a", Int(1)), P("b", Int(2))).Equal(Dict(P("b", Int(2)), P("a", Int(1)))) {
			t.Fatal("Equal ignored key order")
		}
	})
}

func TestNGOfferSurvivesBencodeAndJSONRoundTrips(t *testing.T) {
	offer := ngOffer()
	enc := Encode(offer)
	if !bytes.Contains(enc, []byte("3:sdp"+strconv.Itoa(len(offerSDP))+":v=0\r\no=")) {
		t.Fatalf("SDP not encoded verbatim: %q", enc[:40])
	}
	dec, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Equal(offer) {
		t.Fatal("bencode round trip changed the offer")
	}
	if s, _ := dec.GetString("sdp"); s != offerSDP {
		t.Fatal("SDP CRLFs were not preserved")
	}
	sub, _ := dec.GetDict("sdp-attr")
	audio, _ := sub.GetDict("audio")
	if add, _ := audio.GetList("add"); len(add) != 1 || add[0].Str != "ptime:20" {
		t.Fatalf("nested dictionary lost: %#v", sub)
	}

	js := AppendJSON(nil, dec)
	if !json.Valid(js) {
		t.Fatalf("AppendJSON produced invalid JSON: %s", js)
	}
	back, err := FromJSON(js, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(offer) {
		t.Fatalf("JSON round trip changed the offer:\n%s", js)
	}
}

func TestFromJSONConverts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Value
	}{
		{"an object keeping key order", `{"z":1,"a":"x","m":[]}`, Dict(P("z", Int(1)), P("a", String("x")), P("m", List()))},
		{"nested objects and arrays", `{"codec":{"strip":["PCMA","G722"]}}`, Dict(P("codec", Dict(P("strip", List(String("PCMA"), String("G722"))))))},
		{"true and false to 1 and 0", `[true,false]`, List(Int(1), Int(0))},
		{"null to an empty string", `{"label":null}`, Dict(P("label", String("")))},
		{"negative and large integers", `[-42,9223372036854775807,-9223372036854775808,-0]`, List(Int(-42), Int(math.MaxInt64), Int(math.MinInt64), Int(0))},
		{"escaped strings", `"a\r\n\u00e9\"\\"`, String("a\r\né\"\\")},
		{"surrounding whitespace", " \n{ } \n", Dict()},
		{"a top-level number", `7`, Int(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := FromJSON([]byte(tt.in), DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Equal(tt.want) {
				t.Fatalf("FromJSON(%s) = %#v, want %#v", tt.in, v, tt.want)
			}
		})
	}
}

func TestFromJSONRejects(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		lim       Limits
		want      string
		truncated bool
	}{
		{name: "a fraction", in: `{"a":1.5}`, want: "bencode: offset 8: number 1.5 is not an integer"},
		{name: "an integral fraction", in: `[1.0]`, want: "bencode: offset 4: number 1.0 is not an integer"},
		{name: "an exponent", in: `[1e3]`, want: "bencode: offset 4: number 1e3 is not an integer"},
		{name: "an integer above int64", in: `[9223372036854775808]`, want: "bencode: offset 20: integer overflows int64"},
		{name: "a duplicate key", in: `{"call-id":"a","call-id":"b"}`, want: "bencode: offset 24: duplicate key \"call-id\""},
		{name: "trailing data", in: `{} {}`, want: "bencode: offset 2: trailing data"},
		{name: "trailing garbage", in: `{}x`, want: "bencode: offset 2: trailing data"},
		{name: "empty input", in: ``, want: "bencode: offset 0: invalid JSON: unexpected end of input", truncated: true},
		{name: "an unterminated object", in: `{"a":1`, want: "bencode: offset 6: invalid JSON: unexpected end of input", truncated: true},
		{name: "a syntax error", in: `{"a" 1}`, want: "bencode: offset 5: invalid JSON: invalid character '1' after object key"},
		{name: "nesting deeper than allowed", in: `[[[]]]`, lim: Limits{MaxDepth: 2}, want: "bencode: offset 3: nesting deeper than 2"},
		{name: "more values than allowed", in: `[1,2,3]`, lim: Limits{MaxItems: 3}, want: "bencode: offset 6: more than 3 values"},
		{name: "a string longer than allowed", in: `["abcd"]`, lim: Limits{MaxStringLen: 3}, want: "bencode: offset 7: string longer than 3 bytes"},
		{name: "a key longer than allowed", in: `{"abcd":1}`, lim: Limits{MaxStringLen: 3}, want: "bencode: offset 7: string longer than 3 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := FromJSON([]byte(tt.in), tt.lim)
			if err == nil {
				t.Fatalf("FromJSON(%s) = %#v, want error", tt.in, v)
			}
			if err.Error() != tt.want {
				t.Fatalf("FromJSON(%s) error\n got %q\nwant %q", tt.in, err.Error(), tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Truncated != tt.truncated {
				t.Fatalf("error %#v: want *SyntaxError with Truncated=%v", err, tt.truncated)
			}
		})
	}
}

func TestAppendJSONWrites(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"a dictionary in stored order", Dict(P("sdp", String("v=0\r\n")), P("result", String("ok"))), `{"sdp":"v=0\r\n","result":"ok"}`},
		{"lists and integers", List(Int(-1), List(), Dict()), `[-1,[],{}]`},
		{"the zero value as an empty string", Value{}, `""`},
		{"HTML characters unescaped", String("<a&b>"), `"<a&b>"`},
		{"invalid UTF-8 as U+FFFD", String("a\xffb"), `"a\ufffdb"`},
		{"control characters and line separators", String("\x00\x1f\b\f\t\u2028\u2029\x7f"), `"\u0000\u001f\b\f\t\u2028\u2029` + "\x7f" + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendJSON(nil, tt.v)); got != tt.want {
				t.Fatalf("AppendJSON = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", "\"\\/", "\x00\x01\x1f\x7f", "é€𝄞", "\xff\xfe", "\xe2\x80", "\xed\xa0\x80",
		"\u2028x\u2029", "<>&", "a\r\nb\tc", offerSDP}
	for b := range 256 {
		inputs = append(inputs, string([]byte{byte(b)}), "x"+string([]byte{byte(b)})+"\xc3")
	}
	for _, s := range inputs {
		checkJSONString(t, s)
	}
}

// checkJSONString compares appendJSONString with encoding/json's encoder
// with HTML escaping off.
func checkJSONString(t testing.TB, s string) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(buf.String(), "\n")
	if got := string(appendJSONString(nil, s)); got != want {
		t.Fatalf("appendJSONString(%q) = %s, encoding/json says %s", s, got, want)
	}
}

func TestKindNames(t *testing.T) {
	for k, want := range map[Kind]string{0: "none", KindString: "string", KindInt: "int", KindList: "list", KindDict: "dict", 9: "Kind(9)"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}

func BenchmarkDecodeOffer(b *testing.B) {
	in := Encode(ngOffer())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeReply(b *testing.B) {
	v := ngReply()
	b.SetBytes(int64(EncodedLen(v)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Encode(v)
	}
}

func BenchmarkAppendReplyReusingBuffer(b *testing.B) {
	v := ngReply()
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(EncodedLen(v)))
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], v)
	}
}

func BenchmarkFromJSONOffer(b *testing.B) {
	in := AppendJSON(nil, ngOffer())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromJSON(in, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
