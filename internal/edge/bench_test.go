package edge

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// Knobs of the nginx comparison; HLSFLOW_BENCH_SECONDS (default 3) sets the
// length of each of the 16 wrk runs.
const (
	benchSegments    = 8
	benchSegmentSize = 1 << 20
	benchRange       = "bytes=100000-199999"
)

// BenchmarkEdgeVsNginx serves the same ~1 MB segments from nginx (files in a
// temp dir, sendfile) and from the edge (warm memory cache, S3 behind it)
// and drives both with wrk on 127.0.0.1 in the same run: whole segments and
// 100 kB ranges, at 1 and 64 connections, each run twice in ABBA order
// (best of two counts). At 64 connections net/http's own ServeContent over
// the same bytes in memory runs too, as the floor a Go server can reach
// here (edge_vs_servecontent_*). It prints `name: value` lines;
// the ratios edge_vs_nginx_rps (whole, 64 connections) and
// edge_vs_nginx_range_rps (range, 64 connections) have a target of 0.8.
//
//	go test -run '^$' -bench EdgeVsNginx -benchtime 1x ./internal/edge
func BenchmarkEdgeVsNginx(b *testing.B) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/nginx"); statErr != nil {
			b.Skip("nginx not installed (make bench-edge installs it)")
		}
		nginx = "/usr/sbin/nginx"
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not installed (make bench-edge installs it)")
	}
	secs := 3
	if s, err := strconv.Atoi(os.Getenv("HLSFLOW_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}

	dir := b.TempDir()
	// nginx's workers may run as nobody: the tree must be world-readable.
	root := filepath.Join(dir, "root")
	prefix := fmt.Sprintf("vod/bench-%d/720p/", time.Now().UnixNano())
	env := testenv.S3(b)
	var paths []string
	for i := range benchSegments {
		name := fmt.Sprintf("seg_%05d.ts", i)
		data := testData(benchSegmentSize + i*997)
		key := prefix + name
		if err := env.Store.PutBytes(context.Background(), "media", key, data, store.For(name)); err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(root, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, "/"+key)
	}
	// b.TempDir makes its folder and the folder above it private.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}

	nginxURL := startNginx(b, nginx, dir, root)
	edgeURL := startBenchEdge(b, env)
	floorURL := startServeContent(b, root)
	for _, p := range paths { // warm the cache, and check both answer
		for _, base := range []string{nginxURL, edgeURL, edgeURL} {
			resp, err := http.Get(base + p)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("warm-up GET %s%s: %v %v", base, p, err, resp)
			}
			resp.Body.Close()
		}
	}

	type run struct{ rps, mbps float64 }
	results := map[string]run{}
	for _, kind := range []string{"whole", "range"} {
		rng := ""
		if kind == "range" {
			rng = benchRange
		}
		script := writeWrkScript(b, dir, kind, paths, rng)
		for _, conns := range []int{1, 64} {
			// nginx, edge, edge, nginx: the better of each server's two
			// runs counts, so a burst of load from elsewhere on the
			// machine does not decide the ratio alone.
			order := []string{"nginx", "edge", "edge", "nginx"}
			if conns > 1 {
				order = []string{"nginx", "edge", "servecontent", "servecontent", "edge", "nginx"}
			}
			for _, srv := range order {
				url := map[string]string{"nginx": nginxURL, "edge": edgeURL, "servecontent": floorURL}[srv]
				rps, bps := runWrk(b, wrk, url, script, conns, secs)
				name := fmt.Sprintf("%s_%s_c%d", srv, kind, conns)
				if rps > results[name].rps {
					results[name] = run{rps, bps / 1e6}
				}
			}
			for _, srv := range order[:len(order)/2] {
				name := fmt.Sprintf("%s_%s_c%d", srv, kind, conns)
				fmt.Printf("%s_rps: %.1f\n%s_MBps: %.1f\n", name, results[name].rps, name, results[name].mbps)
			}
		}
	}
	ratio := func(base, kind string, conns int) float64 {
		n := results[fmt.Sprintf("%s_%s_c%d", base, kind, conns)].rps
		if n == 0 {
			return math.NaN()
		}
		return results[fmt.Sprintf("edge_%s_c%d", kind, conns)].rps / n
	}
	fmt.Printf("edge_vs_nginx_rps_c1: %.2f\n", ratio("nginx", "whole", 1))
	fmt.Printf("edge_vs_nginx_range_rps_c1: %.2f\n", ratio("nginx", "range", 1))
	fmt.Printf("edge_vs_servecontent_rps: %.2f\n", ratio("servecontent", "whole", 64))
	fmt.Printf("edge_vs_servecontent_range_rps: %.2f\n", ratio("servecontent", "range", 64))
	fmt.Printf("edge_vs_nginx_rps: %.2f\n", ratio("nginx", "whole", 64))
	fmt.Printf("edge_vs_nginx_range_rps: %.2f\n", ratio("nginx", "range", 64))
	b.ReportMetric(ratio("nginx", "whole", 64), "edge/nginx-rps")
	b.ReportMetric(ratio("nginx", "range", 64), "edge/nginx-range-rps")
}

func startNginx(b *testing.B, nginx, dir, root string) string {
	port := benchPort(b)
	conf := filepath.Join(dir, "nginx.conf")
	var temps strings.Builder
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "  %s_temp_path %s;\n", t, filepath.Join(dir, "tmp-"+t))
	}
	// Comparable to the edge: two workers for two cores, keep-alive,
	// sendfile, the same Cache-Control and CORS headers. tcp_nopush stays
	// off (nginx's default): with it, one connection asking for ranges
	// waited on delayed ACKs here and nginx looked ten times slower.
	text := fmt.Sprintf(`daemon off;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
%[4]s  sendfile on;
  keepalive_requests 1000000;
  types { video/mp2t ts; application/vnd.apple.mpegurl m3u8; }
  server {
    listen 127.0.0.1:%[2]d;
    root %[3]s;
    location / {
      add_header Cache-Control "%[5]s";
      add_header Access-Control-Allow-Origin "*";
      add_header Access-Control-Expose-Headers "%[6]s";
    }
  }
}
`, dir, port, root, temps.String(), store.CacheImmutable, exposeHeaders)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginx, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		b.Fatalf("start nginx: %v", err)
	}
	b.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(b, url, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(log)
	})
	return url
}

func startBenchEdge(b *testing.B, env *testenv.S3Env) string {
	e, err := New(Config{Store: env.Store})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	url := "http://" + ln.Addr().String()
	waitHTTP(b, url, func() string { return "" })
	return url
}

// startServeContent is the floor for the edge: net/http alone, answering
// with http.ServeContent from bytes already in memory, no cache or S3 logic.
func startServeContent(b *testing.B, root string) string {
	files := map[string][]byte{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files["/"+filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	modified := time.Now()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/mp2t")
		w.Header().Set("Cache-Control", store.CacheImmutable)
		http.ServeContent(w, r, "", modified, bytes.NewReader(data))
	})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}

func waitHTTP(b *testing.B, url string, logs func() string) {
	for range 100 {
		if resp, err := http.Get(url + "/"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s not answering: %s", url, logs())
}

func benchPort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeWrkScript writes a wrk Lua script that cycles through paths, with
// a Range header when rng is set.
func writeWrkScript(b *testing.B, dir, name string, paths []string, rng string) string {
	var s strings.Builder
	s.WriteString("local paths = {")
	for i, p := range paths {
		if i > 0 {
			s.WriteString(", ")
		}
		fmt.Fprintf(&s, "%q", p)
	}
	s.WriteString("}\nlocal headers = {}\n")
	if rng != "" {
		fmt.Fprintf(&s, "headers[\"Range\"] = %q\n", rng)
	}
	s.WriteString(`local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
`)
	p := filepath.Join(dir, name+".lua")
	if err := os.WriteFile(p, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTransfer = regexp.MustCompile(`Transfer/sec:\s+([0-9.]+)([KMGT]?B)`)
	wrkErrors   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// runWrk returns requests and bytes per second.
func runWrk(b *testing.B, wrk, url, script string, conns, secs int) (float64, float64) {
	threads := min(conns, 2)
	out, err := exec.Command(wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", secs), "-s", script, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	if m := wrkErrors.FindSubmatch(out); m != nil {
		b.Fatalf("wrk %s: %s non-2xx responses\n%s", url, m[1], out)
	}
	m := wrkRPS.FindSubmatch(out)
	t := wrkTransfer.FindSubmatch(out)
	if m == nil || t == nil {
		b.Fatalf("wrk %s: cannot read its output:\n%s", url, out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	bps, _ := strconv.ParseFloat(string(t[1]), 64)
	bps *= map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[string(t[2])]
	return rps, bps
}
