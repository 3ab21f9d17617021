package main

import (
	"archive/zip"
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/hlsflow/hlsflow/infra/cfnschema"
)

// archMachine is the ELF machine each Arch runs.
var archMachine = map[string]elf.Machine{"arm64": elf.EM_AARCH64, "x86_64": elf.EM_X86_64}

// machineArch names an ELF machine the way Arch and `make ARCH=` do.
func machineArch(m elf.Machine) string {
	for a, am := range archMachine {
		if am == m {
			return a
		}
	}
	return m.String()
}

// CheckAssets verifies, before anything is synthesised, that every file
// the stack packages exists and, unless PlaceholderAssets, that it is what
// the stack's architecture runs: each bootstrap a Linux executable for
// Arch, the layer a zip with ffmpeg and ffprobe for Arch where the
// functions look for them. Each problem is one line naming the make target
// that fixes it, instead of a stack trace from jsii or a failure on AWS.
func (c Config) CheckAssets() error {
	var errs []error
	for _, fn := range c.Functions {
		boot := filepath.Join(c.FunctionsDir, fn, "bootstrap")
		if _, err := os.Stat(boot); err != nil {
			errs = append(errs, fmt.Errorf("function %s: %s is missing: run `make build-functions` (or set -c %s=... to the folder holding %s/bootstrap)", fn, boot, ctxFunctionsDir, fn))
			continue
		}
		if !c.PlaceholderAssets {
			if err := c.checkExecutable(boot); err != nil {
				errs = append(errs, fmt.Errorf("function %s: %s %w: run `make build ARCH=%s`", fn, boot, err, c.Arch))
			}
		}
	}
	if c.Local {
		return errors.Join(errs...)
	}
	if _, err := os.Stat(c.LayerZip); err != nil {
		errs = append(errs, fmt.Errorf("ffmpeg layer: %s is missing: run `make layer ARCH=%s` (or set -c %s=...)", c.LayerZip, c.Arch, ctxLayerZip))
	} else if !c.PlaceholderAssets {
		if err := c.checkLayer(); err != nil {
			errs = append(errs, fmt.Errorf("ffmpeg layer: %s %w: run `make layer ARCH=%s`", c.LayerZip, err, c.Arch))
		}
	}
	df := filepath.Join(c.IngestContext, c.IngestDockerfile)
	if _, err := os.Stat(df); err != nil {
		errs = append(errs, fmt.Errorf("ingest image: %s is missing (set -c %s=... and -c %s=..., or -c %s=true to leave live ingest out)", df, ctxIngestContext, ctxIngestDockerfile, ctxLocal))
	}
	return errors.Join(errs...)
}

// checkExecutable says what is wrong with a bootstrap, or nil.
func (c Config) checkExecutable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.checkELF(f)
}

// checkLayer opens the layer zip and checks the two programs the functions
// run from it (FFMPEG_PATH and FFPROBE_PATH: the layer unpacks under /opt).
func (c Config) checkLayer() error {
	z, err := zip.OpenReader(c.LayerZip)
	if err != nil {
		return fmt.Errorf("is not a readable zip (a placeholder?): %w", err)
	}
	defer z.Close()
	var errs []error
	for _, bin := range []string{layerFFmpeg, layerFFprobe} {
		name := strings.TrimPrefix(bin, "/opt/")
		i := slices.IndexFunc(z.File, func(f *zip.File) bool { return f.Name == name })
		if i < 0 {
			errs = append(errs, fmt.Errorf("has no %s (the functions run %s)", name, bin))
			continue
		}
		f := z.File[i]
		if f.Mode()&0o111 == 0 {
			errs = append(errs, fmt.Errorf("has %s without execute permission (mode %v)", name, f.Mode()))
			continue
		}
		r, err := f.Open()
		if err != nil {
			errs = append(errs, fmt.Errorf("has an unreadable %s: %w", name, err))
			continue
		}
		if err := c.checkELF(r); err != nil {
			errs = append(errs, fmt.Errorf("has %s that %w", name, err))
		}
		r.Close()
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, ", "))
}

// checkELF reads an executable's ELF header: Lambda runs 64-bit
// little-endian Linux programs of the function's architecture.
func (c Config) checkELF(r io.Reader) error {
	var h [20]byte
	if _, err := io.ReadFull(r, h[:]); err != nil || !bytes.Equal(h[:4], []byte(elf.ELFMAG)) {
		return errors.New("is not a Linux executable (a placeholder?)")
	}
	if elf.Class(h[elf.EI_CLASS]) != elf.ELFCLASS64 || elf.Data(h[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return errors.New("is not a 64-bit little-endian executable")
	}
	if m := elf.Machine(binary.LittleEndian.Uint16(h[18:20])); m != archMachine[c.Arch] {
		return fmt.Errorf("is built for %s, but the stack deploys %s", machineArch(m), c.Arch)
	}
	return nil
}

// refuseDeploy makes CloudFormation refuse a stack synthesised around
// placeholder assets: a rule whose assertion is always false fails every
// create and update (and change set) with this description, while
// `cdk destroy` and the tests' synth are unaffected.
func refuseDeploy(stack awscdk.Stack) constructs.Construct {
	return awscdk.NewCfnRule(stack, jsii.String("PlaceholderAssets"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert:            awscdk.Fn_ConditionEquals(jsii.String("placeholder assets"), jsii.String("deployable assets")),
			AssertDescription: jsii.String("synthesised with -c " + ctxPlaceholderAssets + "=true around stand-in build outputs: deploy with `make deploy`, which builds the real ones"),
		}},
	})
}

// cloud assembly files, as far as the checks read them.
type (
	assemblyManifest struct {
		Artifacts map[string]struct {
			Type       string `json:"type"`
			Properties struct {
				TemplateFile string `json:"templateFile"`
				File         string `json:"file"`
			} `json:"properties"`
		} `json:"artifacts"`
	}
	assetManifest struct {
		Files map[string]struct {
			DisplayName string `json:"displayName"`
			Source      struct {
				Path      string `json:"path"`
				Packaging string `json:"packaging"`
			} `json:"source"`
		} `json:"files"`
		DockerImages map[string]struct {
			DisplayName string `json:"displayName"`
			Source      struct {
				Directory  string `json:"directory"`
				DockerFile string `json:"dockerFile"`
			} `json:"source"`
		} `json:"dockerImages"`
	}
)

// assetHash is how a template names an asset: the S3 key of a zip
// ("<hash>.zip") or the tag of an image ("…:<hash>").
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// checkAssembly checks what synth wrote to dir, before the CDK CLI
// publishes or deploys any of it: each stack's template against
// CloudFormation's resource specification, every asset each asset
// manifest lists present in dir, and every asset a template names listed.
func checkAssembly(dir string) error {
	var m assemblyManifest
	if err := readJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		return err
	}
	spec, err := cfnschema.Load()
	if err != nil {
		return err
	}
	var errs []error
	listed := map[string]bool{}
	var templates []string
	for _, id := range slices.Sorted(maps.Keys(m.Artifacts)) {
		a := m.Artifacts[id]
		switch a.Type {
		case "aws:cloudformation:stack":
			templates = append(templates, a.Properties.TemplateFile)
		case "cdk:asset-manifest":
			var am assetManifest
			if err := readJSON(filepath.Join(dir, a.Properties.File), &am); err != nil {
				errs = append(errs, err)
				continue
			}
			for hash, f := range am.Files {
				listed[hash] = true
				if err := present(dir, f.Source.Path, f.Source.Packaging == "zip"); err != nil {
					errs = append(errs, fmt.Errorf("asset %s (%s): %w", f.DisplayName, f.Source.Path, err))
				}
			}
			for hash, d := range am.DockerImages {
				listed[hash] = true
				df := cmp.Or(d.Source.DockerFile, "Dockerfile")
				if err := present(dir, d.Source.Directory, true); err != nil {
					errs = append(errs, fmt.Errorf("asset %s (%s): %w", d.DisplayName, d.Source.Directory, err))
				} else if err := present(dir, filepath.Join(d.Source.Directory, df), false); err != nil {
					errs = append(errs, fmt.Errorf("asset %s: its Dockerfile %s: %w", d.DisplayName, df, err))
				}
			}
		}
	}
	for _, t := range templates {
		b, err := os.ReadFile(filepath.Join(dir, t))
		if err != nil {
			errs = append(errs, fmt.Errorf("template %s: %w", t, err))
			continue
		}
		if err := spec.Check(b); err != nil {
			errs = append(errs, fmt.Errorf("template %s does not match %s:\n%w", t, cfnschema.Source, err))
		}
		for _, h := range assetHash.FindAllString(string(b), -1) {
			if !listed[h] {
				errs = append(errs, fmt.Errorf("template %s names asset %s, which no asset manifest in %s lists", t, h, dir))
				listed[h] = true // once is enough
			}
		}
	}
	return errors.Join(errs...)
}

// present checks that name exists in dir: a non-empty folder when dir is
// true, otherwise a non-empty file.
func present(root, name string, dir bool) error {
	p := filepath.Join(root, name)
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("missing from %s", root)
	}
	if dir {
		if !fi.IsDir() {
			return errors.New("not a folder")
		}
		entries, err := os.ReadDir(p)
		if err != nil || len(entries) == 0 {
			return errors.New("an empty folder")
		}
		return nil
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return errors.New("not a file, or empty")
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cloud assembly: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("cloud assembly %s: %w", path, err)
	}
	return nil
}
