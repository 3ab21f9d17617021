package docs

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hlsflow/hlsflow/"

// graph is `go list`'s view: each project package and the project
// packages it imports, tests aside.
func graph(t *testing.T) map[string][]string {
	t.Helper()
	// go test runs with the toolchain's bin first on PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	g := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		if pkg == "docs" {
			continue
		}
		deps := []string{}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module) {
				deps = append(deps, strings.TrimPrefix(imp, module))
			}
		}
		slices.Sort(deps)
		g[pkg] = deps
	}
	return g
}

var (
	rowRE = regexp.MustCompile("^\\| `([^`]+)` \\|[^|]*\\|(.*)\\|\\s*$")
	pkgRE = regexp.MustCompile("`([^`]+)`")
)

// documented reads the package map of architecture.md.
func documented(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := map[string][]string{}
	inMap := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inMap = line == "## Package map"
			continue
		}
		m := rowRE.FindStringSubmatch(line)
		if !inMap || m == nil {
			continue
		}
		deps := []string{}
		for _, d := range pkgRE.FindAllStringSubmatch(m[2], -1) {
			deps = append(deps, d[1])
		}
		slices.Sort(deps)
		if _, dup := doc[m[1]]; dup {
			t.Errorf("architecture.md lists %s twice", m[1])
		}
		doc[m[1]] = deps
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(doc) == 0 {
		t.Fatal("architecture.md has no package map rows")
	}
	return doc
}

func TestPackageMapMatchesTheCode(t *testing.T) {
	code, doc := graph(t), documented(t)
	for pkg, deps := range code {
		got, ok := doc[pkg]
		switch {
		case !ok:
			t.Errorf("package %s is missing from architecture.md's package map", pkg)
		case !slices.Equal(got, deps):
			t.Errorf("architecture.md says %s imports %v; the code imports %v", pkg, got, deps)
		}
	}
	for pkg := range doc {
		if _, ok := code[pkg]; !ok {
			t.Errorf("architecture.md lists %s, which is not a package", pkg)
		}
	}
}

func TestDependencyRules(t *testing.T) {
	for pkg, deps := range graph(t) {
		if (pkg == "internal/media" || pkg == "internal/hls") && len(deps) > 0 {
			t.Errorf("%s must import nothing of the project; it imports %v", pkg, deps)
		}
		if pkg == "internal/encoder" {
			for _, d := range deps {
				if d != "internal/media" && d != "internal/hls" {
					t.Errorf("internal/encoder may import only internal/media and internal/hls; it imports %s", d)
				}
			}
		}
		// A Lambda is only its wiring: what it does lives under internal/,
		// where hlsflow up and the tests use it too.
		if strings.HasPrefix(pkg, "functions/") && !strings.HasSuffix(pkg, "/bootstrap") {
			t.Errorf("%s: functions/ holds only Lambda bootstraps; move its code under internal/", pkg)
		}
		if !strings.HasPrefix(pkg, "internal/") {
			continue
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "cmd/") || strings.HasPrefix(d, "services/") || strings.HasSuffix(d, "/bootstrap") {
				t.Errorf("%s imports %s: internal packages never depend on a binary", pkg, d)
			}
		}
	}
}
