package interop

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBdecode(t *testing.T) {
	v, rest, err := bdecode([]byte("d5:callsl3:abc2:xye6:result2:ok3:numi-42ee!"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"calls": []any{"abc", "xy"}, "result": "ok", "num": int64(-42)}
	if !reflect.DeepEqual(v, want) || string(rest) != "!" {
		t.Fatalf("got %#v rest %q", v, rest)
	}
	for _, bad := range []string{"", "d", "l", "i12", "5:abc", "di1e1:ae", "x", "d3:abce"} {
		if _, _, err := bdecode([]byte(bad)); err == nil {
			t.Errorf("bdecode(%q): no error", bad)
		}
	}
}

// fakeNG answers NG requests like rtpengine would, first with a reply
// carrying a wrong cookie (which the client must ignore).
func fakeNG(t *testing.T, calls []string) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			cookie, req, _ := bytes.Cut(buf[:n], []byte(" "))
			var reply string
			switch string(req) {
			case "d7:command4:pinge":
				reply = "d6:result4:ponge"
			case "d7:command4:liste":
				reply = "d5:callsl"
				for _, id := range calls {
					reply += strconv.Itoa(len(id)) + ":" + id
				}
				reply += "e6:result2:oke"
			default:
				reply = "d6:result5:error12:error-reason7:unknowne"
			}
			c.WriteToUDPAddrPort([]byte("other "+reply), from)
			c.WriteToUDPAddrPort(append(append(cookie, ' '), reply...), from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestNGClient(t *testing.T) {
	addr := fakeNG(t, []string{"call-1", "call-2@host"})
	if err := NGPing(addr, time.Second); err != nil {
		t.Fatal(err)
	}
	ids, err := NGListCalls(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []string{"call-1", "call-2@host"}) {
		t.Fatalf("list: %q", ids)
	}
	if _, err := NGCommand(addr, []byte("d7:command5:querye"), time.Second); err != nil {
		t.Fatal(err)
	}
	// Nobody listening: a bounded wait, then an error.
	dead := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(FreeUDPPort(t)))
	if err := NGPing(dead, 200*time.Millisecond); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
}

func TestWriteRTPPcap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rtp.pcap")
	const n = 7
	if err := writeRTPPcap(path, n); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le, be := binary.LittleEndian, binary.BigEndian
	if le.Uint32(b) != 0xa1b2c3d4 || le.Uint32(b[20:]) != 1 {
		t.Fatalf("bad global header % x", b[:24])
	}
	off, count := 24, 0
	for off < len(b) {
		sec, usec, incl := le.Uint32(b[off:]), le.Uint32(b[off+4:]), int(le.Uint32(b[off+8:]))
		pkt := b[off+16 : off+16+incl]
		off += 16 + incl
		if got, want := uint64(sec-1700000000)*1e6+uint64(usec), uint64(count)*20000; got != want {
			t.Errorf("packet %d at %d µs, want %d", count, got, want)
		}
		ip := pkt[14:34]
		if ipChecksum(ip) != 0 {
			t.Errorf("packet %d: bad IP checksum", count)
		}
		udp, rtp := pkt[34:42], pkt[42:]
		if int(be.Uint16(ip[2:])) != len(pkt)-14 || int(be.Uint16(udp[4:])) != len(pkt)-34 {
			t.Errorf("packet %d: bad lengths", count)
		}
		if rtp[0] != 0x80 || rtp[1] != rtpPayloadType || len(rtp) != 12+rtpPayloadLen ||
			be.Uint16(rtp[2:]) != uint16(1000+count) || be.Uint32(rtp[4:]) != uint32(count*160) {
			t.Errorf("packet %d: bad RTP header % x", count, rtp[:12])
		}
		count++
	}
	if count != n {
		t.Fatalf("%d packets, want %d", count, n)
	}
}

func TestFreePortRange(t *testing.T) {
	a := FreePortRange(t, 84)
	b := FreePortRange(t, 84)
	for _, first := range []int{a, b} {
		if first%2 != 0 || first < 1024 || first+83 > 65535 {
			t.Fatalf("bad range start %d", first)
		}
		if !portsFree(first, first+83) {
			t.Fatalf("range %d-%d not free", first, first+83)
		}
	}
	if a <= b+83 && b <= a+83 {
		t.Fatalf("ranges %d and %d overlap", a, b)
	}
	if p := FreeUDPPort(t); p <= 0 {
		t.Fatalf("FreeUDPPort: %d", p)
	}
	if p := FreeTCPPort(t); p <= 0 {
		t.Fatalf("FreeTCPPort: %d", p)
	}
}

func TestTailFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var sb strings.Builder
	for i := range 100 {
		sb.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tailFile(path, 2, 1000); got != "line 98\nline 99" {
		t.Fatalf("tail: %q", got)
	}
}

func TestReadSIPpStats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stat.csv")
	csv := "StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(C);\n" +
		"2026-01-01\t00:00:00.1\t1.1;0;0;0;\n" +
		"2026-01-01\t00:00:09.1\t9.1;3;20;1;\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := readSIPpStats(path)
	if err != nil {
		t.Fatal(err)
	}
	if st["SuccessfulCall(C)"] != 20 || st["FailedCall(C)"] != 1 {
		t.Fatalf("stats %v", st)
	}
}

// TestKamailioConfigCheck renders both variants of kamailio.cfg and, when
// kamailio is installed, has it check them (kamailio -c).
func TestKamailioConfigCheck(t *testing.T) {
	ng := netip.MustParseAddrPort("127.0.0.1:2223")
	for _, v := range []struct {
		data  map[string]any
		wants []string
	}{
		{map[string]any{"Listen": "127.0.0.1:5060", "ModulesDir": KamailioModulesDir, "Sock": relaySock(ng), "RTPEngine": true,
			"Offer": "rtpengine_offer(" + cfgString(`replace-origin "x"`) + ")", "Answer": "rtpengine_answer()", "Delete": "rtpengine_delete()"},
			[]string{`loadmodule "rtpengine.so"`, `"udp:127.0.0.1:2223"`, `rtpengine_offer("replace-origin \"x\"")`, "rtpengine_answer()", "rtpengine_delete()"}},
		{map[string]any{"Listen": "127.0.0.1:5060", "ModulesDir": KamailioModulesDir, "Sock": "udp:127.0.0.1:7722", "RTPEngine": false,
			"Offer": `rtpproxy_offer("rco")`, "Answer": `rtpproxy_answer("rco")`, "Delete": "unforce_rtp_proxy()"},
			[]string{`loadmodule "rtpproxy.so"`, `"rtpproxy_sock", "udp:127.0.0.1:7722"`, `rtpproxy_offer("rco")`, "unforce_rtp_proxy()"}},
	} {
		var cfg bytes.Buffer
		if err := kamailioConfig.Execute(&cfg, v.data); err != nil {
			t.Fatal(err)
		}
		for _, w := range v.wants {
			if !strings.Contains(cfg.String(), w) {
				t.Errorf("config lacks %s:\n%s", w, cfg.String())
			}
		}
		bin, err := exec.LookPath("kamailio")
		if err != nil {
			continue
		}
		path := filepath.Join(t.TempDir(), "kamailio.cfg")
		if err := os.WriteFile(path, cfg.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", "-f", path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("kamailio -c: %v\n%s", err, out)
		}
	}
	if got := relaySock(netip.MustParseAddrPort("[::1]:22")); got != "udp6:[::1]:22" {
		t.Errorf("relaySock v6: %s", got)
	}
}
