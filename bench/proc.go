package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// clockTick is USER_HZ, the unit of /proc times; it is 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// ProcCPU returns the user+system CPU time of process pid (all its threads,
// including exited ones) from /proc/PID/stat, with 10 ms resolution.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses: fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, errors.New("proc stat: short")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proc stat: %w", err)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// ProcRSS returns the resident set size (VmRSS) of process pid in KiB.
func ProcRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, "VmRSS:")
}

func parseStatusKB(b []byte, key string) (int64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("proc status: no %s", key)
}

// CPUTimes are times of one CPU line of /proc/stat.
//
// Busy is the sum of the tick-sampled fields other than idle and iowait;
// Idle is idle+iowait, which on a tickless kernel the kernel measures
// exactly (get_cpu_idle_time_us) where the other fields are sampled at
// each tick. For bursty loads (a relay waking up every few hundred
// microseconds) the sampled busy time can be far off; wall time minus Idle
// is the better measure of busy time over an interval.
//
// Steal is the time a virtual CPU was ready but the hypervisor ran
// something else; it is neither busy nor idle for this machine.
type CPUTimes struct {
	Busy, Idle, Steal, Total time.Duration
}

// BusySince returns the busy time of one CPU from o to t over an interval
// of wall time: wall - idle - steal, clamped to [0, wall].
func (t CPUTimes) BusySince(o CPUTimes, wall time.Duration) time.Duration {
	b := wall - (t.Idle - o.Idle) - (t.Steal - o.Steal)
	return min(max(b, 0), wall)
}

// MachineCPU returns the aggregate ("cpu") line of /proc/stat and the
// per-CPU lines, indexed by CPU number. Busy is everything but idle,
// iowait and steal; guest time is already part of user time and is not
// added again.
func MachineCPU() (all CPUTimes, per []CPUTimes, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return all, nil, err
	}
	return parseProcStatCPU(b)
}

func parseProcStatCPU(b []byte) (all CPUTimes, per []CPUTimes, err error) {
	found := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "cpu") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			return all, nil, fmt.Errorf("proc stat: short line %q", line)
		}
		var v [8]uint64
		for i := 0; i < 8 && i+1 < len(f); i++ {
			v[i], err = strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return all, nil, fmt.Errorf("proc stat: %q: %w", line, err)
			}
		}
		var total uint64
		for _, x := range v {
			total += x
		}
		t := CPUTimes{
			Busy:  time.Duration(total-v[3]-v[4]-v[7]) * clockTick,
			Idle:  time.Duration(v[3]+v[4]) * clockTick,
			Steal: time.Duration(v[7]) * clockTick,
			Total: time.Duration(total) * clockTick,
		}
		if f[0] == "cpu" {
			all, found = t, true
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil || n < 0 || n > 1<<16 {
			continue
		}
		for len(per) <= n {
			per = append(per, CPUTimes{})
		}
		per[n] = t
	}
	if !found {
		return all, nil, errors.New("proc stat: no cpu line")
	}
	return all, per, nil
}

// LoadAvg returns the 1, 5 and 15 minute load averages.
func LoadAvg() ([3]float64, error) {
	var la [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return la, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return la, errors.New("loadavg: short")
	}
	for i := range la {
		if la[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return la, fmt.Errorf("loadavg: %w", err)
		}
	}
	return la, nil
}

// SelfCPU returns the user+system CPU time of this process (getrusage).
func SelfCPU() time.Duration { return rusage(unix.RUSAGE_SELF) }

// ThreadCPU returns the user+system CPU time of the calling OS thread.
func ThreadCPU() time.Duration { return rusage(unix.RUSAGE_THREAD) }

func rusage(who int) time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(who, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// UDPSocket is one line of /proc/net/udp.
type UDPSocket struct {
	LocalPort, RemotePort int
	Inode                 uint64
	Drops                 uint64
}

// UDPSockets parses /proc/net/udp (IPv4 sockets of this network
// namespace).
func UDPSockets() ([]UDPSocket, error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return nil, err
	}
	return parseProcNetUDP(b)
}

func parseProcNetUDP(b []byte) ([]UDPSocket, error) {
	var out []UDPSocket
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) < 13 {
			continue
		}
		lp, err1 := hexPort(f[1])
		rp, err2 := hexPort(f[2])
		ino, err3 := strconv.ParseUint(f[9], 10, 64)
		drops, err4 := strconv.ParseUint(f[12], 10, 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("/proc/net/udp: %q: %w", sc.Text(), err)
		}
		out = append(out, UDPSocket{LocalPort: lp, RemotePort: rp, Inode: ino, Drops: drops})
	}
	return out, sc.Err()
}

func hexPort(addr string) (int, error) {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return 0, fmt.Errorf("bad address %q", addr)
	}
	n, err := strconv.ParseUint(p, 16, 16)
	return int(n), err
}

// SocketInode returns the inode number of socket fd, as /proc/net/udp
// shows it.
func SocketInode(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// FindUDPOwner returns the PID of a process holding a UDP socket bound to
// local port port, by matching /proc/net/udp inodes against /proc/*/fd.
func FindUDPOwner(port int) (int, error) {
	socks, err := UDPSockets()
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, s := range socks {
		if s.LocalPort == port {
			want["socket:["+strconv.FormatUint(s.Inode, 10)+"]"] = true
		}
	}
	if len(want) == 0 {
		return 0, fmt.Errorf("no UDP socket on port %d", port)
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err == nil && want[l] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no process found holding UDP port %d", port)
}

// PinProcess sets the CPU affinity of every thread of this process to cpus.
// Threads created later inherit it from their creator.
func PinProcess(cpus []int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		errs = append(errs, setAffinity(tid, cpus))
	}
	return errors.Join(errs...)
}

// setAffinity sets the CPU affinity of thread tid; a thread that has
// exited meanwhile is not an error.
func setAffinity(tid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("sched_setaffinity thread %d: %w", tid, err)
	}
	return nil
}

// pinThread sets the affinity of the calling OS thread to cpu.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

// ParseCPUList parses "1", "0,2" or "0-3,6".
func ParseCPUList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("cpu list %q: %w", s, err)
			}
		}
		if a < 0 || b < a || b > 4095 {
			return nil, fmt.Errorf("cpu list %q: bad range", s)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

// allowedCPUs returns the CPUs this thread may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	var out []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}
