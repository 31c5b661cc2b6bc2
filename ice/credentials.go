package ice

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Credential lengths produced by NewCredentials and accepted by
// Credentials.Validate (RFC 8445 section 5.3, RFC 8839 section 5.4).
const (
	UfragLen    = 8  // length of generated ufrags (24 bits of randomness required, 48 given)
	PwdLen      = 24 // length of generated passwords (128 bits required, 144 given)
	MinUfragLen = 4
	MinPwdLen   = 22
	MaxCredLen  = 256
)

// iceChars are the 64 ice-char characters of RFC 8445 section 15.4
// (ALPHA / DIGIT / "+" / "/").
const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// Credentials are one side's ICE short-term credentials: the ufrag and pwd
// of the a=ice-ufrag and a=ice-pwd SDP attributes.
type Credentials struct {
	Ufrag string
	Pwd   string
}

// NewCredentials returns fresh random credentials: an 8-character ufrag and
// a 24-character password made of ice-chars. rand is the source of
// randomness; nil means crypto/rand. Should rand fail, crypto/rand is used
// instead.
func NewCredentials(rand io.Reader) Credentials {
	return Credentials{Ufrag: randomICEString(rand, UfragLen), Pwd: randomICEString(rand, PwdLen)}
}

func randomICEString(rand io.Reader, n int) string {
	b := make([]byte, n)
	if rand == nil {
		rand = crand.Reader
	}
	if _, err := io.ReadFull(rand, b); err != nil {
		_, _ = crand.Read(b) // never fails (Go 1.24+)
	}
	for i := range b {
		b[i] = iceChars[b[i]&63] // 64 symbols: no modulo bias
	}
	return string(b)
}

// ErrBadCredentials is wrapped by Credentials.Validate errors.
var ErrBadCredentials = errors.New("ice: bad credentials")

// Validate checks the lengths and characters of c against the ice-ufrag
// and ice-pwd grammar of RFC 8839 section 5.4 (ufrag 4-256, pwd 22-256
// ice-chars).
func (c Credentials) Validate() error {
	if n := len(c.Ufrag); n < MinUfragLen || n > MaxCredLen || !isICEString(c.Ufrag) {
		return fmt.Errorf("%w: ufrag %q", ErrBadCredentials, c.Ufrag)
	}
	if n := len(c.Pwd); n < MinPwdLen || n > MaxCredLen || !isICEString(c.Pwd) {
		return fmt.Errorf("%w: pwd of length %d", ErrBadCredentials, len(c.Pwd))
	}
	return nil
}

func isICEChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

func isICEString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isICEChar(s[i]) {
			return false
		}
	}
	return true
}
