package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/playsign"
)

// With signed playback, /p/* (path-token grants) is served through the
// PlaybackToken function, which is internal/playsign's JS with its key
// value store, ahead of the patterns that would otherwise take those
// paths; its cache policies key on the path alone (the function strips
// the token), so every grant shares the cache; and the API can sign:
// the two secrets readable, their ARNs and the public key's ID in its
// environment. Without signed playback none of it exists.
func TestPlaybackTokenBehaviours(t *testing.T) {
	s := synth(t, map[string]any{ctxSignedPlayback: "true", ctxSigningPublicKey: testPublicKey, ctxAllowedOrigins: "https://app.example.com"})
	fnID, fn := s.one(t, "AWS::CloudFront::Function", "DeliveryPlaybackToken")
	if get(fn.Properties, "FunctionConfig", "Runtime") != "cloudfront-js-2.0" || fn.Properties["FunctionCode"] != playsign.FunctionJS {
		t.Errorf("PlaybackToken runtime %v, or its code is not playsign.FunctionJS", get(fn.Properties, "FunctionConfig", "Runtime"))
	}
	kvsID, _ := s.one(t, "AWS::CloudFront::KeyValueStore", "DeliveryPlaybackTokenKeys")
	if assoc := list(get(fn.Properties, "FunctionConfig", "KeyValueStoreAssociations")); len(assoc) != 1 || ref(get(assoc[0], "KeyValueStoreARN")) != stripHash(kvsID)+".Arn" {
		t.Errorf("key value store associations %v, want the PlaybackTokenKeys store", assoc)
	}
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	var order []string
	want := map[string]string{"/p/*.m3u8": "DeliveryPlaylists", "/p/*": "DeliveryObjects"}
	for _, p := range segmentPatterns {
		want["/p/"+p] = "DeliverySegments"
	}
	for _, b := range list(get(dist.Properties, "DistributionConfig", "CacheBehaviors")) {
		p := get(b, "PathPattern").(string)
		order = append(order, p)
		policy, ok := want[p]
		if !ok {
			continue
		}
		delete(want, p)
		if get(b, "TrustedKeyGroups") != nil {
			t.Errorf("%s: trusted key groups: a path token carries no CloudFront signature", p)
		}
		fa := list(get(b, "FunctionAssociations"))
		if len(fa) != 1 || get(fa[0], "EventType") != "viewer-request" || ref(get(fa[0], "FunctionARN")) != stripHash(fnID)+".FunctionARN" {
			t.Errorf("%s: function associations %v, want PlaybackToken on viewer-request", p, fa)
		}
		if got := ref(get(b, "CachePolicyId")); got != policy {
			t.Errorf("%s: cache policy %s, want %s", p, got, policy)
		}
		if get(b, "ViewerProtocolPolicy") != "redirect-to-https" || ref(get(b, "ResponseHeadersPolicyId")) != "DeliveryHeaders" {
			t.Errorf("%s: viewer protocol %v, headers %v", p, get(b, "ViewerProtocolPolicy"), get(b, "ResponseHeadersPolicyId"))
		}
	}
	if len(want) != 0 {
		t.Errorf("no behaviour for %v", want)
	}
	// CloudFront takes the first pattern that matches: /p/x.m3u8 must not
	// reach *.m3u8, which has the key group and no function.
	if i, j := slices.Index(order, "/p/*"), slices.Index(order, "*.m3u8"); i < 0 || j < 0 || i > j {
		t.Errorf("behaviour order %v: /p/* must come before *.m3u8", order)
	}
	for _, id := range []string{"DeliveryPlaylists", "DeliverySegments", "DeliveryObjects"} {
		_, pol := s.one(t, "AWS::CloudFront::CachePolicy", id)
		k := get(pol.Properties, "CachePolicyConfig", "ParametersInCacheKeyAndForwardedToOrigin")
		if get(k, "QueryStringsConfig", "QueryStringBehavior") != "none" || get(k, "CookiesConfig", "CookieBehavior") != "none" || get(k, "HeadersConfig", "HeaderBehavior") != "none" {
			t.Errorf("%s keys on %v: grants would split the cache", id, k)
		}
	}

	_, api := s.one(t, "AWS::Lambda::Function", "ApiFunction")
	env, _ := get(api.Properties, "Environment", "Variables").(map[string]any)
	for name, want := range map[string]string{
		lambdaspec.PlaybackKeyARN:    "ApiFunctionPlaybackSigningKey",
		lambdaspec.PlaybackTokenARN:  "ApiFunctionPlaybackTokenKey",
		lambdaspec.PlaybackKeyPairID: "DeliveryPlaybackKey",
	} {
		if got := ref(env[name]); !strings.HasPrefix(got, want) {
			t.Errorf("api env %s = %s, want a reference to %s", name, got, want)
		}
	}
	role, _ := s.one(t, "AWS::IAM::Role", "ApiFunctionServiceRole")
	grants := strings.Join(s.grants(stripHash(role)), "\n")
	for _, sec := range []string{"ApiFunctionPlaybackSigningKey", "ApiFunctionPlaybackTokenKey"} {
		if !strings.Contains(grants, "secretsmanager:GetSecretValue "+sec) {
			t.Errorf("the API cannot read %s:\n%s", sec, grants)
		}
	}

	outputs := s.tmpl.ToJSON()
	for _, o := range []string{"PlaybackSigningKeySecretArn", "PlaybackTokenKeySecretArn", "PlaybackTokenKeysArn"} {
		if get(*outputs, "Outputs", o) == nil {
			t.Errorf("no output %s: the operator needs it to set up signing (README.md)", o)
		}
	}

	plain := synth(t, nil)
	if n := len(plain.ofType("AWS::CloudFront::KeyValueStore")); n != 0 {
		t.Errorf("%d key value stores without signed playback", n)
	}
	_, plainAPI := plain.one(t, "AWS::Lambda::Function", "ApiFunction")
	if env, _ := get(plainAPI.Properties, "Environment", "Variables").(map[string]any); env[lambdaspec.PlaybackKeyARN] != nil {
		t.Error("playback keys without signed playback")
	}
}

// apirequest.js passes the viewer's Host to the API (which signs grants
// for it) and drops one a viewer sent under that name.
func TestAPIRequestViewerHost(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]string
		want any
	}{
		{"host passed on", map[string]string{"host": "d111.cloudfront.net"}, "d111.cloudfront.net"},
		{"forged replaced", map[string]string{"host": "d111.cloudfront.net", "x-hlsflow-viewer-host": "evil.example"}, "d111.cloudfront.net"},
		{"forged without host dropped", map[string]string{"x-hlsflow-viewer-host": "evil.example"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]any{}
			for k, v := range tc.in {
				h[k] = map[string]any{"value": v}
			}
			ev, _ := json.Marshal(map[string]any{"version": "1.0", "request": map[string]any{
				"method": "GET", "uri": "/api/videos", "querystring": map[string]any{}, "headers": h, "cookies": map[string]any{},
			}})
			harness := apiRequestJS + "\nprocess.stdout.write(JSON.stringify(handler(JSON.parse(process.argv[1]))));"
			out, err := exec.Command("node", "-e", harness, string(ev)).Output()
			if err != nil {
				t.Fatalf("node: %v", err)
			}
			var res map[string]any
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if got := get(res, "headers", "x-hlsflow-viewer-host", "value"); got != tc.want {
				t.Errorf("x-hlsflow-viewer-host at the origin %v, want %v", got, tc.want)
			}
		})
	}
}
