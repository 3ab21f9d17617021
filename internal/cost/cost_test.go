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
