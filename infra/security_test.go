package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/live/whip"
)

// everything is a context with every optional protection and feature on,
// so cdk-nag and the checks below see the largest stack.
var everything = map[string]any{
	ctxUDPIngestCIDRs:   "203.0.113.7/32,198.51.100.0/24",
	ctxDomainName:       "video.example.com",
	ctxCertificateARN:   "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f",
	ctxBudgetMonthlyUSD: "50",
	ctxBudgetEmail:      "ops@example.com",
}

// The check above is not vacuous: an unguarded queue is reported, and a
// suppression with its reason silences exactly its rule.
func TestAwsSolutionsReportsFindings(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("NagControl"), nil)
	q := awssqs.NewQueue(stack, jsii.String("Plain"), nil)
	nagSuppress(q, nagRule{id: "AwsSolutions-SQS3", reason: "control: this one is accepted on purpose"})
	checkAwsSolutions(app)
	got := strings.Join(findings(stack, "AwsSolutions-"), "\n")
	if !strings.Contains(got, "AwsSolutions-SQS4") {
		t.Errorf("a queue without enforced TLS is not reported; findings:\n%s", got)
	}
	if strings.Contains(got, "AwsSolutions-SQS3") {
		t.Errorf("a suppressed rule is still reported:\n%s", got)
	}
}

// cdk-nag's AwsSolutions pack finds nothing that is not accepted in code,
// next to the resource, with a reason: no error and no warning, in the
// default stack, the largest one, with the WAF off, and locally.
func TestAwsSolutionsClean(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  map[string]any
	}{
		{"defaults", nil},
		{"everything", everything},
		{"waf off", map[string]any{ctxWAF: "false"}},
		{"local", map[string]any{ctxLocal: "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			if len(s.nag) > 0 {
				t.Errorf("%d unsuppressed cdk-nag findings:\n%s", len(s.nag), strings.Join(s.nag, "\n"))
			}
		})
	}
}

// The API's function URL refuses unsigned calls (AWS_IAM), and only this
// distribution's CloudFront may sign them: an OAC for Lambda on the /api/*
// origin and invoke permissions for cloudfront.amazonaws.com limited to
// the distribution. Nothing grants the URL to everyone.
func TestAPIOnlyThroughCloudFront(t *testing.T) {
	s := synth(t, nil)
	fnID := mustOne(t, s, "AWS::Lambda::Function", "ApiFunction")
	urlID, u := s.one(t, "AWS::Lambda::Url", "ApiFunction")
	if a := u.Properties["AuthType"]; a != "AWS_IAM" {
		t.Errorf("function URL AuthType %v, want AWS_IAM: a direct call must fail", a)
	}
	oacID, oac := s.one(t, "AWS::CloudFront::OriginAccessControl", "DeliveryDistributionOrigin2FunctionUrl")
	cfg := oac.Properties["OriginAccessControlConfig"]
	if get(cfg, "OriginAccessControlOriginType") != "lambda" || get(cfg, "SigningBehavior") != "always" || get(cfg, "SigningProtocol") != "sigv4" {
		t.Errorf("API OAC %v, want lambda/always/sigv4", cfg)
	}
	distID, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	dc := dist.Properties["DistributionConfig"]
	var apiOrigin string
	for _, b := range list(get(dc, "CacheBehaviors")) {
		if get(b, "PathPattern") == "/api/*" {
			apiOrigin, _ = get(b, "TargetOriginId").(string)
			fa := list(get(b, "FunctionAssociations"))
			if len(fa) != 1 || get(fa[0], "EventType") != "viewer-request" || !strings.HasPrefix(ref(get(fa[0], "FunctionARN")), "DeliveryApiRequest") {
				t.Errorf("/api/* function associations %v, want DeliveryApiRequest on viewer-request", fa)
			}
		}
	}
	var found bool
	for _, o := range list(get(dc, "Origins")) {
		if get(o, "Id") != apiOrigin {
			continue
		}
		found = true
		if got := ref(get(o, "OriginAccessControlId")); got != stripHash(oacID)+".Id" {
			t.Errorf("/api/* origin OAC %s, want %s", got, stripHash(oacID))
		}
		if !strings.Contains(fmt.Sprint(get(o, "DomainName")), stripHash(mustOne(t, s, "AWS::Lambda::Url", "ApiFunction"))) {
			t.Errorf("/api/* origin %v is not the function URL", get(o, "DomainName"))
		}
	}
	if !found {
		t.Fatalf("no origin %q for /api/*", apiOrigin)
	}

	var urlGrant, invokeGrant bool
	for id, p := range s.ofType("AWS::Lambda::Permission") {
		pr := p.Properties
		if pr["Principal"] == "*" || pr["FunctionUrlAuthType"] == "NONE" {
			t.Errorf("%s lets anyone call %v", id, ref(pr["FunctionName"]))
		}
		// CDK names the function through its URL's FunctionArn.
		if n := ref(pr["FunctionName"]); n != stripHash(fnID)+".Arn" && n != stripHash(urlID)+".FunctionArn" {
			continue
		}
		if pr["Principal"] != "cloudfront.amazonaws.com" {
			t.Errorf("%s: api may be invoked by %v", id, pr["Principal"])
			continue
		}
		if src := fmt.Sprint(pr["SourceArn"]); !strings.Contains(src, stripHash(distID)) {
			t.Errorf("%s: CloudFront's grant is not limited to the distribution: %s", id, src)
		}
		switch pr["Action"] {
		case "lambda:InvokeFunctionUrl":
			urlGrant = true
		case "lambda:InvokeFunction":
			invokeGrant = pr["InvokedViaFunctionUrl"] == true
		}
	}
	if !urlGrant || !invokeGrant {
		t.Errorf("CloudFront may InvokeFunctionUrl=%v, InvokeFunction via the URL=%v; want both", urlGrant, invokeGrant)
	}

	_, fn := s.one(t, "AWS::CloudFront::Function", "DeliveryApiRequest")
	if get(fn.Properties, "FunctionConfig", "Runtime") != "cloudfront-js-2.0" || fn.Properties["FunctionCode"] != apiRequestJS {
		t.Errorf("ApiRequest function runtime %v, code differs from apirequest.js: %v", get(fn.Properties, "FunctionConfig", "Runtime"), fn.Properties["FunctionCode"] != apiRequestJS)
	}
}

// apirequest.js, run by node on CloudFront-shaped events: the viewer's
// Authorization reaches the API as x-hlsflow-authorization (CloudFront's
// signature replaces Authorization itself), a viewer cannot set that
// header on its own, and a POST or PUT without the body hash CloudFront
// needs is refused with a message that says what to send.
func TestAPIRequestFunction(t *testing.T) {
	const hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	type hdrs map[string]string
	for _, tc := range []struct {
		name      string
		method    string
		in        hdrs
		status    float64 // 0: passed on to the origin
		forwarded any     // x-hlsflow-authorization at the origin (nil: absent)
	}{
		{"bearer kept", "GET", hdrs{"authorization": "Bearer tok"}, 0, "Bearer tok"},
		{"forged header dropped", "GET", hdrs{"x-hlsflow-authorization": "Bearer guess"}, 0, nil},
		{"forged header replaced", "DELETE", hdrs{"authorization": "Bearer a", "x-hlsflow-authorization": "Bearer b"}, 0, "Bearer a"},
		{"post with hash", "POST", hdrs{"authorization": "Bearer tok", "x-amz-content-sha256": hash}, 0, "Bearer tok"},
		{"post without hash", "POST", hdrs{"authorization": "Bearer tok"}, 400, nil},
		{"put with a bad hash", "PUT", hdrs{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, 400, nil},
		{"no credentials", "GET", hdrs{}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]any{}
			for k, v := range tc.in {
				h[k] = map[string]any{"value": v}
			}
			ev, _ := json.Marshal(map[string]any{"version": "1.0", "request": map[string]any{
				"method": tc.method, "uri": "/api/uploads", "querystring": map[string]any{}, "headers": h, "cookies": map[string]any{},
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
			if tc.status != 0 {
				if res["statusCode"] != tc.status || !strings.Contains(fmt.Sprint(get(res, "body", "data")), "x-amz-content-sha256") {
					t.Errorf("answer %v, want %v naming x-amz-content-sha256", res, tc.status)
				}
				return
			}
			if res["statusCode"] != nil {
				t.Fatalf("refused: %v", res)
			}
			if got := get(res, "headers", "x-hlsflow-authorization", "value"); got != tc.forwarded {
				t.Errorf("x-hlsflow-authorization at the origin %v, want %v", got, tc.forwarded)
			}
		})
	}
}

// Spend has ceilings: reserved concurrency (TestFunctions), the daily
// source quota's counters and nothing more when it is off, and an optional
// budget alarm.
func TestQuotaGrantOnlyWhenOn(t *testing.T) {
	off := synth(t, map[string]any{ctxDailySourceMinutes: "0"})
	for _, g := range off.grants(stripHash(mustOne(t, off, "AWS::IAM::Role", "OnDemandTranscodeServiceRole"))) {
		if strings.Contains(g, "_quota") || g == "Allow s3:ListBucket StorageMedia.Arn" {
			t.Errorf("quota off, but transcode may %s", g)
		}
	}
}

func TestBudgetAlarm(t *testing.T) {
	matches(t, "no budget by default", func() { synth(t, nil).tmpl.ResourceCountIs(jsii.String("AWS::Budgets::Budget"), jsii.Number(0)) })
	s := synth(t, everything)
	_, b := s.one(t, "AWS::Budgets::Budget", "Budget")
	if get(b.Properties, "Budget", "BudgetLimit", "Amount") != float64(50) || get(b.Properties, "Budget", "BudgetLimit", "Unit") != "USD" ||
		get(b.Properties, "Budget", "TimeUnit") != "MONTHLY" || get(b.Properties, "Budget", "BudgetType") != "COST" {
		t.Errorf("budget %v, want 50 USD monthly cost", get(b.Properties, "Budget"))
	}
	var got []string
	for _, n := range list(b.Properties["NotificationsWithSubscribers"]) {
		got = append(got, fmt.Sprintf("%v %v %v%% %v %v", get(n, "Notification", "NotificationType"), get(n, "Notification", "ComparisonOperator"),
			get(n, "Notification", "Threshold"), get(n, "Subscribers", 0, "SubscriptionType"), get(n, "Subscribers", 0, "Address")))
	}
	slices.Sort(got)
	if want := []string{"ACTUAL GREATER_THAN 80% EMAIL ops@example.com", "FORECASTED GREATER_THAN 100% EMAIL ops@example.com"}; !slices.Equal(got, want) {
		t.Errorf("budget notifications %q, want %q", got, want)
	}
}

// A WAF web ACL with a per-address rate limit is on the distribution by
// default; it can be turned off or replaced by an existing ACL.
func TestWebACL(t *testing.T) {
	s := synth(t, nil)
	aclID, acl := s.one(t, "AWS::WAFv2::WebACL", "DeliveryWebAcl")
	p := acl.Properties
	if p["Scope"] != "CLOUDFRONT" || get(p, "DefaultAction", "Allow") == nil {
		t.Errorf("web ACL scope %v default %v, want CLOUDFRONT allow", p["Scope"], p["DefaultAction"])
	}
	rules := list(p["Rules"])
	if len(rules) != 1 {
		t.Fatalf("rules %v, want the rate rule", rules)
	}
	rate := get(rules[0], "Statement", "RateBasedStatement")
	if get(rate, "Limit") != float64(3000) || get(rate, "AggregateKeyType") != "IP" || get(rate, "EvaluationWindowSec") != float64(300) || get(rules[0], "Action", "Block") == nil {
		t.Errorf("rate rule %v, action %v; want block over 3000 per IP in 300 s", rate, get(rules[0], "Action"))
	}
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	if got := ref(get(dist.Properties, "DistributionConfig", "WebACLId")); got != stripHash(aclID)+".Arn" {
		t.Errorf("distribution WebACLId %s, want the web ACL", got)
	}

	tuned := synth(t, map[string]any{ctxWAFRateLimit: "500"})
	_, acl = tuned.one(t, "AWS::WAFv2::WebACL", "DeliveryWebAcl")
	if l := get(list(acl.Properties["Rules"])[0], "Statement", "RateBasedStatement", "Limit"); l != float64(500) {
		t.Errorf("wafRateLimit=500 gave limit %v", l)
	}

	off := synth(t, map[string]any{ctxWAF: "false"})
	matches(t, "waf=false creates no ACL", func() { off.tmpl.ResourceCountIs(jsii.String("AWS::WAFv2::WebACL"), jsii.Number(0)) })
	_, dist = off.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	if v := get(dist.Properties, "DistributionConfig", "WebACLId"); v != nil {
		t.Errorf("waf=false, but WebACLId %v", v)
	}

	const arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"
	shared := synth(t, map[string]any{ctxWAFACLArn: arn})
	matches(t, "an existing ACL is used, not created", func() { shared.tmpl.ResourceCountIs(jsii.String("AWS::WAFv2::WebACL"), jsii.Number(0)) })
	_, dist = shared.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	if v := get(dist.Properties, "DistributionConfig", "WebACLId"); v != arn {
		t.Errorf("WebACLId %v, want %s", v, arn)
	}
}

// udpIngress lists the security groups' UDP (and all-protocol) ingress
// rules as "CIDR from-to", sorted.
func udpIngress(s *synthesized) []string {
	var out []string
	for _, sg := range s.ofType("AWS::EC2::SecurityGroup") {
		for _, r := range list(sg.Properties["SecurityGroupIngress"]) {
			if get(r, "IpProtocol") == "udp" || get(r, "IpProtocol") == "-1" {
				out = append(out, fmt.Sprintf("%v %v-%v", get(r, "CidrIp"), get(r, "FromPort"), get(r, "ToPort")))
			}
		}
	}
	for _, r := range s.ofType("AWS::EC2::SecurityGroupIngress") {
		if p := r.Properties["IpProtocol"]; p == "udp" || p == "-1" {
			out = append(out, fmt.Sprintf("%v %v-%v", r.Properties["CidrIp"], r.Properties["FromPort"], r.Properties["ToPort"]))
		}
	}
	slices.Sort(out)
	return out
}

// ingestEnv is the ingest container's environment.
func ingestEnv(t *testing.T, s *synthesized) map[string]string {
	t.Helper()
	_, task := s.one(t, "AWS::ECS::TaskDefinition", "LiveTask")
	m := map[string]string{}
	for _, e := range list(get(task.Properties, "ContainerDefinitions", 0, "Environment")) {
		m[get(e, "Name").(string)] = ref(get(e, "Value"))
	}
	return m
}

// UDP ingest has no key, so it is off unless the operator lists source
// networks: by default no listener, target group, security group rule or
// container port for it, and the ingest does not listen. The only UDP
// open by default are SRT's port and WHIP's ICE port, whose callers need
// a stream key (TestSRTIngest, TestWHIPIngest).
func TestUDPIngestOnlyFromListedNetworks(t *testing.T) {
	env := func(s *synthesized) map[string]string { return ingestEnv(t, s) }
	def := synth(t, nil)
	srtOnly := []string{fmt.Sprintf("0.0.0.0/0 %d-%d", whipICEPort, whipICEPort), fmt.Sprintf("0.0.0.0/0 %d-%d", srtPort, srtPort)}
	keyed := func(port any) bool { return port == float64(srtPort) || port == float64(whipICEPort) }
	if got := udpIngress(def); !slices.Equal(got, srtOnly) {
		t.Errorf("default security groups allow UDP from %q, want only SRT's and WHIP's %q", got, srtOnly)
	}
	for _, l := range def.ofType("AWS::ElasticLoadBalancingV2::Listener") {
		if l.Properties["Protocol"] != "TCP" && !keyed(l.Properties["Port"]) {
			t.Errorf("default NLB has a %v listener on %v", l.Properties["Protocol"], l.Properties["Port"])
		}
	}
	for _, g := range def.ofType("AWS::ElasticLoadBalancingV2::TargetGroup") {
		if g.Properties["Protocol"] == "UDP" && !keyed(g.Properties["Port"]) {
			t.Errorf("default stack has a UDP target group on %v", g.Properties["Port"])
		}
	}
	if v := env(def)["UDP_ADDR"]; v != "off" {
		t.Errorf("ingest UDP_ADDR=%q by default, want off", v)
	}
	_, task := def.one(t, "AWS::ECS::TaskDefinition", "LiveTask")
	for _, pm := range list(get(task.Properties, "ContainerDefinitions", 0, "PortMappings")) {
		if get(pm, "Protocol") == "udp" && !keyed(get(pm, "ContainerPort")) {
			t.Errorf("default container maps UDP port %v", get(pm, "ContainerPort"))
		}
	}
	matches(t, "no UdpAddress output by default", func() {
		if out := def.tmpl.FindOutputs(jsii.String("UdpAddress"), nil); len(*out) != 0 {
			t.Errorf("UdpAddress output %v", *out)
		}
	})

	on := synth(t, everything) // 203.0.113.7/32 and 198.51.100.0/24
	if got, want := udpIngress(on), append(srtOnly, "198.51.100.0/24 9000-9000", "203.0.113.7/32 9000-9000"); !slices.Equal(got, want) {
		t.Errorf("UDP ingress %q, want exactly %q", got, want)
	}
	var udpListener bool
	for _, l := range on.ofType("AWS::ElasticLoadBalancingV2::Listener") {
		udpListener = udpListener || (l.Properties["Protocol"] == "UDP" && l.Properties["Port"] == float64(udpPort))
	}
	if !udpListener || env(on)["UDP_ADDR"] != ":9000" {
		t.Errorf("with udpIngestCidrs: UDP listener %v, UDP_ADDR %q; want a listener and :9000", udpListener, env(on)["UDP_ADDR"])
	}
}

// SRT is on by default, like RTMP: its callers need a stream key, checked
// in the handshake. The default stack has the NLB's SRT listener, the
// security group's rule (TestUDPIngestOnlyFromListedNetworks pins it as
// the only UDP open), the task's port and the ingest listening;
// TestLiveIngest checks where the listener forwards.
func TestSRTIngest(t *testing.T) {
	s := synth(t, nil)
	_, lis := s.one(t, "AWS::ElasticLoadBalancingV2::Listener", "LiveNlbSrt")
	if lis.Properties["Protocol"] != "UDP" || lis.Properties["Port"] != float64(srtPort) {
		t.Errorf("SRT listener %v/%v, want UDP/%d", lis.Properties["Protocol"], lis.Properties["Port"], srtPort)
	}
	_, task := s.one(t, "AWS::ECS::TaskDefinition", "LiveTask")
	var mapped bool
	for _, pm := range list(get(task.Properties, "ContainerDefinitions", 0, "PortMappings")) {
		mapped = mapped || (get(pm, "Protocol") == "udp" && get(pm, "ContainerPort") == float64(srtPort))
	}
	if !mapped {
		t.Errorf("the container does not map %d/udp", srtPort)
	}
	if v := ingestEnv(t, s)["SRT_ADDR"]; v != fmt.Sprintf(":%d", srtPort) {
		t.Errorf("ingest SRT_ADDR=%q, want :%d", v, srtPort)
	}
	matches(t, "SrtUrl output", func() { s.tmpl.HasOutput(jsii.String("SrtUrl"), &map[string]any{}) })
}

// WHIP is on by default, like RTMP: an offer needs the stream key before
// any WebRTC work. The default stack has the private origin's listener for
// the endpoint (TCP), the public NLB's for its ICE ports (UDP, TCP), the
// task's ports, and the ingest told to announce its own public IP (found
// with ec2:DescribeNetworkInterfaces, in its region only, and suppressed
// for cdk-nag with a reason), the NLB's addresses as the fallback; the ICE
// ports are open to the internet on the tasks themselves.
func TestWHIPIngest(t *testing.T) {
	s := synth(t, nil)
	for id, want := range map[string]struct {
		proto string
		port  int
	}{"LiveDeliveryNlbWhip": {"TCP", whipPort}, "LiveNlbWhipUdp": {"UDP", whipICEPort}, "LiveNlbWhipTcp": {"TCP", whipICETCPPort}} {
		_, lis := s.one(t, "AWS::ElasticLoadBalancingV2::Listener", id)
		if lis.Properties["Protocol"] != want.proto || lis.Properties["Port"] != float64(want.port) {
			t.Errorf("%s listener %v/%v, want %s/%d", id, lis.Properties["Protocol"], lis.Properties["Port"], want.proto, want.port)
		}
	}
	env := ingestEnv(t, s)
	for k, v := range map[string]string{"WHIP_ADDR": ":8080", "WHIP_ICE_ADDR": ":8189", "WHIP_ICE_TCP_ADDR": ":8190",
		"WHIP_PUBLIC_IPS": "ecs", "WHIP_PUBLIC_HOST": "LiveNlb.DNSName"} {
		if env[k] != v {
			t.Errorf("ingest %s=%q, want %q", k, env[k], v)
		}
	}
	roleID, _ := s.one(t, "AWS::IAM::Role", "LiveTaskTaskRole")
	if !slices.Contains(s.grants(stripHash(roleID)), noResourceForm) {
		t.Errorf("the task role lacks %q", noResourceForm)
	}
	matches(t, "the nag suppression of DescribeNetworkInterfaces", func() {
		s.tmpl.HasResource(jsii.String("AWS::IAM::Policy"), &map[string]any{
			"Metadata": assertions.Match_ObjectLike(&map[string]any{"cdk_nag": assertions.Match_ObjectLike(&map[string]any{
				"rules_to_suppress": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"id": "AwsSolutions-IAM5", "reason": assertions.Match_StringLikeRegexp(jsii.String("ec2:DescribeNetworkInterfaces")),
					"applies_to": assertions.Match_ArrayWith(&[]any{"Resource::*"}),
				})}),
			})}),
		})
	})
	for _, rule := range []struct {
		proto string
		port  int
	}{{"udp", whipICEPort}, {"tcp", whipICETCPPort}} {
		matches(t, fmt.Sprintf("ICE %s/%d open on the tasks", rule.proto, rule.port), func() {
			s.tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), &map[string]any{
				"SecurityGroupIngress": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"CidrIp": "0.0.0.0/0", "IpProtocol": rule.proto, "FromPort": float64(rule.port), "ToPort": float64(rule.port),
				})}),
			})
		})
	}
	matches(t, "WhipUrl output", func() { s.tmpl.HasOutput(jsii.String("WhipUrl"), &map[string]any{}) })
}

// No Lambda environment and no task environment holds a secret value: the
// API token and the stream-key secret are named by ARN (or injected by
// ECS from Secrets Manager), and the infra code unwraps one secret only:
// the front secret, whose dynamic reference (resolved by CloudFormation,
// never a value in the template) is CloudFront's WHIP origin header, the
// one place in the template that refers to a secret's value.
func TestNoSecretInAnyEnvironment(t *testing.T) {
	secretName := regexp.MustCompile(`(?i)token|secret|password|key`)
	for _, ctx := range []map[string]any{nil, everything} {
		s := synth(t, ctx)
		secrets := map[string]bool{}
		for id := range s.ofType("AWS::SecretsManager::Secret") {
			secrets[stripHash(id)] = true
		}
		check := func(where, name string, v any) {
			raw, _ := json.Marshal(v)
			if strings.Contains(string(raw), "resolve:secretsmanager") || strings.Contains(string(raw), "resolve:ssm-secure") {
				t.Errorf("%s: %s holds a secret value %s", where, name, raw)
			}
			if secretName.MatchString(name) && !(strings.HasSuffix(name, "_ARN") && secrets[ref(v)]) {
				t.Errorf("%s: %s=%s looks like a secret; only a secret's ARN may be passed", where, name, raw)
			}
		}
		for id, fn := range s.ofType("AWS::Lambda::Function") {
			vars, _ := get(fn.Properties, "Environment", "Variables").(map[string]any)
			for k, v := range vars {
				check(id, k, v)
			}
		}
		for id, td := range s.ofType("AWS::ECS::TaskDefinition") {
			for _, c := range list(td.Properties["ContainerDefinitions"]) {
				for _, e := range list(get(c, "Environment")) {
					check(id, get(e, "Name").(string), get(e, "Value"))
				}
			}
		}
		if _, ok := secrets["ApiToken"]; !ok {
			t.Errorf("no ApiToken secret in %v", sortedKeys(secrets))
		}
		tmpl, _ := json.Marshal(s.tmpl.ToJSON())
		var inHeaders int
		_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
		for _, o := range list(get(dist.Properties, "DistributionConfig", "Origins")) {
			for _, h := range list(get(o, "OriginCustomHeaders")) {
				if v := ref(get(h, "HeaderValue")); strings.Contains(v, "resolve:secretsmanager") {
					inHeaders++
					if get(h, "HeaderName") != whip.FrontSecretHeader || v != "{{resolve:secretsmanager:LiveDeliveryFrontSecret:SecretString:::}}" {
						t.Errorf("origin header %v refers to a secret", h)
					}
				}
			}
		}
		if n := strings.Count(string(tmpl), "resolve:secretsmanager"); n != 1 || inHeaders != 1 {
			t.Errorf("%d references to a secret's value in the template, %d in the WHIP origin's header; want that one alone", n, inHeaders)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n, allowed := strings.Count(string(b), "UnsafeUnwrap("), map[string]int{"livedelivery.go": 1}[f]; n > allowed {
			t.Errorf("%s unwraps a secret into the template %d times (%d allowed)", f, n, allowed)
		}
	}
}

// Access logs: the uploads and media buckets and CloudFront log into the
// logs bucket, which expires them and does not log itself; the VPC's flow
// logs go there too.
func TestAccessLogs(t *testing.T) {
	s := synth(t, nil)
	logsID, logs := s.one(t, "AWS::S3::Bucket", "StorageLogs")
	for _, tc := range []struct{ bucket, prefix string }{{"StorageUploads", uploadsLogPrefix}, {"StorageMedia", mediaLogPrefix}} {
		_, b := s.one(t, "AWS::S3::Bucket", tc.bucket)
		lc := b.Properties["LoggingConfiguration"]
		if ref(get(lc, "DestinationBucketName")) != stripHash(logsID) || get(lc, "LogFilePrefix") != tc.prefix {
			t.Errorf("%s logs to %v, want %s with prefix %s", tc.bucket, lc, stripHash(logsID), tc.prefix)
		}
	}
	if lc := logs.Properties["LoggingConfiguration"]; lc != nil {
		t.Errorf("the logs bucket logs itself: %v", lc)
	}
	var expire any
	for _, r := range list(get(logs.Properties, "LifecycleConfiguration", "Rules")) {
		if v := get(r, "ExpirationInDays"); v != nil {
			expire = v
		}
	}
	if expire != float64(30) {
		t.Errorf("logs expire after %v days, want logRetentionDays (30)", expire)
	}
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	lg := get(dist.Properties, "DistributionConfig", "Logging")
	if !strings.HasPrefix(ref(get(lg, "Bucket")), stripHash(logsID)) || get(lg, "Prefix") != cloudFrontLogPrefix {
		t.Errorf("CloudFront logging %v, want the logs bucket under %s", lg, cloudFrontLogPrefix)
	}
	_, fl := s.one(t, "AWS::EC2::FlowLog", "LiveVpc")
	if !strings.Contains(ref(fl.Properties["LogDestination"]), stripHash(logsID)) || fl.Properties["TrafficType"] != "ALL" {
		t.Errorf("flow log to %v (%v), want the logs bucket, all traffic", ref(fl.Properties["LogDestination"]), fl.Properties["TrafficType"])
	}
}

// Viewers: TLS 1.2 at least with a custom domain (the default certificate
// cannot), and security headers on every response.
func TestViewerTLSAndSecurityHeaders(t *testing.T) {
	viewerCert := func(s *synthesized) any {
		_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
		return get(dist.Properties, "DistributionConfig", "ViewerCertificate")
	}
	if vc := viewerCert(synth(t, nil)); vc != nil && get(vc, "CloudFrontDefaultCertificate") != true {
		t.Errorf("default viewer certificate %v", vc)
	}
	s := synth(t, everything)
	vc := viewerCert(s)
	if get(vc, "AcmCertificateArn") != everything[ctxCertificateARN] || get(vc, "MinimumProtocolVersion") != "TLSv1.2_2021" || get(vc, "SslSupportMethod") != "sni-only" {
		t.Errorf("viewer certificate %v, want the ACM certificate with TLSv1.2_2021, SNI", vc)
	}
	_, dist := s.one(t, "AWS::CloudFront::Distribution", "DeliveryDistribution")
	if a := list(get(dist.Properties, "DistributionConfig", "Aliases")); !slices.Equal(a, []any{"video.example.com"}) {
		t.Errorf("aliases %v", a)
	}

	dc := get(dist.Properties, "DistributionConfig")
	behaviours := append([]any{get(dc, "DefaultCacheBehavior")}, list(get(dc, "CacheBehaviors"))...)
	for _, b := range behaviours {
		id := ref(get(b, "ResponseHeadersPolicyId"))
		name := fmt.Sprint(get(b, "PathPattern"))
		want := "DeliveryHeaders"
		if name == "/api/*" || name == "/whip/*" {
			want = "DeliveryApiHeaders"
		}
		if id != want {
			t.Errorf("%s: response headers policy %s, want %s", name, id, want)
			continue
		}
		_, rhp := s.one(t, "AWS::CloudFront::ResponseHeadersPolicy", id)
		sh := get(rhp.Properties, "ResponseHeadersPolicyConfig", "SecurityHeadersConfig")
		for _, c := range []struct {
			path []any
			want any
		}{
			{[]any{"StrictTransportSecurity", "AccessControlMaxAgeSec"}, float64(63072000)},
			{[]any{"StrictTransportSecurity", "Override"}, true},
			{[]any{"ContentTypeOptions", "Override"}, true},
			{[]any{"FrameOptions", "FrameOption"}, "DENY"},
			{[]any{"ContentSecurityPolicy", "ContentSecurityPolicy"}, contentSecurityPolicy},
			{[]any{"ReferrerPolicy", "ReferrerPolicy"}, "strict-origin-when-cross-origin"},
		} {
			if got := get(sh, c.path...); got != c.want {
				t.Errorf("%s: %v = %v, want %v", name, c.path, got, c.want)
			}
		}
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'none'") || !strings.Contains(contentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("CSP %q must allow nothing and no framing", contentSecurityPolicy)
	}
}
