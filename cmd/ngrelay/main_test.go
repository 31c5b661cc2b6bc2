package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildDaemon builds the ngrelay binary into a temporary directory.
func buildDaemon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ngrelay")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ping(addr string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 512)
	for range 50 {
		c.Write([]byte("c1 d7:command4:pinge"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n]), nil
		}
		time.Sleep(100 * time.Millisecond) // not listening yet: refused at once
	}
	return "", fmt.Errorf("no reply from %s", addr)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRtpengineCommandLineStartsNgrelay starts the daemon with the command
// line an rtpengine operator uses, pings it over NG, and stops it with
// SIGTERM.
func TestRtpengineCommandLineStartsNgrelay(t *testing.T) {
	bin := buildDaemon(t)
	port := freeUDPPort(t)
	pidfile := filepath.Join(t.TempDir(), "ngrelay.pid")
	cmd := exec.Command(bin, "--interface=127.0.0.1", fmt.Sprintf("--listen-ng=127.0.0.1:%d", port),
		"--port-min=35000", "--port-max=35100", "--num-threads=1", "--delete-delay=0", "--table=-1",
		"--foreground", "--log-stderr", "--pidfile="+pidfile, "--timeout=60", "--silent-timeout=3600", "--tos=184", "-L", "7", fmt.Sprintf("--listen-cli=127.0.0.1:%d", freeTCPPort(t)))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	reply, err := ping(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, stderr.String())
	}
	if reply != "c1 d6:result4:ponge" {
		t.Fatalf("ping reply %q", reply)
	}
	pid, err := os.ReadFile(pidfile)
	if err != nil || strings.TrimSpace(string(pid)) != fmt.Sprint(cmd.Process.Pid) {
		t.Fatalf("pidfile %q, %v; want %d", pid, err, cmd.Process.Pid)
	}
	if !strings.Contains(stderr.String(), "--table ignored") {
		t.Errorf("no notice about the ignored kernel table option in:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10s after SIGTERM")
	}
	done <- nil // for the cleanup
}

func TestUnsupportedOptionsAreRefusedByName(t *testing.T) {
	bin := buildDaemon(t)
	out, err := exec.Command(bin, "--interface=127.0.0.1", "--redis=127.0.0.1:6379/1", "--recording-dir=/tmp").CombinedOutput()
	if err == nil {
		t.Fatalf("started with unsupported options:\n%s", out)
	}
	for _, want := range []string{"--redis", "--recording-dir"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal does not name %s:\n%s", want, out)
		}
	}
}

// TestSIGHUPReloadsTheConfigFile changes the timeout in the config file,
// sends SIGHUP, and sees the daemon apply it and keep running.
func TestSIGHUPReloadsTheConfigFile(t *testing.T) {
	bin := buildDaemon(t)
	port := freeUDPPort(t)
	conf := filepath.Join(t.TempDir(), "rtpengine.conf")
	cliPort := freeTCPPort(t)
	write := func(level, timeout int) {
		body := fmt.Sprintf("[rtpengine]\ninterface = 127.0.0.1\nlisten-ng = 127.0.0.1:%d\nlisten-cli = 127.0.0.1:%d\nport-min = 35200\nport-max = 35300\nlog-stderr = true\nlog-level = %d\ntimeout = %d\n", port, cliPort, level, timeout)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(6, 60)
	cmd := exec.Command(bin, "--config-file="+conf)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, err := ping(fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	write(7, 120)
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "configuration reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	log := stderr.String()
	if !strings.Contains(log, "configuration reloaded") || !strings.Contains(log, "timeout=2m0s") {
		t.Fatalf("no reload logged:\n%s", log)
	}
	if _, err := ping(fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatalf("daemon gone after SIGHUP: %v\n%s", err, log)
	}
}

// ngRequest sends one bencoded request and returns the raw reply.
func ngRequest(t *testing.T, addr, body string) string {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ck " + body))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no NG reply: %v", err)
	}
	return string(buf[:n])
}

func bstr(s string) string { return fmt.Sprintf("%d:%s", len(s), s) }

// TestSIGTERMDrains: after SIGTERM the daemon refuses new offers, keeps the
// running call until it is deleted, then exits 0.
func TestSIGTERMDrains(t *testing.T) {
	bin := buildDaemon(t)
	port := freeUDPPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--interface=127.0.0.1", "--listen-ng="+addr, "--listen-cli=", "--log-stderr", "--port-min=35400", "--port-max=35500", "--delete-delay=0", "--shutdown-grace=20")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-done }()
	if _, err := ping(addr); err != nil {
		t.Fatal(err)
	}
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	offer := func(id string) string {
		return ngRequest(t, addr, "d7:command5:offer7:call-id"+bstr(id)+"8:from-tag1:a3:sdp"+bstr(sdp)+"e")
	}
	if r := offer("before"); !strings.Contains(r, "6:result2:ok") {
		t.Fatalf("offer before SIGTERM: %s", r)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "draining") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if r := offer("after"); !strings.Contains(r, "Shutting down") {
		t.Fatalf("offer during drain: %s", r)
	}
	if r := ngRequest(t, addr, "d7:command5:query7:call-id6:beforee"); !strings.Contains(r, "6:result2:ok") {
		t.Fatalf("the running call is gone during the drain: %s", r)
	}
	select {
	case err := <-done:
		t.Fatalf("exited during the drain with a call running: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	ngRequest(t, addr, "d7:command6:delete7:call-id6:beforee")
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("exit after drain: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running after the last call ended\n%s", stderr.String())
	}
}

// TestSystemdNotify runs the daemon with a fake NOTIFY_SOCKET and a short
// watchdog and sees READY=1, WATCHDOG=1 pings, then STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	bin := buildDaemon(t)
	sockPath := filepath.Join(t.TempDir(), "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	port := freeUDPPort(t)
	cmd := exec.Command(bin, "--interface=127.0.0.1", fmt.Sprintf("--listen-ng=127.0.0.1:%d", port), "--listen-cli=", "--port-min=35600", "--port-max=35700")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sockPath, "WATCHDOG_USEC=400000")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-done }()
	// WATCHDOG_PID is unset, so the daemon must take the watchdog as meant
	// for itself (systemd sets it only when it differs).
	var got []string
	buf := make([]byte, 4096)
	read := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			sock.SetReadDeadline(deadline)
			n, err := sock.Read(buf)
			if err != nil {
				break
			}
			got = append(got, string(buf[:n]))
			if strings.Contains(string(buf[:n]), want) {
				return
			}
		}
		t.Fatalf("no %s among %q\n%s", want, got, stderr.String())
	}
	read("READY=1")
	read("WATCHDOG=1")
	read("WATCHDOG=1")
	cmd.Process.Signal(syscall.SIGTERM)
	read("STOPPING=1")
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// TestMetricsEndpoint: --listen-http serves /ping and Prometheus text.
func TestMetricsEndpoint(t *testing.T) {
	bin := buildDaemon(t)
	port, httpPort := freeUDPPort(t), freeTCPPort(t)
	cmd := exec.Command(bin, "--interface=127.0.0.1", fmt.Sprintf("--listen-ng=127.0.0.1:%d", port), "--listen-cli=",
		fmt.Sprintf("--listen-http=127.0.0.1:%d", httpPort), "--port-min=35800", "--port-max=35900")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, err := ping(fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/ping": "pong", "/metrics": "ngrelay_"} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", httpPort, path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d %.200q", path, resp.StatusCode, body)
		}
	}
}
