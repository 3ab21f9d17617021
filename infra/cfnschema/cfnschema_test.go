package cfnschema

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func load(t *testing.T) *Schema {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A property misspelt in a template (as an escape hatch would write it)
// fails, naming the resource, the property and the right name.
func TestMisspeltPropertyFails(t *testing.T) {
	b, err := os.ReadFile("testdata/misspelt.json")
	if err != nil {
		t.Fatal(err)
	}
	err = load(t).Check(b)
	if err == nil {
		t.Fatal("a template with MemorySzie passed the check")
	}
	for _, want := range []string{"Resources.Transcode (AWS::Lambda::Function) Properties.MemorySzie", "unknown property", "did you mean MemorySize?"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// The valid fixture uses what CDK writes: intrinsics, Fn::If, numbers as
// strings, map-typed properties, DependsOn, custom resources, a property
// from the additions.
func TestValidTemplatePasses(t *testing.T) {
	b, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := load(t).Check(b); err != nil {
		t.Fatalf("valid template refused:\n%v", err)
	}
}

// Each change to the valid fixture breaks one rule and is reported.
func TestWrongTemplatesFail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(tmpl map[string]any)
		want   string
	}{
		{"number that is a word", func(m map[string]any) { fnProps(m)["Timeout"] = "long" }, `Properties.Timeout: want number, got a string "long"`},
		{"object for a string", func(m map[string]any) { fnProps(m)["Runtime"] = map[string]any{"Name": "go"} }, "Properties.Runtime: want string, got an object"},
		{"object for a list", func(m map[string]any) { fnProps(m)["Architectures"] = map[string]any{"0": "arm64"} }, "Properties.Architectures: want array, got an object"},
		{"nested unknown property", func(m map[string]any) { fnProps(m)["EphemeralStorage"] = map[string]any{"Size": 2048, "SizeMiB": 2048} }, "Properties.EphemeralStorage.SizeMiB: unknown property (did you mean Size?)"},
		{"list item of the wrong type", func(m map[string]any) { fnProps(m)["Tags"] = []any{"project=hlsflow"} }, "Properties.Tags[0]: want object"},
		{"map value of the wrong type", func(m map[string]any) {
			fnProps(m)["Environment"] = map[string]any{"Variables": map[string]any{"LADDER": []any{"720p"}}}
		}, "Properties.Environment.Variables.LADDER: want string, got a list"},
		{"missing required property", func(m map[string]any) { delete(fnProps(m), "Code") }, "required property Code is missing"},
		{"Fn::If branch of the wrong type", func(m map[string]any) {
			fnProps(m)["MemorySize"] = map[string]any{"Fn::If": []any{"Big", "huge", map[string]any{"Ref": "Memory"}}}
		}, "Properties.MemorySize (Fn::If branch 1): want number"},
		{"unknown resource type", func(m map[string]any) { resource(m, "Fn")["Type"] = "AWS::Lambda::Functoin" }, "resource type AWS::Lambda::Functoin is not in"},
		{"unknown resource attribute", func(m map[string]any) { resource(m, "Fn")["DependOn"] = "Role" }, "unknown resource attribute DependOn"},
		{"DependsOn a missing resource", func(m map[string]any) { resource(m, "Notify")["DependsOn"] = "Function" }, "DependsOn: no resource Function in the template"},
		{"bad deletion policy", func(m map[string]any) { resource(m, "Fn")["DeletionPolicy"] = "Keep" }, "DeletionPolicy: Keep is not one of"},
		{"custom resource without a service token", func(m map[string]any) {
			resource(m, "Notify")["Properties"] = map[string]any{"Managed": true}
		}, "Resources.Notify (Custom::S3BucketNotifications) Properties: required property ServiceToken is missing"},
		{"unknown section", func(m map[string]any) { m["Output"] = map[string]any{} }, "Output: not a template section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/valid.json")
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tc.change(m)
			b, err = json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			err = load(t).Check(b)
			if err == nil {
				t.Fatalf("accepted; want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got\n%v\nwant it to contain %q", err, tc.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("one change, %d problems reported:\n%v", n, err)
			}
		})
	}
}

func resource(m map[string]any, id string) map[string]any {
	return m["Resources"].(map[string]any)[id].(map[string]any)
}

func fnProps(m map[string]any) map[string]any {
	return resource(m, "Fn")["Properties"].(map[string]any)
}
