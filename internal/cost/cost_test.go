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
	if u.Prices != "us-east-1 arm64 "+USEast1.Date {
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

// TestPricesForArch: a function is charged at its architecture's rate
// (x86_64's GB-second 25 % over arm64's), and says which in "prices".
func TestPricesForArch(t *testing.T) {
	arm, x86 := USEast1For("arm64"), USEast1For("amd64")
	if arm.Arch != "arm64" || x86.Arch != "x86_64" || math.Abs(x86.LambdaGBSecond/arm.LambdaGBSecond-1.25) > 0.001 {
		t.Errorf("arm64 %+v, x86_64 %+v", arm, x86)
	}
	if x86.LambdaRequest != arm.LambdaRequest || x86.S3Put != arm.S3Put || x86.S3Get != arm.S3Get {
		t.Errorf("only the GB-second differs: arm64 %+v, x86_64 %+v", arm, x86)
	}
	u := Usage{}
	u.Invocation("transcode", 1024, 100)
	u.Price(x86)
	if want := 100*x86.LambdaGBSecond + x86.LambdaRequest; math.Abs(u.USD-want) > 5e-7 || u.Prices != "us-east-1 x86_64 "+x86.Date {
		t.Errorf("x86_64: USD %v (want %v), prices %q", u.USD, want, u.Prices)
	}
}
