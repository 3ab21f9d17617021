package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// assetDir holds placeholder build outputs (bootstraps, layer zip, a
// Dockerfile) so synth tests need neither `make build` nor Docker.
var assetDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	useNode22()
	dir, err := os.MkdirTemp("", "hlsflow-infra-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := writeAssets(dir); err != nil {
		fmt.Fprintln(os.Stderr, "placeholder assets:", err)
		return 1
	}
	assetDir = dir
	code := m.Run()
	jsii.Close()
	return code
}

// useNode22 puts the Node 22 that `make setup-infra` installs first on PATH:
// jsii warns loudly on older Node. Without it the machine's node is used.
func useNode22() {
	wd, err := os.Getwd()
	if err != nil {
		return
	}
	root, err := repoRoot(wd)
	if err != nil {
		return
	}
	bin := filepath.Join(root, "infra", ".tools", "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(bin, "node")); err == nil {
		os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		return
	}
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
}

func writeAssets(dir string) error {
	for _, fn := range allowedFunctions {
		if err := os.MkdirAll(filepath.Join(dir, "functions", fn), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "functions", fn, "bootstrap"), []byte("placeholder "+fn), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ffmpeg.zip"), []byte("placeholder layer"), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "ingest"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ingest", "Dockerfile"), []byte("FROM scratch\n"), 0o644)
}

// baseContext points the app at the placeholder assets, which only the
// opt-in accepts.
func baseContext() map[string]any {
	return map[string]any{
		ctxPlaceholderAssets: "true",
		ctxFunctionsDir:      filepath.Join(assetDir, "functions"),
		ctxLayerZip:          filepath.Join(assetDir, "ffmpeg.zip"),
		ctxIngestContext:     filepath.Join(assetDir, "ingest"),
		ctxIngestDockerfile:  "Dockerfile",
	}
}

// synthesized is one stack's template, as CDK's matcher and as JSON.
type synthesized struct {
	tmpl      assertions.Template
	outdir    string // the cloud assembly, kept until the tests end
	resources map[string]resource
	// nag holds cdk-nag's unsuppressed AwsSolutions errors and warnings,
	// as "level path: message"; own, the stack's own ("hlsflow: ...").
	nag, own []string
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// synth builds the stack with the given context on top of baseContext, the
// way `cdk synth -c key=value` would, and caches the result per context.
func synth(t *testing.T, overrides map[string]any) *synthesized {
	t.Helper()
	ctx := baseContext()
	for k, v := range overrides {
		ctx[k] = v
	}
	key, _ := json.Marshal(overrides)
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[string(key)]; ok {
		return s
	}
	out, err := os.MkdirTemp(assetDir, "cdk.out-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
	cfg, err := LoadConfig(appContext(app), "/nonexistent-root")
	if err != nil {
		t.Fatalf("config for %s: %v", key, err)
	}
	if err := cfg.CheckAssets(); err != nil {
		t.Fatalf("assets for %s: %v", key, err)
	}
	stack := NewHlsflowStack(app, stackName, &HlsflowStackProps{Config: cfg})
	checkAwsSolutions(app)
	tmpl := assertions.Template_FromStack(stack.Stack, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]resource `json:"Resources"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s := &synthesized{tmpl: tmpl, outdir: out, resources: doc.Resources, nag: findings(stack.Stack, "AwsSolutions-"), own: findings(stack.Stack, "^hlsflow: ")}
	synthCache[string(key)] = s
	return s
}

// findings lists the errors and warnings on stack whose message matches
// the pattern.
func findings(stack awscdk.Stack, pattern string) []string {
	ann := assertions.Annotations_FromStack(stack)
	rule := assertions.Match_StringLikeRegexp(jsii.String(pattern))
	seen := map[string]bool{}
	var out []string
	for level, msgs := range map[string]any{
		"error":   ann.FindError(jsii.String("*"), rule),
		"warning": ann.FindWarning(jsii.String("*"), rule),
	} {
		// Read through JSON: cxapi's message type is deprecated in Go.
		raw, _ := json.Marshal(msgs)
		var found []struct {
			ID    string `json:"id"`
			Entry struct {
				Data any `json:"data"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &found); err != nil {
			out = append(out, fmt.Sprintf("%s: unreadable findings %s", level, raw))
		}
		for _, m := range found {
			line := fmt.Sprintf("%s %s: %v", level, m.ID, m.Entry.Data)
			if !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ofType returns the resources of one CloudFormation type by logical id.
func (s *synthesized) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range s.resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// one returns the single resource of typ whose logical id starts with
// prefix (construct path without the hash CDK appends).
func (s *synthesized) one(t *testing.T, typ, prefix string) (string, resource) {
	t.Helper()
	var found []string
	for id := range s.ofType(typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s named %s*, found %v", typ, prefix, found)
	}
	return found[0], s.resources[found[0]]
}

// matches runs a CDK assertion, turning its panic into a test error.
func matches(t *testing.T, what string, check func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	check()
}

// get walks a JSON value along a path of map keys and slice indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// ref renders a CloudFormation reference or ARN expression readably:
// {"Fn::GetAtt": [StorageUploadsAB12CD34, Arn]} + "/vod/*" becomes
// "StorageUploads.Arn/vod/*", so expectations do not depend on hashes.
func ref(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			return stripHash(r)
		}
		if a, ok := x["Fn::GetAtt"].([]any); ok && len(a) == 2 {
			return stripHash(fmt.Sprint(a[0])) + "." + fmt.Sprint(a[1])
		}
		if a, ok := x["Fn::Join"].([]any); ok && len(a) == 2 {
			parts, _ := a[1].([]any)
			var b strings.Builder
			for _, p := range parts {
				b.WriteString(ref(p))
			}
			return b.String()
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var hashSuffix = regexp.MustCompile(`[0-9A-F]{8}$`)

func stripHash(id string) string { return hashSuffix.ReplaceAllString(id, "") }

// list returns v as a slice, wrapping a single value (IAM allows both).
func list(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// grants flattens the IAM policies attached to a role into sorted
// "effect action resource [when condition]" lines.
func (s *synthesized) grants(role string) []string {
	var out []string
	for _, p := range s.ofType("AWS::IAM::Policy") {
		attached := false
		for _, r := range list(p.Properties["Roles"]) {
			if ref(r) == role {
				attached = true
			}
		}
		if !attached {
			continue
		}
		for _, st := range list(get(p.Properties, "PolicyDocument", "Statement")) {
			when := ""
			if c := get(st, "Condition"); c != nil {
				b, _ := json.Marshal(c)
				when = " when " + string(b)
			}
			for _, a := range list(get(st, "Action")) {
				for _, r := range list(get(st, "Resource")) {
					out = append(out, fmt.Sprintf("%v %v %s%s", get(st, "Effect"), a, ref(r), when))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
