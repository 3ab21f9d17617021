//go:build linux

package ffmpeg

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pin reads one NAME=value line of versions.sh.
func pin(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open("versions.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), name+"="); ok {
			return v
		}
	}
	t.Fatalf("%s not in versions.sh", name)
	return ""
}

// TestBuildRefuses runs build.sh where it must stop before compiling
// anything: a tarball that is not the pinned one, and a missing tool.
func TestBuildRefuses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash missing")
	}
	script, err := filepath.Abs("build.sh")
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		setup func(t *testing.T, cache string) []string // returns the environment
		want  []string
	}{
		{
			name: "wrong checksum",
			setup: func(t *testing.T, cache string) []string {
				for _, tool := range []string{"gcc", "g++", "cmake", "nasm", "meson", "ninja", "patch", "make", "pkg-config", "zip", "xz", "strip"} {
					if _, err := exec.LookPath(tool); err != nil {
						t.Skipf("build tool %s missing: the build would stop there first", tool)
					}
				}
				// Both tarballs are in the cache but tampered with.
				for _, name := range []string{"X264_TARBALL", "FFMPEG_TARBALL"} {
					f := filepath.Join(cache, "src", pin(t, name))
					if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(f, []byte("not the release\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return []string{"PATH=" + os.Getenv("PATH")}
			},
			want: []string{"checksum mismatch", pin(t, "X264_SHA256"), "versions.sh"},
		},
		{
			name: "missing nasm",
			setup: func(t *testing.T, cache string) []string {
				// A PATH with the basic tools build.sh uses but no nasm.
				bin := filepath.Join(cache, "bin")
				if err := os.MkdirAll(bin, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, tool := range []string{"bash", "dirname", "cat", "cut", "sed", "sha256sum", "make", "gcc", "g++", "cmake", "strip", "meson", "ninja", "patch", "pkg-config", "xz", "zip", "head", "dpkg-query", "ld"} {
					p, err := exec.LookPath(tool)
					if err != nil {
						continue // reported as missing too, which is fine
					}
					if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
						t.Fatal(err)
					}
				}
				return []string{"PATH=" + bin}
			},
			want: []string{"missing build tools:", " nasm", "apt-get install -y"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			cache := filepath.Join(tmp, "cache")
			env := c.setup(t, cache)
			cmd := exec.Command(bash, script, "x86_64")
			cmd.Env = append(env, "HOME="+tmp, "HLSFLOW_CACHE="+cache, "DIST="+filepath.Join(tmp, "dist"))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("build.sh succeeded, want it to stop:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("build.sh output lacks %q:\n%s", w, out)
				}
			}
			if _, err := os.Stat(filepath.Join(tmp, "dist", "layers", "ffmpeg-x86_64.zip")); err == nil {
				t.Error("build.sh left a zip behind")
			}
		})
	}
}
