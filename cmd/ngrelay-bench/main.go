// Command ngrelay-bench is a load generator for media relays controlled
// over rtpengine's NG protocol (ngrelay or rtpengine).
//
//	ngrelay-bench steady  [target flags] -calls 100 -pps 50 -size 160 -duration 10s
//	ngrelay-bench max     [target flags] -calls 100 -factor 1.5 -pps 50 -duration 5s
//	ngrelay-bench setup   [target flags] -clients 8 -duration 10s
//	ngrelay-bench compare [-ngrelay BIN] [-rtpengine BIN] [-loads 200x50,...] -duration 10s
//	ngrelay-bench dtls    [target flags] -clients 8 [-calls N | -duration 10s]
//
// steady, max and compare take -srtp SUITE (e.g. AES_CM_128_HMAC_SHA1_80,
// AEAD_AES_128_GCM): each call's B leg is then SDES-keyed RTP/SAVP while A
// stays plain, so the relay encrypts one direction and decrypts the other.
// compare runs the SRTP pass after the plain one (-srtp-only: only it).
//
// steady, max and compare take -webrtc: each call's A leg is then a
// browser's (WebRTC offer, ICE as the controlling agent, DTLS-SRTP, with
// the NG flags Kamailio uses for JsSIP to a phone) and B a plain phone.
// dtls is a WebRTC call-setup storm: -clients parallel browsers, each call
// through offer/answer, ICE, DTLS to keyed and a packet each way, then
// delete; it reports handshakes per second and the time to keyed. compare
// -webrtc runs the loads again in WebRTC mode and DTLS storms
// (-dtls-clients).
//
// The target is either a running relay (-ng ADDR, with -pid PID or found
// from the NG socket) or one the command starts (-start ngrelay|rtpengine).
// See docs/benchmarks.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ngrelay/ngrelay/bench"
)

const usage = `usage: ngrelay-bench COMMAND [flags]

commands:
  steady   N calls at P packets/s per stream for a duration
  max      raise the number of calls step by step until loss exceeds a limit
  setup    call-setup storm: parallel NG clients doing offer+answer+delete
  compare  run loads and a setup storm against ngrelay and rtpengine
  dtls     WebRTC setup storm: parallel browsers doing offer, answer, ICE, DTLS, delete

run "ngrelay-bench COMMAND -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "steady":
		err = runSteady(args)
	case "max":
		err = runMax(args)
	case "setup":
		err = runSetup(args)
	case "compare":
		err = runCompare(args)
	case "dtls":
		err = runDTLS(args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "ngrelay-bench:", err)
		os.Exit(1)
	}
}

// targetFlags pick the relay under test.
type targetFlags struct {
	ng, start, ngrelay, rtpengine, cpus string
	pid, relayCPU, portMin, portMax     int
	jsonOut                             bool
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.ng, "ng", "127.0.0.1:2223", "NG address (UDP) of a running relay")
	fs.IntVar(&t.pid, "pid", 0, "PID of the running relay (default: the process holding the NG socket)")
	fs.StringVar(&t.start, "start", "", "start a relay instead: ngrelay or rtpengine")
	fs.StringVar(&t.ngrelay, "ngrelay", "", "ngrelay binary for -start/compare (default: go build ./cmd/ngrelay into a temp dir)")
	fs.StringVar(&t.rtpengine, "rtpengine", "/usr/bin/rtpengine", "rtpengine binary for -start/compare")
	fs.IntVar(&t.relayCPU, "relay-cpu", -1, "pin a started relay to this CPU (-1: no pinning)")
	fs.StringVar(&t.cpus, "gen-cpus", "", "pin generator threads to these CPUs, e.g. 1 or 2-3 (default: no pinning)")
	fs.IntVar(&t.portMin, "port-min", 16384, "media port range of a started relay")
	fs.IntVar(&t.portMax, "port-max", 32767, "media port range of a started relay")
	fs.BoolVar(&t.jsonOut, "json", false, "print JSON instead of a table")
}

// target returns the target and a function that stops a started relay.
func (t *targetFlags) target() (bench.Target, func(), error) {
	if t.start == "" {
		tg := bench.Target{Name: "relay", NG: t.ng, PID: t.pid}
		if tg.PID == 0 {
			if _, p, err := splitPort(t.ng); err == nil {
				tg.PID, _ = bench.FindUDPOwner(p)
			}
		}
		return tg, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "ngrelay-bench-")
	if err != nil {
		return bench.Target{}, nil, err
	}
	bin := ""
	switch t.start {
	case "ngrelay":
		bin = t.ngrelay
		if bin == "" {
			if bin, err = bench.BuildNgrelay(dir); err != nil {
				return bench.Target{}, nil, err
			}
		}
	case "rtpengine":
		bin = t.rtpengine
	default:
		return bench.Target{}, nil, fmt.Errorf("-start %q: want ngrelay or rtpengine", t.start)
	}
	r, err := bench.StartRelay(bench.RelayConfig{Name: t.start, Binary: bin, CPU: t.relayCPU, PortMin: t.portMin, PortMax: t.portMax, LogDir: dir})
	if err != nil {
		return bench.Target{}, nil, err
	}
	stopOnSignal(r)
	fmt.Fprintf(os.Stderr, "started %s (pid %d) on %s, log %s\n", t.start, r.PID, r.NG, r.LogPath)
	return r.Target(), func() { r.Stop() }, nil
}

func (t *targetFlags) genCPUs() ([]int, error) {
	cpus, err := bench.ParseCPUList(t.cpus)
	if err != nil {
		return nil, err
	}
	if len(cpus) > 0 {
		if err := bench.PinProcess(cpus); err != nil {
			return nil, err
		}
	}
	return cpus, nil
}

// stopOnSignal stops the started relays on SIGINT/SIGTERM and exits.
func stopOnSignal(rs ...*bench.Relay) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ch
		for _, r := range rs {
			r.Stop()
		}
		os.Exit(130)
	}()
}

func splitPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("%q: no port", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	return addr[:i], p, err
}

type trafficFlags struct {
	calls, pps, size, threads, ngClients int
	duration, warmup                     time.Duration
	srtp                                 string
	webrtc                               bool
	rtc                                  webrtcFlags
}

// webrtcFlags configure the browser legs (WebRTC mode, dtls).
type webrtcFlags struct {
	profiles, setup string
	rto, timeout    time.Duration
}

func (f *webrtcFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.profiles, "dtls-profiles", "", "DTLS-SRTP profiles the browser offers, most preferred first, comma separated (default AES_CM_128_HMAC_SHA1_80; e.g. AEAD_AES_128_GCM,AES_CM_128_HMAC_SHA1_80)")
	fs.StringVar(&f.setup, "webrtc-setup", "", "NG \"DTLS\" key of the offer: the relay's DTLS role, active or passive (default: the relay's, a=setup:active for both)")
	fs.DurationVar(&f.rto, "webrtc-rto", 100*time.Millisecond, "initial retransmission timeout of the browser's STUN checks and DTLS flights")
	fs.DurationVar(&f.timeout, "webrtc-timeout", 10*time.Second, "a call that is not keyed this long after its offer fails")
}

func (f *webrtcFlags) config() (*bench.WebRTCConfig, error) {
	p, err := bench.ParseProfiles(f.profiles)
	if err != nil {
		return nil, err
	}
	switch f.setup {
	case "", "active", "passive":
	default:
		return nil, fmt.Errorf("-webrtc-setup %q: want active or passive", f.setup)
	}
	return &bench.WebRTCConfig{Profiles: p, RelaySetup: f.setup, RTO: f.rto, Timeout: f.timeout}, nil
}

func (f *trafficFlags) register(fs *flag.FlagSet, calls int, dur time.Duration) {
	fs.IntVar(&f.calls, "calls", calls, "number of calls (two streams each)")
	fs.IntVar(&f.pps, "pps", 50, "packets per second per stream")
	fs.IntVar(&f.size, "size", 160, "RTP payload bytes per packet")
	fs.DurationVar(&f.duration, "duration", dur, "measured duration")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "traffic before the measured window")
	fs.IntVar(&f.threads, "threads", 0, "generator threads (default: one per -gen-cpus CPU, else 1)")
	fs.IntVar(&f.ngClients, "ng-clients", 4, "parallel NG clients for call setup and teardown")
	fs.StringVar(&f.srtp, "srtp", "", "SRTP suite of each call's B leg, e.g. AES_CM_128_HMAC_SHA1_80 or AEAD_AES_128_GCM (SDES; leg A stays plain; default: plain RTP)")
	fs.BoolVar(&f.webrtc, "webrtc", false, "each call's A leg is a browser's: ICE and DTLS-SRTP (leg B stays plain; not with -srtp)")
	f.rtc.register(fs)
}

// steadyTarget checks the traffic flags, starts or finds the relay, and
// returns the steady-load configuration against it; stop ends a started
// relay.
func steadyTarget(tf *targetFlags, f *trafficFlags) (bench.SteadyConfig, func(), error) {
	// Refuse bad flags before starting a relay.
	if _, err := bench.ParseSRTPSuite(f.srtp); err != nil {
		return bench.SteadyConfig{}, nil, err
	}
	if f.webrtc && f.srtp != "" {
		return bench.SteadyConfig{}, nil, errors.New("-webrtc and -srtp do not combine")
	}
	tg, stop, err := tf.target()
	if err != nil {
		return bench.SteadyConfig{}, nil, err
	}
	cpus, err := tf.genCPUs()
	if err == nil {
		var sc bench.SteadyConfig
		if sc, err = f.steady(tg, cpus); err == nil {
			return sc, stop, nil
		}
	}
	stop()
	return bench.SteadyConfig{}, nil, err
}

func (f *trafficFlags) steady(tg bench.Target, cpus []int) (bench.SteadyConfig, error) {
	suite, err := bench.ParseSRTPSuite(f.srtp)
	if err != nil {
		return bench.SteadyConfig{}, err
	}
	var rtc *bench.WebRTCConfig
	if f.webrtc {
		if suite != 0 {
			return bench.SteadyConfig{}, errors.New("-webrtc and -srtp do not combine")
		}
		if rtc, err = f.rtc.config(); err != nil {
			return bench.SteadyConfig{}, err
		}
	}
	return bench.SteadyConfig{
		Target: tg, Calls: f.calls, NGClients: f.ngClients, SRTP: suite, WebRTC: rtc,
		Traffic: bench.TrafficConfig{
			PPS: f.pps, Size: f.size, Warmup: f.warmup, Duration: f.duration,
			Threads: f.threads, CPUs: cpus,
		},
	}, nil
}

func runSteady(args []string) error {
	fs := flag.NewFlagSet("steady", flag.ContinueOnError)
	var tf targetFlags
	var f trafficFlags
	tf.register(fs)
	f.register(fs, 100, 10*time.Second)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, stop, err := steadyTarget(&tf, &f)
	if err != nil {
		return err
	}
	defer stop()
	r, err := bench.RunSteady(sc)
	if r != nil {
		if tf.jsonOut {
			bench.WriteJSON(os.Stdout, r)
		} else {
			bench.WriteSteady(os.Stdout, r)
		}
	}
	return err
}

func runMax(args []string) error {
	fs := flag.NewFlagSet("max", flag.ContinueOnError)
	var tf targetFlags
	var f trafficFlags
	tf.register(fs)
	f.register(fs, 100, 5*time.Second)
	factor := fs.Float64("factor", 1.5, "multiply the calls by this at each step")
	steps := fs.Int("steps", 12, "maximum number of steps")
	loss := fs.Float64("loss", 0.1, "loss limit in percent")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, stop, err := steadyTarget(&tf, &f)
	if err != nil {
		return err
	}
	defer stop()
	r, err := bench.RunMax(bench.MaxConfig{Steady: sc, Factor: *factor, MaxSteps: *steps, LossPct: *loss, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if tf.jsonOut {
		return bench.WriteJSON(os.Stdout, r)
	}
	bench.WriteMax(os.Stdout, r)
	return nil
}

func runSetup(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	var tf targetFlags
	tf.register(fs)
	clients := fs.Int("clients", 8, "parallel NG clients")
	dur := fs.Duration("duration", 10*time.Second, "duration of the storm")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tg, stop, err := tf.target()
	if err != nil {
		return err
	}
	defer stop()
	if _, err := tf.genCPUs(); err != nil {
		return err
	}
	r, err := bench.RunSetup(bench.SetupConfig{Target: tg, Clients: *clients, Duration: *dur})
	if err != nil {
		return err
	}
	if tf.jsonOut {
		return bench.WriteJSON(os.Stdout, r)
	}
	bench.WriteSetup(os.Stdout, r)
	return nil
}

func runCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	ngrelay := fs.String("ngrelay", "", "ngrelay binary (default: go build ./cmd/ngrelay into a temp dir)")
	ngrelayArgs := fs.String("ngrelay-args", "", "extra options for ngrelay only, space separated (e.g. --io-engine=io_uring)")
	rtpengine := fs.String("rtpengine", "/usr/bin/rtpengine", "rtpengine binary")
	loads := fs.String("loads", bench.DefaultLoads, "loads, CALLSxPPS, comma separated")
	size := fs.Int("size", 160, "RTP payload bytes per packet")
	dur := fs.Duration("duration", 10*time.Second, "measured duration of each load")
	warmup := fs.Duration("warmup", time.Second, "traffic before each measured window")
	setupClients := fs.Int("setup-clients", 8, "parallel NG clients of the setup storm (0: no storm)")
	setupDur := fs.Duration("setup-duration", 5*time.Second, "duration of the setup storm")
	relayCPU := fs.Int("relay-cpu", 0, "CPU the relays are pinned to (-1: no pinning)")
	genCPUs := fs.String("gen-cpus", "1", "CPUs the generator is pinned to (empty: no pinning)")
	portMin := fs.Int("port-min", 16384, "media port range of the relays")
	portMax := fs.Int("port-max", 32767, "media port range of the relays")
	ngClients := fs.Int("ng-clients", 4, "parallel NG clients for call setup and teardown")
	quiet := fs.Duration("wait-quiet", 30*time.Second, "before each relay run, wait up to this long for the machine to be quiet (0: don't wait)")
	quietBusy := fs.Float64("quiet-busy", 0.15, "quiet means busy CPU below this fraction of all CPUs over one second")
	srtpName := fs.String("srtp", "", "after the plain pass, run the loads again with each call's B leg SRTP with this suite, e.g. AES_CM_128_HMAC_SHA1_80 (default: no SRTP pass)")
	srtpOnly := fs.Bool("srtp-only", false, "with -srtp, skip the plain pass")
	webrtc := fs.Bool("webrtc", false, "after the plain (and SRTP) pass, run the loads again with each call's A leg a browser's (ICE, DTLS-SRTP), then the DTLS storms of -dtls-clients")
	webrtcOnly := fs.Bool("webrtc-only", false, "with -webrtc, skip the plain pass")
	dtlsClients := fs.String("dtls-clients", "8,32", "with -webrtc: DTLS storms with these numbers of parallel browsers, comma separated (empty or 0: none)")
	dtlsDur := fs.Duration("dtls-duration", 5*time.Second, "duration of each DTLS storm")
	var rf webrtcFlags
	rf.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rtc *bench.WebRTCConfig
	var storms []int
	if *webrtc {
		var err error
		if rtc, err = rf.config(); err != nil {
			return err
		}
		for f := range strings.SplitSeq(*dtlsClients, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 {
				return fmt.Errorf("-dtls-clients %q: want numbers", *dtlsClients)
			}
			storms = append(storms, n)
		}
	} else if *webrtcOnly {
		return errors.New("-webrtc-only needs -webrtc")
	}
	suite, err := bench.ParseSRTPSuite(*srtpName)
	if err != nil {
		return err
	}
	if *srtpOnly && suite == 0 {
		return errors.New("-srtp-only needs -srtp SUITE")
	}
	ld, err := bench.ParseLoads(*loads)
	if err != nil {
		return err
	}
	cpus, err := bench.ParseCPUList(*genCPUs)
	if err != nil {
		return err
	}
	r, err := bench.RunCompare(bench.CompareConfig{
		Ngrelay: *ngrelay, NgrelayExtra: strings.Fields(*ngrelayArgs), Rtpengine: *rtpengine, Loads: ld, Size: *size, Duration: *dur, Warmup: *warmup,
		NGClients: *ngClients, SetupClients: *setupClients, SetupDuration: *setupDur,
		RelayCPU: *relayCPU, GenCPUs: cpus, PortMin: *portMin, PortMax: *portMax,
		QuietWait: *quiet, QuietBusy: *quietBusy, SRTP: suite, SRTPOnly: *srtpOnly,
		WebRTC: rtc, WebRTCOnly: *webrtcOnly, DTLSClients: storms, DTLSDuration: *dtlsDur, Progress: os.Stderr,
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		return bench.WriteJSON(os.Stdout, r)
	}
	bench.WriteCompare(os.Stdout, r)
	return nil
}

func runDTLS(args []string) error {
	fs := flag.NewFlagSet("dtls", flag.ContinueOnError)
	var tf targetFlags
	var rf webrtcFlags
	tf.register(fs)
	rf.register(fs)
	clients := fs.Int("clients", 8, "parallel browsers, each setting up one call at a time")
	calls := fs.Int("calls", 0, "calls in all (0: as many as -duration allows)")
	dur := fs.Duration("duration", 10*time.Second, "duration of the storm, without -calls")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rc, err := rf.config()
	if err != nil {
		return err
	}
	tg, stop, err := tf.target()
	if err != nil {
		return err
	}
	defer stop()
	if _, err := tf.genCPUs(); err != nil {
		return err
	}
	r, err := bench.RunDTLSSetup(bench.DTLSSetupConfig{Target: tg, Clients: *clients, Calls: *calls, Duration: *dur, WebRTC: *rc})
	if err != nil {
		return err
	}
	if tf.jsonOut {
		return bench.WriteJSON(os.Stdout, r)
	}
	bench.WriteDTLSSetup(os.Stdout, r)
	return nil
}
