package media

import (
	"math"
	"reflect"
	"testing"
)

// trialsFor makes measures that follow the planner's model: bits halve
// every halve CRF steps from kbps at CRF 14, 1-SSIM grows 7% a step from
// loss at CRF 14.
func trialsFor(rung string, kbps, halve, loss float64) Complexity {
	return trialsGrowing(rung, kbps, halve, loss, 1.07)
}

// trialsGrowing is trialsFor with 1-SSIM growing by grow a step.
func trialsGrowing(rung string, kbps, halve, loss, grow float64) Complexity {
	c := Complexity{Rung: rung}
	for i, crf := range TrialCRFs {
		c.Trials[i] = Trial{CRF: crf, Kbps: kbps * math.Pow(0.5, (crf-14)/halve), SSIM: 1 - loss*math.Pow(grow, crf-14)}
	}
	return c
}

func fixedLadder(t *testing.T) Ladder {
	t.Helper()
	l, err := PlanLadder(&Source{Duration: 60, Video: &Video{Width: 1920, Height: 1080, FPS: 30}}, LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPlanPerTitleSimpleContentGetsCappedCRF(t *testing.T) {
	l := fixedLadder(t)
	var m []Complexity
	for _, r := range l.Video {
		// At CRF 14 the rung needs its fixed bitrate: simple content.
		m = append(m, trialsFor(r.Name, float64(r.Bitrate)/1000, 6, 0.004))
	}
	spans := SampleSpans(60)
	got, plan := PlanPerTitle(l, spans, m)
	if len(got.Video) != len(l.Video) || len(plan.Rungs) != len(l.Video) || plan.Version != PlanVersion {
		t.Fatalf("got %d rungs, plan %+v", len(got.Video), plan)
	}
	for i, r := range got.Video {
		f := l.Video[i]
		p := plan.Rungs[i]
		if p.Mode != ModeCRF || r.CRF != p.CRF || r.CRF <= 14 || r.CRF > 20 {
			t.Errorf("%s: mode %s crf %g (rung %g), want capped CRF a little above 14", r.Name, p.Mode, p.CRF, r.CRF)
		}
		if r.MaxRate != f.MaxRate || r.BufSize != f.BufSize || r.Level != f.Level {
			t.Errorf("%s: cap %d/%d level %s, want today's %d/%d %s", r.Name, r.MaxRate, r.BufSize, r.Level, f.MaxRate, f.BufSize, f.Level)
		}
		if r.Bitrate >= f.Bitrate || r.Bitrate <= 0 || float64(r.Bitrate) != p.PredictedKbps*1000 {
			t.Errorf("%s: expected bitrate %d, want below the fixed %d", r.Name, r.Bitrate, f.Bitrate)
		}
	}
}

func TestPlanPerTitleComplexContentKeepsFixed(t *testing.T) {
	l := fixedLadder(t)
	for name, measure := range map[string]func(r Rung) Complexity{
		// Quality falls fast with the CRF: the tolerance buys too few bits.
		"steep": func(r Rung) Complexity { return trialsGrowing(r.Name, 3*float64(r.Bitrate)/1000, 6, 0.01, 1.25) },
		// The cap holds every trial at the fixed bitrate: bits do not fall.
		"capped": func(r Rung) Complexity {
			c := trialsFor(r.Name, 3*float64(r.Bitrate)/1000, 6, 0.01)
			for i := range 2 {
				c.Trials[i].Kbps = float64(r.MaxRate)/1000 + float64(i)
			}
			return c
		},
	} {
		var m []Complexity
		for _, r := range l.Video {
			m = append(m, measure(r))
		}
		got, plan := PlanPerTitle(l, nil, m)
		if !reflect.DeepEqual(got, l) {
			t.Errorf("%s: ladder changed:\n got %+v\nwant %+v", name, got.Video, l.Video)
		}
		for _, p := range plan.Rungs {
			if p.Mode != ModeFixed || p.PredictedKbps != p.FixedKbps {
				t.Errorf("%s: %+v, want fixed", name, p)
			}
		}
	}
}

func TestPlanPerTitleUnusableMeasuresKeepFixed(t *testing.T) {
	l := fixedLadder(t)
	good := trialsFor(l.Video[0].Name, 1000, 6, 0.004)
	flat := good
	flat.Trials[1].Kbps = flat.Trials[0].Kbps // bits that do not fall
	perfect := good
	perfect.Trials[0].SSIM = 1
	for name, c := range map[string]Complexity{"flat": flat, "perfect": perfect, "missing": {Rung: l.Video[0].Name}} {
		got, plan := PlanPerTitle(Ladder{Video: l.Video[:1]}, nil, []Complexity{c})
		if got.Video[0] != l.Video[0] || plan.Rungs[0].Mode != ModeFixed {
			t.Errorf("%s: %+v, want the fixed rung", name, plan.Rungs[0])
		}
	}
}

func TestPlanPerTitleDropsRungsThatAddTooLittle(t *testing.T) {
	l := fixedLadder(t) // 1080p 720p 480p 360p
	var m []Complexity
	for i, r := range l.Video {
		kbps := 200.0
		if i < 2 {
			kbps = 210 // 1080p and 720p cost hardly more than 480p
		}
		m = append(m, trialsFor(r.Name, kbps, 6, 0.004))
	}
	got, plan := PlanPerTitle(l, nil, m)
	var names []string
	for _, r := range got.Video {
		names = append(names, r.Name)
	}
	// 360p stays (the lowest); 480p costs as much as 360p: dropped; 720p
	// and 1080p likewise over 360p.
	if !reflect.DeepEqual(names, []string{"360p"}) {
		t.Errorf("kept %v, want [360p]; plan %+v", names, plan.Rungs)
	}
	m[0] = trialsFor("1080p", 1000, 6, 0.004) // worth it again
	got, _ = PlanPerTitle(l, nil, m)
	if len(got.Video) != 2 || got.Video[0].Name != "1080p" || got.Video[1].Name != "360p" {
		t.Errorf("kept %+v, want 1080p and 360p", got.Video)
	}
}

func TestSampleSpans(t *testing.T) {
	for _, d := range []float64{0.5, 2, 5, 6.2, 12, 70, 600, 3600, 7200} {
		spans := SampleSpans(d)
		if len(spans) == 0 || len(spans) > maxSlices {
			t.Fatalf("%g s: %d slices", d, len(spans))
		}
		var total float64
		for i, s := range spans {
			if s.Start < 0 || s.Start+s.Duration > d+1e-9 || (i > 0 && s.Start < spans[i-1].Start+spans[i-1].Duration) {
				t.Errorf("%g s: slice %d %+v outside the source or overlapping", d, i, s)
			}
			total += s.Duration
		}
		// A short sample whatever the length: the share, or minSample
		// of a short source (a 2 s slice was most of a 5 s clip), or
		// maxSlices slices of a long one.
		if total > min(max(minSample, d*sampleShare), maxSlices*sliceSeconds)+1e-9 || (d >= 5 && total > d/5) {
			t.Errorf("%g s: %g s sampled", d, total)
		}
		if d > minSample && total < min(minSample, d)-0.01 {
			t.Errorf("%g s: only %g s sampled", d, total)
		}
	}
	for _, d := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if s := SampleSpans(d); s != nil {
			t.Errorf("%g: %v", d, s)
		}
	}
}

// The step a rung must make over the one below scales with their pixels:
// a 540p rung over a 480p one (1.26 times the pixels) that costs 1.15
// times its bits is kept (a flat 1.2 dropped it, and its picture at 540p
// was 0.003 worse in SSIM); 720p over 480p must still cost about 1.2
// times as much.
func TestPlanPerTitleStepScalesWithPixels(t *testing.T) {
	l, err := PlanLadder(&Source{Duration: 60, Video: &Video{Width: 960, Height: 540, FPS: 30}}, LadderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Video) != 3 || l.Video[0].Name != "540p" || l.Video[1].Name != "480p" {
		t.Fatalf("ladder %+v, want 540p 480p 360p", l.Video)
	}
	// 540p at a range of costs over 480p: kept exactly when its predicted
	// bits make the step, which for 1.26 times the pixels is about 1.06;
	// steps between that and 1.2 occur, and are kept.
	need := minStep(l.Video[0], l.Video[1])
	if need < 1.04 || need > 1.08 {
		t.Errorf("540p over 480p: step %g, want about 1.06", need)
	}
	var keptBelow12, dropped bool
	for k := 0.5; k < 1.4; k += 0.01 {
		m := []Complexity{
			trialsFor("540p", k*600, 6, 0.004),
			trialsFor("480p", 600, 6, 0.004),
			trialsFor("360p", 300, 6, 0.004),
		}
		got, plan := PlanPerTitle(l, nil, m)
		p, q := plan.Rungs[0], plan.Rungs[1]
		if p.Complexity.Rung == "" || q.Mode != ModeCRF {
			t.Fatalf("plan %+v", plan.Rungs)
		}
		step := p.PredictedKbps / q.PredictedKbps
		if (p.Mode == ModeDropped) != (step < need) || (p.Mode == ModeDropped) != (len(got.Video) == 2) {
			t.Errorf("540p at %.3gx the bits of 480p (step %.3g): %s", step, need, p.Mode)
		}
		keptBelow12 = keptBelow12 || (p.Mode == ModeCRF && step < 1.2)
		dropped = dropped || p.Mode == ModeDropped
	}
	if !keptBelow12 || !dropped {
		t.Errorf("kept a step under 1.2: %v, dropped one: %v; want both", keptBelow12, dropped)
	}
	// 720p over 480p: the old 1.2, about.
	hd := fixedLadder(t)
	if s := minStep(hd.Video[1], hd.Video[2]); s < 1.18 || s > 1.25 {
		t.Errorf("720p over 480p: step %g, want about 1.2", s)
	}
}
