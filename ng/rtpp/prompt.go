package rtpp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ngrelay/ngrelay/relay"
)

//go:generate go run ./internal/gentone -out ../../prompts

// MaxPromptSize bounds a prompt file (8 MiB is over 17 minutes of G.711).
const MaxPromptSize = 8 << 20

// promptCodec is how a payload type is framed: bytes per 20 ms packet,
// the RTP timestamp step, and the byte of silence that pads a short last
// frame (-1: a short last frame is dropped).
type promptCodec struct {
	frame   int
	samples uint32
	pad     int
}

// promptCodecs are the payload types that prompts can be played in (the
// static ones of RFC 3551 with a fixed frame size, as rtpproxy's makeann
// writes them).
var promptCodecs = map[int]promptCodec{
	0:  {160, 160, 0xff}, // PCMU: 8000 samples/s, one byte each
	3:  {33, 160, -1},    // GSM 06.10: one 33-byte frame per 20 ms
	8:  {160, 160, 0xd5}, // PCMA
	9:  {160, 160, -1},   // G722: 64 kbit/s, RTP clock 8000 Hz (RFC 3551)
	18: {20, 160, -1},    // G729: two 10-byte frames per 20 ms
}

// PromptPayloadTypes lists the payload types prompts can be played in.
func PromptPayloadTypes() []int {
	out := make([]int, 0, len(promptCodecs))
	for pt := range promptCodecs {
		out = append(out, pt)
	}
	return out
}

// validPromptName reports whether name is a plain file name: prompts are
// only read from the prompt directory.
func validPromptName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.HasPrefix(name, ".") &&
		!strings.ContainsAny(name, "/\\\x00") && len(name) <= 200
}

// LoadPrompt reads the prompt file NAME.PT from dir and cuts it into one
// payload per 20 ms packet.
func LoadPrompt(dir, name string, pt int) (*relay.Prompt, error) {
	if dir == "" {
		return nil, errors.New("no prompt directory configured")
	}
	if !validPromptName(name) {
		return nil, fmt.Errorf("invalid prompt name %q", name)
	}
	c, ok := promptCodecs[pt]
	if !ok {
		return nil, fmt.Errorf("payload type %d cannot be played", pt)
	}
	f, err := os.Open(filepath.Join(dir, name+"."+strconv.Itoa(pt)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPromptSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPromptSize {
		return nil, fmt.Errorf("prompt %s.%d larger than %d bytes", name, pt, MaxPromptSize)
	}
	p := &relay.Prompt{PayloadType: uint8(pt), Samples: c.samples}
	for len(data) > 0 {
		n := min(c.frame, len(data))
		frame := data[:n]
		data = data[n:]
		if n < c.frame {
			if c.pad < 0 {
				break
			}
			frame = append(frame[:n:n], make([]byte, c.frame-n)...)
			for i := n; i < c.frame; i++ {
				frame[i] = byte(c.pad)
			}
		}
		p.Frames = append(p.Frames, frame)
	}
	if len(p.Frames) == 0 {
		return nil, fmt.Errorf("prompt %s.%d holds no complete frame", name, pt)
	}
	return p, nil
}
