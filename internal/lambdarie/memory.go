package lambdarie

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lambda kills an execution environment that goes over its memory size.
// Here each emulator runs in a memory cgroup of its own, made below the
// one hlsflow runs in, with the function's size as its limit: the kernel's
// OOM killer then ends the function as Lambda would. That needs a cgroup
// hlsflow may write to (root, or a delegated systemd scope); without one
// the size is reported to the function but not enforced, and New logs so.

// memoryCgroup is where this process's memory cgroup is, as a directory
// that children can be made in, and whether it is cgroup v2.
func memoryCgroup() (dir string, v2 bool, err error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	var v1, unified string
	s := bufio.NewScanner(f)
	for s.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			unified = parts[2]
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			v1 = parts[2]
		}
	}
	switch {
	case v1 != "":
		dir = filepath.Join("/sys/fs/cgroup/memory", v1)
	case unified != "":
		dir, v2 = filepath.Join("/sys/fs/cgroup", unified), true
		// A v2 process may not sit in a cgroup that has children with
		// controllers: children of its parent are made instead.
		if ctl, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); err != nil || !strings.Contains(string(ctl), "memory") {
			dir = filepath.Dir(dir)
		}
	default:
		return "", false, errors.New("no memory cgroup in /proc/self/cgroup")
	}
	if _, err := os.Stat(dir); err != nil {
		return "", false, err
	}
	return dir, v2, nil
}

// newMemoryLimit makes a cgroup named name limited to mb MiB (and no
// swap) and returns its cgroup.procs file: a process that writes its pid
// there before exec runs, with all its children, under the limit.
func newMemoryLimit(name string, mb int) (procs string, remove func(), err error) {
	parent, v2, err := memoryCgroup()
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", nil, err
	}
	remove = func() {
		// The sandbox's processes die just after bwrap (parent-death
		// signal): until they have, the cgroup cannot be removed.
		for range 100 {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	limit := strconv.FormatInt(int64(mb)<<20, 10)
	files := [][2]string{{"memory.limit_in_bytes", limit}, {"memory.memsw.limit_in_bytes", limit}}
	if v2 {
		files = [][2]string{{"memory.max", limit}, {"memory.swap.max", "0"}}
	}
	for i, kv := range files {
		err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0o644)
		if err != nil && (i == 0 || !errors.Is(err, os.ErrNotExist)) { // swap accounting may be off
			remove()
			return "", nil, fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	return filepath.Join(dir, "cgroup.procs"), remove, nil
}
