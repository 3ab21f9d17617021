package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NginxRTMP is nginx with Debian's RTMP module (libnginx-mod-rtmp, the
// seed's nginx-rtmp) as a child process: a restream destination nobody
// here wrote. Its application "live" takes any key and plays it back.
type NginxRTMP struct {
	t    testing.TB
	dir  string
	addr string
	cmd  *exec.Cmd
}

const nginxModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// StartNginx starts it on addr ("": a free 127.0.0.1 port); the test's
// end stops it.
func StartNginx(t testing.TB, addr string) *NginxRTMP {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("nginx is missing (make setup-live installs nginx and libnginx-mod-rtmp): %v", err)
	}
	if _, err := os.Stat(nginxModule); err != nil {
		t.Fatalf("nginx's RTMP module is missing (apt-get install libnginx-mod-rtmp): %v", err)
	}
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	n := &NginxRTMP{t: t, dir: t.TempDir(), addr: addr}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers otherwise run as nobody, who cannot read the temp dir
	}
	conf := fmt.Sprintf(`%sload_module %s;
daemon off;
master_process on;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 64; }
rtmp {
	server {
		listen %s;
		application live { live on; record off; }
	}
}
`, user, nginxModule, n.dir, n.dir, addr)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	n.start(bin)
	t.Cleanup(n.stop)
	return n
}

func (n *NginxRTMP) start(bin string) {
	n.t.Helper()
	n.cmd = exec.Command(bin, "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"), "-e", filepath.Join(n.dir, "error.log"))
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its worker goes with it
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
			n.t.Fatalf("nginx does not listen on %s: %v\n%s", n.addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *NginxRTMP) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	n.cmd.Wait()
	n.cmd = nil
}

// Restart kills nginx (connections cut, as a crash would) and starts it
// again on the same port.
func (n *NginxRTMP) Restart() {
	n.t.Helper()
	n.stop()
	bin, _ := exec.LookPath("nginx")
	if bin == "" {
		bin = "/usr/sbin/nginx"
	}
	n.start(bin)
}

// URL is the RTMP application's URL; a stream key is appended.
func (n *NginxRTMP) URL() string { return "rtmp://" + n.addr + "/live" }

// Pull reads seconds of stream key back from nginx and returns what
// ffprobe says of it: codec names and duration.
func (n *NginxRTMP) Pull(key string, seconds float64) (codecs []string, dur float64, err error) {
	out := filepath.Join(n.t.TempDir(), "pulled.ts")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-rw_timeout", "10000000",
		"-i", n.URL()+"/"+key, "-c", "copy", "-t", fmt.Sprint(seconds), "-f", "mpegts", "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("pull: %v: %s", err, b)
	}
	b, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
		"-of", "default=nw=1:nk=1", out).Output()
	if err != nil {
		return nil, 0, err
	}
	lines := strings.Fields(string(b))
	if len(lines) < 2 {
		return nil, 0, fmt.Errorf("ffprobe: %q", b)
	}
	fmt.Sscan(lines[len(lines)-1], &dur)
	return lines[:len(lines)-1], dur, nil
}
