package systemdtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/config"
)

const (
	unitFile     = "../../systemd/ngrelay.service"
	sysusersFile = "../../systemd/ngrelay.sysusers"
	confFile     = "../../systemd/ngrelay.conf"
	// installed paths named in the unit
	binPath  = "/usr/bin/ngrelay"
	confPath = "/etc/ngrelay/ngrelay.conf"
)

// tool returns the path of a systemd tool, or skips the test (fails it when
// NGRELAY_INTEROP=1).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found: install it with apt-get install systemd"
		if os.Getenv("NGRELAY_INTEROP") == "1" {
			t.Fatal(msg + " (required with NGRELAY_INTEROP=1)")
		}
		t.Skip(msg)
	}
	return p
}

// unitSettings reads the unit's key=value lines (later ones win; list
// settings such as SystemCallFilter keep only the last).
func unitSettings(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: bad line %q", unitFile, line)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testUnit writes the unit to a temporary directory with ExecStart pointing
// at an executable that exists (this test binary: systemd-analyze only
// checks that the command is executable).
func testUnit(t *testing.T) string {
	t.Helper()
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("ExecStart="+binPath+" ")) {
		t.Fatalf("the unit's ExecStart does not run %s", binPath)
	}
	unit = bytes.ReplaceAll(unit, []byte("ExecStart="+binPath+" "), []byte("ExecStart="+exe+" "))
	path := filepath.Join(t.TempDir(), "ngrelay.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerifies(t *testing.T) {
	sa := tool(t, "systemd-analyze")
	path := testUnit(t)
	cmd := exec.Command(sa, "verify", "--man=no", path)
	out, err := cmd.CombinedOutput()
	// verify exits 0 on unknown keys and bad values (it only warns), so
	// any line about our unit fails the test too. Lines about other units
	// of the machine are only logged.
	var ours []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		if strings.Contains(l, "ngrelay") {
			ours = append(ours, l)
		} else {
			t.Logf("systemd-analyze (not about ngrelay): %s", l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", path, err, strings.Join(ours, "\n"))
	}
}

func TestUnitHardening(t *testing.T) {
	sa := tool(t, "systemd-analyze")
	path := testUnit(t)
	// Exposure is 0 (locked down) to 10 (unprotected); --threshold is in
	// tenths. ngrelay scores 1.7 with systemd 252.
	out, err := exec.Command(sa, "security", "--offline=yes", "--threshold=25", "--no-pager", path).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("unrecognized option")) {
		t.Skipf("systemd-analyze is too old for --offline (systemd >= 250): %s", out)
	}
	if err != nil {
		t.Fatalf("systemd-analyze security: exposure above 2.5 or error: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}

func TestUnitSettings(t *testing.T) {
	u := unitSettings(t)
	for k, want := range map[string]string{
		"Type":                    "notify",
		"ExecStart":               binPath + " --config-file=" + confPath + " --log-stderr",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"User":                    "ngrelay",
		"LimitNOFILE":             "1048576",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
	} {
		if u[k] != want {
			t.Errorf("%s=%q, want %q", k, u[k], want)
		}
	}
	if _, ok := u["WatchdogSec"]; !ok {
		t.Errorf("no WatchdogSec")
	}

	// The unit's command line with the shipped config file is accepted,
	// and the unit waits longer than the drain grace on stop.
	args := strings.Fields(u["ExecStart"])[1:]
	for i, a := range args {
		args[i] = strings.Replace(a, confPath, confFile, 1)
	}
	cfg, notices, err := config.Parse(args)
	if err != nil {
		t.Fatalf("ngrelay %s: %v", strings.Join(args, " "), err)
	}
	for _, n := range notices {
		if !strings.Contains(n, "daemonize") {
			t.Errorf("notice for the shipped config: %s", n)
		}
	}
	stop, err := strconv.Atoi(strings.TrimSuffix(u["TimeoutStopSec"], "s"))
	if err != nil {
		t.Fatalf("TimeoutStopSec=%q: want seconds", u["TimeoutStopSec"])
	}
	if grace := time.Duration(cfg.ShutdownGraceSecs) * time.Second; grace+10*time.Second > time.Duration(stop)*time.Second {
		t.Errorf("TimeoutStopSec=%d leaves less than 10 s beyond shutdown-grace=%v", stop, grace)
	}
	if len(cfg.ListenHTTP) == 0 {
		t.Errorf("the shipped config has no listen-http: no metrics")
	}
}

func TestSysusers(t *testing.T) {
	su := tool(t, "systemd-sysusers")
	if os.Geteuid() != 0 {
		t.Skip("systemd-sysusers --root needs root (it chowns what it writes)")
	}
	// Installed as the packaging would, in an otherwise empty root:
	// --root keeps the machine's own /etc/passwd untouched.
	root := t.TempDir()
	entry, err := os.ReadFile(sysusersFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "usr", "lib", "sysusers.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ngrelay.conf"), entry, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(su, "--root="+root).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(passwd, []byte("ngrelay:x:")) || !bytes.Contains(passwd, []byte(":/usr/sbin/nologin")) {
		t.Errorf("passwd after sysusers:\n%s", passwd)
	}
	group, err := os.ReadFile(filepath.Join(root, "etc", "group"))
	if err != nil || !bytes.HasPrefix(group, []byte("ngrelay:x:")) {
		t.Errorf("group after sysusers: %v\n%s", err, group)
	}
}
