package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// RelayConfig starts a relay (ngrelay or rtpengine) on loopback.
type RelayConfig struct {
	Name    string // "ngrelay", "rtpengine": label and log file name
	Binary  string
	CPU     int // pin to this CPU (taskset -c); -1: no pinning
	PortMin int // media port range
	PortMax int
	LogDir  string   // stderr goes to LogDir/LogName.log
	LogName string   // default Name
	Extra   []string // appended to the command line
}

// RelayArgs is the command line both relays get (rtpengine's options;
// ngrelay takes the same).
func RelayArgs(ngAddr string, portMin, portMax int) []string {
	return []string{
		"--interface=127.0.0.1",
		"--listen-ng=" + ngAddr,
		"--port-min=" + strconv.Itoa(portMin),
		"--port-max=" + strconv.Itoa(portMax),
		"--num-threads=1",
		"--delete-delay=0",
		"--table=-1",
		"--foreground",
		"--log-stderr",
		"-L", "4",
		"--config-file=none",
	}
}

// Relay is a running relay process.
type Relay struct {
	Name    string
	NG      string
	PID     int
	LogPath string
	Args    []string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// Target returns the relay as a benchmark target.
func (r *Relay) Target() Target { return Target{Name: r.Name, NG: r.NG, PID: r.PID} }

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// StartRelay starts the relay and waits until it answers an NG ping.
func StartRelay(cfg RelayConfig) (*Relay, error) {
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	ngAddr := "127.0.0.1:" + strconv.Itoa(port)
	args := append(RelayArgs(ngAddr, cfg.PortMin, cfg.PortMax), cfg.Extra...)
	path, argv := cfg.Binary, args
	if cfg.CPU >= 0 {
		ts, err := exec.LookPath("taskset")
		if err == nil {
			path, argv = ts, append([]string{"-c", strconv.Itoa(cfg.CPU), cfg.Binary}, args...)
		}
	}
	if cfg.LogDir == "" {
		cfg.LogDir = os.TempDir()
	}
	if cfg.LogName == "" {
		cfg.LogName = cfg.Name
	}
	logPath := filepath.Join(cfg.LogDir, cfg.LogName+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, argv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r := &Relay{Name: cfg.Name, NG: ngAddr, LogPath: logPath, Args: append([]string{cfg.Binary}, args...), cmd: cmd, done: make(chan struct{})}

	// Pdeathsig fires when the thread that forked the child exits, and Go
	// ends threads whose locked goroutine returns (the generator's do), so
	// fork from a goroutine that keeps its thread until the child is gone.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			logf.Close()
			started <- err
			return
		}
		started <- nil
		r.waitErr = cmd.Wait()
		logf.Close()
		close(r.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	r.PID = cmd.Process.Pid
	if cfg.CPU >= 0 && path == cfg.Binary {
		PinPID(r.PID, cfg.CPU)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-r.done:
			return nil, fmt.Errorf("%s exited during startup (%v):\n%s", cfg.Name, r.waitErr, tail(logPath))
		default:
		}
		if err = Ping(ngAddr, 200*time.Millisecond); err == nil {
			break
		}
		if time.Now().After(deadline) {
			r.Stop()
			return nil, fmt.Errorf("%s did not answer NG ping on %s: %v\n%s", cfg.Name, ngAddr, err, tail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r, nil
}

// PinPID sets the affinity of every thread of process pid to cpu.
func PinPID(pid, cpu int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			errs = append(errs, setAffinity(tid, []int{cpu}))
		}
	}
	return errors.Join(errs...)
}

// Exited reports whether the relay has exited.
func (r *Relay) Exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, waits up to 5 s, then kills the process group.
func (r *Relay) Stop() error {
	if r.Exited() {
		return fmt.Errorf("%s had exited: %v", r.Name, r.waitErr)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-r.PID, syscall.SIGKILL)
	<-r.done
	return fmt.Errorf("%s did not stop on SIGTERM; killed", r.Name)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// BuildNgrelay builds ./cmd/ngrelay into dir and returns the binary's path.
func BuildNgrelay(dir string) (string, error) {
	out := filepath.Join(dir, "ngrelay")
	cmd := exec.Command("go", "build", "-o", out, "github.com/ngrelay/ngrelay/cmd/ngrelay")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ngrelay: %v\n%s", err, b)
	}
	return out, nil
}
