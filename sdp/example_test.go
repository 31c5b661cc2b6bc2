package sdp_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ngrelay/ngrelay/sdp"
)

func ExampleParse() {
	offer := "v=0\n" +
		"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\n" +
		"s=-\n" +
		"c=IN IP4 192.0.2.10\n" +
		"t=0 0\n" +
		"m=audio 49170 RTP/AVP 0 8 101\n" +
		"a=rtpmap:101 telephone-event/8000\n" +
		"a=sendonly\n" +
		"m=video 0 RTP/AVP 96\n"
	s, err := sdp.Parse([]byte(offer))
	if err != nil {
		panic(err)
	}
	c, _ := s.Connection()
	addr, _ := c.Addr()
	fmt.Println("connection:", addr)
	for _, m := range s.Media {
		fmt.Println(m.Type, m.Port, m.Proto, strings.Join(m.Formats, ","), m.Direction(), m.Rejected())
	}
	fmt.Println("lossless:", string(s.Bytes()) == offer)

	_, err = sdp.Parse([]byte("v=0\ns=-\nm=audio x RTP/AVP 0\n"))
	fmt.Println(err)
	// Output:
	// connection: 192.0.2.10
	// audio 49170 RTP/AVP 0,8,101 sendonly false
	// video 0 RTP/AVP 96 sendrecv true
	// lossless: true
	// sdp: line 3: malformed m= line: port "x" not numeric
}

func ExampleSession_SetConnection() {
	s, err := sdp.Parse([]byte("v=0\n" +
		"o=- 1 1 IN IP4 192.0.2.10\n" +
		"s=-\n" +
		"t=0 0\n" +
		"m=audio 49170 RTP/AVP 0\n" +
		"c=IN IP4 192.0.2.10\n" +
		"a=rtcp:49171 IN IP4 192.0.2.10\n" +
		"a=sendrecv\n"))
	if err != nil {
		panic(err)
	}
	relay := sdp.NewConnection(netip.MustParseAddr("203.0.113.5"))
	s.SetConnection(relay) // no session-level c=: inserted before t=
	m := s.Media[0]
	m.RemoveConnection()
	m.SetPort(30000)
	m.SetRTCP(sdp.RTCPAttr{Port: 30001})
	m.SetDirection(sdp.SendOnly)
	fmt.Print(s)
	// Output:
	// v=0
	// o=- 1 1 IN IP4 192.0.2.10
	// s=-
	// c=IN IP4 203.0.113.5
	// t=0 0
	// m=audio 30000 RTP/AVP 0
	// a=rtcp:30001
	// a=sendonly
}

func ExampleMedia_RemoveAttrFunc() {
	s, _ := sdp.Parse([]byte("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" +
		"a=candidate:1 1 udp 2122260223 192.0.2.3 9 typ host\r\n" +
		"a=ice-ufrag:0PIq\r\na=ice-pwd:i7ccvGPXLDO5JqMwbCUqMcyN\r\n" +
		"a=fingerprint:sha-256 AB:50\r\na=setup:actpass\r\na=rtpmap:0 PCMU/8000\r\n"))
	m := s.Media[0]
	n := m.RemoveAttrFunc(func(name, _ string) bool {
		return name == "candidate" || strings.HasPrefix(name, "ice-") || name == "fingerprint" || name == "setup"
	})
	m.SetProto("RTP/AVP")
	fmt.Printf("removed %d\n%q\n", n, s.Bytes())
	// Output:
	// removed 5
	// "v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}
