package metrics

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// EMFLine is an EMF document read back: what CloudWatch would take from it.
type EMFLine struct {
	Namespace  string
	Dimensions [][]string
	Units      map[string]string  // by metric name
	Values     map[string]float64 // by metric name
	Dims       map[string]string  // dimension values
}

// ParseEMF reads the EMF documents in text, one per line; other lines are
// skipped. Tests and tools use it to check what the logs hold.
func ParseEMF(text string) ([]EMFLine, error) {
	var out []EMFLine
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"_aws"`) {
			continue
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(line, &doc); err != nil {
			return nil, fmt.Errorf("EMF line: %w", err)
		}
		var env struct {
			Timestamp         int64 `json:"Timestamp"`
			CloudWatchMetrics []struct {
				Namespace  string     `json:"Namespace"`
				Dimensions [][]string `json:"Dimensions"`
				Metrics    []struct{ Name, Unit string }
			} `json:"CloudWatchMetrics"`
		}
		if err := json.Unmarshal(doc["_aws"], &env); err != nil {
			return nil, fmt.Errorf("EMF envelope: %w", err)
		}
		if env.Timestamp == 0 || len(env.CloudWatchMetrics) != 1 {
			return nil, errors.New("EMF envelope: want a Timestamp and one CloudWatchMetrics directive")
		}
		d := env.CloudWatchMetrics[0]
		l := EMFLine{Namespace: d.Namespace, Dimensions: d.Dimensions, Units: map[string]string{}, Values: map[string]float64{}, Dims: map[string]string{}}
		for _, set := range d.Dimensions {
			for _, name := range set {
				if err := json.Unmarshal(doc[name], new(string)); err != nil {
					return nil, fmt.Errorf("EMF dimension %s: want a string member", name)
				}
				var v string
				_ = json.Unmarshal(doc[name], &v)
				l.Dims[name] = v
			}
		}
		for _, m := range d.Metrics {
			var v float64
			if err := json.Unmarshal(doc[m.Name], &v); err != nil {
				return nil, fmt.Errorf("EMF metric %s: want a number member", m.Name)
			}
			l.Units[m.Name], l.Values[m.Name] = m.Unit, v
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// ParsePrometheus reads Prometheus text samples into a map keyed by the
// sample as written before its value: `name{label="v"}`.
func ParsePrometheus(text string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("prometheus line %q: no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, nil
}
