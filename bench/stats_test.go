package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramSmallValuesExact(t *testing.T) {
	var h Histogram
	for v := range int64(64) {
		h.Record(v)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 31}, {1, 63}, {1.0 / 64, 0}, {0.99, 63}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if h.Count() != 64 || h.Min() != 0 || h.Max() != 63 {
		t.Errorf("count %d min %d max %d", h.Count(), h.Min(), h.Max())
	}
}

func TestHistogramQuantilesAgainstExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var samples []time.Duration
	for range 100000 {
		// Log-uniform from 1 us to 100 ms.
		v := time.Duration(math.Exp(math.Log(1e3) + rng.Float64()*(math.Log(1e8)-math.Log(1e3))))
		h.Record(int64(v))
		samples = append(samples, v)
	}
	slices.Sort(samples)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := nearestRank(samples, q)
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 1.0/64 {
			t.Errorf("q=%v: histogram %v, exact %v (relative error %.3f)", q, got, exact, rel)
		}
	}
	if h.Max() != samples[len(samples)-1] || h.Min() != samples[0] {
		t.Errorf("min/max %v %v, want %v %v", h.Min(), h.Max(), samples[0], samples[len(samples)-1])
	}
}

func TestHistogramBucketsRoundTrip(t *testing.T) {
	// Every value maps to a bucket whose middle is within 1/64 of it, and
	// indexes grow with values.
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 20, 1<<20 + 12345, 1 << 40, math.MaxInt64} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d (prev %d)", v, i, prev)
		}
		prev = i
		mid := histValue(i)
		if d := math.Abs(float64(mid) - float64(v)); d > float64(v)/64+0.5 {
			t.Errorf("value %d: bucket %d middle %d", v, i, mid)
		}
	}
}

func TestHistogramMergeAndNegative(t *testing.T) {
	var a, b Histogram
	a.Record(1000)
	a.Record(-5) // counts as 0
	b.Record(3000)
	b.Record(2000)
	a.Merge(&b)
	var empty Histogram
	a.Merge(&empty)
	if a.Count() != 4 || a.Min() != 0 || a.Max() != 3000 {
		t.Fatalf("count %d min %v max %v", a.Count(), a.Min(), a.Max())
	}
	if q := a.Quantile(0.5); q < 990 || q > 1010 {
		t.Errorf("median %v, want ~1000", q)
	}
	if m := a.Mean(); m != 1500 {
		t.Errorf("mean %v, want 1500", m)
	}
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 {
		t.Error("empty histogram not zero")
	}
}

func TestSeqTracker(t *testing.T) {
	cases := []struct {
		name                   string
		seqs                   []uint32
		sent                   uint64
		recv, dup, reord, lost uint64
	}{
		{"in order", []uint32{5, 6, 7, 8}, 4, 4, 0, 0, 0},
		{"gap", []uint32{0, 1, 3, 4}, 5, 4, 0, 0, 1},
		{"late", []uint32{0, 2, 1, 3}, 4, 4, 0, 1, 0},
		{"late twice", []uint32{0, 3, 1, 2, 4}, 5, 5, 0, 2, 0},
		{"duplicate", []uint32{0, 1, 1, 2, 0}, 3, 3, 2, 0, 0},
		{"duplicate of a late one", []uint32{0, 2, 1, 1}, 3, 3, 1, 1, 0},
		{"jump then old", []uint32{0, 100, 1}, 101, 3, 0, 1, 98},
		{"very late, beyond the window", []uint32{0, 1, 200, 2}, 201, 4, 0, 1, 197},
		{"first packet not zero, loss at start unknowable", []uint32{10, 11}, 2, 2, 0, 0, 0},
		{"empty", nil, 7, 0, 0, 0, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr SeqTracker
			for _, s := range c.seqs {
				tr.Add(s)
			}
			if tr.Received != c.recv || tr.Duplicates != c.dup || tr.Reordered != c.reord || tr.Lost(c.sent) != c.lost {
				t.Errorf("received %d dup %d reordered %d lost %d; want %d %d %d %d",
					tr.Received, tr.Duplicates, tr.Reordered, tr.Lost(c.sent), c.recv, c.dup, c.reord, c.lost)
			}
		})
	}
}

func TestSeqTrackerAddReportsNew(t *testing.T) {
	var tr SeqTracker
	for i, c := range []struct {
		seq uint32
		new bool
	}{{1, true}, {1, false}, {3, true}, {2, true}, {2, false}, {3, false}, {70, true}, {3, true}} {
		if got := tr.Add(c.seq); got != c.new {
			t.Errorf("step %d: Add(%d) = %v, want %v", i, c.seq, got, c.new)
		}
	}
}

func TestLossPercent(t *testing.T) {
	for _, c := range []struct {
		sent, recv uint64
		want       float64
	}{{0, 0, 0}, {1000, 1000, 0}, {1000, 999, 0.1}, {1000, 1001, 0}, {4, 1, 75}} {
		if got := LossPercent(c.sent, c.recv); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("LossPercent(%d, %d) = %v, want %v", c.sent, c.recv, got, c.want)
		}
	}
}

func TestSampleQuantiles(t *testing.T) {
	var s []time.Duration
	for i := 1000; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	q := SampleQuantiles(s)
	if q.N != 1000 || q.P50 != 500 || q.P99 != 990 || q.P999 != 999 || q.Max != 1000 || q.Mean != 500.5 {
		t.Errorf("%+v", q)
	}
	if (SampleQuantiles(nil) != Quantiles{}) {
		t.Error("empty samples")
	}
	one := SampleQuantiles([]time.Duration{7 * time.Microsecond})
	if one.P50 != 7 || one.P999 != 7 {
		t.Errorf("%+v", one)
	}
}
