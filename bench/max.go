package bench

import (
	"fmt"
	"io"
	"math"
)

// MaxConfig raises the number of calls step by step (at a fixed packet
// rate per stream) until the loss exceeds LossPct.
type MaxConfig struct {
	Steady   SteadyConfig // Calls is the first step
	Factor   float64      // each step multiplies the calls (default 1.5)
	MaxSteps int          // default 12
	LossPct  float64      // default 0.1
	Progress io.Writer    // one line per step, or nil
}

// MaxResult lists the steps and the last one within the loss limit.
type MaxResult struct {
	Steps    []*SteadyResult `json:"steps"`
	LastGood *SteadyResult   `json:"last_good,omitempty"`
	// StoppedBy says why the search ended: "loss", "generator", "error",
	// or "steps".
	StoppedBy string `json:"stopped_by"`
	Error     string `json:"error,omitempty"`
}

// RunMax runs the steps.
func RunMax(cfg MaxConfig) (*MaxResult, error) {
	if cfg.Factor <= 1 {
		cfg.Factor = 1.5
	}
	if cfg.MaxSteps <= 0 {
		cfg.MaxSteps = 12
	}
	if cfg.LossPct <= 0 {
		cfg.LossPct = 0.1
	}
	out := &MaxResult{StoppedBy: "steps"}
	calls := cfg.Steady.Calls
	for step := 0; step < cfg.MaxSteps; step++ {
		sc := cfg.Steady
		sc.Calls = calls
		r, err := RunSteady(sc)
		if r != nil {
			out.Steps = append(out.Steps, r)
		}
		if err != nil {
			out.StoppedBy, out.Error = "error", err.Error()
			break
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "step %d: %d calls x %d pps: offered %.0f/s delivered %.0f/s loss %.3f%% p99 %.0f us relay CPU %.0f%% gen %.0f%%\n",
				step+1, calls, r.PPS, r.OfferedPPS, r.DeliveredPPS, r.LossPct, r.Latency.P99, r.RelayCPUPct, r.GenCPUPct)
		}
		if r.LossPct > cfg.LossPct {
			out.StoppedBy = "loss"
			if r.GenLimited {
				out.StoppedBy = "generator"
			}
			break
		}
		out.LastGood = r
		if r.GenLimited {
			out.StoppedBy = "generator"
			break
		}
		calls = int(math.Ceil(float64(calls) * cfg.Factor))
	}
	return out, nil
}
