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
	if r.RTC != nil {
		writeRTC(w, r.RTC, r.WebRTC)
		fmt.Fprintf(w, "  WebRTC     media delivered to A (the relay's SRTP, decrypted by A) %d, to B (A's SRTP, decrypted by the relay) %d; %d STUN/DTLS/RTCP datagrams at A during the traffic\n",
			r.DeliveredToA, r.DeliveredToB, r.ControlRx)
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
	if len(r.Steps) > 0 && r.Steps[0].WebRTC != "" {
		fmt.Fprintf(w, "WebRTC: leg A a browser (ICE, DTLS-SRTP offering %s), leg B plain\n", r.Steps[0].WebRTC)
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
	if prof := compareWebRTC(r); prof != "" {
		fmt.Fprintf(w, "loads marked webrtc: leg A a browser (WebRTC offer with the JsSIP-to-phone NG flags, ICE, DTLS-SRTP offering %s), leg B plain RTP/AVP; the relay decrypts A->B and encrypts B->A\n", prof)
	}
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
	writeRTCCompare(w, r)
	writeDTLSCompare(w, r)
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
	if l.WebRTC != "" {
		return l.Load.String() + " webrtc"
	}
	return l.Load.String()
}

// compareWebRTC returns the profiles offered in compare's WebRTC pass, or "".
func compareWebRTC(r *CompareResult) string {
	for _, l := range r.Loads {
		if l.WebRTC != "" {
			return l.WebRTC
		}
	}
	return ""
}

// writeDTLSCompare writes compare's DTLS storms.
func writeDTLSCompare(w io.Writer, r *CompareResult) {
	if len(r.DTLS) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DTLS storm\trelay\thandshakes/s\tcompleted\tfailed\tkeyed p50 ms\tkeyed p99 ms\tICE p50 ms\tmedia p50 ms\trelay CPU %\trelay us/call\tgen CPU %\tprofile\trelay setup\t")
	for _, d := range r.DTLS {
		for i, s := range d.Results {
			name := r.Relays[i].Name
			if s == nil {
				fmt.Fprintf(tw, "%d browsers\t%s\tfailed\t\t\t\t\t\t\t\t\t\t\t\t\n", d.Clients, name)
				continue
			}
			fmt.Fprintf(tw, "%d browsers\t%s\t%.1f\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f\t%s\t%s\t\n", d.Clients, name,
				s.Rate, s.Complete, s.Failed, s.RTC.Total.P50/1000, s.RTC.Total.P99/1000, s.RTC.ICE.P50/1000, s.Media.P50/1000,
				s.RelayCPUPct, s.RelayCPUPerCallUs, s.GenCPUPct, strings.Join(s.RTC.Profiles, ","), strings.Join(s.RTC.RelaySetup, ","))
		}
		fmt.Fprintf(tw, "%d browsers\tngrelay/rtpengine\t%s\t\t\t%s\t%s\t\t\t\t%s\t\t\t\t\n", d.Clients,
			fmtRatio(d.RateRatio), fmtRatio(d.P50Ratio), fmtRatio(d.P99Ratio), fmtRatio(d.CPURatio))
	}
	tw.Flush()
	for _, d := range r.DTLS {
		for _, e := range d.Errors {
			fmt.Fprintf(w, "  ! DTLS storm %d browsers: %s\n", d.Clients, e)
		}
		for i, s := range d.Results {
			if s == nil {
				continue
			}
			for _, x := range s.Warnings {
				fmt.Fprintf(w, "  ! DTLS storm %d browsers %s: %s\n", d.Clients, r.Relays[i].Name, x)
			}
		}
	}
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
		if l.SRTP == "" && l.WebRTC == "" {
			plain[l.Load] = l
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, l := range r.Loads {
		p, ok := plain[l.Load]
		if (l.SRTP == "" && l.WebRTC == "") || !ok {
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
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t\n", l.label(), r.Relays[i].Name)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%s\t%+.2f\t%.0f\t%.0f\t\n", l.label(), r.Relays[i].Name,
				a.RelayCPUPerPktUs, b.RelayCPUPerPktUs, fmtRatio(ratio(b.RelayCPUPerPktUs, a.RelayCPUPerPktUs)),
				b.RelayCPUPerPktUs-a.RelayCPUPerPktUs, a.GenCPUPct, b.GenCPUPct)
		}
	}
	tw.Flush()
}

// writeRTC describes the WebRTC handshakes of a run.
func writeRTC(w io.Writer, st *WebRTCStats, offered string) {
	fmt.Fprintf(w, "  WebRTC     leg A a browser (ICE controlling, DTLS-SRTP offering %s), leg B plain RTP/AVP; %d of %d calls keyed; profile chosen: %s; relay a=setup: %s; relay ice-lite in %d answers\n",
		offered, st.Keyed, st.Calls, strings.Join(st.Profiles, ", "), strings.Join(st.RelaySetup, ", "), st.ICELite)
	fmt.Fprintf(w, "  WebRTC     offer->answered p50 %.0f us p99 %.0f us; answered->ICE p50 %.0f us p99 %.0f us; offer->keyed p50 %.0f us p99 %.0f us max %.0f us\n",
		st.NG.P50, st.NG.P99, st.ICE.P50, st.ICE.P99, st.Total.P50, st.Total.P99, st.Total.Max)
	fmt.Fprintf(w, "  WebRTC     STUN: %d checks sent, %d succeeded, %d error responses; the relay's checks answered %d (%d bad, %d controlling); consent %d sent, %d answered; DTLS datagrams in %d, out %d\n",
		st.ChecksSent, st.ChecksOK, st.CheckErrors, st.RelayChecks, st.RelayBad, st.RoleConflict, st.ConsentSent, st.ConsentOK, st.DTLSIn, st.DTLSSent)
	if st.FirstError != "" {
		fmt.Fprintf(w, "  ! WebRTC: %d calls failed; first: %s\n", st.Failed, st.FirstError)
	}
}

// WriteDTLSSetup writes a DTLS storm result for humans.
func WriteDTLSSetup(w io.Writer, r *DTLSSetupResult) {
	relay := r.Relay
	if relay == "" {
		relay = "relay"
	}
	fmt.Fprintf(w, "%s: WebRTC setup storm, %d parallel browsers, %.1f s: %d of %d calls keyed with two-way media = %.1f handshakes/s; %d failed\n",
		relay, r.Clients, r.Seconds, r.Complete, r.Attempts, r.Rate, r.Failed)
	writeRTC(w, &r.RTC, r.Offered)
	fmt.Fprintf(w, "  media      offer->a packet decrypted each way p50 %.0f us, p99 %.0f us\n", r.Media.P50, r.Media.P99)
	fmt.Fprintf(w, "  NG RTT     offer p50 %.0f us p99 %.0f us; answer p50 %.0f us p99 %.0f us; delete p50 %.0f us p99 %.0f us\n",
		r.NG.Offer.P50, r.NG.Offer.P99, r.NG.Answer.P50, r.NG.Answer.P99, r.NG.Delete.P50, r.NG.Delete.P99)
	fmt.Fprintf(w, "  relay CPU %.0f%% of a CPU = %.1f us per completed call; generator CPU %.0f%%; loadavg %.2f %.2f %.2f\n",
		r.RelayCPUPct, r.RelayCPUPerCallUs, r.GenCPUPct, r.LoadAvg[0], r.LoadAvg[1], r.LoadAvg[2])
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  ! %s\n", e)
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "  ! %s\n", x)
	}
}

// writeRTCCompare lists the WebRTC pass's handshakes per relay.
func writeRTCCompare(w io.Writer, r *CompareResult) {
	header := false
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, l := range r.Loads {
		if l.WebRTC == "" {
			continue
		}
		for i, s := range l.Results {
			if s == nil || s.RTC == nil {
				continue
			}
			if !header {
				fmt.Fprintln(w)
				fmt.Fprintln(tw, "WebRTC setup\trelay\tkeyed\tprofile\trelay setup\tice-lite\tkeyed p50 ms\tkeyed p99 ms\tchecks ok/sent\trelay checks\tconsent ok/sent\tto A\tto B\t")
				header = true
			}
			st := s.RTC
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%d\t%.2f\t%.2f\t%d/%d\t%d\t%d/%d\t%d\t%d\t\n", l.Load, r.Relays[i].Name,
				st.Keyed, st.Calls, strings.Join(st.Profiles, ","), strings.Join(st.RelaySetup, ","), st.ICELite,
				st.Total.P50/1000, st.Total.P99/1000, st.ChecksOK, st.ChecksSent, st.RelayChecks, st.ConsentOK, st.ConsentSent,
				s.DeliveredToA, s.DeliveredToB)
		}
	}
	tw.Flush()
}
