package daemon

import (
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngrelay/ngrelay/internal/config"
)

func TestSyslogLoggerSendsWithTheFacilityAndLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	cfg := config.Default()
	cfg.LogFacility = "local3"
	cfg.LogLevel = 6
	log, err := NewSyslogLogger("unixgram", path, cfg, new(slog.LevelVar))
	if err != nil {
		t.Fatal(err)
	}
	log.With(slog.String("call-id", "abc")).Warn("timeout", slog.Int("streams", 2))
	log.Debug("not at level 6")
	buf := make([]byte, 2048)
	sock.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := sock.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	// local3 (19) * 8 + warning (4) = 156
	if !strings.HasPrefix(got, "<156>") || !strings.Contains(got, "ngrelay") || !strings.Contains(got, `msg=timeout call-id=abc streams=2`) {
		t.Fatalf("syslog message %q", got)
	}
	sock.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := sock.Read(buf); err == nil {
		t.Fatalf("debug message sent at level 6: %q", buf[:n])
	}
}
