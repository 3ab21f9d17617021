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
	"slices"
	"strconv"
	"strings"
	"syscall"
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
// 100 kB ranges, at 1 and 64 connections, each server run three times in
// turn (ABBAAB; the best run counts, as load from elsewhere only ever slows
// a run down). At 64 connections two references run too:
// net/http's own ServeContent over the same bytes (servecontent_*), and
// the least any net/http handler can do, writing precomputed answers
// (nethttp_*), which bounds what a Go server built on net/http can reach
// here. Besides req/s and MB/s it prints each server's CPU time per
// request (*_cpu_us), since wrk shares the machine's cores with the
// server. The ratios edge_vs_nginx_rps (whole, 64 connections) and
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

	nginxURL, nginxCPU := startNginx(b, nginx, dir, root)
	targets := map[string]target{
		"nginx":        {nginxURL, nginxCPU},
		"edge":         {startBenchEdge(b, env), selfCPU},
		"servecontent": {startServeContent(b, root), selfCPU},
		"nethttp":      {startNetHTTP(b, root), selfCPU},
	}
	for _, p := range paths { // warm the cache, and check all answer
		for _, srv := range []string{"nginx", "edge", "edge", "servecontent", "nethttp"} {
			resp, err := http.Get(targets[srv].url + p)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("warm-up GET %s%s: %v %v", targets[srv].url, p, err, resp)
			}
			resp.Body.Close()
		}
	}

	results := map[string]wrkRun{}
	for _, kind := range []string{"whole", "range"} {
		rng := ""
		if kind == "range" {
			rng = benchRange
		}
		script := writeWrkScript(b, dir, kind, paths, rng)
		for _, conns := range []int{1, 64} {
			// nginx, edge, edge, nginx, nginx, edge: the best of each
			// server's three runs counts, so a burst of load from
			// elsewhere on the machine does not decide a ratio alone.
			servers := []string{"nginx", "edge"}
			if conns > 1 {
				servers = []string{"nginx", "edge", "servecontent", "nethttp"}
			}
			order := slices.Concat(servers, reversed(servers), servers)
			for _, srv := range order {
				run := runWrk(b, wrk, targets[srv], script, conns, secs)
				name := fmt.Sprintf("%s_%s_c%d", srv, kind, conns)
				if run.rps > results[name].rps {
					results[name] = run
				}
			}
			for _, srv := range servers {
				name := fmt.Sprintf("%s_%s_c%d", srv, kind, conns)
				r := results[name]
				fmt.Printf("%s_rps: %.1f\n%s_MBps: %.1f\n", name, r.rps, name, r.bps/1e6)
				if conns > 1 {
					fmt.Printf("%s_cpu_us: %.1f\n", name, r.cpuPerReq.Seconds()*1e6)
				}
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
	// What net/http itself allows here, and how much of it the edge reaches.
	fmt.Printf("nethttp_vs_nginx_range_rps: %.2f\n",
		results["nethttp_range_c64"].rps/results["nginx_range_c64"].rps)
	fmt.Printf("edge_vs_nethttp_range_rps: %.2f\n", ratio("nethttp", "range", 64))
	fmt.Printf("edge_vs_nginx_rps: %.2f\n", ratio("nginx", "whole", 64))
	fmt.Printf("edge_vs_nginx_range_rps: %.2f\n", ratio("nginx", "range", 64))
	b.ReportMetric(ratio("nginx", "whole", 64), "edge/nginx-rps")
	b.ReportMetric(ratio("nginx", "range", 64), "edge/nginx-range-rps")
}

// startNginx starts nginx on root and returns its URL and a reader of the
// CPU time its master and worker processes have used.
func startNginx(b *testing.B, nginx, dir, root string) (string, func() time.Duration) {
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
	master := cmd.Process.Pid
	return url, func() time.Duration {
		// The workers are the master's children.
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", master, master))
		total := procCPU(b, master)
		for f := range strings.FieldsSeq(string(kids)) {
			if pid, err := strconv.Atoi(f); err == nil {
				total += procCPU(b, pid)
			}
		}
		return total
	}
}

// procCPU is the user and system CPU time process pid has used so far.
func procCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read cpu time of process %d: %v", pid, err)
	}
	// Fields after the command (which may hold spaces) start at state;
	// utime and stime are the 12th and 13th of them, in clock ticks
	// (100 per second on Linux).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100)
}

// selfCPU is the CPU time this process has used: the edge and the net/http
// references run in it, and only one of them is ever under load.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startBenchEdge(b *testing.B, env *testenv.S3Env) string {
	e, err := New(Config{Store: env.Store})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(e)
	b.Cleanup(srv.Close)
	return srv.URL
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

// startNetHTTP is the least a net/http handler can do for the benchmark's
// requests: every answer (whole file, or the one range the benchmark asks
// for) is built in advance and written with one Write. It checks nothing,
// so it is a bound on what a Go server on net/http can reach, not a server.
func startNetHTTP(b *testing.B, root string) string {
	type answer struct {
		whole, part  []byte
		contentRange []string
	}
	var start, end int
	if _, err := fmt.Sscanf(benchRange, "bytes=%d-%d", &start, &end); err != nil {
		b.Fatal(err)
	}
	answers := map[string]answer{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		answers["/"+filepath.ToSlash(rel)] = answer{
			whole:        data,
			part:         data[start : end+1],
			contentRange: []string{fmt.Sprintf("bytes %d-%d/%d", start, end, len(data))},
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	ctype, cc := []string{"video/mp2t"}, []string{store.CacheImmutable}
	acao, aceh := []string{"*"}, []string{exposeHeaders}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		hdr := w.Header()
		hdr["Content-Type"], hdr["Cache-Control"] = ctype, cc
		hdr["Access-Control-Allow-Origin"], hdr["Access-Control-Expose-Headers"] = acao, aceh
		body := a.whole
		if r.Header.Get("Range") != "" {
			body = a.part
			hdr["Content-Range"] = a.contentRange
			hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
			w.WriteHeader(http.StatusPartialContent)
		} else {
			hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
		}
		w.Write(body)
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
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
)

// target is a server under test: its URL and a reader of its CPU time.
type target struct {
	url string
	cpu func() time.Duration
}

// wrkRun is one wrk run: requests and bytes per second, and the server's
// CPU time per request.
type wrkRun struct {
	rps, bps  float64
	cpuPerReq time.Duration
}

// runWrk runs wrk against t for secs seconds with conns connections.
func runWrk(b *testing.B, wrk string, t target, script string, conns, secs int) wrkRun {
	threads := min(conns, 2)
	cpu0 := t.cpu()
	out, err := exec.Command(wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", secs), "-s", script, t.url).CombinedOutput()
	cpu := t.cpu() - cpu0
	if err != nil {
		b.Fatalf("wrk %s: %v\n%s", t.url, err, out)
	}
	if m := wrkErrors.FindSubmatch(out); m != nil {
		b.Fatalf("wrk %s: %s non-2xx responses\n%s", t.url, m[1], out)
	}
	m := wrkRPS.FindSubmatch(out)
	t2 := wrkTransfer.FindSubmatch(out)
	n := wrkRequests.FindSubmatch(out)
	if m == nil || t2 == nil || n == nil {
		b.Fatalf("wrk %s: cannot read its output:\n%s", t.url, out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	bps, _ := strconv.ParseFloat(string(t2[1]), 64)
	bps *= map[string]float64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[string(t2[2])]
	reqs, _ := strconv.ParseInt(string(n[1]), 10, 64)
	run := wrkRun{rps: rps, bps: bps}
	if reqs > 0 {
		run.cpuPerReq = cpu / time.Duration(reqs)
	}
	return run
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
