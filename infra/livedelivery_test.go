package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/live/whip"
)

// The managed CachingDisabled policy, by its fixed id.
const cachingDisabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

// privateOrigin checks that o is a VPC origin on port of the internal
// NLB (ingestorigin.go), over HTTP inside AWS's network, and returns it.
func privateOrigin(t *testing.T, s *synthesized, o any, port int) {
	t.Helper()
	if get(o, "CustomOriginConfig") != nil || ref(get(o, "DomainName")) != "LiveDeliveryNlb.DNSName" {
		t.Errorf("origin %v, want the private origin NLB as a VPC origin", o)
	}
	id := ref(get(o, "VpcOriginConfig", "VpcOriginId"))
	var found bool
	for lid, vo := range s.ofType("AWS::CloudFront::VpcOrigin") {
		if stripHash(lid)+".Id" != id {
			continue
		}
		found = true
		c := vo.Properties["VpcOriginEndpointConfig"]
		if ref(get(c, "Arn")) != "LiveDeliveryNlb" || get(c, "HTTPPort") != float64(port) || get(c, "OriginProtocolPolicy") != "http-only" {
			t.Errorf("VPC origin %v, want the internal NLB's port %d", c, port)
		}
	}
	if !found {
		t.Errorf("origin %v names no VPC origin of the stack", o)
	}
}

// behaviours are the distribution's cache behaviours by path pattern, in
// order (CloudFront's precedence), and its origins by id.
func behaviours(t *testing.T, s *synthesized) (order []string, byPath map[string]any, origins map[string]any) {
	t.Helper()
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	dc := dist.Properties["DistributionConfig"]
	byPath, origins = map[string]any{}, map[string]any{}
	for _, b := range list(get(dc, "CacheBehaviors")) {
		p := get(b, "PathPattern").(string)
		order = append(order, p)
		byPath[p] = b
	}
	for _, o := range list(get(dc, "Origins")) {
		origins[get(o, "Id").(string)] = o
	}
	for _, g := range list(get(dc, "OriginGroups", "Items")) {
		origins[get(g, "Id").(string)] = g
	}
	return order, byPath, origins
}

// ingress lists every ingress rule of the stack's security groups (inline
// or separate) as "group source proto from-to".
func ingress(s *synthesized) []string {
	var out []string
	add := func(group string, r any) {
		src := ref(get(r, "CidrIp"))
		if p := get(r, "SourcePrefixListId"); p != nil {
			src = "prefix-list:" + ref(p)
		}
		if g := get(r, "SourceSecurityGroupId"); g != nil {
			src = "sg:" + ref(g)
		}
		out = append(out, fmt.Sprintf("%s %s %v %v-%v", group, src, get(r, "IpProtocol"), get(r, "FromPort"), get(r, "ToPort")))
	}
	for id, sg := range s.ofType("AWS::EC2::SecurityGroup") {
		for _, r := range list(sg.Properties["SecurityGroupIngress"]) {
			add(stripHash(id), r)
		}
	}
	for _, r := range s.ofType("AWS::EC2::SecurityGroupIngress") {
		add(strings.TrimSuffix(ref(r.Properties["GroupId"]), ".GroupId"), r.Properties)
	}
	slices.Sort(out)
	return out
}

// WHIP reaches the ingest through CloudFront over HTTPS: a /whip/*
// behaviour with every method WHIP uses, no caching, the viewer's headers
// (Authorization: the stream key) and address forwarded, to a VPC origin
// on the internal NLB's WHIP listener with the front secret added; the
// WHIP port open to CloudFront's prefix list on that NLB only, and on the
// tasks to that NLB only; and the API and the outputs handing out the
// HTTPS URL.
func TestWHIPThroughCloudFront(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
		url  string
	}{
		{"default domain", nil, "https://DeliveryDistribution.DomainName/whip"},
		{"custom domain", everything, "https://video.example.com/whip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			_, byPath, origins := behaviours(t, s)
			b := byPath["/whip/*"]
			if b == nil {
				t.Fatalf("no /whip/* behaviour (have %v)", sortedKeys(byPath))
			}
			methods := list(get(b, "AllowedMethods"))
			for _, m := range []string{"POST", "DELETE", "OPTIONS", "PATCH", "GET"} {
				if !slices.Contains(methods, any(m)) {
					t.Errorf("/whip/* allows %v, not %s", methods, m)
				}
			}
			if p := get(b, "CachePolicyId"); p != cachingDisabled {
				t.Errorf("/whip/* cache policy %v, want CachingDisabled", p)
			}
			if p := ref(get(b, "OriginRequestPolicyId")); p != "LiveDeliveryWhipRequests" {
				t.Errorf("/whip/* origin request policy %v, want LiveDeliveryWhipRequests", p)
			}
			_, orp := s.one(t, "AWS::CloudFront::OriginRequestPolicy", "LiveDeliveryWhipRequests")
			hc := get(orp.Properties, "OriginRequestPolicyConfig", "HeadersConfig")
			if get(hc, "HeaderBehavior") != "allViewerAndWhitelistCloudFront" || fmt.Sprint(get(hc, "Headers")) != "[CloudFront-Viewer-Address]" {
				t.Errorf("WHIP forwards headers %v, want every viewer header (Authorization) and CloudFront-Viewer-Address", hc)
			}
			if v := get(b, "ViewerProtocolPolicy"); v != "https-only" {
				t.Errorf("/whip/* viewer protocol %v: the bearer token must not travel over HTTP", v)
			}
			if p := ref(get(b, "ResponseHeadersPolicyId")); p != "DeliveryApiHeaders" {
				t.Errorf("/whip/* response headers policy %s, want the security headers", p)
			}
			o := origins[get(b, "TargetOriginId").(string)]
			privateOrigin(t, s, o, whipPort)
			// The secret is a dynamic reference to its Secrets Manager
			// secret: the template never holds the value.
			hs := list(get(o, "OriginCustomHeaders"))
			if len(hs) != 1 || get(hs[0], "HeaderName") != whip.FrontSecretHeader ||
				ref(get(hs[0], "HeaderValue")) != "{{resolve:secretsmanager:LiveDeliveryFrontSecret:SecretString:::}}" {
				t.Errorf("/whip/* origin headers %v, want %s from the FrontSecret secret", hs, whip.FrontSecretHeader)
			}

			var want []string
			for _, r := range ingress(s) {
				if strings.Contains(r, fmt.Sprintf("tcp %d-%d", whipPort, whipPort)) {
					want = append(want, r)
				}
			}
			if exp := []string{
				"LiveDeliveryWhipSg prefix-list:LiveDeliveryCloudFrontPrefixList.PrefixLists.0.PrefixListId tcp 8080-8080",
				"LiveFromCloudFront sg:LiveDeliveryWhipSg.GroupId tcp 8080-8080",
			}; !slices.Equal(want, exp) {
				t.Errorf("rules to WHIP's HTTP %q, want CloudFront to the private NLB and that NLB to the tasks, only: %q", want, exp)
			}
			_, svc := s.one(t, "AWS::ECS::Service", "LiveService")
			var groups []string
			for _, g := range list(get(svc.Properties, "NetworkConfiguration", "AwsvpcConfiguration", "SecurityGroups")) {
				groups = append(groups, ref(g))
			}
			if !slices.Contains(groups, "LiveFromCloudFront.GroupId") {
				t.Errorf("the service's security groups %v leave out CloudFront's", groups)
			}
			_, pl := s.one(t, "Custom::AWS", "LiveDeliveryCloudFrontPrefixList")
			if c := fmt.Sprint(pl.Properties["Create"]); !strings.Contains(c, cloudFrontOriginFacing) || !strings.Contains(c, "describeManagedPrefixLists") {
				t.Errorf("prefix list lookup %s", c)
			}

			_, api := s.one(t, "AWS::Lambda::Function", "ApiFunction")
			// A path, completed by the API with the distribution's host
			// the client used (internal/api, viewerURL).
			if got := ref(get(api.Properties, "Environment", "Variables", "WHIP_URL")); got != "/whip" {
				t.Errorf("API WHIP_URL %q, want /whip", got)
			}
			out := s.tmpl.ToJSON()
			if got := ref(get(*out, "Outputs", "WhipUrl", "Value")); got != tc.url {
				t.Errorf("WhipUrl output %q, want %q", got, tc.url)
			}
		})
	}
}

// With lowLatency (the default) CloudFront sends a live rendition's
// playlist, parts and init sections (what internal/edge routes) to the
// ingest's origin listener, falling back to the bucket, with the LL-HLS
// query strings and nothing else in the cache key and the ingest's
// Cache-Control deciding; only CloudFront and the other tasks reach that
// port; each task learns its own address from the ECS metadata and may
// keep the records of who holds which stream. lowLatency=false has none
// of it.
func TestLowLatencyThroughCloudFront(t *testing.T) {
	s := synth(t, nil)
	order, byPath, origins := behaviours(t, s)
	pos := func(p string) int { return slices.Index(order, p) }
	for _, p := range llhlsPatterns {
		t.Run(p.path, func(t *testing.T) {
			b := byPath[p.path]
			if b == nil {
				t.Fatalf("no %s behaviour (have %v)", p.path, order)
			}
			for _, later := range []string{"*.m3u8", "*.m4s", "*.mp4"} {
				if pos(p.path) > pos(later) {
					t.Errorf("%s comes after %s, which would take its requests (order %v)", p.path, later, order)
				}
			}
			if got := ref(get(b, "CachePolicyId")); got != "LiveDeliveryLowLatency" {
				t.Errorf("cache policy %s, want LiveDeliveryLowLatency", got)
			}
			if get(b, "Compress") != p.compress {
				t.Errorf("Compress %v, want %v", get(b, "Compress"), p.compress)
			}
			if m := list(get(b, "AllowedMethods")); slices.Contains(m, any("POST")) {
				t.Errorf("allowed methods %v, want GET/HEAD/OPTIONS", m)
			}
			g := origins[get(b, "TargetOriginId").(string)]
			members := list(get(g, "Members", "Items"))
			if len(members) != 2 {
				t.Fatalf("origin %v, want a group of the ingest and the bucket", g)
			}
			primary, fallback := origins[get(members[0], "OriginId").(string)], origins[get(members[1], "OriginId").(string)]
			privateOrigin(t, s, primary, liveOriginPort)
			if get(primary, "ConnectionTimeout") != float64(2) || get(primary, "ConnectionAttempts") != float64(1) ||
				get(primary, "VpcOriginConfig", "OriginReadTimeout") != float64(15) {
				t.Errorf("primary origin %v, want a 2 s connect, one attempt and a 15 s read", primary)
			}
			if ref(get(fallback, "DomainName")) != "StorageMedia.RegionalDomainName" || get(fallback, "OriginAccessControlId") == nil {
				t.Errorf("fallback origin %v, want the media bucket through OAC", fallback)
			}
			var codes []float64
			for _, c := range list(get(g, "FailoverCriteria", "StatusCodes", "Items")) {
				codes = append(codes, c.(float64))
			}
			slices.Sort(codes)
			if !slices.Equal(codes, []float64{404, 500, 502, 503, 504}) {
				t.Errorf("falls back to the bucket on %v, want 404 and 5xx", codes)
			}
		})
	}
	for _, p := range []string{"/live/*/master.m3u8", "/live/*/*.ts", "/vod/*"} {
		if byPath[p] != nil {
			t.Errorf("%s is routed apart: only rendition playlists, parts and init sections go to the ingest", p)
		}
	}

	_, pol := s.one(t, "AWS::CloudFront::CachePolicy", "LiveDeliveryLowLatency")
	pc := pol.Properties["CachePolicyConfig"]
	key := get(pc, "ParametersInCacheKeyAndForwardedToOrigin")
	if q := get(key, "QueryStringsConfig", "QueryStringBehavior"); q != "whitelist" {
		t.Errorf("query strings %v, want an allow list", q)
	}
	var qs []string
	for _, q := range list(get(key, "QueryStringsConfig", "QueryStrings")) {
		qs = append(qs, q.(string))
	}
	slices.Sort(qs)
	if !slices.Equal(qs, []string{"_HLS_msn", "_HLS_part", "_HLS_skip"}) {
		t.Errorf("query strings in the key %v, want exactly _HLS_msn, _HLS_part, _HLS_skip", qs)
	}
	if get(key, "HeadersConfig", "HeaderBehavior") != "none" || get(key, "CookiesConfig", "CookieBehavior") != "none" {
		t.Errorf("cache key %v: headers or cookies would split it", key)
	}
	if get(pc, "MinTTL") != float64(0) || get(pc, "DefaultTTL") != float64(0) || get(pc, "MaxTTL") != float64(60) {
		t.Errorf("TTL min %v default %v max %v, want 0 0 60: the ingest's Cache-Control decides", get(pc, "MinTTL"), get(pc, "DefaultTTL"), get(pc, "MaxTTL"))
	}

	env := ingestEnv(t, s)
	for k, v := range map[string]string{"LOW_LATENCY": "on", "LIVE_ADDR": ":8082", "LIVE_ORIGIN_URL": "ecs", "HEALTH_ADDR": ":8081"} {
		if env[k] != v {
			t.Errorf("ingest %s=%q, want %q", k, env[k], v)
		}
	}
	rules := ingress(s)
	for _, want := range []string{
		"LiveDeliveryLiveSg prefix-list:LiveDeliveryCloudFrontPrefixList.PrefixLists.0.PrefixListId tcp 8082-8082",
		"LiveLiveFromCloudFront sg:LiveDeliveryLiveSg.GroupId tcp 8082-8082",
		"LiveIngestSg LiveVpc.CidrBlock tcp 8082-8082", // tasks forward to the holder
		"LiveIngestSg LiveVpc.CidrBlock tcp 8081-8081", // health checks
	} {
		if !slices.Contains(rules, want) {
			t.Errorf("no rule %q in %q", want, rules)
		}
	}
	for _, r := range rules {
		if strings.Contains(r, "0.0.0.0/0 tcp 808") || (strings.Contains(r, "prefix-list") && (strings.Contains(r, "8081") || strings.HasPrefix(r, "Live") && !strings.HasPrefix(r, "LiveDelivery"))) {
			t.Errorf("%s: the ingest's HTTP is open beyond CloudFront's private origin and the VPC", r)
		}
	}
	_, svc := s.one(t, "AWS::ECS::Service", "LiveService")
	var groups []string
	for _, g := range list(get(svc.Properties, "NetworkConfiguration", "AwsvpcConfiguration", "SecurityGroups")) {
		groups = append(groups, ref(g))
	}
	if !slices.Contains(groups, "LiveLiveFromCloudFront.GroupId") {
		t.Errorf("the service's security groups %v leave out the LL-HLS one", groups)
	}

	off := synth(t, map[string]any{ctxLowLatency: "false"})
	_, offPaths, _ := behaviours(t, off)
	for _, p := range llhlsPatterns {
		if offPaths[p.path] != nil {
			t.Errorf("lowLatency=false still routes %s to the ingest", p.path)
		}
	}
	if offPaths["/whip/*"] == nil {
		t.Error("lowLatency=false dropped WHIP")
	}
	offEnv := ingestEnv(t, off)
	for _, k := range []string{"LOW_LATENCY", "LIVE_ADDR", "LIVE_ORIGIN_URL"} {
		if v, ok := offEnv[k]; ok {
			t.Errorf("lowLatency=false: ingest %s=%q", k, v)
		}
	}
	for _, l := range off.ofType("AWS::ElasticLoadBalancingV2::Listener") {
		if l.Properties["Port"] == float64(liveOriginPort) {
			t.Error("lowLatency=false: a listener on the LL-HLS port")
		}
	}
	for _, r := range ingress(off) {
		if strings.Contains(r, "8082") {
			t.Errorf("lowLatency=false: %s", r)
		}
	}
}
