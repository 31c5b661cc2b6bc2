package bench

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Histogram records non-negative durations in nanoseconds with a bounded
// relative error: values below 64 ns are exact; above, each power of two is
// split into 64 buckets, so a bucket is at most 1/64 (1.6%) of its value
// wide. Record does not allocate; the zero Histogram is ready to use.
type Histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      float64
	min, max uint64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // >= histSubBits
	shift := e - histSubBits
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histValue returns the middle of bucket i (the exact value below 64).
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	lo := uint64(histSub+i%histSub) << shift
	return lo + (uint64(1)<<shift)/2
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	v := uint64(ns)
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest value recorded (exact).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the mean of the values recorded (exact up to float
// rounding).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value at quantile q (0 < q <= 1) by nearest rank:
// the smallest recorded value v such that at least q of the values are <=
// v, up to the bucket's resolution. It is clamped to the exact minimum and
// maximum. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i]
		if seen >= rank {
			v := histValue(i)
			v = max(v, h.min)
			v = min(v, h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i := range h.counts {
		h.counts[i] += o.counts[i]
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// SeqTracker accounts for the packets of one stream from their sequence
// numbers (32-bit, starting anywhere, increasing by one per packet sent;
// they do not wrap in a benchmark's lifetime). A 64-packet window detects
// duplicates; a packet older than the window is taken as new (and
// reordered). Add does not allocate; the zero SeqTracker is ready to use.
type SeqTracker struct {
	// Received counts distinct packets.
	Received uint64
	// Duplicates counts packets seen before (within the window).
	Duplicates uint64
	// Reordered counts distinct packets that arrived after a packet with a
	// higher sequence number.
	Reordered uint64

	started bool
	highest uint32
	window  uint64 // bit d set: highest-d was received
}

// Add records the arrival of packet seq and reports whether it is new.
func (t *SeqTracker) Add(seq uint32) bool {
	if !t.started {
		t.started = true
		t.highest = seq
		t.window = 1
		t.Received++
		return true
	}
	if seq > t.highest {
		d := seq - t.highest
		if d >= 64 {
			t.window = 1
		} else {
			t.window = t.window<<d | 1
		}
		t.highest = seq
		t.Received++
		return true
	}
	d := t.highest - seq
	if d < 64 {
		if t.window&(1<<d) != 0 {
			t.Duplicates++
			return false
		}
		t.window |= 1 << d
	}
	t.Received++
	t.Reordered++
	return true
}

// Lost returns how many of sent packets did not arrive.
func (t *SeqTracker) Lost(sent uint64) uint64 {
	if t.Received >= sent {
		return 0
	}
	return sent - t.Received
}

// LossPercent returns lost as a percentage of sent (0 when nothing was
// sent).
func LossPercent(sent, received uint64) float64 {
	if sent == 0 || received >= sent {
		return 0
	}
	return float64(sent-received) * 100 / float64(sent)
}

// Quantiles of a set of durations, in microseconds.
type Quantiles struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Max  float64 `json:"max_us"`
	Mean float64 `json:"mean_us"`
}

// SampleQuantiles returns the nearest-rank quantiles of samples, which it
// sorts in place.
func SampleQuantiles(samples []time.Duration) Quantiles {
	if len(samples) == 0 {
		return Quantiles{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return Quantiles{
		N:    len(samples),
		P50:  us(nearestRank(samples, 0.50)),
		P99:  us(nearestRank(samples, 0.99)),
		P999: us(nearestRank(samples, 0.999)),
		Max:  us(samples[len(samples)-1]),
		Mean: us(sum / time.Duration(len(samples))),
	}
}

// nearestRank returns the nearest-rank quantile q of sorted samples.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(rank, 1)
	rank = min(rank, len(sorted))
	return sorted[rank-1]
}

// HistQuantiles returns h's quantiles in microseconds.
func HistQuantiles(h *Histogram) Quantiles {
	return Quantiles{
		N:    int(h.Count()),
		P50:  us(h.Quantile(0.50)),
		P99:  us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)),
		Max:  us(h.Max()),
		Mean: us(h.Mean()),
	}
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }
