package bench

import (
	"math"
	"sort"
)

// Stat summarizes the values of one measurement over several runs.
type Stat struct {
	N      int     `json:"n"` // values summarized; 0 when the stage was never reached
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Summarize returns the median, minimum and maximum of the positive values in xs: a zero is
// a stage a run did not reach and is left out (N counts the rest). The median of an even
// number of values is the mean of the two middle ones.
func Summarize(xs []float64) Stat {
	return summarize(xs, func(x float64) bool { return x > 0 })
}

// SummarizeAmounts is Summarize for amounts, such as idle time, that may be zero: only NaN
// (not measured) is left out.
func SummarizeAmounts(xs []float64) Stat {
	return summarize(xs, func(x float64) bool { return x >= 0 })
}

func summarize(xs []float64, keep func(float64) bool) Stat {
	var v []float64
	for _, x := range xs {
		if keep(x) && !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Stat{}
	}
	sort.Float64s(v)
	s := Stat{N: len(v), Min: v[0], Max: v[len(v)-1]}
	if n := len(v); n%2 == 1 {
		s.Median = v[n/2]
	} else {
		s.Median = (v[n/2-1] + v[n/2]) / 2
	}
	return s
}
