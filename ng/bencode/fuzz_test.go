package bencode

import (
	"encoding/json"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"i0e", "i-42e", "4:spam", "0:", "le", "de", "lli1eel0:ee", "d1:bi1e1:ai2ee",
		"i03e", "i-0e", "ie", "5:abc", "d1:ai1e1:ai2ee", "i9223372036854775808e",
		"99999999999:", string(Encode(ngOffer())), string(Encode(ngReply())),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// The JSON string escaper must agree with encoding/json on any bytes.
		checkJSONString(t, string(in))

		v, err := Decode(in)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			return
		}
		// Strict decoding admits one spelling per value, so re-encoding
		// must give back the input exactly.
		enc := Encode(v)
		if string(enc) != string(in) {
			t.Fatalf("Encode(Decode(%q)) = %q", in, enc)
		}
		if EncodedLen(v) != len(enc) {
			t.Fatalf("EncodedLen = %d, encoded %d bytes", EncodedLen(v), len(enc))
		}
		v2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", enc, err)
		}
		if !v.Equal(v2) {
			t.Fatalf("round trip changed %q", in)
		}
		if js := AppendJSON(nil, v); !json.Valid(js) {
			t.Fatalf("AppendJSON(Decode(%q)) is invalid JSON: %s", in, js)
		}
		// The same input must decode identically as a prefix.
		v3, n, err := DecodePrefix(append(in[:len(in):len(in)], "i1e"...), DefaultLimits)
		if err != nil || n != len(in) || !v.Equal(v3) {
			t.Fatalf("DecodePrefix disagrees with Decode on %q: n=%d err=%v", in, n, err)
		}
	})
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-1`, `true`, `null`, `1.5`, `1e3`, `{"a":1,"a":2}`,
		`{"z":1,"a":[true,false,null,"x\u00e9\ud800"]}`, `[[[[]]]]`, `{"a" 1}`, `{} {}`,
		string(AppendJSON(nil, ngOffer())),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := FromJSON(in, DefaultLimits)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T is not a *SyntaxError", err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("FromJSON accepted invalid JSON %q", in)
		}
		js := AppendJSON(nil, v)
		v2, err := FromJSON(js, DefaultLimits)
		if err != nil {
			t.Fatalf("FromJSON(AppendJSON(v)) = %v for %s", err, js)
		}
		if !v.Equal(v2) {
			t.Fatalf("JSON round trip changed %q via %s", in, js)
		}
		// Anything FromJSON accepts must survive bencode under the same limits.
		v3, err := Decode(Encode(v))
		if err != nil {
			t.Fatalf("Decode(Encode(FromJSON(%q))): %v", in, err)
		}
		if !v.Equal(v3) {
			t.Fatalf("bencode round trip changed %q", in)
		}
	})
}
