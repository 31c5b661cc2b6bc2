package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
	"golang.org/x/sys/unix"
)

// Load is a number of calls at a packet rate per stream.
type Load struct {
	Calls int `json:"calls"`
	PPS   int `json:"pps"`
}

func (l Load) String() string { return fmt.Sprintf("%dx%d", l.Calls, l.PPS) }

// ParseLoads parses "200x50,400x50" (calls x packets per second per
// stream).
func ParseLoads(s string) ([]Load, error) {
	var out []Load
	for part := range strings.SplitSeq(s, ",") {
		c, p, ok := strings.Cut(strings.TrimSpace(part), "x")
		calls, err1 := strconv.Atoi(c)
		pps, err2 := strconv.Atoi(p)
		if !ok || err1 != nil || err2 != nil || calls <= 0 || pps <= 0 {
			return nil, fmt.Errorf("bad load %q: want CALLSxPPS", part)
		}
		out = append(out, Load{calls, pps})
	}
	return out, nil
}

// DefaultLoads are compare's loads.
const DefaultLoads = "200x50,400x50,50x1000,10x5000"

// CompareConfig runs the same loads against ngrelay and rtpengine.
type CompareConfig struct {
	Ngrelay string // binary; "" builds ./cmd/ngrelay into a temp dir
	// NgrelayExtra are options given to ngrelay only, after the common
	// command line (e.g. --io-engine=io_uring).
	NgrelayExtra []string
	Rtpengine    string // default /usr/bin/rtpengine
	Loads        []Load
	Size         int
	Duration     time.Duration
	Warmup       time.Duration
	NGClients    int

	SetupClients  int
	SetupDuration time.Duration

	RelayCPU int   // CPU for the relays (-1: not pinned)
	GenCPUs  []int // CPUs for the generator (nil: not pinned)
	PortMin  int
	PortMax  int
	// QuietWait, when positive, waits before each relay run (up to
	// QuietWait) until the machine's busy CPU over one second is below
	// QuietBusy (a fraction of all CPUs, default 0.15).
	QuietWait time.Duration
	QuietBusy float64
	// SRTP, when set, adds a second pass of the loads, after the plain
	// pass, with B's leg of every call SRTP with this suite (see
	// SteadyConfig.SRTP). SRTPOnly skips the plain pass.
	SRTP     srtp.Suite
	SRTPOnly bool
	// WebRTC, when set, adds a pass of the loads with A's leg of every call
	// a browser's (see SteadyConfig.WebRTC), after the plain and SRTP
	// passes; WebRTCOnly skips the plain pass. DTLSClients, with WebRTC,
	// add a DTLS storm (RunDTLSSetup) of DTLSDuration per entry, with that
	// many parallel browsers, against each relay.
	WebRTC       *WebRTCConfig
	WebRTCOnly   bool
	DTLSClients  []int
	DTLSDuration time.Duration
	Progress     io.Writer
}

// legMode is a pass of compare: plain, SDES-SRTP on B, or WebRTC on A.
type legMode struct {
	suite  srtp.Suite
	webrtc *WebRTCConfig
}

// DTLSCompare is one DTLS storm against each relay.
type DTLSCompare struct {
	Clients int                `json:"clients"`
	Results []*DTLSSetupResult `json:"results"` // in Relays order; nil when it failed
	Errors  []string           `json:"errors,omitempty"`
	// Ratios ngrelay/rtpengine: handshakes per second, offer->keyed p50
	// and p99, relay CPU per call.
	RateRatio, P50Ratio, P99Ratio, CPURatio float64
}

// WaitQuiet waits up to maxWait until the machine's busy CPU, sampled
// over one second, is below frac of all CPUs. It returns the last sample
// (a fraction of all CPUs) and whether it was below frac.
func WaitQuiet(maxWait time.Duration, frac float64) (float64, bool) {
	deadline := time.Now().Add(maxWait)
	for {
		a0, _, err := MachineCPU()
		if err != nil {
			return 0, false
		}
		time.Sleep(time.Second)
		a1, _, err := MachineCPU()
		if err != nil {
			return 0, false
		}
		busy := 0.0
		if t := a1.Total - a0.Total; t > 0 {
			busy = float64(a1.Busy-a0.Busy) / float64(t)
		}
		if busy < frac {
			return busy, true
		}
		if time.Now().After(deadline) {
			return busy, false
		}
	}
}

// Machine describes the host.
type Machine struct {
	Date     string     `json:"date"`
	NProc    int        `json:"nproc"`
	CPUModel string     `json:"cpu_model"`
	Kernel   string     `json:"kernel"`
	Go       string     `json:"go"`
	LoadAvg  [3]float64 `json:"loadavg_at_start"`
}

// MachineInfo describes this host.
func MachineInfo() Machine {
	m := Machine{Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				m.NProc++
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			}
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	m.LoadAvg, _ = LoadAvg()
	return m
}

// RelayInfo names a relay of a comparison.
type RelayInfo struct {
	Name    string   `json:"name"`
	Binary  string   `json:"binary"`
	Version string   `json:"version"`
	Args    []string `json:"args"`
}

// CompareLoad is one load against each relay.
type CompareLoad struct {
	Load Load `json:"load"`
	// SRTP is the suite of B's leg, or empty for plain RTP.
	SRTP string `json:"srtp,omitempty"`
	// WebRTC is the DTLS-SRTP profiles offered on A's WebRTC leg, or empty.
	WebRTC  string          `json:"webrtc,omitempty"`
	Results []*SteadyResult `json:"results"` // one per relay, in Relays order; nil when it failed
	Errors  []string        `json:"errors,omitempty"`
	// BusyBefore is the machine's busy CPU (percent of all CPUs) in the
	// second before each relay's run, when QuietWait is set.
	BusyBefore []float64 `json:"busy_before_pct,omitempty"`
	// Ratios ngrelay/rtpengine (0 when either is missing).
	RelayCPURatio   float64 `json:"relay_cpu_per_pkt_ratio"`
	MachineCPURatio float64 `json:"machine_cpu_per_pkt_ratio"`
	P99Ratio        float64 `json:"p99_ratio"`
}

// CompareResult is the outcome of compare.
type CompareResult struct {
	Machine    Machine        `json:"machine"`
	Relays     []RelayInfo    `json:"relays"`
	RelayCPU   int            `json:"relay_cpu"`
	GenCPUs    []int          `json:"gen_cpus"`
	Duration   float64        `json:"duration_s"`
	Warmup     float64        `json:"warmup_s"`
	Size       int            `json:"payload_bytes"`
	Loads      []CompareLoad  `json:"loads"`
	DTLS       []DTLSCompare  `json:"dtls,omitempty"`
	Setup      []*SetupResult `json:"setup"` // one per relay; nil when it failed
	SetupErrs  []string       `json:"setup_errors,omitempty"`
	SetupRatio float64        `json:"setup_rate_ratio"`
	SetupP99   float64        `json:"setup_rtt_p99_ratio"`
	LoadAvgEnd [3]float64     `json:"loadavg_at_end"`
}

func ratio(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return a / b
}

func relayVersion(bin string) string {
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	return strings.TrimSpace(string(out))
}

// RunCompare builds (if needed) and runs both relays, one after the other
// for each load, each on a fresh process.
func RunCompare(cfg CompareConfig) (*CompareResult, error) {
	logf := func(f string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, f+"\n", a...)
		}
	}
	if cfg.Rtpengine == "" {
		cfg.Rtpengine = "/usr/bin/rtpengine"
	}
	if len(cfg.Loads) == 0 {
		cfg.Loads, _ = ParseLoads(DefaultLoads)
	}
	if cfg.Size == 0 {
		cfg.Size = 160
	}
	if cfg.QuietBusy <= 0 {
		cfg.QuietBusy = 0.15
	}
	if cfg.PortMin == 0 {
		cfg.PortMin, cfg.PortMax = 16384, 32767
	}
	dir, err := os.MkdirTemp("", "ngrelay-bench-")
	if err != nil {
		return nil, err
	}
	logf("relay logs in %s", dir)
	if cfg.Ngrelay == "" {
		logf("building ./cmd/ngrelay ...")
		if cfg.Ngrelay, err = BuildNgrelay(dir); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(cfg.Rtpengine); err != nil {
		return nil, fmt.Errorf("rtpengine: %w", err)
	}
	res := &CompareResult{
		Machine: MachineInfo(), RelayCPU: cfg.RelayCPU, GenCPUs: cfg.GenCPUs,
		Duration: cfg.Duration.Seconds(), Warmup: cfg.Warmup.Seconds(), Size: cfg.Size,
	}
	relays := []RelayConfig{
		{Name: "ngrelay", Binary: cfg.Ngrelay, Extra: cfg.NgrelayExtra},
		{Name: "rtpengine", Binary: cfg.Rtpengine},
	}
	for i := range relays {
		relays[i].CPU, relays[i].PortMin, relays[i].PortMax, relays[i].LogDir = cfg.RelayCPU, cfg.PortMin, cfg.PortMax, dir
		res.Relays = append(res.Relays, RelayInfo{
			Name: relays[i].Name, Binary: relays[i].Binary, Version: relayVersion(relays[i].Binary),
			Args: append(RelayArgs("127.0.0.1:PORT", cfg.PortMin, cfg.PortMax), relays[i].Extra...),
		})
	}
	if len(cfg.GenCPUs) > 0 {
		if err := PinProcess(cfg.GenCPUs); err != nil {
			return nil, fmt.Errorf("pin generator: %w", err)
		}
	}

	var passes []legMode
	if !cfg.SRTPOnly && !cfg.WebRTCOnly {
		passes = append(passes, legMode{})
	}
	if cfg.SRTP != 0 {
		passes = append(passes, legMode{suite: cfg.SRTP})
	}
	if cfg.WebRTC != nil {
		passes = append(passes, legMode{webrtc: cfg.WebRTC})
	}
	for _, mode := range passes {
		for _, ld := range cfg.Loads {
			res.Loads = append(res.Loads, runCompareLoad(cfg, relays, ld, mode, logf))
		}
	}
	if cfg.WebRTC != nil {
		for _, n := range cfg.DTLSClients {
			if n > 0 {
				res.DTLS = append(res.DTLS, runCompareDTLS(cfg, relays, n, logf))
			}
		}
	}

	if cfg.SetupClients > 0 && cfg.SetupDuration > 0 {
		res.Setup = make([]*SetupResult, len(relays))
		for i, rc := range relays {
			if cfg.QuietWait > 0 {
				if busy, ok := WaitQuiet(cfg.QuietWait, cfg.QuietBusy); !ok {
					logf("machine still %.0f%% busy after waiting %v; running anyway", 100*busy, cfg.QuietWait)
				}
			}
			logf("%s: setup storm, %d clients for %v ...", rc.Name, cfg.SetupClients, cfg.SetupDuration)
			rc.LogName = rc.Name + "-setup"
			r, err := StartRelay(rc)
			if err != nil {
				res.SetupErrs = append(res.SetupErrs, err.Error())
				continue
			}
			sr, err := RunSetup(SetupConfig{Target: r.Target(), Clients: cfg.SetupClients, Duration: cfg.SetupDuration})
			if r.Exited() {
				err = fmt.Errorf("%s exited during the storm\n%s", r.Name, tail(r.LogPath))
			}
			if serr := r.Stop(); serr != nil && err == nil {
				err = serr
			}
			if err != nil {
				res.SetupErrs = append(res.SetupErrs, fmt.Sprintf("%s: %v", r.Name, err))
				continue
			}
			res.Setup[i] = sr
			logf("  %.0f calls/s, RTT p50 %.0f us p99 %.0f us, %d errors", sr.NG.Rate, sr.NG.RTT.P50, sr.NG.RTT.P99, sr.NG.Errors)
		}
		if a, b := res.Setup[0], res.Setup[1]; a != nil && b != nil {
			res.SetupRatio = ratio(a.NG.Rate, b.NG.Rate)
			res.SetupP99 = ratio(a.NG.RTT.P99, b.NG.RTT.P99)
		}
	}
	res.LoadAvgEnd, _ = LoadAvg()
	return res, nil
}

// runCompareLoad runs one load against each relay, each on a fresh
// process.
func runCompareLoad(cfg CompareConfig, relays []RelayConfig, ld Load, lm legMode, logf func(string, ...any)) CompareLoad {
	cl := CompareLoad{Load: ld, Results: make([]*SteadyResult, len(relays))}
	mode := ""
	suite := lm.suite
	if suite != 0 {
		cl.SRTP = suite.Name()
		mode = ", leg B " + suite.Name()
	}
	if lm.webrtc != nil {
		rc := *lm.webrtc
		rc.defaults()
		cl.WebRTC = profileNames(rc.Profiles)
		mode = ", leg A WebRTC (DTLS-SRTP " + cl.WebRTC + ")"
	}
	for i, rc := range relays {
		if cfg.QuietWait > 0 {
			busy, ok := WaitQuiet(cfg.QuietWait, cfg.QuietBusy)
			cl.BusyBefore = append(cl.BusyBefore, 100*busy)
			if !ok {
				logf("machine still %.0f%% busy after waiting %v; running anyway", 100*busy, cfg.QuietWait)
			}
		}
		logf("%s: %s calls x pps%s for %v ...", rc.Name, ld, mode, cfg.Warmup+cfg.Duration)
		rc.LogName = fmt.Sprintf("%s-%s", rc.Name, ld)
		if suite != 0 {
			rc.LogName += "-srtp"
		}
		if lm.webrtc != nil {
			rc.LogName += "-webrtc"
		}
		r, err := StartRelay(rc)
		if err != nil {
			cl.Errors = append(cl.Errors, err.Error())
			logf("  %v", err)
			continue
		}
		sr, err := RunSteady(SteadyConfig{
			Target: r.Target(), Calls: ld.Calls, NGClients: cfg.NGClients, SRTP: suite, WebRTC: lm.webrtc,
			Traffic: TrafficConfig{
				PPS: ld.PPS, Size: cfg.Size, Warmup: cfg.Warmup, Duration: cfg.Duration,
				Threads: max(len(cfg.GenCPUs), 1), CPUs: cfg.GenCPUs,
			},
		})
		if r.Exited() {
			err = fmt.Errorf("%s exited during the run: %v\n%s", r.Name, err, tail(r.LogPath))
		}
		if serr := r.Stop(); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			cl.Errors = append(cl.Errors, fmt.Sprintf("%s: %v", r.Name, err))
			logf("  %s: %v", r.Name, err)
			continue
		}
		cl.Results[i] = sr
		logf("  offered %.0f/s delivered %.0f/s loss %.3f%% p50 %.0f us p99 %.0f us relay %.2f us/pkt machine %.2f us/pkt gen CPU %.0f%%",
			sr.OfferedPPS, sr.DeliveredPPS, sr.LossPct, sr.Latency.P50, sr.Latency.P99, sr.RelayCPUPerPktUs, sr.MachineCPUPerPktUs, sr.GenCPUPct)
		if sr.RTC != nil {
			logf("  WebRTC: %d of %d keyed, profile %s, relay a=setup %s, offer->keyed p50 %.1f ms p99 %.1f ms",
				sr.RTC.Keyed, sr.RTC.Calls, strings.Join(sr.RTC.Profiles, ","), strings.Join(sr.RTC.RelaySetup, ","), sr.RTC.Total.P50/1000, sr.RTC.Total.P99/1000)
		}
		for _, w := range sr.Warnings {
			logf("  ! %s", w)
		}
	}
	if a, b := cl.Results[0], cl.Results[1]; a != nil && b != nil {
		cl.RelayCPURatio = ratio(a.RelayCPUPerPktUs, b.RelayCPUPerPktUs)
		cl.MachineCPURatio = ratio(a.MachineCPUPerPktUs, b.MachineCPUPerPktUs)
		cl.P99Ratio = ratio(a.Latency.P99, b.Latency.P99)
	}
	return cl
}

// runCompareDTLS runs a DTLS storm with n browsers against each relay,
// each on a fresh process.
func runCompareDTLS(cfg CompareConfig, relays []RelayConfig, n int, logf func(string, ...any)) DTLSCompare {
	dc := DTLSCompare{Clients: n, Results: make([]*DTLSSetupResult, len(relays))}
	dur := cfg.DTLSDuration
	if dur <= 0 {
		dur = 5 * time.Second
	}
	for i, rc := range relays {
		if cfg.QuietWait > 0 {
			if busy, ok := WaitQuiet(cfg.QuietWait, cfg.QuietBusy); !ok {
				logf("machine still %.0f%% busy after waiting %v; running anyway", 100*busy, cfg.QuietWait)
			}
		}
		logf("%s: DTLS storm, %d browsers for %v ...", rc.Name, n, dur)
		rc.LogName = fmt.Sprintf("%s-dtls-%d", rc.Name, n)
		r, err := StartRelay(rc)
		if err != nil {
			dc.Errors = append(dc.Errors, err.Error())
			continue
		}
		dr, err := RunDTLSSetup(DTLSSetupConfig{Target: r.Target(), Clients: n, Duration: dur, WebRTC: *cfg.WebRTC})
		if r.Exited() {
			err = fmt.Errorf("%s exited during the storm\n%s", r.Name, tail(r.LogPath))
		}
		if serr := r.Stop(); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			dc.Errors = append(dc.Errors, fmt.Sprintf("%s: %v", r.Name, err))
			logf("  %s: %v", r.Name, err)
			continue
		}
		dc.Results[i] = dr
		logf("  %.1f handshakes/s, %d failed, offer->keyed p50 %.1f ms p99 %.1f ms, relay %.0f us/call, profile %s",
			dr.Rate, dr.Failed, dr.RTC.Total.P50/1000, dr.RTC.Total.P99/1000, dr.RelayCPUPerCallUs, strings.Join(dr.RTC.Profiles, ","))
		for _, w := range dr.Warnings {
			logf("  ! %s", w)
		}
	}
	if a, b := dc.Results[0], dc.Results[1]; a != nil && b != nil {
		dc.RateRatio = ratio(a.Rate, b.Rate)
		dc.P50Ratio = ratio(a.RTC.Total.P50, b.RTC.Total.P50)
		dc.P99Ratio = ratio(a.RTC.Total.P99, b.RTC.Total.P99)
		dc.CPURatio = ratio(a.RelayCPUPerCallUs, b.RelayCPUPerCallUs)
	}
	return dc
}
