package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ngrelay/ngrelay/crypto/srtp"
	"golang.org/x/sys/unix"
)

// Target is the relay under test.
type Target struct {
	Name string // label for reports
	NG   string // NG control address (UDP), host:port
	PID  int    // relay process; 0: unknown (no relay CPU or memory figures)
}

// cpu returns the relay's CPU time, or -1.
func (t Target) cpu() time.Duration {
	if t.PID <= 0 {
		return -1
	}
	d, err := ProcCPU(t.PID)
	if err != nil {
		return -1
	}
	return d
}

func (t Target) rss() int64 {
	if t.PID <= 0 {
		return -1
	}
	kb, err := ProcRSS(t.PID)
	if err != nil {
		return -1
	}
	return kb
}

// SteadyConfig is a steady load: Calls calls, each with two streams (A to
// B and B to A) of PPS packets per second.
type SteadyConfig struct {
	Target    Target
	Calls     int
	Traffic   TrafficConfig
	NGClients int // parallel NG clients for setup and teardown (default 4)
	RcvBuf    int // generator socket buffers (default 1 MiB)
	// BusyThreshold is the CPU (in CPUs) used beyond relay and generator
	// above which the machine is reported busy (default 0.25).
	BusyThreshold float64
	// SRTP, when set (non-zero), makes B's leg of every call SRTP with this
	// suite, keyed by SDES; A's leg stays plain (see srtp.go).
	SRTP srtp.Suite
	// WebRTC, when not nil, makes A's leg of every call a browser's:
	// ICE and DTLS-SRTP (see webrtc.go); B stays plain. Not with SRTP.
	WebRTC *WebRTCConfig
}

// SteadyResult is the outcome of a steady load.
type SteadyResult struct {
	Relay string `json:"relay,omitempty"`
	PID   int    `json:"pid,omitempty"`
	Calls int    `json:"calls"`
	PPS   int    `json:"pps_per_stream"`
	Size  int    `json:"payload_bytes"`
	// SRTP is the suite of B's SRTP leg, or empty for plain RTP on both.
	SRTP     string  `json:"srtp,omitempty"`
	Streams  int     `json:"streams"`
	Seconds  float64 `json:"seconds"` // measured window
	Warmup   float64 `json:"warmup_seconds"`
	Threads  int     `json:"gen_threads"`
	GenCPUs  []int   `json:"gen_cpus,omitempty"`
	Offered  uint64  `json:"offered_packets"`
	Received uint64  `json:"delivered_packets"`

	// WebRTC is the DTLS-SRTP profiles offered on A's WebRTC leg, or
	// empty; RTC describes the handshakes.
	WebRTC string       `json:"webrtc,omitempty"`
	RTC    *WebRTCStats `json:"webrtc_setup,omitempty"`

	// RxAll counts every datagram received, warm-up and drain included.
	RxAll uint64 `json:"received_all"`

	OfferedPPS   float64 `json:"offered_pps"`
	DeliveredPPS float64 `json:"delivered_pps"`
	LossPct      float64 `json:"loss_pct"`
	Reordered    uint64  `json:"reordered"`
	Duplicates   uint64  `json:"duplicates"`
	Mismatched   uint64  `json:"mismatched"` // datagrams of another stream
	Bad          uint64  `json:"bad"`        // truncated or not ours
	// SRTPFailed counts datagrams B could not unprotect (authentication
	// failed, replayed, malformed): lost, as a real endpoint would drop
	// them. SRTPReplayed is those of them rejected as replays.
	SRTPFailed   uint64 `json:"srtp_failed,omitempty"`
	SRTPReplayed uint64 `json:"srtp_replayed,omitempty"`
	SendFailed   uint64 `json:"send_failed"`
	SendErrors   uint64 `json:"send_errors"`
	LastSendErr  string `json:"last_send_error,omitempty"`
	RecvErrors   uint64 `json:"recv_errors"`
	// ControlRx counts the non-RTP datagrams (STUN, DTLS, RTCP) A's
	// WebRTC endpoints received during the traffic.
	ControlRx uint64 `json:"control_rx,omitempty"`
	// DeliveredToA and DeliveredToB split Received by the receiving side
	// (B->A and A->B).
	DeliveredToA uint64 `json:"delivered_to_a"`
	DeliveredToB uint64 `json:"delivered_to_b"`

	Latency    Quantiles `json:"latency"` // one way, generator send to generator kernel receive
	NoKernelTS uint64    `json:"no_kernel_timestamp"`

	RelayCPUSec        float64   `json:"relay_cpu_s"`
	RelayCPUPct        float64   `json:"relay_cpu_pct"` // of one CPU
	RelayCPUPerPktUs   float64   `json:"relay_cpu_per_pkt_us"`
	MachineBusySec     float64   `json:"machine_busy_s"`      // sum over CPUs of wall - idle
	MachineBusyTickSec float64   `json:"machine_busy_tick_s"` // the same from /proc/stat's tick-sampled busy fields
	StealPct           float64   `json:"steal_pct"`           // hypervisor steal, all CPUs, of one CPU
	MachineCPUPerPktUs float64   `json:"machine_cpu_per_pkt_us"`
	PerCPUBusyPct      []float64 `json:"per_cpu_busy_pct"`
	GenCPUSec          float64   `json:"gen_cpu_s"`
	GenCPUPct          float64   `json:"gen_cpu_pct"`    // of one CPU, whole process
	GenThreadPct       []float64 `json:"gen_thread_pct"` // each generator thread, of one CPU
	OtherCPUPct        float64   `json:"other_cpu_pct"`  // machine busy beyond relay and generator, of one CPU

	RelayRSSBeforeKiB int64   `json:"relay_rss_before_kib"`
	RelayRSSAfterKiB  int64   `json:"relay_rss_after_kib"`
	RSSPerCallKiB     float64 `json:"rss_per_call_kib"`
	RelayRxDrops      uint64  `json:"relay_socket_drops"` // /proc/net/udp drops on the relay's ports
	GenRxDrops        uint64  `json:"gen_socket_drops"`   // /proc/net/udp drops on the generator's sockets

	Setup NGStats `json:"setup"`

	LateSlots   uint64  `json:"late_slots"`
	LatePackets uint64  `json:"late_packets"`
	MaxSlotGap  float64 `json:"max_slot_gap_ms"`
	MaxLate     float64 `json:"max_send_late_ms"`

	LoadAvg  [3]float64 `json:"loadavg"`
	Warnings []string   `json:"warnings,omitempty"`
	// GenLimited reports that the generator, not the relay, may have
	// limited the run: a generator thread above 90% of a CPU, more than 5%
	// of the packets sent over 5 ms late, or datagrams dropped on the
	// generator's sockets.
	GenLimited bool `json:"gen_limited"`
}

type snapshot struct {
	at      time.Time
	relay   time.Duration
	machine CPUTimes
	perCPU  []CPUTimes
	self    time.Duration
	drops   map[int]uint64 // local port -> drops
	inodes  map[uint64]uint64
}

func takeSnapshot(t Target) snapshot {
	s := snapshot{at: time.Now(), relay: t.cpu(), self: SelfCPU()}
	s.machine, s.perCPU, _ = MachineCPU()
	if socks, err := UDPSockets(); err == nil {
		s.drops = map[int]uint64{}
		s.inodes = map[uint64]uint64{}
		for _, so := range socks {
			s.drops[so.LocalPort] += so.Drops
			s.inodes[so.Inode] = so.Drops
		}
	}
	return s
}

// RunSteady sets up the calls, runs the traffic, deletes the calls and
// reports.
func RunSteady(cfg SteadyConfig) (*SteadyResult, error) {
	if cfg.Calls <= 0 {
		return nil, errors.New("calls must be positive")
	}
	if cfg.NGClients <= 0 {
		cfg.NGClients = 4
	}
	if cfg.RcvBuf <= 0 {
		cfg.RcvBuf = 1 << 20
	}
	if cfg.BusyThreshold <= 0 {
		cfg.BusyThreshold = 0.25
	}
	tc := cfg.Traffic
	if tc.Size == 0 {
		tc.Size = 160
	}
	t := cfg.Target
	res := &SteadyResult{
		Relay: t.Name, PID: t.PID, Calls: cfg.Calls, PPS: tc.PPS, Size: tc.Size,
		Seconds: tc.Duration.Seconds(), Warmup: tc.Warmup.Seconds(), GenCPUs: tc.CPUs,
	}
	if cfg.SRTP != 0 {
		if !cfg.SRTP.Valid() {
			return nil, fmt.Errorf("unknown SRTP suite %v", cfg.SRTP)
		}
		res.SRTP = cfg.SRTP.Name()
	}
	var rtc *rtcShared
	if cfg.WebRTC != nil {
		if cfg.SRTP != 0 {
			return nil, errors.New("WebRTC mode and SDES SRTP mode do not combine")
		}
		var err error
		if rtc, err = newRTCShared(*cfg.WebRTC); err != nil {
			return nil, err
		}
		res.WebRTC = profileNames(rtc.cfg.Profiles)
	}
	res.RelayRSSBeforeKiB = t.rss()

	ids := newCallIDs()
	calls := make([]*call, cfg.Calls)
	defer func() {
		for _, c := range calls {
			if c != nil {
				unix.Close(c.fdA)
				unix.Close(c.fdB)
			}
		}
	}()
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	ours := map[uint64]bool{}
	for i := range calls {
		c := &call{fdA: -1, fdB: -1}
		var err error
		if c.fdA, c.addrA, err = udpSocket(lo, cfg.RcvBuf); err != nil {
			return nil, err
		}
		calls[i] = c
		if c.fdB, c.addrB, err = udpSocket(lo, cfg.RcvBuf); err != nil {
			return nil, err
		}
		c.id = ids.next()
		c.fromTag, c.toTag = "ft-"+c.id, "tt-"+c.id
		for _, fd := range []int{c.fdA, c.fdB} {
			if ino, err := SocketInode(fd); err == nil {
				ours[ino] = true
			}
		}
	}
	setup, err := setupCalls(t.NG, calls, cfg.NGClients, cfg.SRTP, rtc)
	res.Setup = setup
	defer func() {
		deleteCalls(t.NG, calls, cfg.NGClients)
	}()
	if rtc != nil {
		defer func() {
			for _, c := range calls {
				if c.peer != nil {
					c.peer.close()
				}
			}
		}()
		peers := make([]*rtcPeer, len(calls))
		for i, c := range calls {
			peers[i] = c.peer
		}
		st := collectRTC(peers)
		st.Failed = st.Calls - setup.Calls
		st.FirstError = setup.FirstEr
		res.RTC = &st
	}
	if err != nil {
		return res, err
	}
	res.RelayRSSAfterKiB = t.rss()
	if res.RelayRSSBeforeKiB >= 0 && res.RelayRSSAfterKiB >= 0 {
		res.RSSPerCallKiB = float64(res.RelayRSSAfterKiB-res.RelayRSSBeforeKiB) / float64(cfg.Calls)
	}
	relayPorts := map[int]bool{}
	pairs := make([]pair, len(calls))
	for i, c := range calls {
		if err := connectUDP(c.fdA, c.relayA); err != nil {
			return res, fmt.Errorf("connect A to %s: %w", c.relayA, err)
		}
		if err := connectUDP(c.fdB, c.relayB); err != nil {
			return res, fmt.Errorf("connect B to %s: %w", c.relayB, err)
		}
		relayPorts[int(c.relayA.Port())] = true
		relayPorts[int(c.relayB.Port())] = true
		pairs[i] = pair{a: c.fdA, b: c.fdB, bTx: c.bTx, bRx: c.bRx, aTx: c.aTx, aRx: c.aRx, aCtrl: c.peer}
	}

	var s0, s1 snapshot
	ts, err := runTraffic(pairs, tc, func() { s0 = takeSnapshot(t) }, func() { s1 = takeSnapshot(t) })
	if res.RTC != nil {
		// Consent checks and DTLS during the traffic.
		peers := make([]*rtcPeer, len(calls))
		for i, c := range calls {
			peers[i] = c.peer
		}
		st := collectRTC(peers)
		st.Failed, st.FirstError = res.RTC.Failed, res.RTC.FirstError
		res.RTC = &st
		res.ControlRx = ts.CtrlRx
	}
	if err != nil {
		return res, err
	}
	res.LoadAvg, _ = LoadAvg()
	fillSteady(res, ts, s0, s1, t, relayPorts, ours, cfg.BusyThreshold)
	return res, nil
}

func fillSteady(res *SteadyResult, ts *trafficStats, s0, s1 snapshot, t Target, relayPorts map[int]bool, ours map[uint64]bool, busy float64) {
	res.Streams = ts.Streams
	res.Threads = len(ts.ThreadCPU)
	res.Offered = ts.SentMeasured
	res.Received = ts.Received
	res.DeliveredToA, res.DeliveredToB = ts.ReceivedA, ts.ReceivedB
	res.RxAll = ts.RxAll
	secs := res.Seconds
	if secs > 0 {
		res.OfferedPPS = float64(ts.SentMeasured) / secs
		res.DeliveredPPS = float64(ts.Received) / secs
	}
	res.LossPct = LossPercent(ts.SentMeasured, ts.Received)
	res.Reordered, res.Duplicates = ts.Reordered, ts.Duplicates
	res.Mismatched, res.Bad = ts.Mismatch, ts.Bad
	res.SRTPFailed, res.SRTPReplayed = ts.SRTPFailed, ts.SRTPReplayed
	res.SendFailed, res.SendErrors, res.LastSendErr = ts.SendFailed, ts.SendErrors, ts.LastSendErr
	res.RecvErrors = ts.RecvErrors
	res.Latency = HistQuantiles(&ts.Latency)
	res.NoKernelTS = ts.NoKernelTS
	res.LateSlots, res.LatePackets = ts.LateSlots, ts.LatePackets
	res.MaxSlotGap = float64(ts.MaxGap) / 1e6
	res.MaxLate = float64(ts.MaxLate) / 1e6

	wall := s1.at.Sub(s0.at)
	pkts := float64(ts.Received)
	if s0.relay >= 0 && s1.relay >= 0 {
		d := s1.relay - s0.relay
		res.RelayCPUSec = d.Seconds()
		res.RelayCPUPct = 100 * float64(d) / float64(wall)
		if pkts > 0 {
			res.RelayCPUPerPktUs = us(d) / pkts
		}
	}
	// Busy time is wall time minus the (exactly measured) idle time; the
	// tick-sampled busy fields are kept for comparison.
	ncpu := min(len(s0.perCPU), len(s1.perCPU))
	var mb time.Duration
	for i := range ncpu {
		b := s1.perCPU[i].BusySince(s0.perCPU[i], wall)
		mb += b
		res.PerCPUBusyPct = append(res.PerCPUBusyPct, 100*float64(b)/float64(wall))
	}
	res.MachineBusySec = mb.Seconds()
	res.StealPct = 100 * float64(s1.machine.Steal-s0.machine.Steal) / float64(wall)
	res.MachineBusyTickSec = (s1.machine.Busy - s0.machine.Busy).Seconds()
	if pkts > 0 {
		res.MachineCPUPerPktUs = us(mb) / pkts
	}
	gen := s1.self - s0.self
	res.GenCPUSec = gen.Seconds()
	res.GenCPUPct = 100 * float64(gen) / float64(wall)
	for _, f := range ts.ThreadCPU {
		res.GenThreadPct = append(res.GenThreadPct, 100*f)
	}
	other := mb - gen
	if s0.relay >= 0 && s1.relay >= 0 {
		other -= s1.relay - s0.relay
	}
	res.OtherCPUPct = 100 * float64(other) / float64(wall)

	if s0.drops != nil && s1.drops != nil {
		for p := range relayPorts {
			res.RelayRxDrops += s1.drops[p] - min(s0.drops[p], s1.drops[p])
		}
		for ino := range ours {
			res.GenRxDrops += s1.inodes[ino] - min(s0.inodes[ino], s1.inodes[ino])
		}
	}

	// Warnings.
	warn := func(f string, a ...any) { res.Warnings = append(res.Warnings, fmt.Sprintf(f, a...)) }
	for i, p := range res.GenThreadPct {
		if p >= 90 {
			warn("generator saturated: thread %d used %.0f%% of a CPU", i, p)
			res.GenLimited = true
		}
	}
	if ts.LateSlots > 0 || ts.LatePackets > 0 {
		frac := 0.0
		if ts.Sent > 0 {
			frac = float64(ts.LatePackets) / float64(ts.Sent)
		}
		warn("generator fell behind its pacing: %d slots processed >%v late (max gap %.1f ms), %d packets (%.2f%%) sent >%v late (max %.1f ms)",
			ts.LateSlots, lateThreshold, res.MaxSlotGap, ts.LatePackets, 100*frac, lateThreshold, res.MaxLate)
		// A few stalls (another task on the generator's CPU) bunch some
		// packets; beyond 5% of them the offered load is not the one asked.
		if frac > 0.05 {
			res.GenLimited = true
		}
	}
	if res.OtherCPUPct > 100*busy {
		warn("machine busy: %.0f%% of a CPU used beyond relay and generator (softirq not charged to a process counts here too); loadavg %.2f %.2f %.2f",
			res.OtherCPUPct, res.LoadAvg[0], res.LoadAvg[1], res.LoadAvg[2])
	}
	if res.StealPct > 5 {
		warn("hypervisor steal: %.0f%% of a CPU (other virtual machines on the host)", res.StealPct)
	}
	if res.GenRxDrops > 0 {
		warn("generator sockets dropped %d datagrams (receive queue full): counted as loss", res.GenRxDrops)
		res.GenLimited = true
	}
	if res.RelayRxDrops > 0 {
		warn("relay sockets dropped %d datagrams (receive queue full)", res.RelayRxDrops)
	}
	if ts.SendErrors > 0 {
		warn("%d sendmmsg calls failed (last: %s); %d packets not sent", ts.SendErrors, ts.LastSendErr, ts.SendFailed)
	}
	if ts.SRTPFailed > 0 || ts.SRTPProtectErrs > 0 {
		warn("SRTP: %d datagrams failed to unprotect (%d of them as replays), counted as loss; %d packets could not be protected; first: %s",
			ts.SRTPFailed, ts.SRTPReplayed, ts.SRTPProtectErrs, ts.FirstSRTPErr)
	}
	if ts.Mismatch > 0 {
		warn("%d datagrams arrived on the wrong endpoint; first: %s", ts.Mismatch, ts.FirstMismatch)
	}
	if ts.NoKernelTS > 0 {
		warn("%d datagrams without kernel timestamp (user-space receive time used)", ts.NoKernelTS)
	}
	if t.PID <= 0 {
		warn("relay PID unknown: no relay CPU or memory figures")
	}
}
