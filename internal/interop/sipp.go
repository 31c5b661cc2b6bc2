package interop

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The SIPp scenarios. Both endpoints play rtp.pcap (written next to them
// at run time) with SIPp's PCAP play, from the media address their SDP
// names; SIPp 3.6 does not count received RTP (its rtp_stream only shows
// an input rate, and -rtp_echo would bounce packets between two echoing
// ends forever), so the test listens on those media addresses itself.
var (
	//go:embed testdata/uac.xml
	uacScenario []byte
	//go:embed testdata/uas.xml
	uasScenario []byte
)

// SIPpOptions configure RunSIPpCalls. The zero value (plus Proxy) is 20
// calls, 5 at a time, 10 new calls per second, 3 s from ACK to BYE,
// 2 s of RTP (100 packets) from each end of each call.
type SIPpOptions struct {
	// Proxy is where the caller sends its requests (Kamailio); the
	// callee is in the Request-URI.
	Proxy netip.AddrPort
	// Calls is the total number of calls (sipp -m); default 20.
	Calls int
	// Concurrent is the most calls at once (sipp -l); default 5.
	Concurrent int
	// Rate is new calls per second (sipp -r); default 10.
	Rate int
	// CallLength is the caller's pause between ACK and BYE (sipp -d);
	// default 3 s. It should exceed the media (MediaPackets * 20 ms) by
	// enough for the callee, which starts its media when the ACK
	// arrives, to finish before the BYE.
	CallLength time.Duration
	// MediaPackets is the number of RTP packets (20 ms each) each end
	// plays per call; default 100.
	MediaPackets int
	// Timeout bounds the whole run; default 30 s plus twice the time the
	// calls need at Concurrent calls at a time.
	Timeout time.Duration
	// Binary is the SIPp executable; default "sipp" from PATH.
	Binary string
}

// MediaStats is what one endpoint of one call received on its media
// address.
type MediaStats struct {
	Port    int              // the endpoint's media (SDP) port
	Packets int              // RTP packets received
	Other   int              // other datagrams received
	Sources []netip.AddrPort // distinct senders, in order of arrival
}

// SIPpResult is the outcome of RunSIPpCalls.
type SIPpResult struct {
	Calls      int // calls attempted (Options.Calls)
	Successful int // successful calls, from the caller's statistics
	Failed     int // failed calls, from the caller's statistics
	// CallerExit and CalleeExit are SIPp's exit codes (0: all calls
	// successful; -1 when it had to be killed).
	CallerExit, CalleeExit int
	// PacketsPerCall is the number of RTP packets each end sent per
	// call.
	PacketsPerCall int
	// Caller[i] and Callee[i] are what the caller's and the callee's
	// media addresses received in the call SIPp numbered i+1 on that
	// side (the two sides number calls independently).
	Caller, Callee []MediaStats
	// CallerMediaPorts and CalleeMediaPorts are the first and last UDP
	// port of each side's media ports (SIPp's own and the per-call ones).
	CallerMediaPorts, CalleeMediaPorts [2]int
	Duration                           time.Duration
}

// ReceivedTotal returns the RTP packets received by all calls' media
// addresses of one side.
func ReceivedTotal(stats []MediaStats) int {
	n := 0
	for _, s := range stats {
		n += s.Packets
	}
	return n
}

// RunSIPpCalls runs a SIPp callee (UAS) and a SIPp caller (UAC) on
// 127.0.0.1: the caller places opts.Calls calls through opts.Proxy to the
// callee, each with RTP both ways, and BYE after opts.CallLength. It
// returns when the caller is done (or the timeout hit, which fails the
// test), with what each media address received.
//
// SIPp sends the RTP with PCAP play (raw sockets: needs root or
// CAP_NET_RAW); the test binds each call's media port on both sides and
// counts what arrives. Test failures are reported only for harness
// problems; the caller judges the result.
func RunSIPpCalls(t testing.TB, opts SIPpOptions) *SIPpResult {
	t.Helper()
	bin := opts.Binary
	if bin == "" {
		bin = "sipp"
	}
	bin = Require(t, bin, "sip-tester")
	requireRawSockets(t)
	if opts.Calls <= 0 {
		opts.Calls = 20
	}
	if opts.Concurrent <= 0 {
		opts.Concurrent = 5
	}
	if opts.Rate <= 0 {
		opts.Rate = 10
	}
	if opts.CallLength <= 0 {
		opts.CallLength = 3 * time.Second
	}
	if opts.MediaPackets <= 0 {
		opts.MediaPackets = 100
	}
	if opts.Timeout <= 0 {
		waves := (opts.Calls + opts.Concurrent - 1) / opts.Concurrent
		opts.Timeout = 30*time.Second + 2*time.Duration(waves)*opts.CallLength
	}
	if !opts.Proxy.IsValid() {
		t.Fatalf("interop: RunSIPpCalls: no Proxy address")
	}

	dir := t.TempDir()
	for name, b := range map[string][]byte{"uac.xml": uacScenario, "uas.xml": uasScenario} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatalf("interop: %v", err)
		}
	}
	if err := writeRTPPcap(filepath.Join(dir, "rtp.pcap"), opts.MediaPackets); err != nil {
		t.Fatalf("interop: %v", err)
	}

	// Media ports: SIPp binds media_port and media_port+2 itself (its
	// echo sockets), the scenarios use media_port + 4*call_number.
	span := 4*opts.Calls + 4
	uacMP, uasMP := FreePortRange(t, span), FreePortRange(t, span)
	res := &SIPpResult{
		Calls:            opts.Calls,
		PacketsPerCall:   opts.MediaPackets,
		CallerMediaPorts: [2]int{uacMP, uacMP + span - 1},
		CalleeMediaPorts: [2]int{uasMP, uasMP + span - 1},
	}
	uacSinks := startMediaSinks(t, uacMP, opts.Calls)
	uasSinks := startMediaSinks(t, uasMP, opts.Calls)

	uasPort, uacPort := FreeUDPPort(t), FreeUDPPort(t)
	uasCtl, uacCtl := FreeUDPPort(t), FreeUDPPort(t)
	recvTimeout := strconv.FormatInt((opts.CallLength + 15*time.Second).Milliseconds(), 10)
	common := func(side string, sipPort, mp, ctl int) []string {
		return []string{
			"-sf", filepath.Join(dir, side+".xml"),
			"-i", "127.0.0.1",
			"-p", strconv.Itoa(sipPort),
			"-mi", "127.0.0.1",
			"-mp", strconv.Itoa(mp),
			"-ci", "127.0.0.1",
			"-cp", strconv.Itoa(ctl),
			"-m", strconv.Itoa(opts.Calls),
			"-recv_timeout", recvTimeout,
			"-nostdin",
			"-f", "5",
			"-trace_stat", "-stf", filepath.Join(dir, side+"_stat.csv"), "-fd", "1",
			"-trace_err", "-error_file", filepath.Join(dir, side+"_errors.log"),
			"-trace_screen", "-screen_file", filepath.Join(dir, side+"_screen.log"),
		}
	}
	start := time.Now()
	uas := startProcess(t, "sipp-uas", filepath.Join(dir, "uas.log"), dir, bin,
		common("uas", uasPort, uasMP, uasCtl)...)
	if err := waitUDPBound(uas, uasPort, 5*time.Second); err != nil {
		t.Fatalf("interop: SIPp callee: %v", err)
	}
	uacArgs := append(common("uac", uacPort, uacMP, uacCtl),
		"-key", "uas_addr", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(uasPort)).String(),
		"-s", "ngrelay",
		"-l", strconv.Itoa(opts.Concurrent),
		"-r", strconv.Itoa(opts.Rate),
		"-d", strconv.FormatInt(opts.CallLength.Milliseconds(), 10),
		opts.Proxy.String(),
	)
	uac := startProcess(t, "sipp-uac", filepath.Join(dir, "uac.log"), dir, bin, uacArgs...)
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"uac_errors.log", "uas_errors.log"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.Size() > 0 {
					t.Logf("interop: SIPp %s (tail):\n%s", f, tailFile(filepath.Join(dir, f), 40, 6000))
				}
			}
		}
	})

	code, ok := uac.wait(opts.Timeout)
	if !ok {
		uac.stop(2 * time.Second)
		uas.stop(2 * time.Second)
		t.Fatalf("interop: SIPp caller did not finish %d calls within %v", opts.Calls, opts.Timeout)
	}
	res.CallerExit = code
	res.Duration = time.Since(start)
	// The callee exits by itself once it has seen -m calls through.
	if code, ok := uas.wait(5 * time.Second); ok {
		res.CalleeExit = code
	} else {
		res.CalleeExit = -1
		uas.stop(2 * time.Second)
	}

	stats, err := readSIPpStats(filepath.Join(dir, "uac_stat.csv"))
	if err != nil {
		t.Errorf("interop: SIPp caller statistics: %v", err)
	}
	res.Successful, res.Failed = stats["SuccessfulCall(C)"], stats["FailedCall(C)"]
	res.Caller = uacSinks.close()
	res.Callee = uasSinks.close()
	t.Logf("interop: SIPp: %d calls, %d successful, %d failed in %v (exit caller %d, callee %d); RTP received: caller %d, callee %d (each end sent %d per call)",
		res.Calls, res.Successful, res.Failed, res.Duration.Round(10*time.Millisecond), res.CallerExit, res.CalleeExit,
		ReceivedTotal(res.Caller), ReceivedTotal(res.Callee), res.PacketsPerCall)
	return res
}

// requireRawSockets skips the test unless raw sockets are available
// (SIPp's PCAP play sends through them).
func requireRawSockets(t testing.TB) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_UDP)
	if err != nil {
		requireOrSkip(t, "SIPp plays RTP from pcap over raw sockets, which needs root or CAP_NET_RAW (%v)", err)
		return
	}
	syscall.Close(fd)
}

// waitUDPBound waits until some socket is bound to UDP port on 127.0.0.1
// (per /proc/net/udp), or p exits, or timeout passes.
func waitUDPBound(p *process, port int, timeout time.Duration) error {
	want := fmt.Sprintf("0100007F:%04X", port)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			code, _ := p.wait(0)
			return fmt.Errorf("exited during startup (code %d)", code)
		}
		b, err := os.ReadFile("/proc/net/udp")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == want {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("UDP port %d not bound within %v", port, timeout)
}

// readSIPpStats returns the counters of the last row of a SIPp
// -trace_stat file.
func readSIPpStats(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var header, last []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		fields := strings.Split(strings.TrimRight(sc.Text(), ";"), ";")
		if header == nil {
			header = fields
		} else {
			last = fields
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if last == nil {
		return nil, errors.New("no statistics row")
	}
	stats := map[string]int{}
	for i, name := range header {
		if i < len(last) {
			if n, err := strconv.Atoi(last[i]); err == nil {
				stats[name] = n
			}
		}
	}
	if _, ok := stats["SuccessfulCall(C)"]; !ok {
		return nil, errors.New("no SuccessfulCall(C) column")
	}
	return stats, nil
}

// mediaSinks are UDP sockets bound to the per-call media ports of one
// SIPp side, counting what arrives.
type mediaSinks struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []*net.UDPConn
	stats []MediaStats
	done  bool
}

// startMediaSinks binds base + 4*n on 127.0.0.1 for calls n = 1..calls.
func startMediaSinks(t testing.TB, base, calls int) *mediaSinks {
	t.Helper()
	s := &mediaSinks{stats: make([]MediaStats, calls)}
	t.Cleanup(func() { s.close() })
	for i := range calls {
		port := base + 4*(i+1)
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Fatalf("interop: media port %d: %v", port, err)
		}
		s.conns = append(s.conns, c)
		s.stats[i].Port = port
		s.wg.Add(1)
		go s.read(i, c)
	}
	return s
}

func (s *mediaSinks) read(i int, c *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ECONNREFUSED from an ICMP error
		}
		s.mu.Lock()
		st := &s.stats[i]
		if n >= 12 && buf[0]>>6 == 2 {
			st.Packets++
		} else {
			st.Other++
		}
		known := false
		for _, a := range st.Sources {
			if a == from {
				known = true
				break
			}
		}
		if !known && len(st.Sources) < 8 {
			st.Sources = append(st.Sources, from)
		}
		s.mu.Unlock()
	}
}

// close stops counting and returns the counts (idempotent).
func (s *mediaSinks) close() []MediaStats {
	s.mu.Lock()
	if !s.done {
		s.done = true
		for _, c := range s.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MediaStats, len(s.stats))
	for i, st := range s.stats {
		out[i] = st
		out[i].Sources = append([]netip.AddrPort(nil), st.Sources...)
	}
	return out
}
