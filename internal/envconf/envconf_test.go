package envconf

import (
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	env := map[string]string{"S": " x ", "D": "90s", "N": "7", "F": "2.5", "BLANK": "  ",
		"BADD": "soon", "NEG": "-1", "ZERO": "0", "NAN": "NaN", "SHORT": "1ms"}
	r := New(func(k string) string { return env[k] })
	if got := r.String("S", "d"); got != "x" {
		t.Errorf("String %q", got)
	}
	if got := r.String("BLANK", "d"); got != "d" {
		t.Errorf("blank %q, want the default", got)
	}
	if got := r.Duration("D", time.Second, 0); got != 90*time.Second {
		t.Errorf("Duration %v", got)
	}
	if got := r.Int("N", 1, 0); got != 7 {
		t.Errorf("Int %d", got)
	}
	if got := r.Float("F", 1, true); got != 2.5 {
		t.Errorf("Float %v", got)
	}
	if got := r.Int("UNSET", 3, 1); got != 3 {
		t.Errorf("unset %d, want the default", got)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("good values: %v", err)
	}
	r.Duration("BADD", 0, 0)
	r.Int("NEG", 0, 0)
	r.Float("ZERO", 1, true)
	r.Float("NAN", 1, false)
	r.Duration("SHORT", 0, time.Second)
	err := r.Err()
	if err == nil {
		t.Fatal("bad values passed")
	}
	for _, k := range []string{`BADD "soon"`, `NEG "-1"`, `ZERO "0"`, `NAN "NaN"`, `SHORT "1ms"`} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}
