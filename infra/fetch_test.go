package main

import "testing"

// The fetch function reaches the internet, never the deployment's own
// networks: no VPC. It records its failures itself, so Lambda does not
// retry it, and the API knows it by name.
func TestFetchFunction(t *testing.T) {
	s := synth(t, nil)
	id, fn := s.one(t, "AWS::Lambda::Function", "FetchFunction")
	if v := fn.Properties["VpcConfig"]; v != nil {
		t.Errorf("fetch runs in a VPC: %v", v)
	}
	found := false
	for _, c := range s.ofType("AWS::Lambda::EventInvokeConfig") {
		if ref(get(c.Properties, "FunctionName")) == stripHash(id) {
			found = true
			if r := c.Properties["MaximumRetryAttempts"]; r != float64(0) {
				t.Errorf("fetch retried %v times", r)
			}
		}
	}
	if !found {
		t.Error("no async invoke config for fetch")
	}
	_, api := s.one(t, "AWS::Lambda::Function", "ApiFunction")
	if got := ref(get(api.Properties, "Environment", "Variables", "FETCH_FUNCTION")); got != stripHash(id) {
		t.Errorf("api FETCH_FUNCTION = %q, want the fetch function", got)
	}
	// Without the api there is nothing to start fetches: no fetch function.
	s = synth(t, map[string]any{ctxFunctions: "transcode,fetch"})
	if n := len(s.ofType("AWS::Lambda::Function")); n == 0 {
		t.Fatal("no functions")
	}
	for id := range s.ofType("AWS::Lambda::Function") {
		if stripHash(id) == "FetchFunction" {
			t.Error("fetch deployed without the api")
		}
	}
}
