package main

import (
	"archive/zip"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// elfHeader is the start of a 64-bit little-endian Linux executable for m:
// all that the asset checks read of a program.
func elfHeader(m elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(m))
	return h
}

// layerEntry is one file of a test layer zip.
type layerEntry struct {
	name string
	mode os.FileMode
	data []byte
}

func writeZip(t *testing.T, path string, entries []layerEntry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// deployableContext writes bootstraps and a layer (ffmpeg and ffprobe where
// the functions look) built for m, and returns the context that uses them
// without the placeholder opt-in.
func deployableContext(t *testing.T, m elf.Machine) map[string]any {
	t.Helper()
	dir := t.TempDir()
	for _, fn := range allowedFunctions {
		if err := os.MkdirAll(filepath.Join(dir, "functions", fn), 0o755); err != nil {
			t.Fatal(err)
		}
		// Each its own bytes: CDK stores equal contents as one asset.
		if err := os.WriteFile(filepath.Join(dir, "functions", fn, "bootstrap"), append(elfHeader(m), fn...), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeZip(t, filepath.Join(dir, "ffmpeg.zip"), []layerEntry{
		{"bin/ffmpeg", 0o755, elfHeader(m)},
		{"bin/ffprobe", 0o755, elfHeader(m)},
		{"LICENSE", 0o644, []byte("licence")},
	})
	ctx := baseContext()
	delete(ctx, ctxPlaceholderAssets)
	ctx[ctxFunctionsDir] = filepath.Join(dir, "functions")
	ctx[ctxLayerZip] = filepath.Join(dir, "ffmpeg.zip")
	return ctx
}

// A deployable stack is built only around what its architecture runs;
// stand-ins pass only with the opt-in. Each problem is one line naming the
// make target that fixes it.
func TestDeployableAssets(t *testing.T) {
	arm := deployableContext(t, elf.EM_AARCH64)
	layerDir := t.TempDir()
	zipWith := func(name string, entries ...layerEntry) string {
		p := filepath.Join(layerDir, name)
		writeZip(t, p, entries)
		return p
	}
	exe := elfHeader(elf.EM_AARCH64)
	for _, tc := range []struct {
		name  string
		ctx   map[string]any
		wants []string // one per line of the error; none: accepted
	}{
		{"arm64 build for an arm64 stack", nil, nil},
		{"arm64 build for an x86_64 stack", map[string]any{ctxArch: "x86_64"}, []string{
			"function transcode: " + filepath.Join(arm[ctxFunctionsDir].(string), "transcode", "bootstrap") + " is built for arm64, but the stack deploys x86_64: run `make build ARCH=x86_64`",
			"function encode: ",
			"function api: ",
			"function fetch: ",
			"function webhooks: ",
			"ffmpeg layer: " + arm[ctxLayerZip].(string) + " has bin/ffmpeg that is built for arm64, but the stack deploys x86_64, has bin/ffprobe that is built for arm64, but the stack deploys x86_64: run `make layer ARCH=x86_64`",
		}},
		{"placeholder layer", map[string]any{ctxLayerZip: filepath.Join(assetDir, "ffmpeg.zip")}, []string{
			"ffmpeg layer: " + filepath.Join(assetDir, "ffmpeg.zip") + " is not a readable zip (a placeholder?): zip: not a valid zip file: run `make layer ARCH=arm64`",
		}},
		{"placeholder layer with the opt-in", map[string]any{ctxLayerZip: filepath.Join(assetDir, "ffmpeg.zip"), ctxPlaceholderAssets: "true"}, nil},
		{"placeholder bootstraps", map[string]any{ctxFunctionsDir: filepath.Join(assetDir, "functions"), ctxFunctions: "transcode"}, []string{
			"function transcode: " + filepath.Join(assetDir, "functions", "transcode", "bootstrap") + " is not a Linux executable (a placeholder?): run `make build ARCH=arm64`",
		}},
		{"layer without ffprobe", map[string]any{ctxLayerZip: zipWith("noprobe.zip", layerEntry{"bin/ffmpeg", 0o755, exe})}, []string{
			"has no bin/ffprobe (the functions run /opt/bin/ffprobe): run `make layer ARCH=arm64`",
		}},
		{"ffmpeg not executable", map[string]any{ctxLayerZip: zipWith("noexec.zip", layerEntry{"bin/ffmpeg", 0o644, exe}, layerEntry{"bin/ffprobe", 0o755, exe})}, []string{
			"has bin/ffmpeg without execute permission (mode -rw-r--r--)",
		}},
		{"ffmpeg at the wrong path", map[string]any{ctxLayerZip: zipWith("path.zip", layerEntry{"ffmpeg", 0o755, exe}, layerEntry{"bin/ffprobe", 0o755, exe})}, []string{
			"has no bin/ffmpeg (the functions run /opt/bin/ffmpeg)",
		}},
		{"local needs no layer", map[string]any{ctxLocal: "true", ctxLayerZip: filepath.Join(assetDir, "ffmpeg.zip")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := map[string]any{}
			for k, v := range arm {
				ctx[k] = v
			}
			for k, v := range tc.ctx {
				ctx[k] = v
			}
			c, err := LoadConfig(lookupFrom(ctx), "/nonexistent-root")
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckAssets()
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", tc.wants)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.wants) {
				t.Fatalf("%d problems, want %d:\n%v", len(lines), len(tc.wants), err)
			}
			for i, w := range tc.wants {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d:\n%s\nwant it to contain\n%s", i+1, lines[i], w)
				}
			}
		})
	}
}

// run checks what synth wrote: a deployable stack passes and carries no
// refusal rule; an asset gone from the assembly, or named by the template
// but listed nowhere, fails naming it.
func TestRunChecksTheAssembly(t *testing.T) {
	t.Setenv("CDK_DEFAULT_REGION", "")
	ctx := deployableContext(t, elf.EM_AARCH64)
	out := t.TempDir()
	if err := run(awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})); err != nil {
		t.Fatalf("deployable stack refused: %v", err)
	}
	tmplPath := filepath.Join(out, stackName+".template.json")
	tmpl, err := os.ReadFile(tmplPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules map[string]any `json:"Rules"`
	}
	if err := json.Unmarshal(tmpl, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Rules["PlaceholderAssets"]; ok {
		t.Error("a deployable stack carries the placeholder rule")
	}

	var am assetManifest
	if err := readJSON(filepath.Join(out, stackName+".assets.json"), &am); err != nil {
		t.Fatal(err)
	}
	assetOf := func(display string) string {
		for _, f := range am.Files {
			if f.DisplayName == display {
				return f.Source.Path
			}
		}
		for _, d := range am.DockerImages {
			if d.DisplayName == display {
				return d.Source.Directory
			}
		}
		t.Fatalf("no asset %s in %+v", display, am)
		return ""
	}
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T) (restore func())
		want  string
	}{
		{"layer zip gone", func(t *testing.T) func() { return hide(t, filepath.Join(out, assetOf("OnDemand/FFmpeg/Code"))) }, "asset OnDemand/FFmpeg/Code (asset."},
		{"function code gone", func(t *testing.T) func() { return hide(t, filepath.Join(out, assetOf("OnDemand/Transcode/Code"))) }, "asset OnDemand/Transcode/Code (asset."},
		{"Dockerfile gone", func(t *testing.T) func() {
			return hide(t, filepath.Join(out, assetOf("Live/Task/Ingest/AssetImage"), "Dockerfile"))
		}, "asset Live/Task/Ingest/AssetImage: its Dockerfile Dockerfile: missing"},
		{"asset named but not listed", func(t *testing.T) func() {
			extra := strings.Replace(string(tmpl), `"Resources"`, `"Metadata":{"Stray":"`+strings.Repeat("ab", 32)+`.zip"},"Resources"`, 1)
			if err := os.WriteFile(tmplPath, []byte(extra), 0o644); err != nil {
				t.Fatal(err)
			}
			return func() { os.WriteFile(tmplPath, tmpl, 0o644) }
		}, "names asset " + strings.Repeat("ab", 32) + ", which no asset manifest"},
		{"misspelt property", func(t *testing.T) func() {
			bad := strings.Replace(string(tmpl), `"MemorySize"`, `"MemorySzie"`, 1)
			if err := os.WriteFile(tmplPath, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			return func() { os.WriteFile(tmplPath, tmpl, 0o644) }
		}, "Properties.MemorySzie: unknown property (did you mean MemorySize?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := tc.spoil(t)
			err := checkAssembly(out)
			restore()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkAssembly: %v\nwant an error with %q", err, tc.want)
			}
			if err := checkAssembly(out); err != nil {
				t.Fatalf("restored assembly refused: %v", err)
			}
		})
	}
}

// hide moves path aside until the returned function puts it back.
func hide(t *testing.T, path string) func() {
	t.Helper()
	aside := path + ".aside"
	if err := os.Rename(path, aside); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Rename(aside, path); err != nil {
			t.Fatal(err)
		}
	}
}

// A stack synthesised around stand-ins carries a rule CloudFormation
// cannot satisfy, so it can never be created or updated.
func TestPlaceholderStackCannotDeploy(t *testing.T) {
	s := synth(t, nil)
	raw, err := json.Marshal(s.tmpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules map[string]struct {
			RuleCondition any `json:"RuleCondition"`
			Assertions    []struct {
				Assert            map[string][]any `json:"Assert"`
				AssertDescription string           `json:"AssertDescription"`
			} `json:"Assertions"`
		} `json:"Rules"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	r, ok := doc.Rules["PlaceholderAssets"]
	if !ok {
		t.Fatalf("no PlaceholderAssets rule; rules %v", doc.Rules)
	}
	if r.RuleCondition != nil || len(r.Assertions) != 1 {
		t.Fatalf("rule applies conditionally or has %d assertions: %+v", len(r.Assertions), r)
	}
	eq := r.Assertions[0].Assert["Fn::Equals"]
	if len(eq) != 2 || eq[0] == eq[1] {
		t.Errorf("assertion %v can hold", r.Assertions[0].Assert)
	}
	if d := r.Assertions[0].AssertDescription; !strings.Contains(d, "make deploy") {
		t.Errorf("description %q does not say what to run", d)
	}
}

// Every stack the tests build, in each shape, matches CloudFormation's
// resource specification.
func TestTemplatesMatchCloudFormationSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{
		{"defaults", nil},
		{"everything", everything},
		{"waf off", map[string]any{ctxWAF: "false"}},
		{"local", map[string]any{ctxLocal: "true"}},
		{"signed playback", map[string]any{ctxSignedPlayback: "true", ctxSigningPublicKey: testPublicKey, ctxAllowedOrigins: "https://app.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			if err := checkAssembly(s.outdir); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// Escape hatches are checked like the rest: a property override with a
// misspelt name or a value of the wrong kind fails, a right one passes.
func TestEscapeHatchesAreChecked(t *testing.T) {
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
	stack := awscdk.NewStack(app, jsii.String("Hatch"), nil)
	override := func(id, prop string, v any) {
		q := awssqs.NewQueue(stack, jsii.String(id), nil)
		q.Node().DefaultChild().(awscdk.CfnResource).AddPropertyOverride(jsii.String(prop), v)
	}
	override("Right", "DelaySeconds", 5)
	override("Misspelt", "MessageRetentionPeriodd", 60)
	override("WrongKind", "VisibilityTimeout", "a minute")
	override("Nested", "RedrivePolicy.maxReceiveCount", 3)
	app.Synth(nil)
	err := checkAssembly(out)
	if err == nil {
		t.Fatal("overrides with wrong names and values passed")
	}
	for _, want := range []string{
		"Properties.MessageRetentionPeriodd: unknown property (did you mean MessageRetentionPeriod?)",
		`Properties.VisibilityTimeout: want number, got a string "a minute"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant it to contain %q", err, want)
		}
	}
	for _, ok := range []string{"Resources.Right", "Resources.Nested"} {
		if strings.Contains(err.Error(), ok) {
			t.Errorf("a valid override was refused:\n%v", err)
		}
	}
}
