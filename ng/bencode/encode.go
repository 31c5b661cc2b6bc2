package bencode

import "strconv"

// Append appends the bencode encoding of v to dst and returns the extended
// slice. Dictionaries are written in their stored order; nothing is sorted
// or checked, so a Dict built by hand with duplicate keys is written as is.
// The zero Value is written as an empty string ("0:").
func Append(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindInt:
		dst = append(dst, 'i')
		dst = strconv.AppendInt(dst, v.Int, 10)
		return append(dst, 'e')
	case KindList:
		dst = append(dst, 'l')
		for i := range v.List {
			dst = Append(dst, v.List[i])
		}
		return append(dst, 'e')
	case KindDict:
		dst = append(dst, 'd')
		for i := range v.Dict {
			dst = appendString(dst, v.Dict[i].Key)
			dst = Append(dst, v.Dict[i].Value)
		}
		return append(dst, 'e')
	default: // KindString, zero Value
		return appendString(dst, v.Str)
	}
}

func appendString(dst []byte, s string) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}

// Encode returns the bencode encoding of v in a newly allocated slice of
// exactly the right size.
func Encode(v Value) []byte {
	return Append(make([]byte, 0, EncodedLen(v)), v)
}

// EncodedLen returns the number of bytes [Append] writes for v.
func EncodedLen(v Value) int {
	switch v.Kind {
	case KindInt:
		return 2 + intLen(v.Int)
	case KindList:
		n := 2
		for i := range v.List {
			n += EncodedLen(v.List[i])
		}
		return n
	case KindDict:
		n := 2
		for i := range v.Dict {
			n += strLen(v.Dict[i].Key) + EncodedLen(v.Dict[i].Value)
		}
		return n
	default:
		return strLen(v.Str)
	}
}

func strLen(s string) int { return intLen(int64(len(s))) + 1 + len(s) }

func intLen(i int64) int {
	n := 1
	u := uint64(i)
	if i < 0 {
		n++
		u = -u
	}
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}
