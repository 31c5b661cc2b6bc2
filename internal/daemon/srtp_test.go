package daemon

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/ngrelay/ngrelay/crypto/sdes"
	"github.com/ngrelay/ngrelay/crypto/srtp"
	pionsrtp "github.com/pion/srtp/v3"
)

// cryptoLines returns the a=crypto values of an SDP body.
func cryptoLines(sdp string) []string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a=crypto:"); ok {
			out = append(out, v)
		}
	}
	return out
}

// pionContext builds a test-side SRTP context from an a=crypto value.
func pionContext(t *testing.T, line string) *pionsrtp.Context {
	t.Helper()
	f := strings.Fields(line)
	suite, err := srtp.ParseSuite(f[1])
	if err != nil {
		t.Fatal(err)
	}
	b64 := strings.TrimPrefix(strings.Split(f[2], "|")[0], "inline:")
	keySalt, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil {
		t.Fatalf("key %q: %v", b64, err)
	}
	ctx, err := pionsrtp.CreateContext(keySalt[:suite.KeyLen()], keySalt[suite.KeyLen():], suite.Profile())
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func readPacket(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(deadline())
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("waiting for a packet on %s: %v", c.LocalAddr(), err)
	}
	return buf[:n]
}

// TestPlainToSDESAndBack: A speaks RTP/AVP, B RTP/SAVP; ngrelay offers B
// its own keys, decrypts what B sends and encrypts what A sends.
func TestPlainToSDESAndBack(t *testing.T) {
	for _, suite := range []string{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_256_GCM", "AES_256_CM_HMAC_SHA1_80"} {
		t.Run(suite, func(t *testing.T) {
			td := startDaemon(t, nil)
			a, b := newEndpoint(t), newEndpoint(t)
			r := td.cmd(t, "command", "offer", "call-id", "sdes-"+suite, "from-tag", "A", "sdp", a.sdp(), "transport-protocol", "RTP/SAVP")
			mustOK(t, r)
			offer, _ := r.GetString("sdp")
			if !strings.Contains(offer, " RTP/SAVP ") {
				t.Fatalf("offer not RTP/SAVP:\n%s", offer)
			}
			var ours string // the line B picks
			for _, l := range cryptoLines(offer) {
				if strings.Fields(l)[1] == suite {
					ours = l
				}
			}
			if ours == "" {
				t.Fatalf("suite %s not offered:\n%s", suite, offer)
			}
			_, toB, toBRTCP := relayPorts(t, offer)
			bKey, err := sdes.Generate(0, mustSuite(t, suite), nil)
			if err != nil {
				t.Fatal(err)
			}
			bKey.Tag = mustAtoi(t, strings.Fields(ours)[0])
			answerSDP := strings.Replace(b.sdp(), "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:" + bKey.String() + "\r\n"
			r = td.cmd(t, "command", "answer", "call-id", "sdes-"+suite, "from-tag", "A", "to-tag", "B", "sdp", answerSDP)
			mustOK(t, r)
			answer, _ := r.GetString("sdp")
			if strings.Contains(answer, "a=crypto") || !strings.Contains(answer, " RTP/AVP ") {
				t.Fatalf("answer to the plain side:\n%s", answer)
			}
			_, toA, toARTCP := relayPorts(t, answer)

			fromRelay := pionContext(t, ours)        // decrypts what ngrelay sends B
			toRelay := pionContext(t, bKey.String()) // encrypts what B sends
			for i := range 3 {
				plain := rtpPacket(uint16(100+i), 0xa1a1, "hello from A")
				sendTo(t, a.rtp, toA, plain)
				enc := readPacket(t, b.rtp)
				if string(enc) == string(plain) {
					t.Fatal("B got plain RTP")
				}
				dec, err := fromRelay.DecryptRTP(nil, enc, nil)
				if err != nil {
					t.Fatalf("B cannot decrypt: %v", err)
				}
				if string(dec) != string(plain) {
					t.Fatalf("B decrypted %x, want %x", dec, plain)
				}
				fromB := rtpPacket(uint16(200+i), 0xb1b1, "hello from B")
				enc, err = toRelay.EncryptRTP(nil, fromB, nil)
				if err != nil {
					t.Fatal(err)
				}
				sendTo(t, b.rtp, toB, enc)
				expectPacket(t, a.rtp, fromB)
			}
			// SRTCP both ways.
			sendTo(t, a.rtcp, toARTCP, rtcpPacket(0xa1a1))
			dec, err := fromRelay.DecryptRTCP(nil, readPacket(t, b.rtcp), nil)
			if err != nil || string(dec) != string(rtcpPacket(0xa1a1)) {
				t.Fatalf("SRTCP to B: %x %v", dec, err)
			}
			encRTCP, err := toRelay.EncryptRTCP(nil, rtcpPacket(0xb1b1), nil)
			if err != nil {
				t.Fatal(err)
			}
			sendTo(t, b.rtcp, toBRTCP, encRTCP)
			expectPacket(t, a.rtcp, rtcpPacket(0xb1b1))

			// Replayed and tampered SRTP from B are dropped and counted.
			fromB := rtpPacket(300, 0xb1b1, "once")
			enc, _ := toRelay.EncryptRTP(nil, fromB, nil)
			sendTo(t, b.rtp, toB, enc)
			expectPacket(t, a.rtp, fromB)
			sendTo(t, b.rtp, toB, enc) // replay
			tampered := append([]byte(nil), enc...)
			tampered[len(tampered)-1] ^= 0xff
			sendTo(t, b.rtp, toB, tampered)
			expectNothing(t, a.rtp)
			q := td.cmd(t, "command", "query", "call-id", "sdes-"+suite)
			tags, _ := q.Get("tags")
			bt, _ := tags.Get("B")
			medias, _ := bt.GetList("medias")
			streams, _ := medias[0].GetList("streams")
			stats, _ := streams[0].Get("stats")
			if n, _ := stats.GetInt("errors"); n != 2 {
				t.Fatalf("B's stream counted %d errors, want 2 (replay and tamper)", n)
			}
		})
	}
}

// TestSDESToPlainAndBack: A offers RTP/SAVP with crypto; B is plain.
// ngrelay answers A with its own key.
func TestSDESToPlainAndBack(t *testing.T) {
	td := startDaemon(t, nil)
	a, b := newEndpoint(t), newEndpoint(t)
	aKey, err := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	if err != nil {
		t.Fatal(err)
	}
	offerSDP := strings.Replace(a.sdp(), "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:" + aKey.String() + "\r\n"
	r := td.cmd(t, "command", "offer", "call-id", "sdes-rev", "from-tag", "A", "sdp", offerSDP, "transport-protocol", "RTP/AVP")
	mustOK(t, r)
	offer, _ := r.GetString("sdp")
	if strings.Contains(offer, "a=crypto") || !strings.Contains(offer, " RTP/AVP ") {
		t.Fatalf("offer to the plain side:\n%s", offer)
	}
	_, toB, _ := relayPorts(t, offer)
	r = td.cmd(t, "command", "answer", "call-id", "sdes-rev", "from-tag", "A", "to-tag", "B", "sdp", b.sdp())
	mustOK(t, r)
	answer, _ := r.GetString("sdp")
	lines := cryptoLines(answer)
	if len(lines) != 1 || !strings.Contains(answer, " RTP/SAVP ") || !strings.HasPrefix(lines[0], "1 AES_CM_128_HMAC_SHA1_80 ") {
		t.Fatalf("answer to the SRTP side:\n%s", answer)
	}
	_, toA, _ := relayPorts(t, answer)
	toRelay := pionContext(t, aKey.String())
	fromRelay := pionContext(t, lines[0])
	plain := rtpPacket(1, 0xa1a1, "secret from A")
	enc, _ := toRelay.EncryptRTP(nil, plain, nil)
	sendTo(t, a.rtp, toA, enc)
	expectPacket(t, b.rtp, plain)
	fromB := rtpPacket(1, 0xb1b1, "plain from B")
	sendTo(t, b.rtp, toB, fromB)
	dec, err := fromRelay.DecryptRTP(nil, readPacket(t, a.rtp), nil)
	if err != nil || string(dec) != string(fromB) {
		t.Fatalf("A decrypts %x, %v", dec, err)
	}
	// A re-INVITE with the same key keeps ngrelay's key.
	r = td.cmd(t, "command", "offer", "call-id", "sdes-rev", "from-tag", "A", "to-tag", "B", "sdp", offerSDP, "transport-protocol", "RTP/AVP")
	mustOK(t, r)
	r = td.cmd(t, "command", "answer", "call-id", "sdes-rev", "from-tag", "A", "to-tag", "B", "sdp", b.sdp())
	answer2, _ := r.GetString("sdp")
	if l2 := cryptoLines(answer2); len(l2) != 1 || l2[0] != lines[0] {
		t.Fatalf("re-INVITE changed ngrelay's key: %v -> %v", lines, l2)
	}
	fromB = rtpPacket(2, 0xb1b1, "after re-INVITE")
	sendTo(t, b.rtp, toB, fromB)
	if dec, err := fromRelay.DecryptRTP(nil, readPacket(t, a.rtp), nil); err != nil || string(dec) != string(fromB) {
		t.Fatalf("after re-INVITE A decrypts %x, %v", dec, err)
	}
}

// TestSDESPassthroughWithoutRecrypt: both sides SRTP: the crypto lines pass
// untouched and so do the packets.
func TestSDESPassthroughWithoutRecrypt(t *testing.T) {
	td := startDaemon(t, nil)
	a := newEndpoint(t)
	aKey, _ := sdes.Generate(1, srtp.AES128CMSHA1_80, nil)
	offerSDP := strings.Replace(a.sdp(), "RTP/AVP", "RTP/SAVP", 1) + "a=crypto:" + aKey.String() + "\r\n"
	r := td.cmd(t, "command", "offer", "call-id", "pass", "from-tag", "A", "sdp", offerSDP)
	mustOK(t, r)
	offer, _ := r.GetString("sdp")
	if l := cryptoLines(offer); len(l) != 1 || l[0] != aKey.String() {
		t.Fatalf("passthrough changed crypto: %v", l)
	}
	r = td.cmd(t, "command", "offer", "call-id", "recrypt", "from-tag", "A", "sdp", offerSDP, "flags", []string{"recrypt"})
	mustOK(t, r)
	offer, _ = r.GetString("sdp")
	if l := cryptoLines(offer); len(l) < 2 || strings.Contains(offer, aKey.String()) {
		t.Fatalf("recrypt did not re-key: %v", l)
	}
}

func mustSuite(t *testing.T, name string) srtp.Suite {
	s, err := srtp.ParseSuite(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustAtoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
