package bencode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FromJSON converts one JSON value (normally an NG request object) to a
// [Value], under the same limits as bencode decoding. The whole input must be
// one JSON value, optionally surrounded by whitespace.
//
// The mapping is:
//
//   - object → KindDict, keeping the keys in document order; duplicate keys
//     are rejected as in bencode;
//   - array → KindList;
//   - string → KindString (JSON's decoding rules apply: invalid UTF-8 and
//     lone surrogates become U+FFFD);
//   - number → KindInt; only integers that fit in an int64 are accepted,
//     numbers with a fraction or exponent ("1.5", "1e3", even "1.0") are
//     rejected;
//   - true → Int(1), false → Int(0);
//   - null → String("").
//
// Errors are of type *[SyntaxError]; for malformed JSON its Msg starts with
// "invalid JSON".
func FromJSON(b []byte, l Limits) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	j := jsonDecoder{dec: dec, lim: l.normalized(), size: len(b)}
	tok, err := j.token()
	if err != nil {
		return Value{}, err
	}
	v, err := j.value(tok)
	if err != nil {
		return Value{}, err
	}
	end := int(dec.InputOffset())
	if _, err := dec.Token(); err != io.EOF {
		return Value{}, &SyntaxError{Offset: end, Msg: "trailing data"}
	}
	return v, nil
}

type jsonDecoder struct {
	dec   *json.Decoder
	lim   Limits
	size  int // input length, the offset reported for truncation
	items int
	depth int
}

func (j *jsonDecoder) fail(msg string) error {
	return &SyntaxError{Offset: int(j.dec.InputOffset()), Msg: msg}
}

func (j *jsonDecoder) token() (json.Token, error) {
	off := int(j.dec.InputOffset())
	tok, err := j.dec.Token()
	if err == nil {
		return tok, nil
	}
	var se *json.SyntaxError
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, &SyntaxError{Offset: j.size, Msg: "invalid JSON: unexpected end of input", Truncated: true}
	case errors.As(err, &se):
		return nil, &SyntaxError{Offset: int(se.Offset), Msg: "invalid JSON: " + se.Error()}
	default:
		return nil, &SyntaxError{Offset: off, Msg: "invalid JSON: " + err.Error()}
	}
}

func (j *jsonDecoder) value(tok json.Token) (Value, error) {
	j.items++
	if j.items > j.lim.MaxItems {
		return Value{}, j.fail(fmt.Sprintf("more than %d values", j.lim.MaxItems))
	}
	switch t := tok.(type) {
	case string:
		if len(t) > j.lim.MaxStringLen {
			return Value{}, j.fail(fmt.Sprintf("string longer than %d bytes", j.lim.MaxStringLen))
		}
		return String(t), nil
	case json.Number:
		s := string(t)
		if strings.ContainsAny(s, ".eE") {
			return Value{}, j.fail("number " + s + " is not an integer")
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, j.fail("integer overflows int64")
		}
		return Int(n), nil
	case bool:
		if t {
			return Int(1), nil
		}
		return Int(0), nil
	case nil:
		return String(""), nil
	case json.Delim:
		j.depth++
		if j.depth > j.lim.MaxDepth {
			return Value{}, j.fail(fmt.Sprintf("nesting deeper than %d", j.lim.MaxDepth))
		}
		var v Value
		var err error
		if t == '[' {
			v, err = j.array()
		} else {
			v, err = j.object()
		}
		j.depth--
		return v, err
	}
	return Value{}, j.fail(fmt.Sprintf("invalid JSON: unexpected token %v", tok))
}

func (j *jsonDecoder) array() (Value, error) {
	var list []Value
	for {
		tok, err := j.token()
		if err != nil {
			return Value{}, err
		}
		if tok == json.Delim(']') {
			return Value{Kind: KindList, List: list}, nil
		}
		v, err := j.value(tok)
		if err != nil {
			return Value{}, err
		}
		list = append(list, v)
	}
}

func (j *jsonDecoder) object() (Value, error) {
	var pairs []Pair
	var seen map[string]struct{}
	for {
		tok, err := j.token()
		if err != nil {
			return Value{}, err
		}
		if tok == json.Delim('}') {
			return Value{Kind: KindDict, Dict: pairs}, nil
		}
		key, ok := tok.(string)
		if !ok { // json.Decoder enforces string keys; be defensive
			return Value{}, j.fail("dictionary key is not a string")
		}
		if len(key) > j.lim.MaxStringLen {
			return Value{}, j.fail(fmt.Sprintf("string longer than %d bytes", j.lim.MaxStringLen))
		}
		if len(pairs) < linearDupLimit {
			for i := range pairs {
				if pairs[i].Key == key {
					return Value{}, j.fail(fmt.Sprintf("duplicate key %q", key))
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*len(pairs))
				for i := range pairs {
					seen[pairs[i].Key] = struct{}{}
				}
			}
			if _, dup := seen[key]; dup {
				return Value{}, j.fail(fmt.Sprintf("duplicate key %q", key))
			}
			seen[key] = struct{}{}
		}
		tok, err = j.token()
		if err != nil {
			return Value{}, err
		}
		v, err := j.value(tok)
		if err != nil {
			return Value{}, err
		}
		pairs = append(pairs, Pair{Key: key, Value: v})
	}
}

// AppendJSON appends v as JSON to dst, for replying to a JSON request.
// Dictionaries become objects with keys in stored order, lists become
// arrays, integers become numbers and strings become JSON strings. Strings
// are escaped as encoding/json does without HTML escaping: bytes that are
// not valid UTF-8 become \ufffd, control characters and U+2028/U+2029 are
// escaped. The zero Value is written as "".
//
// A dictionary built by hand with duplicate keys is written as is, which
// yields JSON with duplicate names.
func AppendJSON(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case KindList:
		dst = append(dst, '[')
		for i := range v.List {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, v.List[i])
		}
		return append(dst, ']')
	case KindDict:
		dst = append(dst, '{')
		for i := range v.Dict {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, v.Dict[i].Key)
			dst = append(dst, ':')
			dst = AppendJSON(dst, v.Dict[i].Value)
		}
		return append(dst, '}')
	default:
		return appendJSONString(dst, v.Str)
	}
}

// appendJSONString quotes s following encoding/json's rules with HTML
// escaping disabled.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	done := 0 // s[:done] has been written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"')
}
