//go:build linux

package ffmpeg

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// layerRoot is an otherwise empty directory holding the unpacked layer at
// /opt and a /tmp; commands run chrooted into it.
type layerRoot struct {
	dir  string
	qemu string // path inside the root of the emulator, "" when native
}

// layerZip returns the zip under test, or skips with the reason. The test
// runs only when asked (LAYER_ZIP, set by `make test-layer`) so that a plain
// `go test ./...` does not depend on a 10-minute build.
func layerZip(t *testing.T) string {
	t.Helper()
	z := os.Getenv("LAYER_ZIP")
	if z == "" {
		t.Skip("LAYER_ZIP not set: build with `make layer` and run `make test-layer`")
	}
	if _, err := os.Stat(z); err != nil {
		t.Skipf("no layer at %s (%v): build it with `make layer`", z, err)
	}
	return z
}

// newRoot unpacks the layer into a fresh root. A layer for another
// architecture runs under qemu-user, the one host file copied in.
func newRoot(t *testing.T) *layerRoot {
	t.Helper()
	z := layerZip(t)
	if os.Getuid() != 0 && !userNamespaces() {
		t.Skip("chroot needs root or unprivileged user namespaces")
	}
	r := &layerRoot{dir: t.TempDir()}
	if err := unzip(z, filepath.Join(r.dir, "opt")); err != nil {
		t.Fatalf("unpack %s: %v", z, err)
	}
	if err := os.Mkdir(filepath.Join(r.dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if arch := zipArch(z); arch != runtime.GOARCH {
		emu := os.Getenv("LAYER_QEMU")
		if emu == "" {
			emu = "/usr/bin/qemu-aarch64-static"
		}
		if _, err := os.Stat(emu); err != nil {
			t.Skipf("%s layer needs qemu-user (%v): apt-get install -y qemu-user-static", arch, err)
		}
		r.qemu = "/qemu"
		copyFile(t, emu, filepath.Join(r.dir, "qemu"), 0o755)
	}
	return r
}

// zipArch maps the layer's file name to a GOARCH.
func zipArch(zip string) string {
	if strings.Contains(filepath.Base(zip), "arm64") {
		return "arm64"
	}
	return "amd64"
}

// userNamespaces reports whether this kernel lets an unprivileged process
// create a user namespace (and so chroot inside it).
func userNamespaces() bool {
	b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone")
	return err != nil || strings.TrimSpace(string(b)) == "1"
}

// run starts one of the layer's binaries chrooted into the root, with an
// empty environment but PATH, from /tmp.
func (r *layerRoot) run(t *testing.T, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	timeout := 2 * time.Minute
	if r.qemu != "" {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append([]string{"/opt/bin/" + bin}, args...)
	if r.qemu != "" {
		argv = append([]string{r.qemu}, argv...)
	}
	// Path is resolved inside the chroot: Go chroots before it execs.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Path = argv[0]
	cmd.Env = []string{"PATH=/opt/bin"}
	cmd.Dir = "/tmp"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: r.dir}
	if os.Getuid() != 0 {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// path is where a root-relative path lives on the host.
func (r *layerRoot) path(p string) string { return filepath.Join(r.dir, p) }

// unzip extracts every regular file of a zip below dir, keeping the
// executable bit.
func unzip(name, dir string) error {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(filepath.Separator)) {
			return &os.PathError{Op: "unzip", Path: f.Name, Err: os.ErrInvalid}
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := extract(f, dst); err != nil {
			return err
		}
	}
	return nil
}

func extract(f *zip.File, dst string) error {
	src, err := f.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, f.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// hostTool returns Debian's ffmpeg or ffprobe, the reference the layer is
// compared with.
func hostTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("host %s missing (apt-get install -y ffmpeg): %v", name, err)
	}
	return p
}
