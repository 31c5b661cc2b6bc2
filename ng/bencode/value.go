// Package bencode is a strict, fast bencode codec for rtpengine's NG control
// protocol.
//
// Decoding produces a small typed tree of [Value]s. Encoding is
// deterministic: dictionaries are written in insertion (or decoding) order and
// are never reordered, because rtpengine and Kamailio do not sort keys either.
//
// # Strictness
//
// The decoder accepts exactly one canonical spelling of every value, so that
// for any input b that [Decode] accepts, Encode(Decode(b)) == b. It rejects:
//
//   - leading zeros in integers ("i03e") and string lengths ("03:abc");
//   - negative zero ("i-0e") and empty integers ("ie", "i-e");
//   - integers that do not fit in an int64;
//   - strings whose length runs past the end of the input;
//   - unterminated lists and dictionaries;
//   - dictionary keys that are not strings, and duplicate keys;
//   - data after the top-level value ([Decode] and [DecodeLimits] only;
//     [DecodePrefix] returns the number of bytes consumed instead).
//
// Dictionary keys need not be sorted.
//
// # Limits
//
// Every decode runs under [Limits]: a maximum nesting depth, a maximum total
// number of values and a maximum string length. Lengths claimed by the input
// are checked against the limits and against the remaining input before
// anything is allocated, so decoding never allocates more than a constant
// factor times the input size, whatever the input claims.
//
// # Memory
//
// The decoder converts its input to a string once; every string value in the
// result (keys included) is a substring of it. Retaining any one of them
// keeps the whole input's copy alive; copy with strings.Clone if that matters.
//
// # JSON
//
// rtpengine also accepts JSON objects in place of bencode dictionaries.
// [FromJSON] and [AppendJSON] convert between JSON and [Value]; see their
// documentation for how JSON types map to bencode.
package bencode

import "strconv"

// Kind is the type of a [Value].
type Kind uint8

// The kinds of bencode value. The zero Kind marks the zero [Value].
const (
	KindString Kind = iota + 1 // a byte string
	KindInt                    // a signed 64-bit integer
	KindList                   // a list of values
	KindDict                   // a dictionary of string keys to values
)

// String returns the kind's name, e.g. "dict".
func (k Kind) String() string {
	switch k {
	case 0:
		return "none"
	case KindString:
		return "string"
	case KindInt:
		return "int"
	case KindList:
		return "list"
	case KindDict:
		return "dict"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one bencode value. Only the field selected by Kind is meaningful.
// Strings are byte strings, held as Go strings with no encoding implied.
//
// The zero Value (Kind 0) means "no value"; [Append] and [AppendJSON] write
// it as an empty string.
type Value struct {
	Kind Kind
	Str  string  // KindString
	Int  int64   // KindInt
	List []Value // KindList
	Dict []Pair  // KindDict, in the order decoded or inserted
}

// Pair is one dictionary entry.
type Pair struct {
	Key   string
	Value Value
}

// String returns a string Value.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Int returns an integer Value.
func Int(i int64) Value { return Value{Kind: KindInt, Int: i} }

// List returns a list Value holding vs (not copied).
func List(vs ...Value) Value { return Value{Kind: KindList, List: vs} }

// Dict returns a dictionary Value holding ps (not copied) in the given order.
// It does not check for duplicate keys; use [Value.Set] to build a
// dictionary with replacement semantics.
func Dict(ps ...Pair) Value { return Value{Kind: KindDict, Dict: ps} }

// P returns a [Pair]; it is shorthand for building dictionaries with [Dict].
func P(key string, v Value) Pair { return Pair{Key: key, Value: v} }

// IsZero reports whether v is the zero Value, i.e. no value at all. An empty
// string, zero integer, empty list or empty dictionary is not zero.
func (v Value) IsZero() bool { return v.Kind == 0 }

// Get returns the value stored under key in the dictionary v. It reports
// false if v is not a dictionary or has no such key.
func (v Value) Get(key string) (Value, bool) {
	if v.Kind != KindDict {
		return Value{}, false
	}
	for i := range v.Dict {
		if v.Dict[i].Key == key {
			return v.Dict[i].Value, true
		}
	}
	return Value{}, false
}

// GetString returns the string stored under key in the dictionary v. An
// integer is accepted too and returned in decimal, because NG clients are
// not consistent about which they send. It reports false if the key is
// missing or holds a list or dictionary.
func (v Value) GetString(key string) (string, bool) {
	e, ok := v.Get(key)
	if !ok {
		return "", false
	}
	switch e.Kind {
	case KindString:
		return e.Str, true
	case KindInt:
		return strconv.FormatInt(e.Int, 10), true
	}
	return "", false
}

// GetInt returns the integer stored under key in the dictionary v. A string
// holding a canonical decimal integer (as bencode would spell it: no sign
// other than a leading '-', no leading zeros, no "-0") is accepted too. It
// reports false otherwise.
func (v Value) GetInt(key string) (int64, bool) {
	e, ok := v.Get(key)
	if !ok {
		return 0, false
	}
	switch e.Kind {
	case KindInt:
		return e.Int, true
	case KindString:
		n, msg := parseInt(e.Str)
		return n, msg == ""
	}
	return 0, false
}

// GetList returns the list stored under key in the dictionary v.
func (v Value) GetList(key string) ([]Value, bool) {
	e, ok := v.Get(key)
	if !ok || e.Kind != KindList {
		return nil, false
	}
	return e.List, true
}

// GetDict returns the dictionary stored under key in the dictionary v.
func (v Value) GetDict(key string) (Value, bool) {
	e, ok := v.Get(key)
	if !ok || e.Kind != KindDict {
		return Value{}, false
	}
	return e, true
}

// Set stores val under key in the dictionary v, replacing an existing entry
// in place (keeping its position) or appending a new one. A zero v becomes
// an empty dictionary first. Set panics if v is any other kind.
func (v *Value) Set(key string, val Value) {
	switch v.Kind {
	case 0:
		v.Kind = KindDict
	case KindDict:
	default:
		panic("bencode: Set on " + v.Kind.String() + " value")
	}
	for i := range v.Dict {
		if v.Dict[i].Key == key {
			v.Dict[i].Value = val
			return
		}
	}
	v.Dict = append(v.Dict, Pair{Key: key, Value: val})
}

// Delete removes key from the dictionary v, keeping the order of the other
// entries. It reports whether the key was present.
func (v *Value) Delete(key string) bool {
	if v.Kind != KindDict {
		return false
	}
	for i := range v.Dict {
		if v.Dict[i].Key == key {
			v.Dict = append(v.Dict[:i], v.Dict[i+1:]...)
			return true
		}
	}
	return false
}

// Equal reports whether v and w are the same value: same kind, and equal
// contents with dictionary entries in the same order. A nil and an empty
// List or Dict are equal.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case KindString:
		return v.Str == w.Str
	case KindInt:
		return v.Int == w.Int
	case KindList:
		if len(v.List) != len(w.List) {
			return false
		}
		for i := range v.List {
			if !v.List[i].Equal(w.List[i]) {
				return false
			}
		}
	case KindDict:
		if len(v.Dict) != len(w.Dict) {
			return false
		}
		for i := range v.Dict {
			if v.Dict[i].Key != w.Dict[i].Key || !v.Dict[i].Value.Equal(w.Dict[i].Value) {
				return false
			}
		}
	}
	return true
}
