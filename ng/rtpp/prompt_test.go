package rtpp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ngrelay/ngrelay/ng/rtpp/internal/tone"
)

// TestShippedPromptsUpToDate: prompts/ holds what "go generate" writes.
func TestShippedPromptsUpToDate(t *testing.T) {
	for name, want := range tone.Files() {
		got, err := os.ReadFile(filepath.Join("../../prompts", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("prompts/%s is stale: run go generate ./ng/rtpp", name)
		}
	}
}

func TestLoadPrompt(t *testing.T) {
	p, err := LoadPrompt("../../prompts", "tone", 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.PayloadType != 0 || p.Samples != 160 || len(p.Frames) != 50 {
		t.Fatalf("tone.0: pt %d, %d samples, %d frames; want 0, 160, 50", p.PayloadType, p.Samples, len(p.Frames))
	}

	dir := t.TempDir()
	write := func(name string, n int) {
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte{0x11}, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("short.8", 170) // one frame and 10 bytes: padded with A-law silence
	write("g729.18", 45)  // two frames and 5 bytes: the partial frame dropped
	write("tiny.18", 5)
	write("gsm.3", 66)
	p, err = LoadPrompt(dir, "short", 8)
	if err != nil || len(p.Frames) != 2 || p.Frames[1][9] != 0x11 || p.Frames[1][10] != 0xd5 || len(p.Frames[1]) != 160 {
		t.Errorf("short.8: %v %+v", err, p)
	}
	if p, err = LoadPrompt(dir, "g729", 18); err != nil || len(p.Frames) != 2 || len(p.Frames[0]) != 20 {
		t.Errorf("g729.18: %v %+v", err, p)
	}
	if p, err = LoadPrompt(dir, "gsm", 3); err != nil || len(p.Frames) != 2 || len(p.Frames[1]) != 33 {
		t.Errorf("gsm.3: %v %+v", err, p)
	}
	for _, c := range []struct {
		dir, name string
		pt        int
	}{
		{dir, "tiny", 18},   // no complete frame
		{dir, "missing", 0}, // no file
		{dir, "short", 101}, // not a playable payload type
		{"", "tone", 0},     // no prompt directory
		{"../../prompts", "../prompts/tone", 0},
		{"../../prompts", ".tone", 0},
		{"../../prompts", "..", 0},
		{"../../prompts", "", 0},
	} {
		if _, err := LoadPrompt(c.dir, c.name, c.pt); err == nil {
			t.Errorf("LoadPrompt(%q, %q, %d) succeeded", c.dir, c.name, c.pt)
		}
	}
}
