package vod

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// newHandler returns a Pipeline on the test S3 with a private working
// directory, and the fast x264 preset: these tests check the pipeline, the
// benchmark checks speed and quality. Tests change its cfg, as it is
// after New, before they run it.
func newHandler(t *testing.T) (*Pipeline, *testenv.S3Env) {
	t.Helper()
	env := testenv.S3(t)
	h, err := New(Config{
		MediaBucket: testenv.BucketMedia, UploadsBucket: testenv.BucketUploads,
		TmpDir: t.TempDir(), Preset: "ultrafast", ProgressEvery: time.Second,
		// A replaced version's files outlive the switch this long, not the
		// production grace: tests that re-upload need not wait for it.
		RetireAfter: time.Second,
	}, Deps{Store: env.Store, Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return h, env
}

// testWriter sends the handler's log to the test's, shown on failure or -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// upload puts data at key in the uploads bucket.
func upload(t *testing.T, st *store.Store, key string, data []byte) {
	t.Helper()
	if err := st.PutBytes(context.Background(), testenv.BucketUploads, key, data, store.Object{}); err != nil {
		t.Fatal(err)
	}
}

func uploadFile(t *testing.T, st *store.Store, key, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, st, key, data)
}

// s3Event builds the event AWS would send for key, by taking the golden
// event in testdata and putting the key in encoded as S3 encodes it, then
// decoding the JSON as the Lambda runtime does.
func s3Event(t *testing.T, eventName, bucket, key string) events.S3Event {
	t.Helper()
	var raw map[string]any
	b, err := os.ReadFile(filepath.Join("testdata", "s3_put_event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	rec := raw["Records"].([]any)[0].(map[string]any)
	rec["eventName"] = eventName
	s3 := rec["s3"].(map[string]any)
	s3["bucket"].(map[string]any)["name"] = bucket
	s3["object"].(map[string]any)["key"] = awsEncodeKey(key)
	b, err = json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.S3Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// awsEncodeKey encodes a key as S3 event notifications do: form encoding
// (spaces as "+"), with "/" kept.
func awsEncodeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, "/")
}

func putEvent(t *testing.T, key string) events.S3Event {
	return s3Event(t, "ObjectCreated:Put", testenv.BucketUploads, key)
}

func readStatus(t *testing.T, st *store.Store, id string) *catalog.Status {
	t.Helper()
	s, err := catalog.Read(context.Background(), st, testenv.BucketMedia, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func listKeys(t *testing.T, st *store.Store, id string) []string {
	t.Helper()
	keys, err := st.List(context.Background(), testenv.BucketMedia, catalog.Prefix(id))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// noChildren fails if ffmpeg or ffprobe started by this process still runs.
func noChildren(t *testing.T) {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		comm := s[open+1 : end]
		f := strings.Fields(s[end+1:])
		if len(f) > 1 && f[1] == self && (comm == "ffmpeg" || comm == "ffprobe") {
			t.Errorf("%s (%s) still running after the handler returned", comm, d)
		}
	}
}

// emptyDir fails unless dir holds nothing.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in the working directory: %s", e.Name())
	}
}

// sourceDuration is the source's duration according to ffprobe.
func sourceDuration(t testing.TB, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// download copies every object of a video to a local folder with the same
// layout, so ffprobe can read the HLS output as a player would (the test
// bucket is private, so ffmpeg cannot read it over HTTP unsigned).
func download(t *testing.T, st *store.Store, id string) string {
	t.Helper()
	dir := t.TempDir()
	for _, k := range listKeys(t, st, id) {
		b, err := st.GetBytes(context.Background(), testenv.BucketMedia, k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(k, catalog.Prefix(id))))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// probed is what ffprobe finds decoding a rendition to its end.
type probed struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Profile      string `json:"profile"`
		Level        int    `json:"level"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		Channels     int    `json:"channels"`
		NbRead       string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// probePlaylist decodes a media playlist to its end with ffprobe, which
// fails on a missing or broken segment.
func probePlaylist(t *testing.T, path string) probed {
	t.Helper()
	cmd := exec.Command("ffprobe", "-v", "error", "-protocol_whitelist", "file", "-count_packets",
		"-show_entries", "stream=codec_type,codec_name,profile,level,width,height,avg_frame_rate,r_frame_rate,channels,nb_read_packets:format=duration",
		"-of", "json", path)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", path, err, stderr)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// decodeAll decodes a playlist fully with ffmpeg; any error output fails.
func decodeAll(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-protocol_whitelist", "file", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("decode %s: %v %s", path, err, out)
	}
}

func ratio(s string) float64 {
	a, b, ok := strings.Cut(s, "/")
	n, _ := strconv.ParseFloat(a, 64)
	d, _ := strconv.ParseFloat(b, 64)
	if !ok || d == 0 {
		return 0
	}
	return n / d
}

// h264Codecs is the RFC 6381 string of what ffprobe found.
func h264Codecs(profile string, level int) string {
	p := map[string]string{"High": "6400", "Main": "4d40", "Constrained Baseline": "42c0"}[profile]
	return "avc1." + p + strconv.FormatInt(int64(level)+0x100, 16)[1:]
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func parseMasterFile(t *testing.T, path string) *hls.MasterPlaylist {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hls.ParseMaster(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func parseMediaFile(t *testing.T, path string) *hls.MediaPlaylist {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hls.ParseMedia(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
