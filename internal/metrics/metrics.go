// Package metrics records the service's metrics once and shows them two
// ways: as CloudWatch embedded metric format (EMF) lines, which Lambda and
// ECS logs turn into CloudWatch metrics without an API call, and in this
// process, summed, for a Prometheus scrape (hlsflow up's edge /metrics).
//
// The Prometheus text is written here rather than with client_golang: a
// few counters, gauges and sums need no registry, and the module would
// bring its own dependencies into every Lambda.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Namespace is the project's CloudWatch namespace; the stack's dashboard
// and alarms read it.
const Namespace = "Hlsflow"

// Kind says how values of a metric add up in this process.
type Kind int

// The kinds of metric.
const (
	Counter Kind = iota // values add up: hlsflow_x_total
	Gauge               // the last value: hlsflow_x
	Sum                 // observations: hlsflow_x_sum and hlsflow_x_count
)

// Metric is a metric's definition; the producer declares it once.
type Metric struct {
	Name string // CloudWatch name, CamelCase: "JobsFailed"
	Unit string // CloudWatch unit: "Count", "Seconds", "Milliseconds", "Bytes", "Kilobits/Second", "None"
	Kind Kind
	Help string
}

// Value is one observation of a metric.
func (m Metric) Value(v float64) Value { return Value{m, v} }

// Value is one observation.
type Value struct {
	Metric
	V float64
}

// Dim is a dimension (CloudWatch) or label (Prometheus).
type Dim struct{ Name, Value string }

// Recorder writes EMF lines and keeps the process's totals. The nil
// Recorder records nothing, so producers need no check.
type Recorder struct {
	namespace string
	now       func() time.Time

	mu     sync.Mutex
	emf    io.Writer // nil: no EMF lines
	series map[string]*series
	defs   map[string]Metric
}

type series struct {
	dims       []Dim
	value, sum float64
	count      int64
}

// New returns a Recorder for namespace (CloudWatch's, and the Prometheus
// prefix in lower case) that writes EMF lines to emf (os.Stdout on
// Lambda and ECS; nil for none).
func New(namespace string, emf io.Writer) *Recorder {
	return &Recorder{namespace: namespace, emf: emf, now: time.Now, series: map[string]*series{}, defs: map[string]Metric{}}
}

// Record records vals with dims: one EMF line, and the totals.
func (r *Recorder) Record(dims []Dim, vals ...Value) {
	if r == nil || len(vals) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		r.defs[v.Name] = v.Metric
		k := v.Name + "\x00" + dimKey(dims)
		s := r.series[k]
		if s == nil {
			s = &series{dims: dims}
			r.series[k] = s
		}
		switch v.Kind {
		case Counter:
			s.value += v.V
		case Gauge:
			s.value = v.V
		case Sum:
			s.sum += v.V
			s.count++
		}
	}
	if r.emf != nil {
		if line, err := r.line(dims, vals); err == nil {
			_, _ = r.emf.Write(line) // a log line lost is not worth failing a job
		} else {
			slog.Warn("metrics: encode EMF line", "err", err)
		}
	}
}

func dimKey(dims []Dim) string {
	var b strings.Builder
	for _, d := range dims {
		b.WriteString(d.Name + "=" + d.Value + "\x00")
	}
	return b.String()
}

// line is one EMF document (the _aws envelope, then each dimension and
// value as a top-level member) followed by a newline. With dimensions it
// also declares the empty dimension set, so CloudWatch keeps a total
// across them that alarms can use.
func (r *Recorder) line(dims []Dim, vals []Value) ([]byte, error) {
	names := []string{}
	doc := map[string]any{}
	for _, d := range dims {
		names = append(names, d.Name)
		doc[d.Name] = d.Value
	}
	sets := [][]string{names}
	if len(names) > 0 {
		sets = append(sets, []string{})
	}
	type def struct {
		Name string `json:"Name"`
		Unit string `json:"Unit,omitempty"`
	}
	var defs []def
	for _, v := range vals {
		if _, dup := doc[v.Name]; dup {
			return nil, fmt.Errorf("metric %s given twice, or named like a dimension", v.Name)
		}
		defs = append(defs, def{v.Name, v.Unit})
		doc[v.Name] = v.V
	}
	doc["_aws"] = map[string]any{
		"Timestamp": r.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": r.namespace, "Dimensions": sets, "Metrics": defs,
		}},
	}
	b, err := json.Marshal(doc)
	return append(b, '\n'), err
}

// WritePrometheus writes the totals in Prometheus text format 0.0.4,
// sorted by name, then labels.
func (r *Recorder) WritePrometheus(w io.Writer) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.series))
	for k := range r.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	last := ""
	for _, k := range keys {
		s := r.series[k]
		name, _, _ := strings.Cut(k, "\x00")
		m := r.defs[name]
		prom := strings.ToLower(r.namespace) + "_" + snake(name)
		labels := promLabels(s.dims)
		if name != last {
			typ := map[Kind]string{Counter: "counter", Gauge: "gauge", Sum: "summary"}[m.Kind]
			if m.Kind == Counter {
				prom += "_total"
			}
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", prom, escapeHelp(m.Help), prom, typ)
			prom = strings.TrimSuffix(prom, "_total")
			last = name
		}
		switch m.Kind {
		case Counter:
			fmt.Fprintf(&b, "%s_total%s %g\n", prom, labels, s.value)
		case Gauge:
			fmt.Fprintf(&b, "%s%s %g\n", prom, labels, s.value)
		case Sum:
			fmt.Fprintf(&b, "%s_sum%s %g\n%s_count%s %d\n", prom, labels, s.sum, prom, labels, s.count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Handler serves WritePrometheus. Who may read it is the caller's to
// decide (internal/system asks for the API token).
func (r *Recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = r.WritePrometheus(w)
	})
}

// snake turns a CamelCase name into snake_case: "GBSeconds" is
// "gb_seconds", "TimeToFirstPlayable" "time_to_first_playable".
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, c := range rs {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func promLabels(dims []Dim) string {
	if len(dims) == 0 {
		return ""
	}
	parts := make([]string, len(dims))
	for i, d := range dims {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(d.Value)
		parts[i] = snake(d.Name) + `="` + v + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
