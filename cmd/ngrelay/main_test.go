package main

import (
	"bytes"
	"fmt"
	"net"
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
		body := fmt.Sprintf("[rtpengine]\ninterface = 127.0.0.1\nlisten-ng = 127.0.0.1:%d\nlisten-cli = 127.0.0.1:%d\nport-min = 35200\nport-max = 35300\nlog-level = %d\ntimeout = %d\n", port, cliPort, level, timeout)
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
