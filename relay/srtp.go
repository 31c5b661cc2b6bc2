package relay

import (
	"bytes"
	"log/slog"

	"github.com/ngrelay/ngrelay/crypto/srtp"
)

// srtpSlot keeps one SRTP context of a stream and the parameters it was
// made from, so that republishing the stream's forwarding record keeps the
// context (its rollover counters and replay windows) while the keys stay
// the same.
type srtpSlot struct {
	params *srtp.Params
	ctx    *srtp.Context
}

// ensure returns the context for p in direction d (nil for plain media),
// making a new one when the keys changed. ok is false when p's keys are
// unusable.
func (sl *srtpSlot) ensure(p *srtp.Params, d srtp.Direction, log *slog.Logger) (ctx *srtp.Context, ok bool) {
	if p == nil {
		sl.params, sl.ctx = nil, nil
		return nil, true
	}
	if sl.ctx != nil && sameParams(sl.params, p) {
		return sl.ctx, true
	}
	ctx, err := srtp.NewContextFor(*p, d)
	if err != nil {
		// The control plane checks keys before it sets them; this is
		// a bug, and the stream relays nothing rather than the wrong
		// thing.
		log.Error("SRTP context", slog.Any("error", err))
		sl.params, sl.ctx = nil, nil
		return nil, false
	}
	cp := *p
	sl.params, sl.ctx = &cp, ctx
	return ctx, true
}

func sameParams(a, b *srtp.Params) bool {
	return a.Suite == b.Suite && bytes.Equal(a.MasterKey, b.MasterKey) && bytes.Equal(a.MasterSalt, b.MasterSalt) &&
		bytes.Equal(a.MKI, b.MKI) && a.UnencryptedSRTP == b.UnencryptedSRTP && a.UnencryptedSRTCP == b.UnencryptedSRTCP &&
		a.UnauthenticatedSRTP == b.UnauthenticatedSRTP && a.ReplayWindow == b.ReplayWindow
}
