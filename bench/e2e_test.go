package bench

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/ng/bencode"
	"github.com/ngrelay/ngrelay/ng/framing"
)

// nullRelay plays the relay on 127.0.0.1: it answers NG offer and answer
// with SDP naming two ports of its own per call and forwards datagrams
// between them, the way rtpengine does: what arrives on the port given to
// A (in the answer) leaves from the port given to B (in the offer) towards
// B's endpoint, and back.
type nullRelay struct {
	t  testing.TB
	ng *net.UDPConn

	mu      sync.Mutex
	calls   map[string]*nullCall
	deletes int
	wg      sync.WaitGroup
}

type nullCall struct {
	toA, toB     *net.UDPConn // toB: the port advertised to B (offer); toA: to A (answer)
	addrA, addrB netip.AddrPort
}

func startNullRelay(t testing.TB) *nullRelay {
	ng, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &nullRelay{t: t, ng: ng, calls: map[string]*nullCall{}}
	r.wg.Go(r.serveNG)
	t.Cleanup(r.close)
	return r
}

func (r *nullRelay) addr() string { return r.ng.LocalAddr().String() }

func (r *nullRelay) close() {
	r.ng.Close()
	r.mu.Lock()
	for id, c := range r.calls {
		c.toA.Close()
		c.toB.Close()
		delete(r.calls, id)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *nullRelay) serveNG() {
	buf := make([]byte, 65536)
	for {
		n, from, err := r.ng.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		m, err := framing.Parse(buf[:n])
		if err != nil {
			continue
		}
		req, err := bencode.Decode(m.Body)
		if err != nil {
			continue
		}
		rep := r.handle(req)
		r.ng.WriteToUDPAddrPort(framing.AppendReply(nil, m.Cookie, bencode.Encode(rep)), from)
	}
}

func ngError(reason string) bencode.Value {
	return bencode.Dict(bencode.P("result", bencode.String("error")), bencode.P("error-reason", bencode.String(reason)))
}

func (r *nullRelay) handle(req bencode.Value) bencode.Value {
	cmd, _ := req.GetString("command")
	id, _ := req.GetString("call-id")
	sdp, _ := req.GetString("sdp")
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cmd {
	case "ping":
		return bencode.Dict(bencode.P("result", bencode.String("pong")))
	case "offer":
		ep, err := sdpAudio(sdp)
		if err != nil {
			return ngError(err.Error())
		}
		c := &nullCall{addrA: ep}
		if c.toA, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			return ngError(err.Error())
		}
		if c.toB, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			c.toA.Close()
			return ngError(err.Error())
		}
		r.calls[id] = c
		r.wg.Go(func() { r.forward(c, c.toA, c.toB, true) })
		r.wg.Go(func() { r.forward(c, c.toB, c.toA, false) })
		return r.sdpReply(c.toB)
	case "answer":
		c := r.calls[id]
		if c == nil {
			return ngError("unknown call")
		}
		ep, err := sdpAudio(sdp)
		if err != nil {
			return ngError(err.Error())
		}
		c.addrB = ep
		return r.sdpReply(c.toA)
	case "delete":
		c := r.calls[id]
		if c == nil {
			return ngError("unknown call")
		}
		c.toA.Close()
		c.toB.Close()
		delete(r.calls, id)
		r.deletes++
		return bencode.Dict(bencode.P("result", bencode.String("ok")))
	}
	return ngError("unsupported command " + cmd)
}

func (r *nullRelay) sdpReply(c *net.UDPConn) bencode.Value {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return bencode.Dict(bencode.P("result", bencode.String("ok")), bencode.P("sdp", bencode.String(offerSDP(ap, 99))))
}

// forward copies datagrams from in to the peer endpoint, out of out.
func (r *nullRelay) forward(c *nullCall, in, out *net.UDPConn, fromA bool) {
	buf := make([]byte, 2048)
	for {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		to := c.addrA
		if fromA {
			to = c.addrB
		}
		r.mu.Unlock()
		if to.IsValid() {
			out.WriteToUDPAddrPort(buf[:n], to)
		}
	}
}

func TestSteadyThroughNullRelay(t *testing.T) {
	r := startNullRelay(t)
	if err := Ping(r.addr(), time.Second); err != nil {
		t.Fatal(err)
	}
	const calls, pps = 5, 50
	dur := 2 * time.Second
	res, err := RunSteady(SteadyConfig{
		Target: Target{Name: "null", NG: r.addr(), PID: os.Getpid()},
		Calls:  calls,
		Traffic: TrafficConfig{
			PPS: pps, Size: 160, Warmup: 200 * time.Millisecond, Duration: dur, Drain: 3 * time.Second,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	WriteSteady(testWriter{t}, res)
	if want := uint64(calls * 2 * pps * dur / time.Second); res.Offered != want {
		t.Errorf("offered %d packets in the measured window, want %d", res.Offered, want)
	}
	if res.Received != res.Offered || res.LossPct != 0 {
		t.Errorf("delivered %d of %d (loss %.3f%%)", res.Received, res.Offered, res.LossPct)
	}
	if res.Duplicates != 0 || res.Mismatched != 0 || res.Bad != 0 {
		t.Errorf("duplicates %d, mismatched %d, bad %d", res.Duplicates, res.Mismatched, res.Bad)
	}
	if res.Latency.N != int(res.Received) || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
		t.Errorf("latency not measured: %+v", res.Latency)
	}
	if res.NoKernelTS != 0 {
		t.Errorf("%d packets without kernel timestamp", res.NoKernelTS)
	}
	if res.Setup.Calls != calls || res.Setup.Errors != 0 || res.Setup.RTT.N != 2*calls {
		t.Errorf("setup %+v", res.Setup)
	}
	if res.Streams != 2*calls || res.Threads != 1 {
		t.Errorf("streams %d threads %d", res.Streams, res.Threads)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deletes != calls || len(r.calls) != 0 {
		t.Errorf("relay saw %d deletes, %d calls left", r.deletes, len(r.calls))
	}
}

func TestSetupStormAgainstNullRelay(t *testing.T) {
	r := startNullRelay(t)
	res, err := RunSetup(SetupConfig{Target: Target{NG: r.addr(), PID: os.Getpid()}, Clients: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	WriteSetup(testWriter{t}, res)
	if res.NG.Calls == 0 || res.NG.Errors != 0 || res.NG.Offer.N < res.NG.Calls || res.NG.Delete.N < res.NG.Calls {
		t.Errorf("%+v", res.NG)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) != 0 {
		t.Errorf("%d calls left", len(r.calls))
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
