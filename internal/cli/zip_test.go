package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZipFunctionsFlags(t *testing.T) {
	if z, err := zipFunctions("in-process", "", "", ""); z != nil || err != nil {
		t.Errorf("in-process: %v, %v", z, err)
	}
	if _, err := zipFunctions("docker", "", "", ""); !errors.Is(err, errUsage) {
		t.Errorf("an unknown mode: %v, want a usage error", err)
	}
	if _, err := zipFunctions("zip", "d", "l", ""); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--rie") {
		t.Errorf("zip without --rie: %v", err)
	}
	dir := t.TempDir()
	if _, err := zipFunctions("zip", filepath.Join(dir, "functions"), filepath.Join(dir, "layer.zip"), filepath.Join(dir, "rie")); err == nil || !strings.Contains(err.Error(), "make up-zip") {
		t.Errorf("missing files: %v", err)
	}
	for _, f := range []string{"layer.zip", "rie"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o755)
	}
	os.Mkdir(filepath.Join(dir, "functions"), 0o755)
	t.Chdir(dir)
	z, err := zipFunctions("zip", "functions", "layer.zip", "rie")
	if err != nil {
		t.Fatal(err)
	}
	// Absolute: starting S3 changes the working directory.
	if z.Dir != filepath.Join(dir, "functions") || z.Layers[0] != filepath.Join(dir, "layer.zip") || z.RIE != filepath.Join(dir, "rie") {
		t.Errorf("paths %+v, want absolute ones in %s", z, dir)
	}
}

// --functions zip runs the API as deployed, with one set of addresses: on
// the network it would hand out loopback ones, so it is refused at once.
func TestZipRefusesTheNetwork(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"layer.zip", "rie"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o755)
	}
	os.Mkdir(filepath.Join(dir, "functions"), 0o755)
	zip := []string{"up", "--data", filepath.Join(dir, "data"), "--functions", "zip", "--functions-dir", filepath.Join(dir, "functions"),
		"--layer", filepath.Join(dir, "layer.zip"), "--rie", filepath.Join(dir, "rie")}
	for _, extra := range [][]string{{"--lan"}, {"--edge", "0.0.0.0:8080"}, {"--s3", "[::]:4566"}} {
		var out, errb strings.Builder
		code := Main(context.Background(), Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, append(zip, extra...))
		if code != 2 || !strings.Contains(errb.String(), "--functions zip serves this machine only") {
			t.Errorf("%v: exit %d, %q; want a usage error", extra, code, errb.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Errorf("%v: the data dir was made before the refusal", extra)
		}
	}
}
