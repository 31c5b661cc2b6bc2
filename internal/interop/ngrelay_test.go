package interop

import (
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/internal/daemon"
)

// startNgrelay runs an ngrelay daemon in-process on loopback with a free
// NG port and a free media port range, as the interop tests' relay.
func startNgrelay(t testing.TB) *daemon.Daemon {
	t.Helper()
	cfg := config.Default()
	cfg.ListenNG = []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(FreeUDPPort(t)))}
	cfg.PortMin = FreePortRange(t, 400)
	cfg.PortMax = cfg.PortMin + 399
	cfg.DeleteDelay = 0
	cfg.ListenCLI = nil
	cfg.NumThreads = 2
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := daemon.Start(t.Context(), cfg, log, nil)
	if err != nil {
		t.Fatalf("start ngrelay: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestKamailioSIPpThroughNgrelay is the core issue's acceptance test: a real
// Kamailio with its rtpengine module drives ngrelay over NG while SIPp makes
// 20 calls, 5 at a time, with RTP both ways.
func TestKamailioSIPpThroughNgrelay(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped in -short mode")
	}
	Require(t, "kamailio", "kamailio")
	Require(t, "sipp", "sip-tester")
	d := startNgrelay(t)
	RunKamailioSIPpScenario(t, d.NGAddrs()[0], func() int { return d.Engine.NumCalls() })
	if tr := d.Engine.Traffic(); tr.RTPPackets == 0 {
		t.Fatalf("ngrelay relayed no RTP: %+v", tr)
	}
}
