package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/cli/clitest"
	"github.com/ngrelay/ngrelay/internal/interop"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Options
	}{
		{[]string{"list", "totals"}, Options{ConfigFile: DefaultConfigFile, Command: "list totals"}},
		{[]string{"-ip", "10.0.0.1", "-port", "2224", "list", "sessions", "all"}, Options{IP: "10.0.0.1", Port: 2224, ConfigFile: DefaultConfigFile, Command: "list sessions all"}},
		{[]string{"--ip=10.0.0.1:99", "--config-file", "/x.conf", "--json", "list", "-ip"}, Options{IP: "10.0.0.1:99", ConfigFile: "/x.conf", JSON: true, Command: "list -ip"}},
		{[]string{"-p", "5", "-c", "f", "-j", "get", "timeout"}, Options{Port: 5, ConfigFile: "f", JSON: true, Command: "get timeout"}},
		{[]string{"--watch"}, Options{ConfigFile: DefaultConfigFile, Watch: DefaultWatchInterval}},
		{[]string{"--watch=0.5"}, Options{ConfigFile: DefaultConfigFile, Watch: 500 * time.Millisecond}},
		{[]string{"-watch", "3"}, Options{ConfigFile: DefaultConfigFile, Watch: 3 * time.Second}},
		{[]string{"-h"}, Options{ConfigFile: DefaultConfigFile, Help: true}},
		{[]string{"--", "-x"}, Options{ConfigFile: DefaultConfigFile, Command: "-x"}},
	} {
		got, err := ParseArgs(tc.args)
		got.Args, tc.want.Args = nil, nil
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseArgs(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"-port", "x"}, {"-ip"}, {"--bogus"}, {"--watch=0"}, {"--watch=-1"}} {
		if _, err := ParseArgs(bad); err == nil {
			t.Errorf("ParseArgs(%q) accepted", bad)
		}
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rtpengine.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddress(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none.conf")
	rtpe := writeFile(t, "[rtpengine]\nlisten-ng = 2223\nlisten-cli = 10.1.1.1:2224\n[other]\nlisten-cli = 1\n")
	digits := writeFile(t, "# comment\n[rtpengine]\n listen-cli=2225 \n")
	over := writeFile(t, "[ngrelay]\nlisten-cli = [::1]:2226; 127.0.0.1:2227\n[rtpengine]\nlisten-cli = 10.1.1.1:2224\n")
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{ConfigFile: none}, "127.0.0.1:9900"},
		{Options{ConfigFile: none, IP: "10.0.0.5"}, "10.0.0.5:9900"},
		{Options{ConfigFile: none, IP: "10.0.0.5:1234"}, "10.0.0.5:1234"},
		{Options{ConfigFile: none, IP: "10.0.0.5:1234", Port: 99}, "10.0.0.5:99"},
		{Options{ConfigFile: none, IP: "::1"}, "[::1]:9900"},
		{Options{ConfigFile: none, IP: "[::1]:5"}, "[::1]:5"},
		{Options{ConfigFile: rtpe}, "10.1.1.1:2224"},
		{Options{ConfigFile: rtpe, Port: 7}, "10.1.1.1:7"},
		{Options{ConfigFile: rtpe, IP: "127.0.0.2"}, "127.0.0.2:9900"},
		{Options{ConfigFile: digits}, "127.0.0.1:2225"},
		{Options{ConfigFile: digits, IP: "127.0.0.2"}, "127.0.0.2:2225"},
		{Options{ConfigFile: over}, "[::1]:2226"},
	} {
		got, err := tc.o.Address()
		if err != nil || got != tc.want {
			t.Errorf("%+v: Address() = %q, %v; want %q", tc.o, got, err, tc.want)
		}
	}
	if _, err := (Options{ConfigFile: none, Port: 70000}).Address(); err == nil {
		t.Error("port 70000 accepted")
	}
}

// ctlRun runs ngrelay-ctl's Run against the relay.
func ctlRun(t *testing.T, r *clitest.Relay, args ...string) (stdout string, code int) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none.conf")
	full := append([]string{"-ip", "127.0.0.1", "-port", fmt.Sprint(r.CLIAddr.Port()), "-config-file", none}, args...)
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code = Run(ctx, full, &out, &errOut)
	if errOut.Len() > 0 {
		t.Logf("ngrelay-ctl %s: stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), code
}

func TestTextCommands(t *testing.T) {
	r := clitest.Start(t, nil)
	c := r.NewCall(t, "t-1")
	c.SendRTP(t, 2)

	out, code := ctlRun(t, r, "list", "totals")
	if code != 0 || !strings.Contains(out, " Owned sessions                                  :1\n") || !strings.Contains(out, " Total relayed packets                           :2\n") {
		t.Errorf("list totals (%d):\n%s", code, out)
	}
	out, _ = ctlRun(t, r, "list", "numsessions")
	if !strings.HasPrefix(out, "Current sessions own: 1\n") {
		t.Errorf("list numsessions: %q", out)
	}
	out, _ = ctlRun(t, r, "list", "sessions", "all")
	if !strings.HasPrefix(out, "callid: ") || !strings.Contains(out, " t-1 | deletionmark:  no |") {
		t.Errorf("list sessions all: %q", out)
	}
	out, code = ctlRun(t, r, "bogus")
	if code != 0 || out != "Unknown or incomplete command::bogus\n" {
		t.Errorf("bogus (%d): %q", code, out)
	}
	out, _ = ctlRun(t, r, "terminate", "t-1")
	if out != "\nCall Id (t-1) successfully terminated by operator.\n\n" {
		t.Errorf("terminate: %q", out)
	}
	if r.Daemon.Engine.NumCalls() != 0 {
		t.Error("call not terminated")
	}

	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"-config-file", "/nonexistent", "-port", "1", "list", "totals"}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "cannot connect") {
		t.Errorf("no server: code %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := Run(context.Background(), []string{"-config-file", "/nonexistent"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "ngrelay-ctl [ -ip") {
		t.Errorf("no command: code %d, stderr %q", code, stderr.String())
	}
}

// TestSameAsRtpengineCtl: ngrelay-ctl prints exactly what rtpengine-ctl
// prints.
func TestSameAsRtpengineCtl(t *testing.T) {
	bin := interop.Require(t, "rtpengine-ctl", "rtpengine-utils")
	r := clitest.Start(t, nil)
	r.NewCall(t, "same-1")
	r.NewCall(t, "same-2")
	none := filepath.Join(t.TempDir(), "none.conf")
	for _, cmd := range [][]string{
		{"list", "numsessions"}, {"list", "sessions", "all"}, {"list", "interfaces"}, {"list", "timeout"},
		{"list", "loglevel"}, {"help"}, {"foo", "bar"}, {"list", "sessions", "same-1"},
	} {
		args := append([]string{"-ip", "127.0.0.1", "-port", fmt.Sprint(r.CLIAddr.Port()), "-config-file", none}, cmd...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		want, err := exec.CommandContext(ctx, bin, args...).Output()
		cancel()
		if err != nil {
			t.Fatalf("rtpengine-ctl %v: %v", cmd, err)
		}
		got, code := ctlRun(t, r, cmd...)
		// The call durations move between the two runs.
		if cmd[len(cmd)-1] == "same-1" {
			want, got = []byte(maskDurations(string(want))), maskDurations(got)
		}
		if code != 0 || got != string(want) {
			t.Errorf("%v:\nrtpengine-ctl: %q\nngrelay-ctl:   %q", cmd, want, got)
		}
	}
}

func maskDurations(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if i := strings.Index(l, "callduration "); i >= 0 {
			l = l[:i] + "callduration X\n"
		}
		b.WriteString(l)
	}
	return b.String()
}

func TestJSONOutput(t *testing.T) {
	r := clitest.Start(t, nil)
	c := r.NewCall(t, "j-1")
	c.SendRTP(t, 3)

	decode := func(args ...string) (any, int) {
		t.Helper()
		out, code := ctlRun(t, r, append([]string{"--json"}, args...)...)
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("--json %v: %v\n%s", args, err, out)
		}
		return v, code
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}

	v, code := decode("list", "totals")
	if code != 0 || get(v, "currentstatistics", "sessionstotal") != 1.0 || get(v, "totalstatistics", "relayedpackets") != 3.0 {
		t.Errorf("list totals: %v", v)
	}
	v, _ = decode("list", "counters")
	if get(v, "sessionstotal") != 1.0 {
		t.Errorf("list counters: %v", v)
	}
	v, _ = decode("list", "numsessions")
	if get(v, "sessionsown") != 1.0 || get(v, "ipv4sessions") != 1.0 {
		t.Errorf("list numsessions: %v", v)
	}
	v, _ = decode("list", "sessions", "all")
	if get(v, 0, "callid") != "j-1" || get(v, 0, "foreign") != false {
		t.Errorf("list sessions all: %v", v)
	}
	v, _ = decode("list", "sessions", "own")
	if len(v.([]any)) != 1 {
		t.Errorf("list sessions own: %v", v)
	}
	v, _ = decode("list", "sessions", "foreign")
	if len(v.([]any)) != 0 {
		t.Errorf("list sessions foreign: %v", v)
	}
	v, _ = decode("list", "sessions", "j-1")
	if get(v, "callid") != "j-1" || get(v, "tags", 0, "tag") != "tagA" ||
		get(v, "tags", 0, "medias", 0, "codec") != "PCMU/8000" ||
		get(v, "tags", 0, "medias", 0, "streams", 0, "packets") != 3.0 ||
		get(v, "tags", 0, "medias", 0, "streams", 1, "rtcp") != true ||
		get(v, "tags", 1, "type") != "TO_TAG" {
		t.Errorf("list sessions j-1: %v", v)
	}
	v, _ = decode("list", "sessions", "json")
	if get(v, "sessions", 0, "packets") != 3.0 {
		t.Errorf("list sessions json: %v", v)
	}
	v, _ = decode("list", "interfaces")
	if get(v, 0, "name") != "default" || get(v, 0, "used") != 4.0 || get(v, 0, "totals") != 200.0 {
		t.Errorf("list interfaces: %v", v)
	}
	v, _ = decode("list", "timeout")
	if get(v, "timeout") != 60.0 {
		t.Errorf("list timeout: %v", v)
	}
	v, _ = decode("list", "maxsessions")
	if get(v, "maxsessions") != -1.0 {
		t.Errorf("list maxsessions: %v", v)
	}
	v, _ = decode("list", "loglevel")
	if get(v, "control") != 6.0 {
		t.Errorf("list loglevel: %v", v)
	}
	v, code = decode("set", "timeout", "30")
	if code != 0 || get(v, "ok") != true || get(v, "reply") != "Success setting timeout to 30" {
		t.Errorf("set timeout 30 (%d): %v", code, v)
	}
	v, code = decode("list", "sessions", "nope")
	if code != 1 || get(v, "error") != "Call ID not found (nope)." {
		t.Errorf("list sessions nope (%d): %v", code, v)
	}
	v, code = decode("bogus")
	if code != 1 || get(v, "ok") != false {
		t.Errorf("bogus (%d): %v", code, v)
	}
	v, code = decode("terminate", "j-1")
	if code != 0 || get(v, "ok") != true {
		t.Errorf("terminate (%d): %v", code, v)
	}
	v, _ = decode("list", "sessions", "all")
	if len(v.([]any)) != 0 {
		t.Errorf("list sessions all after terminate: %v", v)
	}
}

func TestWatch(t *testing.T) {
	r := clitest.Start(t, nil)
	c := r.NewCall(t, "w-busy")
	r.NewCall(t, "w-idle")
	addr := r.CLIAddr.String()
	q := func(cmd string) (string, error) { return Query(context.Background(), addr, cmd) }

	// Media flows between the two frames.
	sent := make(chan struct{})
	qFirst := func(cmd string) (string, error) {
		reply, err := q(cmd)
		if cmd == "list sessions json" {
			select {
			case <-sent:
			default:
				c.SendRTP(t, 20)
				close(sent)
			}
		}
		return reply, err
	}
	var out bytes.Buffer
	err := Watch(context.Background(), qFirst, WatchOptions{Addr: addr, Interval: 300 * time.Millisecond, Frames: 2}, &out)
	if err != nil {
		t.Fatal(err)
	}
	frames := strings.Split(out.String(), clearScreen)
	if len(frames) != 3 || frames[0] != "" {
		t.Fatalf("want 2 frames, got %q", out.String())
	}
	second := frames[2]
	for _, want := range []string{"sessions 2 (own 2)", "top 2 of 2 calls by packet rate", "CALL-ID", "w-busy", "w-idle", "interface default 127.0.0.1"} {
		if !strings.Contains(second, want) {
			t.Errorf("second frame lacks %q:\n%s", want, second)
		}
	}
	busy, idle := strings.Index(second, "w-busy"), strings.Index(second, "w-idle")
	if busy > idle {
		t.Errorf("busiest call not first:\n%s", second)
	}
	line := second[busy:]
	line = line[:strings.IndexByte(line, '\n')]
	f := strings.Fields(line)
	if len(f) < 7 || f[2] == "-" || f[2] == "0.0" || f[len(f)-3] != "20" {
		t.Errorf("busy call line %q: want a packet rate and 20 packets", line)
	}
	if !strings.Contains(frames[1], " - ") {
		t.Errorf("first frame should have no rates yet:\n%s", frames[1])
	}

	// Ctrl-C ends the watch.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, q, WatchOptions{Addr: addr, Interval: 50 * time.Millisecond}, &bytes.Buffer{})
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop on cancel")
	}

	// An unreachable server shows on screen.
	out.Reset()
	dead := func(string) (string, error) { return "", fmt.Errorf("cannot connect") }
	Watch(context.Background(), dead, WatchOptions{Addr: "x", Frames: 1}, &out)
	if !strings.Contains(out.String(), "error: cannot connect") {
		t.Errorf("dead server: %q", out.String())
	}
}

// buildCtl builds the ngrelay-ctl binary.
func buildCtl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ngrelay-ctl")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/ngrelay-ctl").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestCompletion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"completion", "fish"}, &out, &errOut); code != 1 {
		t.Errorf("completion fish: code %d", code)
	}
	if code := Run(context.Background(), []string{"completion", "zsh"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "#compdef ngrelay-ctl\n") {
		t.Errorf("completion zsh: %d %q", code, out.String())
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		cmd := exec.Command(zsh, "-n")
		cmd.Stdin = strings.NewReader(ZshCompletion())
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, b)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to try the bash completion with")
	}
	r := clitest.Start(t, nil)
	r.NewCall(t, "comp-call-1")
	bin := buildCtl(t)
	script := filepath.Join(t.TempDir(), "ngrelay-ctl.bash")
	out.Reset()
	if code := Run(context.Background(), []string{"completion", "bash"}, &out, &errOut); code != 0 {
		t.Fatalf("completion bash: %d", code)
	}
	os.WriteFile(script, out.Bytes(), 0o644)
	none := filepath.Join(t.TempDir(), "none.conf")
	conn := fmt.Sprintf("-ip 127.0.0.1 -port %d -config-file %s", r.CLIAddr.Port(), none)
	for _, tc := range []struct {
		line string // words; the last is the one completed
		want string
	}{
		{"ngrelay-ctl ''", "list get set terminate call ksadd ksrm kslist active standby help usage completion"},
		{"ngrelay-ctl li", "list"},
		{"ngrelay-ctl --js", "--json"},
		{"ngrelay-ctl list ses", "sessions"},
		{"ngrelay-ctl get loglevel c", "core codec crypto control"},
		{"ngrelay-ctl set time", "timeout"},
		{"ngrelay-ctl " + conn + " terminate ''", "all own foreign comp-call-1"},
		{"ngrelay-ctl " + conn + " list sessions comp", "comp-call-1"},
		{"ngrelay-ctl " + conn + " call comp-call-1 t", "terminate tag"},
		{"ngrelay-ctl completion ''", "bash zsh"},
	} {
		words := strings.Fields(tc.line)
		words[0] = bin
		prog := fmt.Sprintf("source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_ngrelay_ctl\necho \"${COMPREPLY[*]}\"\n",
			script, strings.Join(words, " "), len(words)-1)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		got, err := exec.CommandContext(ctx, bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		cancel()
		if err != nil || strings.TrimSpace(string(got)) != tc.want {
			t.Errorf("complete %q: %q (%v), want %q", tc.line, got, err, tc.want)
		}
	}
}
