package interop

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/ng/rtpp"
	"github.com/ngrelay/ngrelay/relay"
)

// startRtppNgrelay runs ngrelay's relay engine with its rtpproxy-protocol
// server on a free loopback UDP port (as --listen-udp would), and returns
// the engine, the server and its address.
func startRtppNgrelay(t testing.TB) (*relay.Engine, *rtpp.Server, netip.AddrPort) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	portMin := FreePortRange(t, 400)
	e, err := relay.New(relay.Config{
		Interfaces: []relay.InterfaceConfig{{Addr: netip.MustParseAddr("127.0.0.1")}},
		PortMin:    portMin, PortMax: portMin + 399,
		Timeout: 60 * time.Second, SilentTimeout: 3600 * time.Second,
		Workers: 2,
	}, log)
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	srv := rtpp.NewServer(e, "../../prompts", log)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.ServeUDP(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		e.Close()
	})
	return e, srv, conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TestKamailioRtpproxyThroughNgrelay: a real Kamailio with its rtpproxy
// module drives ngrelay over the rtpproxy protocol (V and VF at startup,
// U on the INVITE, L on its answer, D on the BYE) while SIPp makes 20
// calls, 5 at a time, with RTP both ways through the relay.
func TestKamailioRtpproxyThroughNgrelay(t *testing.T) {
	if testing.Short() {
		t.Skip("interop: skipped in -short mode")
	}
	Require(t, "kamailio", "kamailio")
	Require(t, "sipp", "sip-tester")
	e, srv, addr := startRtppNgrelay(t)
	RunKamailioSIPpScenarioWith(t, KamailioOptions{
		Module:       "rtpproxy",
		RtpproxySock: relaySock(addr),
	}, func() int { return e.NumCalls() })
	st := &srv.Stats
	t.Logf("rtpproxy commands: %d V/VF, %d U, %d L, %d D, %d errors",
		st.Version.Load(), st.Update.Load(), st.Lookup.Load(), st.Delete.Load(), st.Errors.Load())
	if st.Version.Load() == 0 || st.Update.Load() < scenarioCalls || st.Lookup.Load() < scenarioCalls || st.Delete.Load() < scenarioCalls {
		t.Errorf("Kamailio did not drive every call through the rtpproxy protocol")
	}
	if st.Errors.Load() != 0 {
		t.Errorf("%d commands failed", st.Errors.Load())
	}
	if tr := e.Traffic(); tr.RTPPackets == 0 {
		t.Fatalf("ngrelay relayed no RTP: %+v", tr)
	}
}
