package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Managed CloudFront policies, by their fixed ids.
const (
	cachingDisabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHostHeader = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
)

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
// (Authorization: the stream key) forwarded, to an HTTP origin on the
// NLB's WHIP listener; the WHIP port open to CloudFront's prefix list
// only; and the API and the outputs handing out the HTTPS URL.
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
			if p := get(b, "OriginRequestPolicyId"); p != allViewerExceptHostHeader {
				t.Errorf("/whip/* origin request policy %v, want AllViewerExceptHostHeader (forwards Authorization)", p)
			}
			if v := get(b, "ViewerProtocolPolicy"); v != "https-only" {
				t.Errorf("/whip/* viewer protocol %v: the bearer token must not travel over HTTP", v)
			}
			if p := ref(get(b, "ResponseHeadersPolicyId")); p != "DeliveryApiHeaders" {
				t.Errorf("/whip/* response headers policy %s, want the security headers", p)
			}
			o := origins[get(b, "TargetOriginId").(string)]
			if ref(get(o, "DomainName")) != "LiveNlb.DNSName" || get(o, "CustomOriginConfig", "HTTPPort") != float64(whipPort) ||
				get(o, "CustomOriginConfig", "OriginProtocolPolicy") != "http-only" {
				t.Errorf("/whip/* origin %v, want the NLB's WHIP listener over HTTP", o)
			}

			rules := ingress(s)
			var toCloudFront bool
			for _, r := range rules {
				if r == fmt.Sprintf("LiveFromCloudFront prefix-list:LiveDeliveryCloudFrontPrefixList.PrefixLists.0.PrefixListId tcp %d-%d", whipPort, whipPort) {
					toCloudFront = true
				}
				if strings.HasSuffix(r, fmt.Sprintf(" 0.0.0.0/0 tcp %d-%d", whipPort, whipPort)) {
					t.Errorf("WHIP's HTTP is open to the internet: %s", r)
				}
			}
			if !toCloudFront {
				t.Errorf("no rule lets CloudFront's prefix list reach %d: %q", whipPort, rules)
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
