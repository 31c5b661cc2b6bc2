package sdes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFuzzCorpus writes the seed corpus of FuzzParse
// (testdata/fuzz/FuzzParse): every a=crypto line of the shared SDP
// fixtures, rtpengine's own output, and some lines with lifetimes, MKIs,
// several keys and session parameters. Run it with
// NGRELAY_WRITE_FUZZ_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NGRELAY_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set NGRELAY_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, value string) {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", value)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := map[string]int{}
	for _, l := range fixtureCryptoLines(t) {
		base := strings.TrimSuffix(l.file, ".sdp")
		n[base]++
		write(fmt.Sprintf("%s-%d", base, n[base]), l.value)
	}
	key30 := "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	for i, v := range []string{
		"1 AEAD_AES_256_GCM inline:aJlwsMK9DihSXfCw4dSps+VqD4ZKRlMN3Y+Dk2oFqv8rixf3mk+aTfi5qFM",
		"3 AES_256_CM_HMAC_SHA1_80 inline:P56MUFD154t0lqGsBSY3fVeZ/4XR1Rg9tgJVR+yh35vXcN5Hnd2wTn/GEavjQw",
		"1 AES_CM_128_HMAC_SHA1_80 inline:yiNFhdZtfy1CcIXHZSjYRcjVO+y3JIyB+uGSTKUN UNENCRYPTED_SRTCP",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4",
		"1 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^20|1:4;inline:" + key30 + "|2^20|2:4 KDR=1 FEC_ORDER=FEC_SRTP",
		"2 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1048576 UNENCRYPTED_SRTP UNAUTHENTICATED_SRTP WSH=128 FEC_KEY=inline:" + key30 + " -FOO=1 BAR",
		"9 NULL_HMAC_SHA1_32 inline:" + key30 + "|255:1",
	} {
		write(fmt.Sprintf("extra-%d", i+1), v)
	}
}
