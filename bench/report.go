package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

func pcts(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.0f%%", x)
	}
	return strings.Join(s, " ")
}

// WriteSteady writes a steady result for humans.
func WriteSteady(w io.Writer, r *SteadyResult) {
	relay := r.Relay
	if relay == "" {
		relay = "relay"
	}
	fmt.Fprintf(w, "%s (pid %d): %d calls x %d pps x %d B payload, %d streams, %.1f s measured after %.1f s warm-up, %d generator thread(s) on CPUs %v\n",
		relay, r.PID, r.Calls, r.PPS, r.Size, r.Streams, r.Seconds, r.Warmup, r.Threads, r.GenCPUs)
	if r.SRTP != "" {
		fmt.Fprintf(w, "  SRTP       leg A plain, leg B %s (SDES): the relay encrypts A->B and decrypts B->A; %d datagrams failed to unprotect at B (%d replays)\n",
			r.SRTP, r.SRTPFailed, r.SRTPReplayed)
	}
	fmt.Fprintf(w, "  packets    offered %.0f/s, delivered %.0f/s, loss %.3f%% (%d sent, %d received); reordered %d, duplicates %d, misdelivered %d\n",
		r.OfferedPPS, r.DeliveredPPS, r.LossPct, r.Offered, r.Received, r.Reordered, r.Duplicates, r.Mismatched)
	fmt.Fprintf(w, "  latency    p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us (one way: send time to kernel receive timestamp)\n",
		r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	fmt.Fprintf(w, "  relay      CPU %.1f%% of a CPU = %.2f us per delivered packet; RSS %d -> %d KiB = %.1f KiB/call; socket drops %d\n",
		r.RelayCPUPct, r.RelayCPUPerPktUs, r.RelayRSSBeforeKiB, r.RelayRSSAfterKiB, r.RSSPerCallKiB, r.RelayRxDrops)
	fmt.Fprintf(w, "  machine    busy %.2f CPU-s = %.2f us per delivered packet; per CPU %s; beyond relay+generator %.0f%% of a CPU; steal %.0f%%; loadavg %.2f %.2f %.2f\n",
		r.MachineBusySec, r.MachineCPUPerPktUs, pcts(r.PerCPUBusyPct), r.OtherCPUPct, r.StealPct, r.LoadAvg[0], r.LoadAvg[1], r.LoadAvg[2])
	fmt.Fprintf(w, "  generator  CPU %.0f%% of a CPU (threads %s); late slots %d, late packets %d, max slot gap %.1f ms; socket drops %d\n",
		r.GenCPUPct, pcts(r.GenThreadPct), r.LateSlots, r.LatePackets, r.MaxSlotGap, r.GenRxDrops)
	s := r.Setup
	fmt.Fprintf(w, "  NG setup   %d calls in %.2f s = %.0f offer+answer/s; RTT p50 %.0f us, p99 %.0f us, p99.9 %.0f us; %d errors\n",
		s.Calls, s.Seconds, s.Rate, s.RTT.P50, s.RTT.P99, s.RTT.P999, s.Errors)
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "  ! %s\n", x)
	}
}

// WriteSetup writes a setup-storm result for humans.
func WriteSetup(w io.Writer, r *SetupResult) {
	relay := r.Relay
	if relay == "" {
		relay = "relay"
	}
	n := r.NG
	fmt.Fprintf(w, "%s: setup storm, %d clients, %.1f s: %d offer+answer+delete cycles = %.0f calls/s; %d errors\n",
		relay, r.Clients, n.Seconds, n.Calls, n.Rate, n.Errors)
	for _, q := range []struct {
		name string
		q    Quantiles
	}{{"all", n.RTT}, {"offer", n.Offer}, {"answer", n.Answer}, {"delete", n.Delete}} {
		fmt.Fprintf(w, "  RTT %-7s p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us (%d requests)\n", q.name, q.q.P50, q.q.P99, q.q.P999, q.q.Max, q.q.N)
	}
	fmt.Fprintf(w, "  relay CPU %.0f%% of a CPU = %.1f us per call; generator CPU %.0f%%; loadavg %.2f %.2f %.2f\n",
		r.RelayCPUPct, r.RelayCPUPerCallUs, r.GenCPUPct, r.LoadAvg[0], r.LoadAvg[1], r.LoadAvg[2])
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "  ! %s\n", x)
	}
}

// WriteMax writes a max result for humans.
func WriteMax(w io.Writer, r *MaxResult) {
	if len(r.Steps) > 0 && r.Steps[0].SRTP != "" {
		fmt.Fprintf(w, "SRTP: leg A plain, leg B %s\n", r.Steps[0].SRTP)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "calls\tpps\toffered/s\tdelivered/s\tloss %\tp50 us\tp99 us\trelay CPU %\trelay us/pkt\tgen CPU %\tgen limited\t")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.3f\t%.0f\t%.0f\t%.0f\t%.2f\t%.0f\t%v\t\n",
			s.Calls, s.PPS, s.OfferedPPS, s.DeliveredPPS, s.LossPct, s.Latency.P50, s.Latency.P99, s.RelayCPUPct, s.RelayCPUPerPktUs, s.GenCPUPct, s.GenLimited)
	}
	tw.Flush()
	if r.LastGood != nil {
		fmt.Fprintf(w, "last good step: %d calls x %d pps = %.0f packets/s delivered (loss %.3f%%)\n",
			r.LastGood.Calls, r.LastGood.PPS, r.LastGood.DeliveredPPS, r.LastGood.LossPct)
	} else {
		fmt.Fprintln(w, "no step within the loss limit")
	}
	fmt.Fprintf(w, "stopped by: %s", r.StoppedBy)
	if r.Error != "" {
		fmt.Fprintf(w, " (%s)", r.Error)
	}
	fmt.Fprintln(w)
	for _, s := range r.Steps {
		for _, x := range s.Warnings {
			fmt.Fprintf(w, "  ! %d calls: %s\n", s.Calls, x)
		}
	}
}

func fmtRatio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// WriteCompare writes compare's table.
func WriteCompare(w io.Writer, r *CompareResult) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s, %s; loadavg %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
		m.NProc, m.CPUModel, m.Kernel, m.Date, m.LoadAvg[0], m.LoadAvg[1], m.LoadAvg[2], r.LoadAvgEnd[0], r.LoadAvgEnd[1], r.LoadAvgEnd[2])
	for _, ri := range r.Relays {
		fmt.Fprintf(w, "%s: %s (%s)\n", ri.Name, ri.Binary, firstLine(ri.Version))
	}
	fmt.Fprintf(w, "relays pinned to CPU %d, generator to CPUs %v; %.0f s measured after %.0f s warm-up per load, %d B payload, a fresh relay process per load\n",
		r.RelayCPU, r.GenCPUs, r.Duration, r.Warmup, r.Size)
	if suite := compareSRTP(r); suite != "" {
		fmt.Fprintf(w, "loads marked srtp: leg A plain RTP/AVP, leg B RTP/SAVP %s keyed by SDES; the relay encrypts A->B and decrypts B->A, the generator the reverse\n", suite)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\trelay\toffered/s\tdelivered/s\tloss %\treord\tp50 us\tp99 us\trelay CPU %\trelay us/pkt\tmachine us/pkt\tRSS KiB/call\tgen CPU %\tnotes\t")
	for _, l := range r.Loads {
		for i, s := range l.Results {
			name := r.Relays[i].Name
			if s == nil {
				fmt.Fprintf(tw, "%s\t%s\tfailed\t\t\t\t\t\t\t\t\t\t\t\t\n", l.label(), name)
				continue
			}
			notes := ""
			if s.GenLimited {
				notes = "GEN-LIMITED"
			}
			if s.OtherCPUPct > 25 {
				notes = strings.TrimSpace(notes + fmt.Sprintf(" busy+%.0f%%", s.OtherCPUPct))
			}
			if s.RelayRxDrops > 0 {
				notes = strings.TrimSpace(notes + fmt.Sprintf(" rxq-drops %d", s.RelayRxDrops))
			}
			if s.StealPct > 5 {
				notes = strings.TrimSpace(notes + fmt.Sprintf(" steal %.0f%%", s.StealPct))
			}
			if s.SRTPFailed > 0 {
				notes = strings.TrimSpace(notes + fmt.Sprintf(" srtp-fail %d", s.SRTPFailed))
			}
			if i < len(l.BusyBefore) && l.BusyBefore[i] >= 15 {
				notes = strings.TrimSpace(notes + fmt.Sprintf(" not-quiet %.0f%%", l.BusyBefore[i]))
			}
			relayPkt, machPkt, p50, p99 := "-", "-", "-", "-"
			if s.Received > 0 {
				relayPkt = fmt.Sprintf("%.2f", s.RelayCPUPerPktUs)
				machPkt = fmt.Sprintf("%.2f", s.MachineCPUPerPktUs)
				p50 = fmt.Sprintf("%.0f", s.Latency.P50)
				p99 = fmt.Sprintf("%.0f", s.Latency.P99)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.3f\t%d\t%s\t%s\t%.0f\t%s\t%s\t%.1f\t%.0f\t%s\t\n",
				l.label(), name, s.OfferedPPS, s.DeliveredPPS, s.LossPct, s.Reordered, p50, p99,
				s.RelayCPUPct, relayPkt, machPkt, s.RSSPerCallKiB, s.GenCPUPct, notes)
		}
		fmt.Fprintf(tw, "%s\tngrelay/rtpengine\t\t\t\t\t\t%s\t\t%s\t%s\t\t\t\t\n", l.label(), fmtRatio(l.P99Ratio), fmtRatio(l.RelayCPURatio), fmtRatio(l.MachineCPURatio))
	}
	tw.Flush()
	for _, l := range r.Loads {
		for _, e := range l.Errors {
			fmt.Fprintf(w, "  ! %s: %s\n", l.label(), e)
		}
		for i, s := range l.Results {
			if s == nil {
				continue
			}
			for _, x := range s.Warnings {
				fmt.Fprintf(w, "  ! %s %s: %s\n", l.label(), r.Relays[i].Name, x)
			}
		}
	}
	writeSRTPCost(w, r)
	if len(r.Setup) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "setup storm\trelay\tcalls/s\tRTT p50 us\tRTT p99 us\tRTT p99.9 us\trelay us/call\terrors\t")
		for i, s := range r.Setup {
			name := r.Relays[i].Name
			if s == nil {
				fmt.Fprintf(tw, "\t%s\tfailed\t\t\t\t\t\t\n", name)
				continue
			}
			fmt.Fprintf(tw, "%d clients\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%d\t\n",
				s.Clients, name, s.NG.Rate, s.NG.RTT.P50, s.NG.RTT.P99, s.NG.RTT.P999, s.RelayCPUPerCallUs, s.NG.Errors)
		}
		fmt.Fprintf(tw, "\tngrelay/rtpengine\t%s\t\t%s\t\t\t\t\n", fmtRatio(r.SetupRatio), fmtRatio(r.SetupP99))
		tw.Flush()
		for _, e := range r.SetupErrs {
			fmt.Fprintf(w, "  ! setup: %s\n", e)
		}
		for i, s := range r.Setup {
			if s == nil {
				continue
			}
			for _, x := range s.Warnings {
				fmt.Fprintf(w, "  ! setup %s: %s\n", r.Relays[i].Name, x)
			}
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (l CompareLoad) label() string {
	if l.SRTP != "" {
		return l.Load.String() + " srtp"
	}
	return l.Load.String()
}

// compareSRTP returns the suite of compare's SRTP pass, or "".
func compareSRTP(r *CompareResult) string {
	for _, l := range r.Loads {
		if l.SRTP != "" {
			return l.SRTP
		}
	}
	return ""
}

// writeSRTPCost compares each relay's CPU per packet in the SRTP pass with
// the plain pass of the same load, and the generator's CPU likewise.
func writeSRTPCost(w io.Writer, r *CompareResult) {
	plain := map[Load]CompareLoad{}
	for _, l := range r.Loads {
		if l.SRTP == "" {
			plain[l.Load] = l
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, l := range r.Loads {
		p, ok := plain[l.Load]
		if l.SRTP == "" || !ok {
			continue
		}
		if !header {
			fmt.Fprintln(w)
			fmt.Fprintln(tw, "SRTP cost\trelay\trelay us/pkt plain\trelay us/pkt srtp\tsrtp/plain\tsrtp-plain us\tgen CPU % plain\tgen CPU % srtp\t")
			header = true
		}
		for i := range l.Results {
			a, b := p.Results[i], l.Results[i]
			if a == nil || b == nil || a.Received == 0 || b.Received == 0 {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t\n", l.Load, r.Relays[i].Name)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%s\t%+.2f\t%.0f\t%.0f\t\n", l.Load, r.Relays[i].Name,
				a.RelayCPUPerPktUs, b.RelayCPUPerPktUs, fmtRatio(ratio(b.RelayCPUPerPktUs, a.RelayCPUPerPktUs)),
				b.RelayCPUPerPktUs-a.RelayCPUPerPktUs, a.GenCPUPct, b.GenCPUPct)
		}
	}
	tw.Flush()
}
