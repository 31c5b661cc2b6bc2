package ice

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// TestNewCredentials covers RFC 8445 section 5.3: ufrag of at least 24
// random bits, pwd of at least 128 bits, ice-chars only.
func TestNewCredentials(t *testing.T) {
	seen := map[string]bool{}
	for i := range 100 {
		var c Credentials
		if i%2 == 0 {
			c = NewCredentials(nil)
		} else {
			c = NewCredentials(detRand(byte(i)))
		}
		if len(c.Ufrag) != UfragLen || len(c.Pwd) != PwdLen {
			t.Fatalf("lengths %d/%d", len(c.Ufrag), len(c.Pwd))
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if seen[c.Ufrag] || seen[c.Pwd] {
			t.Fatal("repeated credentials")
		}
		seen[c.Ufrag], seen[c.Pwd] = true, true
	}
	if NewCredentials(detRand(7)) != NewCredentials(detRand(7)) {
		t.Error("not deterministic for a deterministic reader")
	}
	// A failing reader falls back to crypto/rand.
	c := NewCredentials(iotest.ErrReader(errors.New("broken")))
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	// All 64 ice-chars are produced from the 64 byte values.
	var b []byte
	for i := range 64 {
		b = append(b, byte(i))
	}
	s := randomICEString(bytes.NewReader(b), 64)
	if s != iceChars {
		t.Errorf("mapping %q", s)
	}
}

func TestCredentialsValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Credentials
		ok   bool
	}{
		{"minimal RFC 8839 lengths", Credentials{"abcd", "abcdefghijklmnopqrstuv"}, true},
		{"RFC 5769 credentials", rfc5769Creds, true},
		{"ufrag too short", Credentials{"abc", "abcdefghijklmnopqrstuv"}, false},
		{"pwd too short", Credentials{"abcd", "abcdefghijklmnopqrstu"}, false},
		{"ufrag with colon", Credentials{"ab:cd", "abcdefghijklmnopqrstuv"}, false},
		{"pwd with space", Credentials{"abcd", "abcdefghijk mnopqrstuvw"}, false},
		{"ufrag too long", Credentials{string(bytes.Repeat([]byte("a"), 257)), "abcdefghijklmnopqrstuv"}, false},
	}
	for _, tc := range tests {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
