package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeSystemd listens on a unixgram socket and points $NOTIFY_SOCKET at it.
func fakeSystemd(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

func read(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func expectNone(t *testing.T, conn *net.UnixConn, within time.Duration) {
	t.Helper()
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(within))
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("unexpected notification %q", buf[:n])
	}
}

func TestNotifications(t *testing.T) {
	conn := fakeSystemd(t, filepath.Join(t.TempDir(), "notify.sock"))
	for _, tc := range []struct {
		send func() error
		want string
	}{
		{Ready, "READY=1"},
		{Stopping, "STOPPING=1"},
		{Watchdog, "WATCHDOG=1"},
		{func() error { return Status("3 calls\nmore") }, "STATUS=3 calls more"},
		{func() error { return ExtendTimeout(1500 * time.Millisecond) }, "EXTEND_TIMEOUT_USEC=1500000"},
		{func() error { return Notify("READY=1\nSTATUS=up") }, "READY=1\nSTATUS=up"},
	} {
		if err := tc.send(); err != nil {
			t.Fatalf("send %q: %v", tc.want, err)
		}
		if got := read(t, conn); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func monotonicUsec(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

func TestReloading(t *testing.T) {
	conn := fakeSystemd(t, filepath.Join(t.TempDir(), "notify.sock"))
	before := monotonicUsec(t)
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	after := monotonicUsec(t)
	got := read(t, conn)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("got %q, want RELOADING=1 and MONOTONIC_USEC=", got)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil || usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC %q not within [%d, %d]", lines[1], before, after)
	}
}

func TestAbstractSocket(t *testing.T) {
	conn := fakeSystemd(t, fmt.Sprintf("@ngrelay-sdnotify-test-%d-%d", os.Getpid(), rand.Uint64()))
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, conn); got != "READY=1" {
		t.Errorf("got %q", got)
	}
}

func TestNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	for _, f := range []func() error{Ready, Stopping, Reloading, Watchdog, func() error { return Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("without NOTIFY_SOCKET: %v", err)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "vsock:2:1234")
	if err := Ready(); !errors.Is(err, ErrUnsupportedSocket) {
		t.Errorf("vsock: got %v, want ErrUnsupportedSocket", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "nobody-listens"))
	if err := Ready(); err == nil {
		t.Errorf("no error with nobody listening")
	}
}

func TestWatchdogInterval(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", pid, 30 * time.Second, true},
		{"30000000", "1", 0, false},
		{"30000000", "x", 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"abc", pid, 0, false},
	} {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		d, ok := WatchdogInterval()
		if d != tc.want || ok != tc.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: got %v %v, want %v %v", tc.usec, tc.pid, d, ok, tc.want, tc.ok)
		}
	}
}

func TestRunWatchdog(t *testing.T) {
	conn := fakeSystemd(t, filepath.Join(t.TempDir(), "notify.sock"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() { RunWatchdog(ctx, 100*time.Millisecond); close(done) }()
	for range 4 {
		if got := read(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("got %q", got)
		}
	}
	// One at once, then every 50 ms: the fourth after about 150 ms.
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Errorf("4 keep-alives in %v: sent faster than every interval/2", el)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("RunWatchdog did not return after cancel")
	}
	for {
		// drain what was sent before the cancel, then nothing more
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 64)); err != nil {
			break
		}
	}

	RunWatchdog(context.Background(), 0) // returns at once
}

func TestRunWatchdogCheck(t *testing.T) {
	conn := fakeSystemd(t, filepath.Join(t.TempDir(), "notify.sock"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var healthy atomic.Bool
	go RunWatchdogCheck(ctx, 40*time.Millisecond, healthy.Load)
	expectNone(t, conn, 150*time.Millisecond)
	healthy.Store(true)
	if got := read(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
}
