package media

import (
	"math"
)

// Per-title ladders. A fixed ladder gives every source the bitrates of
// standards, which a grainy film needs and a cartoon or a screen recording
// does not. PlanPerTitle chooses, per rung, the constant quality (x264
// CRF) that keeps the picture as good as the fixed rung's, from a fast
// complexity pass on a few slices of the source (encoder.MeasureComplexity):
//
//   - each rung is encoded on the slices at TrialCRFs, on a mosaic of a
//     ninth of its picture and under its cap scaled to it, giving for
//     each x264's luma SSIM and the bitrate the whole picture would take
//     (its keyframes as often as the encode forces them);
//   - log(bitrate) and log(1-SSIM) are close to straight lines in the CRF,
//     so the fixed rung's quality is read off them at its bitrate (a whole
//     video's average bitrate buys about what constant quality gives at
//     the same bits; a fixed-bitrate encode of a short slice would not
//     show it), then the CRF whose SSIM is that minus SSIMTolerance, and its
//     bitrate;
//   - a rung whose predicted bitrate is more than CRFShare of its fixed
//     bitrate keeps the fixed settings: complex content gains little and
//     must never cost more than today;
//   - otherwise the rung is capped CRF: -crf N with today's maxrate and
//     bufsize, so no rung ever exceeds today's peak rate;
//   - a CRF rung that costs less than the kept rung below it times their
//     ratio of pixel rates to the power MinStepExp (1.22 for 720p over
//     480p) adds too little over it (the source has no more detail to
//     show at that size) and is dropped; the lowest rung always stays.
//     The step scales with the pixels: a flat 1.2 dropped the 540p rung
//     of a 960x540 source over its 480p (1.26 times the pixels, 1.15 the
//     bits), whose picture at 540p was 0.003 worse in SSIM.
//
// The plan is made once, before any encode, and travels in the ladder
// (Rung.CRF) to every encode of it, so a chunked encode makes the very
// same decisions as a single ffmpeg.

// TrialCRFs are the constant qualities the complexity pass encodes, in
// increasing order. Two points fit the planner's model (log bits and log(1-SSIM) straight
// in the CRF), around the CRFs it chooses, for a third less CPU than
// three.
var TrialCRFs = [2]float64{16, 22}

// Per-title rules; see the comment above.
const (
	// SSIMTolerance is how far below the fixed rung's SSIM (x264's luma
	// SSIM on the slices) a per-title rung is aimed: less than the 0.002
	// that the benchmark allows, for the error of predicting a whole video
	// from a few seconds of it.
	SSIMTolerance = 0.0015
	// CRFShare: above this share of the fixed bitrate, the fixed settings
	// are kept.
	CRFShare = 0.9
	// MinStepExp: a CRF rung must cost at least the kept rung below it
	// times their ratio of pixel rates to this power to be worth a
	// rendition (bits grow about as the pixels to the power 0.5-0.8
	// where there is detail to show).
	MinStepExp = 0.25
	// The CRF range PlanPerTitle chooses in.
	minCRF, maxCRF = 10, 34
)

// PlanVersion is the version of the per-title plan in status.json; it
// changes when the meaning of a field does. Version 2: two trials per
// rung, their bitrate predicted for the whole picture and keyframe
// interval from a part of it (Complexity.Area).
const PlanVersion = 2

// Trial is one encode of the complexity pass: a CRF, the bitrate it gave
// and x264's luma SSIM.
type Trial struct {
	CRF  float64 `json:"crf"`
	Kbps float64 `json:"kbps"`
	SSIM float64 `json:"ssim"`
}

// Complexity is what the complexity pass measured of one rung.
type Complexity struct {
	Rung string `json:"rung"`
	// Area is the share of the rung's picture the trials encoded; their
	// Kbps are predicted for the whole of it.
	Area   float64               `json:"area"`
	Trials [len(TrialCRFs)]Trial `json:"trials"`
}

// Rung modes in a plan.
const (
	ModeCRF     = "crf"     // capped constant quality
	ModeFixed   = "fixed"   // today's bitrate
	ModeDropped = "dropped" // not encoded
)

// RungPlan is the decision for one rung.
type RungPlan struct {
	Name string  `json:"name"`
	Mode string  `json:"mode"`
	CRF  float64 `json:"crf,omitempty"`
	// PredictedKbps is the bitrate the rung is expected to average; for a
	// fixed rung, its target bitrate.
	PredictedKbps float64 `json:"predictedKbps"`
	FixedKbps     float64 `json:"fixedKbps"` // today's bitrate for the rung
	// Complexity is what the pass measured of the rung.
	Complexity Complexity `json:"complexity"`
}

// TitlePlan is a per-title plan: what was sampled and what was decided.
type TitlePlan struct {
	Version       int        `json:"version"`
	SampleSeconds float64    `json:"sampleSeconds"` // of source, in Slices
	Slices        []Span     `json:"slices"`
	Rungs         []RungPlan `json:"rungs"` // highest first, as the fixed ladder
}

// Span is a stretch of the source, in seconds.
type Span struct {
	Start    float64 `json:"start"`
	Duration float64 `json:"duration"`
}

// Sampling of the complexity pass: sampleShare of the source, at least
// minSample seconds (a source no longer is sampled whole) and at most
// maxSlices slices of sliceSeconds, in slices of at most sliceSeconds
// spread evenly. A share rather than a fixed slice keeps the pass's CPU
// a small part of the encode's whatever the length: a 2 s slice was
// most of a 5 s clip.
const (
	sliceSeconds = 2.0
	maxSlices    = 5
	sampleShare  = 0.06
	minSample    = 1.0
)

// SampleSpans returns the slices of a source of duration seconds that the
// complexity pass encodes: each in the middle of an equal share of the
// source, so a title sequence or the credits weigh no more than the rest.
func SampleSpans(duration float64) []Span {
	if !(duration > 0) || math.IsInf(duration, 0) {
		return nil
	}
	if duration <= minSample {
		return []Span{{0, duration}}
	}
	total := min(max(duration*sampleShare, minSample), maxSlices*sliceSeconds)
	n := int(math.Ceil(total/sliceSeconds - 1e-9))
	each := math.Floor(total/float64(n)*1000) / 1000
	spans := make([]Span, n)
	for i := range spans {
		mid := duration * (float64(i) + 0.5) / float64(n)
		start := math.Max(0, math.Min(mid-each/2, duration-each))
		spans[i] = Span{Start: math.Round(start*1000) / 1000, Duration: each}
	}
	return spans
}

// PlanPerTitle turns the fixed ladder l into a per-title one from the
// complexity measured per rung (by name; a rung without a measure keeps
// its fixed settings). It returns the new ladder and the plan.
func PlanPerTitle(l Ladder, spans []Span, measured []Complexity) (Ladder, TitlePlan) {
	plan := TitlePlan{Version: PlanVersion, Slices: spans}
	for _, s := range spans {
		plan.SampleSeconds += s.Duration
	}
	byName := map[string]Complexity{}
	for _, c := range measured {
		byName[c.Rung] = c
	}
	plans := make([]RungPlan, len(l.Video))
	for i, r := range l.Video {
		plans[i] = planRung(r, byName[r.Name])
	}
	// Drop, from the bottom up, CRF rungs too close to the kept rung below.
	below := len(plans) - 1
	for i := len(plans) - 2; i >= 0; i-- {
		p, q := &plans[i], plans[below]
		if p.Mode == ModeCRF && q.PredictedKbps > 0 && p.PredictedKbps < minStep(l.Video[i], l.Video[below])*q.PredictedKbps {
			p.Mode = ModeDropped
			continue
		}
		below = i
	}
	out := l
	out.Video = nil
	for i, r := range l.Video {
		switch plans[i].Mode {
		case ModeDropped:
			continue
		case ModeCRF:
			r.CRF = plans[i].CRF
			// Bitrate is what the rung is expected to average; MaxRate and
			// BufSize stay today's, the cap.
			r.Bitrate = int(math.Round(plans[i].PredictedKbps)) * 1000
		}
		out.Video = append(out.Video, r)
	}
	plan.Rungs = plans
	return out, plan
}

// minStep is how many times the bits of rung lo rung hi must cost to be
// worth a rendition: their ratio of pixel rates to the power MinStepExp.
func minStep(hi, lo Rung) float64 {
	rate := func(r Rung) float64 { return float64(r.Width*r.Height) * math.Max(r.FPS, 1) }
	if rate(lo) <= 0 || rate(hi) <= rate(lo) {
		return 1
	}
	return math.Pow(rate(hi)/rate(lo), MinStepExp)
}

// planRung decides one rung from its measure.
func planRung(r Rung, c Complexity) RungPlan {
	fixed := float64(r.Bitrate) / 1000
	p := RungPlan{Name: r.Name, Mode: ModeFixed, PredictedKbps: fixed, FixedKbps: fixed, Complexity: c}
	crf, kbps, ok := solveCRF(c, fixed)
	if !ok || kbps > CRFShare*fixed {
		return p
	}
	p.Mode, p.CRF, p.PredictedKbps = ModeCRF, crf, math.Round(kbps)
	return p
}

// solveCRF finds the CRF whose SSIM is that of fixed kb/s minus
// SSIMTolerance, and its bitrate, from the trials (see the comment at the
// top); it rounds the CRF down to a half step (better, not worse). ok is
// false when the measures are not usable: bits that do not fall or SSIM
// that does not either as the CRF rises.
func solveCRF(c Complexity, fixed float64) (crf, kbps float64, ok bool) {
	n := len(c.Trials)
	crfs, rates, losses := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, t := range c.Trials {
		if t.Kbps <= 0 || !(t.SSIM > 0 && t.SSIM < 1) || (i > 0 && !(t.CRF > crfs[i-1] && t.Kbps < c.Trials[i-1].Kbps && t.SSIM < c.Trials[i-1].SSIM)) {
			return 0, 0, false
		}
		crfs[i], rates[i], losses[i] = t.CRF, math.Log(t.Kbps), math.Log(1-t.SSIM)
	}
	if !(fixed > 0) {
		return 0, 0, false
	}
	// Rates fall as the CRF rises: interpolate over them reversed.
	revRates, revCRFs := reversed(rates), reversed(crfs)
	atFixed := interp(revRates, revCRFs, math.Log(fixed))
	target := math.Exp(interp(crfs, losses, atFixed)) + SSIMTolerance
	crf = interp(losses, crfs, math.Log(target))
	crf = math.Min(maxCRF, math.Max(minCRF, math.Floor(crf*2)/2))
	return crf, math.Exp(interp(crfs, rates, crf)), true
}

// interp is piecewise-linear y(x) through the points (xs ascending),
// extended beyond them along the end segments.
func interp(xs, ys []float64, x float64) float64 {
	i := 1
	for i < len(xs)-1 && x > xs[i] {
		i++
	}
	return ys[i-1] + (ys[i]-ys[i-1])*(x-xs[i-1])/(xs[i]-xs[i-1])
}

func reversed(s []float64) []float64 {
	r := make([]float64, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}
