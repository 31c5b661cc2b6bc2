package relay

import "testing"

// TestMutedSinkDropsRTPOnly: while a prompt plays to b's leg, RTP from a
// to b is dropped (but counted as received); RTCP still passes.
func TestMutedSinkDropsRTPOnly(t *testing.T) {
	a, b := pairOfStreams(forwarding{})
	b.setPeer(srcB)
	b.muted.Store(true)
	if _, _, _, ok := a.receive(rtp, len(rtp), srcA, 1); ok {
		t.Fatal("RTP forwarded to a muted sink")
	}
	if a.Stats.Packets.Load() != 1 {
		t.Fatalf("muted packet not counted: %d", a.Stats.Packets.Load())
	}
	rr := []byte{0x81, 201, 0, 1, 0, 0, 0, 1}
	if _, _, _, ok := a.receive(rr, len(rr), srcA, 2); !ok {
		t.Fatal("RTCP to a muted sink dropped")
	}
	b.muted.Store(false)
	if out, _, _, ok := a.receive(rtp, len(rtp), srcA, 3); !ok || out != b {
		t.Fatal("RTP not forwarded after unmuting")
	}
}

func TestPlayRefuses(t *testing.T) {
	m := &Media{}
	if _, err := m.Play(&Prompt{Frames: [][]byte{{0}}}, 1); err == nil {
		t.Error("played without a port")
	}
	if m.StopPlaying() || m.Player() != nil {
		t.Error("a player without a port")
	}
	m.RTP = &Stream{kind: KindRTP}
	if _, err := m.Play(&Prompt{}, 1); err == nil {
		t.Error("played an empty prompt")
	}
	if _, err := m.Play(&Prompt{Frames: [][]byte{make([]byte, 2000)}}, 1); err == nil {
		t.Error("played a frame larger than a packet")
	}
}
