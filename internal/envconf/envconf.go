// Package envconf reads a component's settings from environment variables
// (ConfigFromEnv's getenv) one way everywhere: unset or blank keeps the
// default, a bad value is an error naming the variable, and every bad
// value is reported at once.
package envconf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Reader reads variables and collects what was wrong with them.
type Reader struct {
	getenv func(string) string
	errs   []string
}

// New reads through getenv (os.Getenv in a Lambda or a task).
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// String is k's value, or def when it is unset or blank.
func (r *Reader) String(k, def string) string {
	if v := strings.TrimSpace(r.getenv(k)); v != "" {
		return v
	}
	return def
}

// Duration is k as a Go duration (such as 90s or 2h), at least min.
func (r *Reader) Duration(k string, def, min time.Duration) time.Duration {
	v := r.String(k, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min {
		r.Fail(k, v, fmt.Sprintf("want a duration such as 90s or 2h, at least %v", min))
		return def
	}
	return d
}

// Int is k as a whole number, at least min.
func (r *Reader) Int(k string, def, min int) int {
	v := r.String(k, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		r.Fail(k, v, fmt.Sprintf("want a whole number of at least %d", min))
		return def
	}
	return n
}

// Float is k as a finite number; positive when positive is set, else at
// least 0.
func (r *Reader) Float(k string, def float64, positive bool) float64 {
	v := r.String(k, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || (positive && f == 0) {
		r.Fail(k, v, "want a positive number")
		return def
	}
	return f
}

// Fail records that k's value v is wrong, and why.
func (r *Reader) Fail(k, v, why string) {
	r.errs = append(r.errs, fmt.Sprintf("%s %q: %s", k, v, why))
}

// Check records err, if any, against k.
func (r *Reader) Check(k string, err error) {
	if err != nil {
		r.errs = append(r.errs, k+": "+err.Error())
	}
}

// Err is every wrong value on one line, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(r.errs, "; "))
}
