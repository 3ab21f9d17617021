package metrics

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var (
	jobs    = Metric{Name: "JobsFailed", Unit: "Count", Kind: Counter, Help: "failed jobs"}
	streams = Metric{Name: "LiveStreams", Unit: "Count", Kind: Gauge, Help: "streams"}
	gbs     = Metric{Name: "GBSeconds", Unit: "None", Kind: Sum, Help: "GB-seconds"}
)

func TestEMFAndPrometheusAgree(t *testing.T) {
	var log bytes.Buffer
	r := New("Hlsflow", &log)
	r.now = func() time.Time { return time.UnixMilli(1700000000123) }
	r.Record([]Dim{{"Reason", "timeout"}}, jobs.Value(1))
	r.Record([]Dim{{"Reason", "timeout"}}, jobs.Value(1))
	r.Record([]Dim{{"Reason", `say "no"`}}, jobs.Value(1))
	r.Record(nil, streams.Value(3), gbs.Value(1.5))
	r.Record(nil, streams.Value(2), gbs.Value(2.25))

	lines, err := ParseEMF("not EMF\n" + log.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 {
		t.Fatalf("%d EMF lines, want 5:\n%s", len(lines), log.String())
	}
	first := lines[0]
	if first.Namespace != "Hlsflow" || first.Dims["Reason"] != "timeout" || first.Values["JobsFailed"] != 1 || first.Units["JobsFailed"] != "Count" {
		t.Errorf("first line = %+v", first)
	}
	if len(first.Dimensions) != 2 || len(first.Dimensions[1]) != 0 {
		t.Errorf("dimension sets = %v, want [[Reason] []] so a total exists", first.Dimensions)
	}
	if last := lines[4]; last.Values["GBSeconds"] != 2.25 || last.Values["LiveStreams"] != 2 || len(last.Dimensions) != 1 {
		t.Errorf("last line = %+v", last)
	}
	if !strings.Contains(log.String(), `"Timestamp":1700000000123`) {
		t.Errorf("no timestamp in %s", log.String())
	}

	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	got, err := ParsePrometheus(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`hlsflow_jobs_failed_total{reason="timeout"}`:    2,
		`hlsflow_jobs_failed_total{reason="say \"no\""}`: 1,
		`hlsflow_live_streams`:                           2,
		`hlsflow_gb_seconds_sum`:                         3.75,
		`hlsflow_gb_seconds_count`:                       2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v\n%s", k, got[k], v, rec.Body.String())
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d samples, want %d:\n%s", len(got), len(want), rec.Body.String())
	}
	for _, typ := range []string{"# TYPE hlsflow_jobs_failed_total counter", "# TYPE hlsflow_live_streams gauge", "# TYPE hlsflow_gb_seconds summary"} {
		if strings.Count(rec.Body.String(), typ) != 1 {
			t.Errorf("want one %q in\n%s", typ, rec.Body.String())
		}
	}
}

func TestNilRecorder(t *testing.T) {
	var r *Recorder
	r.Record(nil, jobs.Value(1)) // no panic
	if err := r.WritePrometheus(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"GBSeconds": "gb_seconds", "TimeToFirstPlayable": "time_to_first_playable", "Reason": "reason", "IngestBitrate": "ingest_bitrate"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
