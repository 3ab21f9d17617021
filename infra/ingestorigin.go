package main

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// originSubnets are the VPC's isolated subnets (no route to the internet
// either way, no NAT): the private origin's load balancer lives there.
const originSubnets = "origin"

// IngestOrigin is how CloudFront reaches the ingest's HTTP (WHIP and,
// with lowLatency, LL-HLS): an internal NLB in the isolated subnets that
// CloudFront enters as a VPC origin, over AWS's network. The stream key
// in WHIP's Authorization header never crosses the internet in clear,
// and nothing outside the VPC can reach those ports at all.
type IngestOrigin struct {
	LoadBalancer elbv2.NetworkLoadBalancer
	// WHIP and Live are the NLB's groups: CloudFront's managed prefix
	// list on one port each (the list weighs 55 of a group's 60 rules).
	// Live is nil unless lowLatency.
	WHIP, Live awsec2.SecurityGroup
}

// ingestHealthCheck is how the NLBs check a task: the ingest's /healthz.
func ingestHealthCheck() *elbv2.HealthCheck {
	return &elbv2.HealthCheck{
		Protocol:                elbv2.Protocol_HTTP,
		Port:                    jsii.String(strconv.Itoa(healthPort)),
		Path:                    jsii.String(healthPath),
		Interval:                awscdk.Duration_Seconds(jsii.Number(10)),
		HealthyThresholdCount:   jsii.Number(2),
		UnhealthyThresholdCount: jsii.Number(2),
	}
}

// newIngestOrigin builds the internal NLB in front of l's tasks, its
// listeners (WHIP, and LL-HLS with lowLatency) and the rules that let
// CloudFront's VPC origin in, and only that NLB on to the tasks.
// prefixList is CloudFront's origin-facing managed prefix list.
func newIngestOrigin(s constructs.Construct, cfg Config, l *Live, prefixList *string) *IngestOrigin {
	o := &IngestOrigin{}
	group := func(id, what string, port int) awsec2.SecurityGroup {
		g := awsec2.NewSecurityGroup(s, jsii.String(id), &awsec2.SecurityGroupProps{
			Vpc:              l.Vpc,
			Description:      jsii.String("hlsflow private origin: " + what + " from the CloudFront VPC origin only"),
			AllowAllOutbound: jsii.Bool(false),
		})
		g.AddIngressRule(awsec2.Peer_PrefixList(prefixList), awsec2.Port_Tcp(jsii.Number(float64(port))), jsii.String(what+" from CloudFront"), nil)
		// On to the tasks, and their health checks.
		for _, p := range []int{port, healthPort} {
			g.AddEgressRule(awsec2.Peer_Ipv4(l.Vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(float64(p))), jsii.String("to the ingest tasks"), nil)
		}
		return g
	}
	o.WHIP = group("WhipSg", "WHIP", whipPort)
	groups := []awsec2.ISecurityGroup{o.WHIP}
	if cfg.LowLatency {
		o.Live = group("LiveSg", "LL-HLS", liveOriginPort)
		groups = append(groups, o.Live)
	}
	o.LoadBalancer = elbv2.NewNetworkLoadBalancer(s, jsii.String("Nlb"), &elbv2.NetworkLoadBalancerProps{
		Vpc:              l.Vpc,
		InternetFacing:   jsii.Bool(false),
		CrossZoneEnabled: jsii.Bool(true),
		VpcSubnets:       &awsec2.SubnetSelection{SubnetGroupName: jsii.String(originSubnets)},
		SecurityGroups:   &groups,
	})
	nagSuppress(o.LoadBalancer, nagRule{id: "AwsSolutions-ELB2", reason: "an NLB writes access logs only for TLS listeners; this internal one has plain TCP listeners reached only by CloudFront's VPC origin, and the VPC flow logs record its connections"})
	listen := func(name string, port int, from awsec2.SecurityGroup, into awsec2.SecurityGroup) {
		ln := o.LoadBalancer.AddListener(jsii.String(name), &elbv2.BaseNetworkListenerProps{
			Port: jsii.Number(float64(port)), Protocol: elbv2.Protocol_TCP,
		})
		ln.AddTargets(jsii.String(name), &elbv2.AddNetworkTargetsProps{
			Port:                jsii.Number(float64(port)),
			Protocol:            elbv2.Protocol_TCP,
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(deregistrationSeconds)),
			HealthCheck:         ingestHealthCheck(),
			// The tasks see the NLB's address, which their groups admit;
			// the publisher's is in CloudFront-Viewer-Address.
			PreserveClientIp: jsii.Bool(false),
			Targets: &[]elbv2.INetworkLoadBalancerTarget{l.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
				ContainerName: jsii.String(ingestContainer), ContainerPort: jsii.Number(float64(port)), Protocol: awsecs.Protocol_TCP,
			})},
		})
		into.AddIngressRule(awsec2.Peer_SecurityGroupId(from.SecurityGroupId(), nil), awsec2.Port_Tcp(jsii.Number(float64(port))),
			jsii.String("from the private origin NLB"), nil)
	}
	listen("Whip", whipPort, o.WHIP, l.FromCloudFront)
	if cfg.LowLatency {
		listen("LiveOrigin", liveOriginPort, o.Live, l.LiveFromCloudFront)
	}
	return o
}
