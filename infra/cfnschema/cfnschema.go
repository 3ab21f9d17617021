// Package cfnschema checks a CloudFormation template's resources against
// CloudFormation's own resource specification, as goformation ships it (a
// JSON schema generated from the published specification, plus CDK's
// metadata resource): every property name of every resource, at every
// depth, must exist and hold the right kind of value. CDK's typed constructs cannot write a wrong name,
// but escape hatches (AddPropertyOverride, raw Cfn props) can, and
// CloudFormation would only say so in the middle of a deploy.
package cfnschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/schema"
)

// Source names the specification the checks use, for messages.
const Source = "CloudFormation's resource specification of 2024-04 (goformation v7.14.9)"

// node is one JSON schema object, with the keywords goformation's schema
// uses for resources.
type node struct {
	Ref                  string           `json:"$ref"`
	Type                 typeList         `json:"type"`
	Properties           map[string]*node `json:"properties"`
	PatternProperties    map[string]*node `json:"patternProperties"`
	AdditionalProperties *bool            `json:"additionalProperties"`
	Required             []string         `json:"required"`
	Items                *node            `json:"items"`
}

// typeList is JSON schema's "type": one name or a list of names.
type typeList []string

func (t *typeList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = typeList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*t = many
	return nil
}

// Schema holds the resource definitions, by type name ("AWS::S3::Bucket")
// and property type name ("AWS::S3::Bucket.CorsRule").
type Schema struct {
	defs map[string]*node
}

// Load parses the specification once per process (about 8 MB of JSON) and
// adds the properties AWS published after it (additions.go).
var Load = sync.OnceValues(func() (*Schema, error) {
	var doc struct {
		Definitions map[string]*node `json:"definitions"`
	}
	if err := json.Unmarshal([]byte(schema.CdkSchema), &doc); err != nil {
		return nil, fmt.Errorf("read %s: %w", Source, err)
	}
	s := &Schema{defs: doc.Definitions}
	for typ, n := range newTypes {
		if _, dup := s.defs[typ]; dup {
			return nil, fmt.Errorf("new type %s: already in %s; remove it from the additions", typ, Source)
		}
		if !strings.Contains(typ, ".") {
			// A resource type: its definition holds Properties.
			n = &node{Type: typeList{"object"}, Properties: map[string]*node{"Properties": n}}
		}
		s.defs[typ] = n
	}
	for typ, props := range additions {
		d := s.properties(typ)
		if d == nil {
			return nil, fmt.Errorf("addition to %s: no such resource or property type in %s", typ, Source)
		}
		for name, a := range props {
			if _, dup := d.Properties[name]; dup {
				return nil, fmt.Errorf("addition %s.%s: already in %s; remove it from the additions", typ, name, Source)
			}
			d.Properties[name] = a
		}
	}
	return s, nil
})

// properties returns the object schema holding typ's properties: a
// resource's Properties, or a property type itself.
func (s *Schema) properties(typ string) *node {
	d, ok := s.defs[typ]
	if !ok {
		return nil
	}
	if strings.Contains(typ, ".") {
		return d
	}
	return d.Properties["Properties"]
}

// resource attributes CloudFormation accepts on every resource.
var attributes = []string{"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy", "CreationPolicy", "Metadata"}

// sections a template may have.
var sections = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs"}

var (
	logicalID = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	policies  = []string{"Delete", "Retain", "Snapshot", "RetainExceptOnCreate"}
)

// Check validates a template (JSON) and returns every problem found, each
// naming the resource, the property path and what is allowed.
func (s *Schema) Check(template []byte) error {
	var doc map[string]any
	if err := json.Unmarshal(template, &doc); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	c := &checker{schema: s}
	for k := range doc {
		if !slices.Contains(sections, k) {
			c.fail(k, "not a template section (allowed: %s)", strings.Join(sections, ", "))
		}
	}
	resources, ok := doc["Resources"].(map[string]any)
	if !ok || len(resources) == 0 {
		c.fail("Resources", "missing or empty")
	}
	for _, id := range sortedKeys(resources) {
		c.resource(id, resources[id], resources)
	}
	return errors.Join(c.errs...)
}

type checker struct {
	schema *Schema
	errs   []error
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (c *checker) resource(id string, v any, all map[string]any) {
	path := "Resources." + id
	if !logicalID.MatchString(id) {
		c.fail(path, "logical id must be letters and digits")
	}
	r, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "want an object, got %s", kind(v))
		return
	}
	typ, _ := r["Type"].(string)
	if typ == "" {
		c.fail(path, "no Type")
		return
	}
	path += " (" + typ + ")"
	for _, k := range sortedKeys(r) {
		if !slices.Contains(attributes, k) {
			c.fail(path, "unknown resource attribute %s (allowed: %s)", k, strings.Join(attributes, ", "))
		}
	}
	for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		if p, ok := r[k]; ok && !slices.Contains(policies, fmt.Sprint(p)) {
			c.fail(path+" "+k, "%v is not one of %s", p, strings.Join(policies, ", "))
		}
	}
	for _, dep := range dependsOn(r["DependsOn"]) {
		if _, ok := all[dep]; !ok {
			c.fail(path+" DependsOn", "no resource %s in the template", dep)
		}
	}
	props, _ := r["Properties"].(map[string]any)
	if _, has := r["Properties"]; has && props == nil {
		c.fail(path+" Properties", "want an object, got %s", kind(r["Properties"]))
		return
	}
	def := typ
	if strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
		// Its properties are the provider's: only ServiceToken is fixed.
		def = "CustomResource"
	}
	n := c.schema.properties(def)
	if n == nil {
		c.fail(path, "resource type %s is not in %s", typ, Source)
		return
	}
	if props == nil {
		props = map[string]any{}
	}
	c.value(path+" Properties", props, n)
}

// dependsOn returns DependsOn's logical ids (a string or a list).
func dependsOn(v any) []string {
	switch d := v.(type) {
	case string:
		return []string{d}
	case []any:
		out := make([]string, 0, len(d))
		for _, x := range d {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// value checks v against n. Intrinsic functions ({"Ref": …},
// {"Fn::GetAtt": …}) stand for a value known only at deploy time and are
// accepted anywhere, except that both branches of Fn::If are checked.
func (c *checker) value(path string, v any, n *node) {
	for n.Ref != "" {
		name := strings.TrimPrefix(n.Ref, "#/definitions/")
		d, ok := c.schema.defs[name]
		if !ok {
			c.fail(path, "the specification refers to a missing %s", name)
			return
		}
		n = d
	}
	if fn, arg, ok := intrinsic(v); ok {
		if a, isList := arg.([]any); fn == "Fn::If" && isList && len(a) == 3 {
			for i, branch := range a[1:] {
				if !isNoValue(branch) {
					c.value(fmt.Sprintf("%s (Fn::If branch %d)", path, i+1), branch, n)
				}
			}
		}
		return
	}
	if len(n.Type) > 0 && !slices.ContainsFunc(n.Type, func(t string) bool { return fits(v, t) }) {
		c.fail(path, "want %s, got %s", strings.Join(n.Type, " or "), describe(v))
		return
	}
	switch x := v.(type) {
	case map[string]any:
		c.object(path, x, n)
	case []any:
		if n.Items != nil {
			for i, e := range x {
				c.value(fmt.Sprintf("%s[%d]", path, i), e, n.Items)
			}
		}
	}
}

func (c *checker) object(path string, v map[string]any, n *node) {
	// A map type (string keys, every value of one type) is written by
	// goformation as additionalProperties: true plus one pattern whose
	// schema is the value type; its keys are free, its values are not.
	var mapValue *node
	if (n.AdditionalProperties == nil || *n.AdditionalProperties) && len(n.Properties) == 0 && len(n.PatternProperties) == 1 {
		for _, p := range n.PatternProperties {
			mapValue = p
		}
	}
	for _, k := range sortedKeys(v) {
		p := path + "." + k
		switch {
		case mapValue != nil:
			c.value(p, v[k], mapValue)
		case n.Properties[k] != nil:
			c.value(p, v[k], n.Properties[k])
		case n.AdditionalProperties != nil && !*n.AdditionalProperties:
			c.fail(p, "unknown property%s", suggest(k, n.Properties))
		}
	}
	for _, r := range n.Required {
		if _, ok := v[r]; !ok {
			c.fail(path, "required property %s is missing", r)
		}
	}
}

// intrinsic reports whether v is a one-key object naming an intrinsic
// function, and returns the function and its argument.
func intrinsic(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, arg := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, arg, true
		}
	}
	return "", nil, false
}

func isNoValue(v any) bool {
	fn, arg, ok := intrinsic(v)
	return ok && fn == "Ref" && arg == "AWS::NoValue"
}

var numeric = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// fits reports whether v is of the schema type t. Scalars are converted as
// CloudFormation converts them: a number or boolean is a valid string, a
// numeric string a valid number, "true"/"false" a valid boolean. What it
// cannot convert (an object for a string, a word for a number, a list for
// an object) does not fit.
func fits(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		switch v.(type) {
		case string, float64, bool:
			return true
		}
	case "number", "integer":
		switch x := v.(type) {
		case float64:
			return t == "number" || x == float64(int64(x))
		case string:
			return numeric.MatchString(x)
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
			return true
		case string:
			return x == "true" || x == "false"
		}
	}
	return false
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%s %q", kind(v), abbreviate(x))
	case float64, bool:
		return fmt.Sprintf("%s %v", kind(v), x)
	}
	return kind(v)
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// suggest names the closest allowed property, or lists them all.
func suggest(name string, allowed map[string]*node) string {
	names := sortedKeys(allowed)
	best, bestD := "", 4
	for _, a := range names {
		if d := distance(strings.ToLower(name), strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	if best != "" {
		return " (did you mean " + best + "?)"
	}
	if len(names) == 0 {
		return " (it takes none)"
	}
	return " (allowed: " + strings.Join(names, ", ") + ")"
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
