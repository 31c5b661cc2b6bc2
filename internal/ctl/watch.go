package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	Addr     string        // shown in the title
	Interval time.Duration // between refreshes
	Top      int           // calls listed (default 15)
	// Frames stops after that many screens (0: until ctx ends).
	Frames int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ANSI sequences: cursor home and clear screen.
const clearScreen = "\x1b[H\x1b[2J"

// jsonStats is the part of "list jsonstats" that the live view shows.
type jsonStats struct {
	Current struct {
		Own        int64 `json:"sessionsown"`
		Total      int64 `json:"sessionstotal"`
		PacketRate int64 `json:"packetrate"`
		ByteRate   int64 `json:"byterate"`
		ErrorRate  int64 `json:"errorrate"`
	} `json:"currentstatistics"`
	Totals struct {
		Uptime        json.Number `json:"uptime"`
		Managed       int64       `json:"managedsessions"`
		Rejected      int64       `json:"rejectedsessions"`
		Timeout       int64       `json:"timeoutsessions"`
		SilentTimeout int64       `json:"silenttimeoutsessions"`
		FinalTimeout  int64       `json:"finaltimeoutsessions"`
		OfferTimeout  int64       `json:"offertimeoutsessions"`
		Regular       int64       `json:"regularterminatedsessions"`
		Forced        int64       `json:"forcedterminatedsessions"`
		Packets       int64       `json:"relayedpackets"`
		Bytes         int64       `json:"relayedbytes"`
		Errors        int64       `json:"relayedpacketerrors"`
	} `json:"totalstatistics"`
	Interfaces []struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		Ports   struct {
			Used   int64   `json:"used"`
			Totals int64   `json:"totals"`
			Pct    float64 `json:"used_pct"`
		} `json:"ports"`
	} `json:"interfaces"`
}

// sessionsSnapshot is the part of ngrelay's "list sessions json" (see
// cli.SessionsJSON) that the live view uses.
type sessionsSnapshot struct {
	Time     float64 `json:"time"`
	Sessions []struct {
		CallID  string            `json:"callid"`
		Created float64           `json:"created"`
		Packets uint64            `json:"packets"`
		Bytes   uint64            `json:"bytes"`
		Errors  uint64            `json:"errors"`
		Tags    []json.RawMessage `json:"tags"`
	} `json:"sessions"`
}

// callRate is one line of the busiest calls.
type callRate struct {
	id              string
	age             time.Duration
	pps, bps        float64
	havePrev        bool
	packets, errors uint64
	tags            int
}

type watcher struct {
	q    Querier
	o    WatchOptions
	prev map[string]uint64 // call-ID -> packets at prevAt
	// prevBytes is the same for bytes.
	prevBytes map[string]uint64
	prevAt    float64
}

// Watch shows a refreshing view of the relay in the terminal: totals, and
// the calls with the highest packet rates, computed from two successive
// "list sessions json" snapshots (ngrelay; with rtpengine, the call list
// without rates). It returns when ctx ends (Ctrl-C) or after o.Frames
// screens; unreachable servers are shown on screen and retried.
func Watch(ctx context.Context, q Querier, o WatchOptions, w io.Writer) error {
	if o.Interval <= 0 {
		o.Interval = DefaultWatchInterval
	}
	if o.Top <= 0 {
		o.Top = 15
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	wt := &watcher{q: q, o: o}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for frame := 1; ; frame++ {
		var b strings.Builder
		b.WriteString(clearScreen)
		wt.render(&b)
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		if o.Frames > 0 && frame >= o.Frames {
			return nil
		}
		select {
		case <-ctx.Done():
			io.WriteString(w, "\n")
			return nil
		case <-t.C:
		}
	}
}

func (wt *watcher) render(b *strings.Builder) {
	now := wt.o.Now()
	fmt.Fprintf(b, "ngrelay-ctl --watch  %s  every %s  %s  (Ctrl-C to quit)\n\n", wt.o.Addr, wt.o.Interval, now.Format("15:04:05"))

	reply, err := wt.q("list jsonstats")
	var st jsonStats
	if err == nil {
		err = json.Unmarshal([]byte(reply), &st)
		if err != nil {
			err = fmt.Errorf("bad jsonstats reply: %.100q", reply)
		}
	}
	if err != nil {
		fmt.Fprintf(b, "  error: %v\n", err)
		return
	}
	up, _ := st.Totals.Uptime.Int64()
	fmt.Fprintf(b, "  sessions %d (own %d)   %d pkt/s   %s   %d err/s   uptime %s\n",
		st.Current.Total, st.Current.Own, st.Current.PacketRate, bitRate(float64(st.Current.ByteRate)), st.Current.ErrorRate,
		duration(time.Duration(up)*time.Second))
	fmt.Fprintf(b, "  ended %d: regular %d, forced %d, timeout %d, silent %d, final %d, offer %d   rejected %d\n",
		st.Totals.Managed, st.Totals.Regular, st.Totals.Forced, st.Totals.Timeout, st.Totals.SilentTimeout,
		st.Totals.FinalTimeout, st.Totals.OfferTimeout, st.Totals.Rejected)
	fmt.Fprintf(b, "  relayed %d packets, %s, %d errors\n", st.Totals.Packets, byteCount(st.Totals.Bytes), st.Totals.Errors)
	for _, it := range st.Interfaces {
		fmt.Fprintf(b, "  interface %s %s: ports %d/%d used (%.1f%%)\n", it.Name, it.Address, it.Ports.Used, it.Ports.Totals, it.Ports.Pct)
	}
	b.WriteString("\n")
	wt.renderCalls(b, now)
}

func (wt *watcher) renderCalls(b *strings.Builder, now time.Time) {
	reply, err := wt.q("list sessions json")
	if err != nil {
		fmt.Fprintf(b, "  error: %v\n", err)
		return
	}
	var snap sessionsSnapshot
	if json.Unmarshal([]byte(reply), &snap) != nil {
		// rtpengine: no per-call counters over the CLI.
		wt.renderCallList(b)
		return
	}
	var rows []callRate
	cur := map[string]uint64{}
	curBytes := map[string]uint64{}
	dt := snap.Time - wt.prevAt
	for _, s := range snap.Sessions {
		r := callRate{id: s.CallID, packets: s.Packets, errors: s.Errors, tags: len(s.Tags),
			age: time.Duration((snap.Time - s.Created) * float64(time.Second))}
		if p, ok := wt.prev[s.CallID]; ok && dt > 0 && s.Packets >= p {
			r.havePrev = true
			r.pps = float64(s.Packets-p) / dt
			r.bps = float64(s.Bytes-wt.prevBytes[s.CallID]) / dt
		}
		cur[s.CallID], curBytes[s.CallID] = s.Packets, s.Bytes
		rows = append(rows, r)
	}
	wt.prev, wt.prevBytes, wt.prevAt = cur, curBytes, snap.Time
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].pps != rows[j].pps {
			return rows[i].pps > rows[j].pps
		}
		return rows[i].packets > rows[j].packets
	})
	fmt.Fprintf(b, "  top %d of %d calls by packet rate\n", min(wt.o.Top, len(rows)), len(rows))
	fmt.Fprintf(b, "  %-40s %10s %9s %12s %12s %8s %4s\n", "CALL-ID", "AGE", "PKT/S", "BIT/S", "PACKETS", "ERRORS", "TAGS")
	for _, r := range rows[:min(wt.o.Top, len(rows))] {
		pps, bps := "-", "-"
		if r.havePrev {
			pps, bps = fmt.Sprintf("%.1f", r.pps), bitRate(r.bps)
		}
		fmt.Fprintf(b, "  %-40s %10s %9s %12s %12d %8d %4d\n", clip(r.id, 40), duration(r.age), pps, bps, r.packets, r.errors, r.tags)
	}
}

// renderCallList lists calls without rates, from "list sessions all".
func (wt *watcher) renderCallList(b *strings.Builder) {
	reply, err := wt.q("list sessions all")
	if err != nil {
		fmt.Fprintf(b, "  error: %v\n", err)
		return
	}
	calls := parseSessionLines(reply)
	fmt.Fprintf(b, "  %d calls (no per-call counters from this server: \"list sessions json\" is ngrelay's)\n", len(calls))
	fmt.Fprintf(b, "  %-40s %12s\n", "CALL-ID", "CREATED")
	for _, c := range calls[:min(wt.o.Top, len(calls))] {
		fmt.Fprintf(b, "  %-40s %12s\n", clip(c.CallID, 40), time.Unix(c.Created, 0).Format("15:04:05"))
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "~"
}

func duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func bitRate(bytesPerSec float64) string {
	bits := bytesPerSec * 8
	switch {
	case bits >= 1e9:
		return fmt.Sprintf("%.1f Gbit/s", bits/1e9)
	case bits >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", bits/1e6)
	case bits >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bits/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bits)
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
