package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is a child process running in its own process group, with its
// stdout and stderr going to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once Wait returned
	waitErr error
}

// startProcess starts path with args in dir (cwd when empty), output to
// logPath. The process and its whole process group are stopped in
// t.Cleanup; when the test failed, the tail of the log is printed then.
// Should the test binary die without running its cleanups (a go test
// timeout, a signal), the kernel kills the process (Pdeathsig).
func startProcess(t testing.TB, name, logPath, dir, path string, args ...string) *process {
	t.Helper()
	return startProcessNS(t, false, name, logPath, dir, path, args...)
}

// startProcessNS is startProcess, and with pidNS it runs the process as
// the init of a new PID namespace when that is permitted (root): its
// forked children then die with it even if it is SIGKILLed, where
// otherwise they would be orphaned (Pdeathsig reaches only the direct
// child). Kamailio needs this: its workers outlive a killed main process.
func startProcessNS(t testing.TB, pidNS bool, name, logPath, dir, path string, args ...string) *process {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("interop: %s: log file: %v", name, err)
	}
	fmt.Fprintf(logFile, "### %s %s\n", path, strings.Join(args, " "))
	newCmd := func(cloneflags uintptr) *exec.Cmd {
		cmd := exec.Command(path, args...)
		cmd.Dir = dir
		cmd.Stdin = nil // /dev/null
		cmd.Stdout = logFile
		cmd.Stderr = logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Setpgid:    true, // stop() signals the whole group
			Pdeathsig:  syscall.SIGKILL,
			Cloneflags: cloneflags,
		}
		return cmd
	}
	var cmd *exec.Cmd
	err = errors.New("not started")
	if pidNS {
		cmd = newCmd(syscall.CLONE_NEWPID)
		err = cmd.Start()
	}
	if err != nil {
		cmd = newCmd(0)
		err = cmd.Start()
	}
	if err != nil {
		logFile.Close()
		t.Fatalf("interop: %s: start %s: %v", name, path, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("interop: %s log %s (tail):\n%s", name, logPath, tailFile(logPath, 60, 8192))
		}
	})
	return p
}

// pid is the process id, which is also its process group id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to end on its own and returns
// its exit code (-1 when killed by a signal); ok is false on timeout.
func (p *process) wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, false
	}
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0, true
	case errors.As(p.waitErr, &ee):
		return ee.ExitCode(), true
	default:
		return -1, true
	}
}

// stop sends SIGTERM to the process group, waits up to grace for the
// process to end, then sends SIGKILL to the group. Whatever is left of the
// group (forked children) gets SIGKILL too. Safe to call more than once.
func (p *process) stop(grace time.Duration) {
	pgid := p.pid()
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
			}
		}
	}
	// Children that outlived the leader are still in its group, and the
	// group id cannot be reused while any of them lives.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tailFile returns at most the last maxLines lines and maxBytes bytes of
// the file at path.
func tailFile(path string, maxLines, maxBytes int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	off := st.Size() - int64(maxBytes)
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
