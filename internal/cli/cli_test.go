package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/cli"
	"github.com/ngrelay/ngrelay/internal/cli/clitest"
	"github.com/ngrelay/ngrelay/internal/daemon"
	"github.com/ngrelay/ngrelay/internal/interop"
)

// rtpengineCtl runs Debian's rtpengine-ctl against the relay's CLI.
func rtpengineCtl(t *testing.T, r *clitest.Relay, args ...string) string {
	t.Helper()
	bin := interop.Require(t, "rtpengine-ctl", "rtpengine-utils")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A config file that does not exist keeps the host's
	// /etc/rtpengine/rtpengine.conf out of the test.
	noConf := filepath.Join(t.TempDir(), "none.conf")
	full := append([]string{"-ip", "127.0.0.1", "-port", fmt.Sprint(r.CLIAddr.Port()), "-config-file", noConf}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("rtpengine-ctl %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, got)
		}
	}
}

func TestRealRtpengineCtl(t *testing.T) {
	interop.Require(t, "rtpengine-ctl", "rtpengine-utils")
	r := clitest.Start(t, nil)
	c := r.NewCall(t, "ctl-call-1@host")
	c.SendRTP(t, 3)
	r.NewCall(t, "ctl-call-2@host")

	totals := rtpengineCtl(t, r, "list", "totals")
	mustContain(t, "list totals", totals,
		"\nStatistics over currently running sessions:\n\n",
		" Owned sessions                                  :2\n",
		" Total sessions                                  :2\n",
		"\nTotal statistics (does not include current running sessions):\n\n",
		" Total relayed packets                           :3\n",
		" Total forced terminated sessions                :0\n",
		"Control statistics:",
	)

	num := rtpengineCtl(t, r, "list", "numsessions")
	want := "Current sessions own: 2\nCurrent sessions foreign: 0\nCurrent sessions total: 2\nCurrent transcoded media: 0\n" +
		"Current sessions ipv4 only media: 2\nCurrent sessions ipv6 only media: 0\nCurrent sessions ip mixed  media: 0\n"
	if num != want {
		t.Errorf("list numsessions:\n%q\nwant\n%q", num, want)
	}

	all := rtpengineCtl(t, r, "list", "sessions", "all")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("list sessions all: %d lines:\n%s", len(lines), all)
	}
	line := regexp.MustCompile(`^callid: +(\S+) \| deletionmark:  no \| created:  \d{10} \| proxy:\S* \| redis_keyspace:0 \| foreign:no$`)
	for i, id := range []string{"ctl-call-2@host", "ctl-call-1@host"} { // newest first
		m := line.FindStringSubmatch(lines[i])
		if m == nil || m[1] != id {
			t.Errorf("list sessions all line %d = %q, want call %s", i, lines[i], id)
		}
		if len(lines[i]) < len("callid: ")+60 {
			t.Errorf("call ID not padded to 60: %q", lines[i])
		}
	}

	detail := rtpengineCtl(t, r, "list", "sessions", "ctl-call-1@host")
	mustContain(t, "list sessions CALL-ID", detail,
		"\ncallid: ctl-call-1@host\ndeletionmark: no\n",
		"--- Tag 'tagA', type: FROM_TAG, label '', branch '', callduration ",
		"--- Tag 'tagB', type: TO_TAG,",
		"------ Media #1 (audio over RTP/AVP) using PCMU/8000\n",
		", SSRC 0, 3 p, 516 b, 0 e, ",
		" (RTCP), SSRC 0, 0 p, 0 b, 0 e, ",
	)

	term := rtpengineCtl(t, r, "terminate", "ctl-call-1@host")
	if term != "\nCall Id (ctl-call-1@host) successfully terminated by operator.\n\n" {
		t.Errorf("terminate: %q", term)
	}
	if r.Daemon.Engine.Call("ctl-call-1@host") != nil {
		t.Error("call still there after terminate")
	}
	if got := rtpengineCtl(t, r, "terminate", "ctl-call-1@host"); got != "\nCall Id not found (ctl-call-1@host).\n\n" {
		t.Errorf("second terminate: %q", got)
	}
	totals = rtpengineCtl(t, r, "list", "totals")
	mustContain(t, "list totals after terminate", totals,
		" Owned sessions                                  :1\n",
		" Total managed sessions                          :1\n",
		" Total regular terminated sessions               :0\n",
		" Total forced terminated sessions                :1\n",
	)
	if n := r.CLI.ForcedTerminations(); n != 1 {
		t.Errorf("ForcedTerminations = %d", n)
	}
	if got := rtpengineCtl(t, r, "bogus", "command"); got != "Unknown or incomplete command::bogus command\n" {
		t.Errorf("unknown command: %q", got)
	}
}

func TestCommandReplies(t *testing.T) {
	r := clitest.Start(t, nil)
	pid := os.Getpid()
	for _, tc := range []struct{ cmd, want string }{
		{"foo bar", "Unknown or incomplete command::foo bar\n"},
		{"LIST totals", "Unknown or incomplete command::LIST totals\n"},
		{"list", "More parameters required.\n"},
		{"set", "More parameters required.\n"},
		{"terminate", "More parameters required.\n"},
		{"list foo", "Unknown or incomplete command::foo\n"},
		{"list sessions", "More parameters required.\n"},
		{"list sessions all", "No sessions on this media relay.\n"},
		{"list sessions own", "No own sessions on this media relay.\n"},
		{"list sessions foreign", "No foreign sessions on this media relay.\n"},
		{"list sessions nope", "\nCall ID not found (nope).\n\n"},
		{"list sessions 3", "No sessions on this media relay.\n"},
		{"list sessions json", ""}, // checked below
		{"terminate nope", "\nCall Id not found (nope).\n\n"},
		{"terminate all", "All calls terminated by operator.\n"},
		{"terminate foreign", "All foreign calls terminated by operator.\n"},
		{"list maxsessions", "Maximum sessions configured on rtpengine: -1\n"},
		{"get maxsessions", "Maximum sessions configured on rtpengine: -1\n"},
		{"list timeout", "TIMEOUT=60\n"},
		{"list silenttimeout", "SILENT_TIMEOUT=3600\n"},
		{"list finaltimeout", "FINAL_TIMEOUT=0\n"},
		{"list offertimeout", "OFFER_TIMEOUT=3600\n"},
		{"list deletedelay", "0\n"},
		{"list loglevel core", "6\n"},
		{"list loglevel nosuch", ""},
		{"list controltos", "0\n"},
		{"list maxcpu", "Maximum CPU usage configured on rtpengine: 0.0\n"},
		{"list transcoders", "No stats entries\n"},
		{"kslist", "\nSubscribed-on keyspaces:\n\n"},
		{"ksadd", "More parameters required.\n"},
		{"ksadd keyspace 3", "Fail adding keyspace keyspace 3 to redis notifications; no digists found\n"},
		{"ksadd 3", "Fail adding keyspace 3 to redis notifications; ngrelay has no redis support\n"},
		{"ksrm 3", "Keyspace 3 is not among redis notifications.\n"},
		{"ksrm x", "Fail removing keyspace x to redis notifications; no digists found\n"},
		{"active", "Ok, all calls set to 'owned (active)'\n"},
		{"set maxsessions", "More parameters required.\n"},
		{"set maxsessions abc", "Fail setting maxsessions to abc; no digists found\n"},
		{"set maxsessions -5", "Fail setting maxsessions to -5; either positive or -1 values allowed\n"},
		{"set timeout x", "Fail setting timeout to x; no digists found\n"},
		{"set timeout -1", "Fail setting timeout to -1; errno=0\n"},
		{"set timeout 99999999999999999999", "Fail setting timeout to 99999999999999999999; errno=34\n"},
		{"set maxcpu 2", "Fail setting maxcpu to 2; not supported by ngrelay\n"},
		{"set loglevel", "More parameters required.\n"},
		{"set loglevel core", "More parameters required.\n"},
		{"set loglevel nosuch 5", "Fail setting loglevel; unknown subsystem 'nosuch'\n"},
		{"set deletedelay x", "Invalid delete-delay value\n"},
		{"call", "More parameters required.\n"},
		{"call nope info", "No such call 'nope'\n"},
		{"debug", "No call ID specified\n"},
		{"list maxopenfiles", fmt.Sprintf("; cat /proc/%d/limits\n", pid)},
	} {
		got := r.Command(t, tc.cmd)
		switch tc.cmd {
		case "list sessions json":
			var v cli.SessionsJSON
			if err := json.Unmarshal([]byte(got), &v); err != nil || len(v.Sessions) != 0 {
				t.Errorf("%q: %q (%v)", tc.cmd, got, err)
			}
		case "list maxopenfiles":
			if !strings.HasPrefix(got, "Maximum open-files configured on rtpengine: ") || !strings.HasSuffix(got, tc.want) {
				t.Errorf("%q: %q", tc.cmd, got)
			}
		default:
			if got != tc.want {
				t.Errorf("%q:\n got %q\nwant %q", tc.cmd, got, tc.want)
			}
		}
	}

	help := r.Command(t, "help")
	if !strings.HasPrefix(help, "Available sub-commands at this level:\n\tlist\n\tterminate\n\tset\n\tget\n") {
		t.Errorf("help: %q", help)
	}
	if got := r.Command(t, "list help"); !strings.Contains(got, "\tloglevels\n\tloglevel\n") || strings.Contains(got, "\tsession\n") {
		t.Errorf("list help: %q", got)
	}
	if got := r.Command(t, "usage"); !strings.Contains(got, "terminate <callid>|all|own|foreign") {
		t.Errorf("usage: %q", got)
	}
	levels := r.Command(t, "list loglevels")
	if !strings.HasPrefix(levels, "core - Everything that isn't part of another subsystem\n") || strings.Count(levels, "\n") != 13 {
		t.Errorf("list loglevels: %q", levels)
	}
}

func TestSessionsAndTerminate(t *testing.T) {
	r := clitest.Start(t, nil)
	c1 := r.NewCall(t, "s1")
	c1.SendRTP(t, 4)
	r.NewCall(t, "s2")
	r.NewCall(t, "s3")

	// N newest sessions, unless a call has that ID.
	if got := r.Command(t, "list sessions 2"); strings.Count(got, "callid:") != 2 || !strings.Contains(got, " s3 |") || !strings.Contains(got, " s2 |") {
		t.Errorf("list sessions 2:\n%s", got)
	}
	r.NewCall(t, "2")
	if got := r.Command(t, "list sessions 2"); !strings.HasPrefix(got, "\ncallid: 2\n") {
		t.Errorf("list sessions 2 with a call named 2:\n%s", got)
	}
	// "session" is accepted as "sessions".
	if got := r.Command(t, "list session s1"); !strings.HasPrefix(got, "\ncallid: s1\n") {
		t.Errorf("list session s1:\n%s", got)
	}

	detail := r.Command(t, "list sessions s1")
	re := regexp.MustCompile(`(?m)^-------- Port +127\.0\.0\.1:(\d+) +<> +127\.0\.0\.1:(\d+) *, SSRC 0, (\d+) p, (\d+) b, 0 e, \d+ ts$`)
	ms := re.FindAllStringSubmatch(detail, -1)
	if len(ms) != 2 {
		t.Fatalf("want 2 RTP port lines in:\n%s", detail)
	}
	if ms[0][1] != fmt.Sprint(c1.ToA) || ms[0][2] != fmt.Sprint(c1.A.Port()) || ms[0][3] != "4" || ms[0][4] != "688" {
		t.Errorf("tag A's RTP line %q (relay port %d, A at %d)", ms[0][0], c1.ToA, c1.A.Port())
	}
	if ms[1][1] != fmt.Sprint(c1.ToB) || ms[1][3] != "0" {
		t.Errorf("tag B's RTP line %q", ms[1][0])
	}
	if got := r.Command(t, "call s1 tag tagB info"); !strings.HasPrefix(got, "--- Tag 'tagB', type: TO_TAG, label '', branch '', callduration ") {
		t.Errorf("call s1 tag tagB info:\n%s", got)
	}
	if got := r.Command(t, "call s1 tag nope info"); got != "No such tag 'nope'\n" {
		t.Errorf("call s1 tag nope info: %q", got)
	}

	var snap cli.SessionsJSON
	if err := json.Unmarshal([]byte(r.Command(t, "list sessions json")), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Sessions) != 4 || snap.Sessions[3].CallID != "s1" || snap.Sessions[3].Packets != 4 || snap.Sessions[3].Bytes != 688 {
		t.Errorf("list sessions json: %+v", snap.Sessions)
	}
	if tags := snap.Sessions[3].Tags; len(tags) != 2 || tags[0].Tag != "tagA" || tags[0].Peer != "tagB" || tags[0].Medias[0].Streams[0].Packets != 4 {
		t.Errorf("s1 tags: %+v", tags)
	}

	if got := r.Command(t, "list interfaces"); !strings.Contains(got, " Ports used:    16 /   200 (  8.0%)\n") {
		t.Errorf("list interfaces with 4 calls:\n%s", got)
	}
	if got := r.Command(t, "call s2 terminate"); got != "\nCall 's2' terminated.\n\n" {
		t.Errorf("call s2 terminate: %q", got)
	}
	if got := r.Command(t, "terminate own"); got != "All own calls terminated by operator.\n" {
		t.Errorf("terminate own: %q", got)
	}
	if n := r.Daemon.Engine.NumCalls(); n != 0 {
		t.Errorf("%d calls left", n)
	}
	if n := r.CLI.ForcedTerminations(); n != 4 {
		t.Errorf("ForcedTerminations = %d, want 4", n)
	}
	var js struct {
		Total struct {
			Forced  int `json:"forcedterminatedsessions"`
			Managed int `json:"managedsessions"`
			Packets int `json:"relayedpackets"`
		} `json:"totalstatistics"`
	}
	if err := json.Unmarshal([]byte(r.Command(t, "list jsonstats")), &js); err != nil {
		t.Fatal(err)
	}
	if js.Total.Forced != 4 || js.Total.Managed != 4 || js.Total.Packets != 4 {
		t.Errorf("jsonstats totals: %+v", js.Total)
	}
}

func TestSetCommands(t *testing.T) {
	r := clitest.Start(t, nil)
	e := r.Daemon.Engine
	for _, tc := range []struct {
		cmd, want string
		check     func() bool
	}{
		{"set timeout 30", "Success setting timeout to 30\n", func() bool { return e.Config().Timeout == 30*time.Second }},
		{"set silenttimeout 40", "Success setting timeout to 40\n", func() bool { return e.Config().SilentTimeout == 40*time.Second }},
		{"set finaltimeout 50", "Success setting timeout to 50\n", func() bool { return e.Config().FinalTimeout == 50*time.Second }},
		{"set offertimeout 60", "Success setting timeout to 60\n", func() bool { return e.Config().OfferTimeout == 60*time.Second }},
		{"set deletedelay 7", "Success setting delete-delay to 7\n", func() bool { return e.Config().DeleteDelay == 7*time.Second }},
		{"set maxsessions 5", "Success setting maxsessions to 5\n", func() bool { return r.Daemon.Handler.MaxSessions() == 5 }},
		{"set maxsessions -1", "Success setting maxsessions to -1; disable feature\n", func() bool { return r.Daemon.Handler.MaxSessions() == -1 }},
	} {
		if got := r.Command(t, tc.cmd); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.cmd, got, tc.want)
		}
		if !tc.check() {
			t.Errorf("%q did not take effect", tc.cmd)
		}
	}
	if e.Config().Timeout != 30*time.Second {
		t.Error("a later set undid set timeout")
	}
	for cmd, want := range map[string]string{
		"list timeout": "TIMEOUT=30\n", "list silenttimeout": "SILENT_TIMEOUT=40\n",
		"list finaltimeout": "FINAL_TIMEOUT=50\n", "list offertimeout": "OFFER_TIMEOUT=60\n",
		"list deletedelay": "7\n",
	} {
		if got := r.Command(t, cmd); got != want {
			t.Errorf("%q: %q, want %q", cmd, got, want)
		}
	}

	for _, tc := range []struct {
		cmd    string
		syslog int
	}{{"set loglevel 7", 7}, {"set loglevel core 4", 4}, {"set loglevel 3", 3}, {"set loglevel control 6", 6}} {
		if got := r.Command(t, tc.cmd); got != fmt.Sprintf("Success setting loglevel to %d\n", tc.syslog) {
			t.Errorf("%q: %q", tc.cmd, got)
		}
		if r.Syslog.Load() != int32(tc.syslog) || r.Level.Level() != daemon.SlogLevel(tc.syslog) {
			t.Errorf("%q: syslog %d, slog %v", tc.cmd, r.Syslog.Load(), r.Level.Level())
		}
		if got := r.Command(t, "list loglevel dtx"); got != fmt.Sprintf("%d\n", tc.syslog) {
			t.Errorf("after %q: list loglevel dtx = %q", tc.cmd, got)
		}
	}
	if got := r.Command(t, "list loglevel"); !strings.HasPrefix(got, "core = 6\nspandsp = 6\n") || strings.Count(got, " = 6\n") != 13 {
		t.Errorf("list loglevel: %q", got)
	}
}

func TestSlogLevelMatchesDaemon(t *testing.T) {
	r := clitest.Start(t, nil)
	var level slog.LevelVar
	s := cli.New(r.Daemon.Engine, nil, &level, nil, nil)
	if got := s.Execute("set loglevel -1"); got != "More parameters required.\n" { // as rtpengine: "-1" is taken for a subsystem
		t.Errorf("set loglevel -1: %q", got)
	}
	for n := 0; n <= 8; n++ {
		if got := s.Execute(fmt.Sprintf("set loglevel %d", n)); got != fmt.Sprintf("Success setting loglevel to %d\n", n) {
			t.Errorf("set loglevel %d: %q", n, got)
		}
		if level.Level() != daemon.SlogLevel(n) {
			t.Errorf("set loglevel %d: slog level %v, daemon maps to %v", n, level.Level(), daemon.SlogLevel(n))
		}
	}
}

// TestIdleClientIsCutOff: a client that connects and sends nothing is
// disconnected after the read deadline, and others are served meanwhile.
func TestIdleClientIsCutOff(t *testing.T) {
	const deadline = 400 * time.Millisecond
	r := clitest.Start(t, func(s *cli.Server) { s.ReadTimeout = deadline })
	idle, err := net.Dial("tcp", r.CLIAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		idle.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := io.Copy(io.Discard, idle)
		if n != 0 {
			t.Errorf("idle client got %d bytes", n)
		}
		closed <- time.Since(start)
	}()
	// Served while the idle connection is open.
	if got := r.Command(t, "list numsessions"); !strings.HasPrefix(got, "Current sessions own: 0\n") {
		t.Errorf("other client: %q", got)
	}
	if since := time.Since(start); since >= deadline {
		t.Errorf("other client served after %v, not before the idle one was cut", since)
	}
	select {
	case d := <-closed:
		if d < deadline-50*time.Millisecond || d > deadline+3*time.Second {
			t.Errorf("idle client cut off after %v, want about %v", d, deadline)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("idle client was not cut off")
	}
}

// TestFloodIsCutOff: a client sending megabytes without a newline is cut
// off after MaxLine bytes and gets no reply; the server goes on serving.
func TestFloodIsCutOff(t *testing.T) {
	r := clitest.Start(t, nil)
	c, err := net.Dial("tcp", r.CLIAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	junk := []byte(strings.Repeat("x", 1<<20))
	var sent int
	var werr error
	for range 8 {
		n, err := c.Write(junk)
		sent += n
		if err != nil {
			werr = err
			break
		}
	}
	// Either the writes failed (connection reset) or the reply is empty.
	reply, rerr := io.ReadAll(c)
	if len(reply) != 0 {
		t.Errorf("flooding client got a reply: %q", reply[:min(len(reply), 100)])
	}
	if werr == nil && rerr != nil && !strings.Contains(rerr.Error(), "reset") {
		t.Errorf("flooding client: write ok, read %v", rerr)
	}
	t.Logf("sent %d bytes before the cut (write error: %v, read error: %v)", sent, werr, rerr)
	if got := r.Command(t, "list numsessions"); !strings.HasPrefix(got, "Current sessions own: 0\n") {
		t.Errorf("after flood: %q", got)
	}

	// A line just over the limit is refused, one within it is served.
	long := "list sessions " + strings.Repeat("y", cli.DefaultMaxLine)
	c2, err := net.Dial("tcp", r.CLIAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c2, long+"\n")
	if reply, _ := io.ReadAll(c2); len(reply) != 0 {
		t.Errorf("over-long line got a reply: %q", reply[:min(len(reply), 100)])
	}
	okLine := "list sessions " + strings.Repeat("y", cli.DefaultMaxLine-100)
	if got := r.Command(t, okLine); !strings.HasPrefix(got, "\nCall ID not found (yyy") {
		t.Errorf("long line within the limit: %q", got[:min(len(got), 100)])
	}
}

// TestCommandWithoutNewline: a client that half-closes after a command
// without newline is served; CRLF is accepted.
func TestCommandWithoutNewline(t *testing.T) {
	r := clitest.Start(t, nil)
	for _, send := range []string{"list timeout", "list timeout\r\n"} {
		c, err := net.Dial("tcp", r.CLIAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, send)
		c.(*net.TCPConn).CloseWrite()
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != "TIMEOUT=60\n" {
			t.Errorf("%q: %q", send, got)
		}
	}
}

// TestServeStops: Serve returns when its context ends, also with a client
// connected.
func TestServeStops(t *testing.T) {
	r := clitest.Start(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := cli.New(r.Daemon.Engine, r.Daemon.Handler, nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestReferenceFormats compares the shape of the replies (values masked)
// with a real rtpengine's CLI given by NGRELAY_CLI_REFERENCE=ADDR:PORT. It
// runs read-only commands only.
func TestReferenceFormats(t *testing.T) {
	ref := os.Getenv("NGRELAY_CLI_REFERENCE")
	if ref == "" {
		t.Skip("set NGRELAY_CLI_REFERENCE=ADDR:PORT of an rtpengine --listen-cli to compare formats")
	}
	r := clitest.Start(t, nil)
	r.NewCall(t, "fmt-1")
	refCmd := func(cmd string) string {
		c, err := net.DialTimeout("tcp", ref, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, cmd+"\n")
		b, _ := io.ReadAll(c)
		return string(b)
	}
	num := regexp.MustCompile(`-?\d+(\.\d+)?`)
	proxyRow := regexp.MustCompile(`(?m)^ +\S[^|]*\|( +N \|)+ +N $`)
	sessionLine := regexp.MustCompile(`(?m)^callid: +\S+ \|`)
	mask := func(s string) string {
		s = num.ReplaceAllString(s, "N")
		s = proxyRow.ReplaceAllString(s, "PROXYROW")
		s = sessionLine.ReplaceAllString(s, "callid: ID |")
		s = regexp.MustCompile(`proxy:\S*`).ReplaceAllString(s, "proxy:P")
		return s
	}
	for _, cmd := range []string{
		"list totals", "list numsessions", "list counters", "list loglevels", "list loglevel",
		"list loglevel core", "list help", "set help", "list maxsessions", "list timeout",
		"list silenttimeout", "list finaltimeout", "list offertimeout", "list deletedelay",
		"list controltos", "list maxcpu", "list maxload", "list maxbw", "list transcoders",
		"list maxopenfiles", "kslist", "ksadd", "list", "set", "terminate", "list foo", "bogus x",
		"list sessions nope", "set maxsessions abc", "set timeout x",
		"list redisallowederrors", "list redisdisabletime", "list redisconnecttimeout", "list rediscmdtimeout",
	} {
		want, got := mask(refCmd(cmd)), mask(r.Command(t, cmd))
		if want != got {
			t.Errorf("%q differs from rtpengine:\n--- rtpengine\n%s\n--- ngrelay\n%s", cmd, want, got)
		}
	}
	// Lines of the session list and details have the same layout.
	for _, cmd := range []string{"list sessions all", "list interfaces"} {
		want, got := mask(refCmd(cmd)), mask(r.Command(t, cmd))
		wl, gl := strings.SplitN(want, "\n", 2)[0], strings.SplitN(got, "\n", 2)[0]
		if wl != gl {
			t.Errorf("%q first line differs:\n rtpengine %q\n ngrelay   %q", cmd, wl, gl)
		}
	}
	var refJSON, ourJSON map[string]any
	if err := json.Unmarshal([]byte(refCmd("list jsonstats")), &refJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(r.Command(t, "list jsonstats")), &ourJSON); err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"currentstatistics", "totalstatistics", "intervalstatistics", "mos"} {
		for k := range refJSON[section].(map[string]any) {
			if _, ok := ourJSON[section].(map[string]any)[k]; !ok {
				t.Errorf("jsonstats %s: no %q", section, k)
			}
		}
	}
}

// TestWebRTCCounters: the NG handler's ICE/DTLS counters are in "list
// jsonstats" (ngrelay's own keys) and "list totals" keeps rtpengine's
// layout.
func TestWebRTCCounters(t *testing.T) {
	r := clitest.Start(t, nil)
	before := r.Command(t, "list totals")
	hs := &r.Daemon.Handler.Stats
	hs.DTLSHandshakes.Add(3)
	hs.DTLSFailures.Add(2)
	hs.DTLSStrangers.Add(5)
	hs.STUNAccepted.Add(7)
	hs.STUNUnauthorized.Add(11)
	hs.STUNDropped.Add(13)
	var js struct {
		Total map[string]json.RawMessage `json:"totalstatistics"`
	}
	if err := json.Unmarshal([]byte(r.Command(t, "list jsonstats")), &js); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"dtlshandshakes": "3", "dtlsfailures": "2", "dtlsstrangerrecords": "5",
		"stunaccepted": "7", "stununauthorized": "11", "stundropped": "13",
	} {
		if got := string(js.Total[k]); got != want {
			t.Errorf("jsonstats totalstatistics %s = %q, want %s", k, got, want)
		}
	}
	after := r.Command(t, "list totals")
	if strings.Count(after, "\n") != strings.Count(before, "\n") || strings.Contains(after, "DTLS") || strings.Contains(after, "STUN") {
		t.Errorf("list totals changed shape with the WebRTC counters:\n%s", after)
	}
}
