// Package daemon wires ngrelay together: the relay engine, the NG listeners
// and logging, from a parsed configuration. cmd/ngrelay is a thin main
// around it; tests start daemons in-process with it.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/ngrelay/ngrelay/crypto/dtls"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngrelay/ngrelay/internal/cli"
	"github.com/ngrelay/ngrelay/internal/config"
	"github.com/ngrelay/ngrelay/internal/metrics"
	"github.com/ngrelay/ngrelay/ng"
	"github.com/ngrelay/ngrelay/ng/rtpp"
	"github.com/ngrelay/ngrelay/relay"
)

// Version is ngrelay's version, printed by --version.
const Version = "0.1.0"

// Daemon is a running ngrelay.
type Daemon struct {
	Engine  *relay.Engine
	Handler *ng.Handler
	Server  *ng.Server
	Log     *slog.Logger
	// Level is the logger's level; SyslogLevel the same as a syslog
	// priority number (rtpengine's --log-level), as the CLI shows it.
	Level       *slog.LevelVar
	SyslogLevel *atomic.Int32
	CLI         *cli.Server
	Metrics     *metrics.Metrics
	// RTPP serves the legacy rtpproxy protocol (--listen-udp/--listen-tcp).
	RTPP *rtpp.Server

	ngUDP  []*net.UDPConn
	ngTCP  []net.Listener
	cliLn  []net.Listener
	httpLn []net.Listener
	rtppU  []*net.UDPConn
	rtppT  []net.Listener

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
}

// PortQuarantine is how long freed media ports rest before reuse.
const PortQuarantine = 10 * time.Second

// Start opens the listeners of cfg and starts serving. It returns once every
// listener is bound; Close stops everything. level is the level of log, to
// change at run time (nil: a new one at cfg's log level).
func Start(ctx context.Context, cfg config.Config, log *slog.Logger, level *slog.LevelVar) (*Daemon, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if level == nil {
		level = new(slog.LevelVar)
		level.Set(SlogLevel(cfg.LogLevel))
	}
	ifs := make([]relay.InterfaceConfig, 0, len(cfg.Interfaces))
	for _, i := range cfg.Interfaces {
		ifs = append(ifs, relay.InterfaceConfig{Name: i.Name, Addr: i.Addr, Advertised: i.Advertised})
	}
	eng, err := relay.New(relay.Config{
		Interfaces:     ifs,
		PortMin:        cfg.PortMin,
		PortMax:        cfg.PortMax,
		PortQuarantine: PortQuarantine,
		Timeout:        cfg.Timeout,
		SilentTimeout:  cfg.SilentTimeout,
		FinalTimeout:   cfg.FinalTimeout,
		OfferTimeout:   cfg.OfferTimeout,
		DeleteDelay:    cfg.DeleteDelay,
		TOS:            cfg.TOS,
		SocketRcvBuf:   cfg.SocketRcvBuf,
		SocketSndBuf:   cfg.SocketSndBuf,
		Workers:        cfg.NumThreads,
		IOEngine:       cfg.IOEngine,
	}, log)
	if err != nil {
		return nil, fmt.Errorf("relay engine: %w", err)
	}
	h := ng.NewHandler(eng, log)
	h.SetMaxSessions(cfg.MaxSessions)
	if cfg.DTLSCert != "" {
		cert, err := dtls.LoadCertificate(cfg.DTLSCert, cfg.DTLSKey)
		if err != nil {
			eng.Close()
			return nil, fmt.Errorf("--dtls-cert: %w", err)
		}
		h.SetCertificate(cert)
	}
	d := &Daemon{Engine: eng, Handler: h, Server: ng.NewServer(h, log), Log: log, Level: level, SyslogLevel: new(atomic.Int32)}
	d.SyslogLevel.Store(int32(cfg.LogLevel))
	d.CLI = cli.New(eng, h, level, d.SyslogLevel, log)
	d.Metrics = metrics.New(eng, h)
	d.Metrics.Log = log
	h.SetObserver(d.Metrics.ObserveCommand)
	d.RTPP = rtpp.NewServer(eng, cfg.PromptDir, log)
	d.RTPP.SetMaxSessions(cfg.MaxSessions)
	d.RTPP.SetObserver(d.Metrics.ObserveCommand)
	ctx, d.cancel = context.WithCancel(ctx)

	for _, ap := range cfg.ListenNG {
		c, err := net.ListenUDP(udpNetwork(ap), net.UDPAddrFromAddrPort(ap))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("--listen-ng=%s: %w", ap, err)
		}
		d.ngUDP = append(d.ngUDP, c)
	}
	for _, ap := range cfg.ListenTCPNG {
		l, err := net.ListenTCP(tcpNetwork(ap), net.TCPAddrFromAddrPort(ap))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("--listen-tcp-ng=%s: %w", ap, err)
		}
		d.ngTCP = append(d.ngTCP, l)
	}
	for _, ap := range cfg.ListenCLI {
		l, err := net.ListenTCP(tcpNetwork(ap), net.TCPAddrFromAddrPort(ap))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("--listen-cli=%s: %w", ap, err)
		}
		d.cliLn = append(d.cliLn, l)
	}
	for _, ap := range cfg.ListenUDP {
		c, err := net.ListenUDP(udpNetwork(ap), net.UDPAddrFromAddrPort(ap))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("--listen-udp=%s: %w", ap, err)
		}
		d.rtppU = append(d.rtppU, c)
	}
	for _, ap := range cfg.ListenTCP {
		l, err := net.ListenTCP(tcpNetwork(ap), net.TCPAddrFromAddrPort(ap))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("--listen-tcp=%s: %w", ap, err)
		}
		d.rtppT = append(d.rtppT, l)
	}
	for _, c := range d.rtppU {
		d.run(func() error { return d.RTPP.ServeUDP(ctx, c) })
		log.Info("rtpproxy protocol listening", slog.String("udp", c.LocalAddr().String()))
	}
	for _, l := range d.rtppT {
		d.run(func() error { return d.RTPP.ServeTCP(ctx, l) })
		log.Info("rtpproxy protocol listening", slog.String("tcp", l.Addr().String()))
	}
	for _, ap := range cfg.ListenHTTP {
		l, err := net.ListenTCP(tcpNetwork(ap), net.TCPAddrFromAddrPort(ap))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("--listen-http=%s: %w", ap, err)
		}
		d.httpLn = append(d.httpLn, l)
	}
	for _, l := range d.httpLn {
		d.run(func() error { return d.Metrics.Serve(ctx, l) })
		log.Info("HTTP listening (/metrics, /ping)", slog.String("tcp", l.Addr().String()))
	}
	for _, l := range d.cliLn {
		d.run(func() error { return d.CLI.Serve(ctx, l) })
		log.Info("CLI listening", slog.String("tcp", l.Addr().String()))
	}
	for _, c := range d.ngUDP {
		d.run(func() error { return d.Server.ServeUDP(ctx, c) })
		log.Info("NG listening", slog.String("udp", c.LocalAddr().String()))
	}
	for _, l := range d.ngTCP {
		d.run(func() error { return d.Server.ServeTCP(ctx, l) })
		log.Info("NG listening", slog.String("tcp", l.Addr().String()))
	}
	for _, la := range eng.LocalAddrs() {
		log.Info("media interface", slog.String("name", la.Interface), slog.String("address", la.Addr.String()),
			slog.String("advertised", la.Advertise.String()), slog.Int("port-min", cfg.PortMin), slog.Int("port-max", cfg.PortMax))
	}
	return d, nil
}

func (d *Daemon) run(f func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := f(); err != nil {
			d.errMu.Lock()
			d.err = errors.Join(d.err, err)
			d.errMu.Unlock()
		}
	}()
}

// ApplyReload applies the run-time changeable settings of cfg (from
// config.Reload on SIGHUP): timeouts, delete-delay, max-sessions and the log
// level.
func (d *Daemon) ApplyReload(cfg config.Config) {
	d.Engine.SetTimeouts(cfg.Timeout, cfg.SilentTimeout, cfg.FinalTimeout, cfg.OfferTimeout)
	d.Engine.SetDeleteDelay(cfg.DeleteDelay)
	d.Handler.SetMaxSessions(cfg.MaxSessions)
	d.RTPP.SetMaxSessions(cfg.MaxSessions)
	d.Level.Set(SlogLevel(cfg.LogLevel))
	d.SyslogLevel.Store(int32(cfg.LogLevel))
	d.Log.Info("configuration reloaded",
		slog.Duration("timeout", cfg.Timeout), slog.Duration("silent-timeout", cfg.SilentTimeout),
		slog.Duration("final-timeout", cfg.FinalTimeout), slog.Duration("offer-timeout", cfg.OfferTimeout),
		slog.Duration("delete-delay", cfg.DeleteDelay), slog.Int("max-sessions", cfg.MaxSessions), slog.Int("log-level", cfg.LogLevel))
}

// Drain stops taking new calls (offers get an error reply) and waits until
// every call has ended or grace has passed, or ctx ends. Existing calls keep
// working meanwhile; answers, deletes and queries are still served. It
// reports how many calls were still running when it returned.
func (d *Daemon) Drain(ctx context.Context, grace time.Duration) int {
	d.Handler.Drain()
	d.RTPP.Drain()
	n := d.Engine.NumCalls()
	d.Log.Info("draining: no new calls", slog.Int("calls", n), slog.Duration("grace", grace))
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n > 0 {
		select {
		case <-ctx.Done():
			return n
		case <-deadline.C:
			return n
		case <-tick.C:
			n = d.Engine.NumCalls()
		}
	}
	return 0
}

// NGAddrs returns the bound NG UDP addresses.
func (d *Daemon) NGAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range d.ngUDP {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// CLIAddrs returns the bound CLI addresses.
func (d *Daemon) CLIAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range d.cliLn {
		out = append(out, l.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// RTPPAddrs returns the bound rtpproxy-protocol UDP addresses.
func (d *Daemon) RTPPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range d.rtppU {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// HTTPAddrs returns the bound HTTP (metrics) addresses.
func (d *Daemon) HTTPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range d.httpLn {
		out = append(out, l.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// NGTCPAddrs returns the bound NG TCP addresses.
func (d *Daemon) NGTCPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range d.ngTCP {
		out = append(out, l.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// Close stops the listeners, ends every call and waits for the daemon's
// goroutines.
func (d *Daemon) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	for _, c := range d.ngUDP {
		c.Close()
	}
	for _, l := range d.ngTCP {
		l.Close()
	}
	for _, l := range d.cliLn {
		l.Close()
	}
	for _, l := range d.httpLn {
		l.Close()
	}
	for _, c := range d.rtppU {
		c.Close()
	}
	for _, l := range d.rtppT {
		l.Close()
	}
	d.wg.Wait()
	d.Engine.Close()
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

func udpNetwork(ap netip.AddrPort) string {
	if ap.Addr().Is4() {
		return "udp4"
	}
	return "udp6"
}

func tcpNetwork(ap netip.AddrPort) string {
	if ap.Addr().Is4() {
		return "tcp4"
	}
	return "tcp6"
}

// WritePIDFile writes the process ID to path, replacing the file.
func WritePIDFile(path string) error {
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}
