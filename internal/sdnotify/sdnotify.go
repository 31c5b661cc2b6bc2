// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)) without any library: one datagram per notification to the
// AF_UNIX socket named by $NOTIFY_SOCKET. When the variable is unset (not
// started by systemd, or a unit without Type=notify or NotifyAccess=) every
// function is a no-op.
//
// A Type=notify service sends Ready once it serves, Stopping when it begins
// to shut down, Reloading then Ready around a configuration reload, and,
// with WatchdogSec= in its unit, keep-alives from RunWatchdog.
package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsupportedSocket is returned for a $NOTIFY_SOCKET that is neither a
// file system path nor an abstract socket name (systemd's vsock: sockets,
// for virtual machines, are not supported).
var ErrUnsupportedSocket = errors.New("sdnotify: unsupported NOTIFY_SOCKET address")

// Notify sends state, newline-separated VARIABLE=value assignments such as
// "READY=1", to the socket in $NOTIFY_SOCKET. It does nothing and returns
// nil when the variable is unset or empty. A name that starts with '@' is
// an abstract socket.
func Notify(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	if name[0] != '/' && name[0] != '@' {
		return ErrUnsupportedSocket
	}
	// Go's net package maps a leading '@' to the abstract namespace.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// Ready tells systemd that the service has started (READY=1): a
// Type=notify unit becomes active, and units ordered after it start. Send it
// once every listener is bound, and again at the end of each reload.
func Ready() error { return Notify("READY=1") }

// Stopping tells systemd that the service is shutting down (STOPPING=1),
// e.g. on SIGTERM before draining calls.
func Stopping() error { return Notify("STOPPING=1") }

// Reloading tells systemd that the service is reloading its configuration:
// RELOADING=1 with MONOTONIC_USEC set to CLOCK_MONOTONIC now, as
// Type=notify-reload requires (systemd uses the timestamp to tell this
// reload from a later one). Send Ready when the reload is done, whether it
// succeeded or not. With Type=notify and ExecReload=kill -HUP, the pair
// makes "systemctl reload" report the reload.
func Reloading() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return err
	}
	return Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1_000, 10))
}

// Status sets the free-form status line that "systemctl status" shows
// (STATUS=...). Newlines in s, which would end the assignment, become
// spaces.
func Status(s string) error {
	return Notify("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// ExtendTimeout asks systemd for d more time in the current start, reload
// or stop phase (EXTEND_TIMEOUT_USEC), beyond TimeoutStartSec= or
// TimeoutStopSec=. Repeat it before d runs out to keep extending.
func ExtendTimeout(d time.Duration) error {
	return Notify("EXTEND_TIMEOUT_USEC=" + strconv.FormatInt(d.Microseconds(), 10))
}

// Watchdog sends one watchdog keep-alive (WATCHDOG=1).
func Watchdog() error { return Notify("WATCHDOG=1") }

// WatchdogInterval returns the unit's watchdog timeout (WatchdogSec=), from
// $WATCHDOG_USEC, and whether the watchdog is on for this process: when
// $WATCHDOG_PID is set it must be our PID (a child that inherited the
// variables must not answer for its parent).
func WatchdogInterval() (time.Duration, bool) {
	s := os.Getenv("WATCHDOG_USEC")
	if s == "" {
		return 0, false
	}
	usec, err := strconv.ParseUint(s, 10, 63)
	if err != nil || usec == 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond, true
}

// RunWatchdog sends WATCHDOG=1 now and then every interval/2 until ctx
// ends, as sd_watchdog_enabled(3) recommends. A send that fails is tried
// again at the next tick. It returns at once when interval <= 0. Run it
// with the interval from WatchdogInterval:
//
//	if iv, ok := sdnotify.WatchdogInterval(); ok {
//		go sdnotify.RunWatchdog(ctx, iv)
//	}
func RunWatchdog(ctx context.Context, interval time.Duration) {
	RunWatchdogCheck(ctx, interval, nil)
}

// RunWatchdogCheck is RunWatchdog that sends each keep-alive only when
// healthy (if not nil) returns true. A healthy that blocks (a deadlocked
// lock) or keeps failing lets the watchdog expire, and systemd restarts the
// service (Restart=on-failure covers watchdog timeouts).
func RunWatchdogCheck(ctx context.Context, interval time.Duration, healthy func() bool) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(max(interval/2, time.Millisecond))
	defer t.Stop()
	for {
		if healthy == nil || healthy() {
			Watchdog()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
