package interop

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RtpengineOptions configure StartRtpengine. The zero value is usable.
type RtpengineOptions struct {
	// Binary is the rtpengine executable; default "rtpengine" from PATH
	// (Debian package rtpengine-daemon, /usr/bin/rtpengine).
	Binary string
	// PortMin and PortMax bound the RTP ports rtpengine allocates on
	// 127.0.0.1; when PortMin is zero, a free range of Ports ports is
	// picked.
	PortMin, PortMax int
	// Ports is the size of the picked range; default 200.
	Ports int
	// ExtraArgs are appended to the command line (for instance
	// "--listen-udp=127.0.0.1:PORT" for the rtpproxy protocol, or
	// "--listen-cli=127.0.0.1:PORT" for rtpengine-ctl).
	ExtraArgs []string
	// StartTimeout bounds the wait for the first NG pong; default 10 s.
	StartTimeout time.Duration
}

// Rtpengine is a running rtpengine, stopped when the test ends.
type Rtpengine struct {
	NGAddr           netip.AddrPort // NG control socket (UDP)
	PID              int
	PortMin, PortMax int    // its RTP port range
	LogPath          string // its log (stderr)
	proc             *process
}

// StartRtpengine runs rtpengine in the foreground, in userspace only
// (--table=-1, no kernel forwarding), with its NG socket and RTP ports on
// 127.0.0.1, no config file (--config-file=none) and calls deleted as soon
// as they are deleted over NG (--delete-delay=0). It returns once rtpengine
// answers an NG ping, and stops it (SIGTERM, then SIGKILL) in t.Cleanup.
func StartRtpengine(t testing.TB, opts RtpengineOptions) *Rtpengine {
	t.Helper()
	bin := opts.Binary
	if bin == "" {
		bin = "rtpengine"
	}
	bin = Require(t, bin, "rtpengine-daemon")
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.PortMin == 0 {
		if opts.Ports <= 0 {
			opts.Ports = 200
		}
		opts.PortMin = FreePortRange(t, opts.Ports)
		opts.PortMax = opts.PortMin + opts.Ports - 1
	}
	ng := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(FreeUDPPort(t)))
	args := []string{
		"--config-file=none",
		"--foreground",
		"--log-stderr",
		"--log-level=6",
		"--table=-1",
		"--interface=127.0.0.1",
		"--listen-ng=" + ng.String(),
		"--port-min=" + strconv.Itoa(opts.PortMin),
		"--port-max=" + strconv.Itoa(opts.PortMax),
		"--num-threads=1",
		"--delete-delay=0",
	}
	args = append(args, opts.ExtraArgs...)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "rtpengine.log")
	p := startProcess(t, "rtpengine", logPath, dir, bin, args...)
	r := &Rtpengine{NGAddr: ng, PID: p.pid(), PortMin: opts.PortMin, PortMax: opts.PortMax, LogPath: logPath, proc: p}

	deadline := time.Now().Add(opts.StartTimeout)
	var err error
	for time.Now().Before(deadline) {
		if p.exited() {
			code, _ := p.wait(0)
			t.Fatalf("interop: rtpengine exited during startup (code %d)", code)
		}
		if err = NGPing(ng, 200*time.Millisecond); err == nil {
			return r
		}
	}
	t.Fatalf("interop: rtpengine did not answer NG ping on %s within %v: %v", ng, opts.StartTimeout, err)
	return nil
}

// ListCalls returns the number of calls rtpengine holds (NG list).
func (r *Rtpengine) ListCalls() (int, error) {
	ids, err := NGListCalls(r.NGAddr, 2*time.Second)
	if err != nil {
		return 0, fmt.Errorf("rtpengine: %w", err)
	}
	return len(ids), nil
}
