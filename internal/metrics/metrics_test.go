package metrics_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ngrelay/ngrelay/internal/cli/clitest"
	"github.com/ngrelay/ngrelay/internal/metrics"
)

// scrape fetches url and parses it as the Prometheus text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include the given name/value pairs; ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (v float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := value(fams, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

// sendBack sends n RTP packets of B to the relay and waits until A got
// them all (clitest's SendRTP goes the other way).
func sendBack(t *testing.T, c *clitest.Call, n int) {
	t.Helper()
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(c.ToB))
	buf := make([]byte, 2048)
	for i := range n {
		pkt := append([]byte{0x80, 0, 1, byte(i), 0, 0, 1, 160, 0xbb, 0xbb, 0xbb, 0xbb}, make([]byte, 160)...)
		if _, err := c.B.RTP.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatal(err)
		}
		c.A.RTP.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, _, err := c.A.RTP.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatalf("RTP packet %d not relayed to A: %v", i, err)
		}
	}
}

func TestMetricsOfACall(t *testing.T) {
	r := clitest.Start(t, nil)
	m := metrics.New(r.Daemon.Engine, r.Daemon.Handler)

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, ln) }()
	defer func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	}()
	base := "http://" + ln.Addr().String()

	resp, err := http.Get(base + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "pong" {
		t.Fatalf("/ping: %s %q", resp.Status, body)
	}

	c := r.NewCall(t, "metrics-call")
	c.SendRTP(t, 5)
	sendBack(t, c, 5)

	first := scrape(t, base+"/metrics")
	if v := mustValue(t, first, "ngrelay_sessions", "type", "own"); v != 1 {
		t.Errorf("sessions own = %v, want 1", v)
	}
	if v := mustValue(t, first, "ngrelay_calls_created_total"); v != 1 {
		t.Errorf("calls created = %v, want 1", v)
	}
	if v := mustValue(t, first, "ngrelay_ng_commands_total", "command", "offer"); v != 1 {
		t.Errorf("offers = %v, want 1", v)
	}
	if v := mustValue(t, first, "ngrelay_ng_commands_total", "command", "answer"); v != 1 {
		t.Errorf("answers = %v, want 1", v)
	}
	if v := mustValue(t, first, "ngrelay_max_sessions"); v != float64(r.Daemon.Handler.MaxSessions()) {
		t.Errorf("max sessions = %v, want %d", v, r.Daemon.Handler.MaxSessions())
	}
	la := r.Daemon.Engine.LocalAddrs()[0]
	iface := []string{"interface", la.Interface, "address", la.Addr.String()}
	free := mustValue(t, first, "ngrelay_port_pairs", append(iface, "state", "free")...)
	used := mustValue(t, first, "ngrelay_port_pairs", append(iface, "state", "used")...)
	if used < 2 || free+used != float64(la.Ports.Size()) {
		t.Errorf("port pairs free %v used %v, want used >= 2 and a sum of %d", free, used, la.Ports.Size())
	}
	rtp1 := mustValue(t, first, "ngrelay_media_packets_total", "protocol", "rtp")
	if rtp1 < 10 {
		t.Errorf("RTP packets = %v, want >= 10", rtp1)
	}
	if v := mustValue(t, first, "ngrelay_media_bytes_total", "protocol", "rtp"); v < 10*172 {
		t.Errorf("RTP bytes = %v, want >= %d", v, 10*172)
	}
	mustValue(t, first, "ngrelay_media_packets_total", "protocol", "rtcp")
	ifRTP1 := mustValue(t, first, "ngrelay_interface_media_packets_total", append(iface, "protocol", "rtp")...)
	if ifRTP1 != rtp1 {
		t.Errorf("interface RTP packets %v, total %v: want equal with one interface", ifRTP1, rtp1)
	}
	workers := first["ngrelay_worker_busy_seconds_total"]
	if workers == nil || len(workers.GetMetric()) != len(r.Daemon.Engine.WorkerStats()) {
		t.Errorf("worker busy series: %v, want %d", workers, len(r.Daemon.Engine.WorkerStats()))
	}
	var received float64
	for _, w := range first["ngrelay_worker_received_packets_total"].GetMetric() {
		received += w.GetCounter().GetValue()
	}
	if received < 10 {
		t.Errorf("workers received %v packets, want >= 10", received)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "go_build_info"} {
		if first[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if _, ok := value(first, "ngrelay_call_timeouts_total", "kind", "forced"); !ok {
		t.Errorf("no forced terminations series")
	}
	// WebRTC counters: present from the start (no WebRTC call yet: zero).
	webrtc := []struct {
		name   string
		labels []string
	}{
		{"ngrelay_dtls_handshakes_total", nil},
		{"ngrelay_dtls_failures_total", nil},
		{"ngrelay_dtls_stranger_records_total", nil},
		{"ngrelay_stun_packets_total", []string{"result", "accepted"}},
		{"ngrelay_stun_packets_total", []string{"result", "unauthorized"}},
		{"ngrelay_stun_packets_total", []string{"result", "dropped"}},
	}
	for _, w := range webrtc {
		if v := mustValue(t, first, w.name, w.labels...); v != 0 {
			t.Errorf("%s%v = %v without WebRTC calls, want 0", w.name, w.labels, v)
		}
		if typ := first[w.name].GetType(); typ != dto.MetricType_COUNTER {
			t.Errorf("%s is a %s, want a counter", w.name, typ)
		}
	}

	c.SendRTP(t, 3)
	sendBack(t, c, 4)
	m.ObserveCommand("offer", 2*time.Millisecond, false)
	m.ObserveCommand("Answer", time.Millisecond, true)
	m.ObserveCommand("no such command", time.Millisecond, true)
	// The handler's WebRTC counters are read at scrape time.
	hs := &r.Daemon.Handler.Stats
	hs.DTLSHandshakes.Add(3)
	hs.DTLSFailures.Add(2)
	hs.DTLSStrangers.Add(5)
	hs.STUNAccepted.Add(7)
	hs.STUNUnauthorized.Add(11)
	hs.STUNDropped.Add(13)

	second := scrape(t, base+"/metrics")
	if rtp2 := mustValue(t, second, "ngrelay_media_packets_total", "protocol", "rtp"); rtp2 != rtp1+7 {
		t.Errorf("RTP packets went from %v to %v, want +7", rtp1, rtp2)
	}
	if v := mustValue(t, second, "ngrelay_interface_media_packets_total", append(iface, "protocol", "rtp")...); v != ifRTP1+7 {
		t.Errorf("interface RTP packets went from %v to %v, want +7", ifRTP1, v)
	}
	if v := mustValue(t, second, "ngrelay_ng_command_duration_seconds", "command", "offer", "result", "ok"); v != 1 {
		t.Errorf("offer latency observations = %v, want 1", v)
	}
	if v := mustValue(t, second, "ngrelay_ng_command_duration_seconds", "command", "answer", "result", "error"); v != 1 {
		t.Errorf("failed answer latency observations = %v, want 1", v)
	}
	if v := mustValue(t, second, "ngrelay_ng_command_duration_seconds", "command", "other", "result", "error"); v != 1 {
		t.Errorf("other command latency observations = %v, want 1", v)
	}
	for i, want := range []float64{3, 2, 5, 7, 11, 13} {
		w := webrtc[i]
		if v := mustValue(t, second, w.name, w.labels...); v != want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, v, want)
		}
	}

	// After the call ends, the counters keep its packets.
	r.NGDo(t, "command", "delete", "call-id", c.ID, "from-tag", "tagA")
	third := scrape(t, base+"/metrics")
	if v := mustValue(t, third, "ngrelay_sessions", "type", "own"); v != 0 {
		t.Errorf("sessions after delete = %v, want 0", v)
	}
	if v := mustValue(t, third, "ngrelay_calls_deleted_total"); v != 1 {
		t.Errorf("calls deleted = %v, want 1", v)
	}
	if v := mustValue(t, third, "ngrelay_media_packets_total", "protocol", "rtp"); v != rtp1+7 {
		t.Errorf("RTP packets after delete = %v, want %v", v, rtp1+7)
	}
	if v := mustValue(t, third, "ngrelay_interface_media_packets_total", append(iface, "protocol", "rtp")...); v != ifRTP1+7 {
		t.Errorf("interface RTP packets after delete = %v, want %v", v, ifRTP1+7)
	}
	if v := mustValue(t, third, "ngrelay_ng_commands_total", "command", "delete"); v != 1 {
		t.Errorf("deletes = %v, want 1", v)
	}
}

func TestPingAndUnknownPaths(t *testing.T) {
	r := clitest.Start(t, nil)
	srv := httptest.NewServer(metrics.New(r.Daemon.Engine, nil).Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/ping", 200}, {"HEAD", "/ping", 200}, {"POST", "/ping", 405},
		{"GET", "/metrics", 200}, {"GET", "/nothing", 404},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
	// Without an NG handler there are no NG counters, but the rest is there.
	fams := scrape(t, srv.URL+"/metrics")
	for _, name := range []string{"ngrelay_ng_commands_total", "ngrelay_dtls_handshakes_total", "ngrelay_stun_packets_total"} {
		if fams[name] != nil {
			t.Errorf("NG handler counter %s without a handler", name)
		}
	}
	mustValue(t, fams, "ngrelay_sessions", "type", "own")
}

func TestServeStopsWithContext(t *testing.T) {
	r := clitest.Start(t, nil)
	m := metrics.New(r.Daemon.Engine, r.Daemon.Handler)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- m.Serve(ctx, ln) }()
	// An idle keep-alive connection must not hold the shutdown up.
	scrape(t, "http://"+ln.Addr().String()+"/metrics")
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp4", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("listener still open after Serve returned")
	}
}

func TestObserveCommandOnNil(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveCommand("offer", time.Millisecond, false) // must not panic
}
