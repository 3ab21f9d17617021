package main

import (
	"testing"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
)

// The stack and `hlsflow up --functions zip` agree on what each function
// gets: internal/lambdaspec names every variable the stack may set, and
// holds the timeouts and default memory. A variable added to the stack
// but not there (or the other way round) fails here, so the local
// emulator never runs a function with a variable AWS would not give it.
func TestFunctionsMatchLambdaspec(t *testing.T) {
	specs := map[string]lambdaspec.Spec{
		"OnDemandTranscode": lambdaspec.Transcode, "OnDemandEncode": lambdaspec.Encode, "ApiFunction": lambdaspec.API,
		"FetchFunction":  lambdaspec.Fetch,
		"WebhooksSender": lambdaspec.Webhooks,
	}
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{
		{"defaults", nil},
		// Every optional variable set (the same context as TestFunctions').
		{"options", map[string]any{ctxTranscodeConc: "3", ctxEncodeConc: "7", ctxDailySourceMinutes: "90",
			ctxPublicLibrary: "true", ctxSignedPlayback: "true", ctxSigningPublicKey: testPublicKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			seen := map[string]bool{}
			for id, r := range s.ofType("AWS::Lambda::Function") {
				name := stripHash(id)
				spec, ok := specs[name]
				if !ok {
					continue
				}
				seen[name] = true
				vars, _ := get(r.Properties, "Environment", "Variables").(map[string]any)
				for k := range vars {
					if !spec.Sets(k) {
						t.Errorf("%s: the stack sets %s, which internal/lambdaspec does not list", name, k)
					}
				}
				for _, k := range spec.Env {
					if _, ok := vars[k]; !ok {
						t.Errorf("%s: internal/lambdaspec says the stack sets %s; it does not", name, k)
					}
				}
				if tc.ctx == nil {
					if m := r.Properties["MemorySize"]; m != float64(spec.MemoryMB) {
						t.Errorf("%s: memory %v, lambdaspec %d", name, m, spec.MemoryMB)
					}
					tmp := float64(512) // Lambda's default when the stack sets none
					if es, ok := get(r.Properties, "EphemeralStorage", "Size").(float64); ok {
						tmp = es
					}
					if tmp != float64(spec.TmpMB) {
						t.Errorf("%s: /tmp %v MiB, lambdaspec %d", name, tmp, spec.TmpMB)
					}
				}
				if to := r.Properties["Timeout"]; to != spec.Timeout.Seconds() {
					t.Errorf("%s: timeout %v, lambdaspec %v", name, to, spec.Timeout)
				}
			}
			if len(seen) != len(specs) {
				t.Errorf("functions found %v, want %d", seen, len(specs))
			}
		})
	}
}
