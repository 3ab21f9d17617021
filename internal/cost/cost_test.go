package cost

import (
	"math"
	"testing"
)

func TestPrice(t *testing.T) {
	var u Usage
	u.Invocation("transcode", 10240, 12)
	u.Invocation("encode", 2048, 3)
	u.Invocation("encode", 2048, 4.5)
	u.S3Puts, u.S3Gets = 40, 3
	u.Price(USEast1)
	if got := u.Functions["encode"]; got.Invocations != 2 || got.GBSeconds != 15 {
		t.Errorf("encode = %+v, want 2 invocations, 15 GB-s", got)
	}
	if got := u.GBSeconds(); got != 135 {
		t.Errorf("GB-seconds = %v, want 120 + 15", got)
	}
	want := 135*0.0000133334 + 3*0.0000002 + 40*0.000005 + 3*0.0000004
	if math.Abs(u.USD-want) > 5e-7 {
		t.Errorf("USD = %v, want %v", u.USD, want)
	}
	if u.Prices != "us-east-1 "+USEast1.Date {
		t.Errorf("Prices = %q", u.Prices)
	}
}

// TestMediaConvertOutputMinute: the resolution class goes by the short
// side (a portrait 720x1280 is HD, 1280x718 is SD) and above 30 fps the
// minute costs double.
func TestMediaConvertOutputMinute(t *testing.T) {
	m := MediaConvertPrices{SDMinute: 1, HDMinute: 3}
	tests := []struct {
		w, h int
		fps  float64
		want float64
	}{
		{640, 360, 30, 1},
		{1280, 718, 29.97, 1},
		{1280, 720, 30, 3},
		{720, 1280, 25, 3},
		{1920, 1080, 60, 6},
		{854, 480, 50, 2},
	}
	for _, tt := range tests {
		if got := m.OutputMinute(tt.w, tt.h, tt.fps); got != tt.want {
			t.Errorf("%dx%d@%g: %g, want %g", tt.w, tt.h, tt.fps, got, tt.want)
		}
	}
	// One vCPU-second is 1769/1024 GB-seconds.
	p := Prices{LambdaGBSecond: 1024}
	if got := p.VCPUSecond(); got != VCPUMemoryMB {
		t.Errorf("VCPUSecond %g, want %d", got, VCPUMemoryMB)
	}
}
