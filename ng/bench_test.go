package ng

import (
	"strconv"
	"testing"
)

// BenchmarkOfferAnswerDelete is one call's signalling through the handler:
// offer, answer and delete of a plain call, with port allocation.
func BenchmarkOfferAnswerDelete(b *testing.B) {
	h := newTestHandler(b)
	offer, answer := plain("198.51.100.7", 4000), plain("198.51.100.8", 5000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := "b" + strconv.Itoa(i)
		h.Handle(request("command", "offer", "call-id", id, "from-tag", "a", "sdp", offer))
		h.Handle(request("command", "answer", "call-id", id, "from-tag", "a", "to-tag", "b", "sdp", answer))
		h.Handle(request("command", "delete", "call-id", id, "delete-delay", "0"))
	}
}
