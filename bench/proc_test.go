package bench

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// burn spins until the process has used d more CPU time (getrusage), or
// 20 s of wall time have passed on a machine too busy to give it that: the
// tests below check the counters move, not how fast.
func burn(d time.Duration) {
	x := 0
	start := SelfCPU()
	for t0 := time.Now(); SelfCPU()-start < d && time.Since(t0) < 20*time.Second; {
		for i := range 10000 {
			x += i
		}
	}
	_ = x
}

func TestProcCPUOfSelf(t *testing.T) {
	c0, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s0 := SelfCPU()
	burn(150 * time.Millisecond)
	c1, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s1 := SelfCPU()
	if c1 <= c0 {
		t.Errorf("/proc/self/stat CPU did not grow: %v -> %v", c0, c1)
	}
	if s1-s0 < 100*time.Millisecond {
		t.Errorf("getrusage grew by %v after burning 150 ms", s1-s0)
	}
	// /proc (10 ms ticks) and getrusage (us) agree roughly.
	if d := (c1 - s1).Abs(); d > 100*time.Millisecond {
		t.Logf("note: /proc says %v, getrusage %v", c1, s1)
	}
}

func TestThreadCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := ThreadCPU()
	burn(50 * time.Millisecond)
	if d := ThreadCPU() - t0; d <= 0 {
		t.Errorf("thread CPU did not grow (%v) while this thread burned CPU", d)
	}
}

func TestParseProcStatOddName(t *testing.T) {
	line := "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 1000000 500 18446744073709551615\n"
	d, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if d != 325*clockTick {
		t.Errorf("got %v, want %v", d, 325*clockTick)
	}
	if _, err := parseProcStat([]byte("1234 (x) S 1")); err == nil {
		t.Error("short line accepted")
	}
}

func TestProcRSSOfSelf(t *testing.T) {
	kb, err := ProcRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if kb <= 0 {
		t.Errorf("VmRSS %d KiB", kb)
	}
	if _, err := parseStatusKB([]byte("Name:\tx\n"), "VmRSS:"); err == nil {
		t.Error("missing VmRSS accepted")
	}
}

func TestMachineCPU(t *testing.T) {
	all, per, err := MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	if all.Total <= 0 || all.Busy <= 0 || all.Busy > all.Total {
		t.Errorf("all CPUs: %+v", all)
	}
	if len(per) < 1 {
		t.Fatal("no per-CPU lines")
	}
	var sum time.Duration
	for _, c := range per {
		sum += c.Total
	}
	// The aggregate line is the sum of the per-CPU lines (allow a tick of
	// skew per CPU and field).
	if d := (sum - all.Total).Abs(); d > time.Duration(len(per))*10*clockTick {
		t.Errorf("sum of per-CPU totals %v, aggregate %v", sum, all.Total)
	}
}

func TestParseProcStatCPU(t *testing.T) {
	b := []byte("cpu  100 5 50 1000 20 3 7 4 0 0\ncpu0 60 5 30 500 10 3 7 4 0 0\ncpu1 40 0 20 500 10 0 0 0 0 0\nintr 1\n")
	all, per, err := parseProcStatCPU(b)
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 1189*clockTick || all.Busy != 165*clockTick || all.Idle != 1020*clockTick || all.Steal != 4*clockTick {
		t.Errorf("all %+v", all)
	}
	// Over 10 s of wall time cpu0 was idle 5.1 s and stolen 0.04 s.
	if b := per[0].BusySince(CPUTimes{}, 10*time.Second); b != 10*time.Second-5100*time.Millisecond-40*time.Millisecond {
		t.Errorf("BusySince %v", b)
	}
	if len(per) != 2 || per[0].Busy != 105*clockTick || per[1].Busy != 60*clockTick {
		t.Errorf("per %+v", per)
	}
}

func TestLoadAvg(t *testing.T) {
	la, err := LoadAvg()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range la {
		if x < 0 {
			t.Errorf("loadavg %v", la)
		}
	}
}

func TestUDPSocketsAndOwner(t *testing.T) {
	fd, addr, err := udpSocket(netip.MustParseAddrPort("127.0.0.1:0"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ino, err := SocketInode(fd)
	if err != nil {
		t.Fatal(err)
	}
	socks, err := UDPSockets()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(socks, func(s UDPSocket) bool { return s.Inode == ino && s.LocalPort == int(addr.Port()) }) {
		t.Errorf("socket %s (inode %d) not in /proc/net/udp", addr, ino)
	}
	pid, err := FindUDPOwner(int(addr.Port()))
	if err != nil {
		t.Fatal(err)
	}
	if pid != os.Getpid() {
		t.Errorf("owner of %s: pid %d, want %d", addr, pid, os.Getpid())
	}
}

func TestParseProcNetUDP(t *testing.T) {
	b := []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:4E20 0100007F:8CA1 01 00000000:00000000 00:00000000 00000000     0        0 5551212 2 0000000000000000 42
 1024: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 0
`)
	s, err := parseProcNetUDP(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []UDPSocket{{20000, 36001, 5551212, 42}, {68, 0, 777, 0}}
	if !slices.Equal(s, want) {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestParseCPUListAndLoads(t *testing.T) {
	c, err := ParseCPUList("0-2,5")
	if err != nil || !slices.Equal(c, []int{0, 1, 2, 5}) {
		t.Errorf("%v %v", c, err)
	}
	for _, bad := range []string{"x", "3-1", "-1"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	l, err := ParseLoads(DefaultLoads)
	if err != nil || len(l) != 4 || l[2] != (Load{50, 1000}) {
		t.Errorf("%v %v", l, err)
	}
	for _, bad := range []string{"10", "10x", "x5", "0x5", "10x-1"} {
		if _, err := ParseLoads(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSDPAudio(t *testing.T) {
	sdp := offerSDP(netip.MustParseAddrPort("127.0.0.1:4000"), 1)
	a, err := sdpAudio(sdp)
	if err != nil || a != netip.MustParseAddrPort("127.0.0.1:4000") {
		t.Errorf("own offer: %v %v", a, err)
	}
	// Media-level c= wins; a video m= before audio is skipped.
	sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
		"m=video 5000 RTP/AVP 96\r\nc=IN IP4 10.0.0.9\r\n" +
		"m=audio 30000 RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtcp:30001\r\n"
	a, err = sdpAudio(sdp)
	if err != nil || a != netip.MustParseAddrPort("127.0.0.1:30000") {
		t.Errorf("media c=: %v %v", a, err)
	}
	if _, err := sdpAudio("v=0\r\n"); err == nil {
		t.Error("no m= accepted")
	}
}

func TestFreeUDPPort(t *testing.T) {
	p, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	if err != nil {
		t.Fatalf("port %d not free: %v", p, err)
	}
	c.Close()
}
