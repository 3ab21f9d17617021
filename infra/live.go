package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Ports of the ingest task; the NLB listens on the same ones.
const (
	rtmpPort = 1935
	srtPort  = 8890 // UDP
	udpPort  = 9000
	// WHIP (internal/live/whip): the endpoint's HTTP, and the ICE ports
	// every WebRTC session's media shares. An NLB cannot listen on one
	// number for UDP and TCP apart, so ICE-TCP has the next one.
	whipPort       = 8080
	whipICEPort    = 8189 // UDP
	whipICETCPPort = 8190
	healthPort     = 8081
	// liveOriginPort serves LL-HLS playlists and parts alone (LIVE_ADDR),
	// to CloudFront and the other tasks: the health port also answers
	// /streams, which names publishers' addresses.
	liveOriginPort = 8082
	healthPath     = "/healthz"
	// stopTimeoutSeconds is Fargate's maximum: the time between SIGTERM and
	// SIGKILL in which the ingest writes ENDLIST and copies the recording.
	stopTimeoutSeconds = 120
	ingestStopSeconds  = 100
	// deregistrationSeconds lets publishers on a draining task finish or
	// reconnect elsewhere before ECS sends SIGTERM.
	deregistrationSeconds = 60
	ingestContainer       = "ingest"
)

// What the ingest task may write in the media bucket (see NewLive).
const (
	livePattern      = "live/*"
	recordingPattern = "vod/*-????????-??????/*"
	// A stream's restream destinations (read; the API writes them) and
	// their states (written; the API reads them): catalog.RestreamKey and
	// RestreamStateKey.
	restreamPattern      = "streams-meta/*.restream.json"
	restreamStatePattern = "streams-meta/*.restream-state.json"
	// Which task holds a low-latency stream (catalog.LiveOriginKey):
	// written, read and removed by the tasks (internal/live/ingest, holder.go).
	liveOriginPattern = "streams-meta/*.origin.json"
)

// dockerExclude allow-lists the ingest image's build context (Docker
// ignore syntax): the Go module and the packages services/ingest builds
// from. Everything else in the tree (binaries, dist/, node_modules, the
// other areas) stays out of the upload and out of the asset hash, so
// unrelated changes do not rebuild the image.
var dockerExclude = []string{"*", "!go.mod", "!go.sum", "!internal", "!services", "**/testdata", "**/*_test.go", "**/node_modules"}

// Live is the RTMP / SRT / MPEG-TS ingest on Fargate behind a Network Load
// Balancer.
type Live struct {
	Vpc          awsec2.Vpc
	Service      awsecs.FargateService
	LoadBalancer elbv2.NetworkLoadBalancer
	StreamSecret awssecretsmanager.Secret
	RTMPListener elbv2.NetworkListener
	RTMPTargets  elbv2.NetworkTargetGroup // the tasks, health-checked (monitoring's ingest alarm)
	SRTListener  elbv2.NetworkListener
	UDPListener  elbv2.NetworkListener // nil unless udpIngestCidrs is set
	TaskRole     awsiam.IRole
	// FromCloudFront is the tasks' second security group: what CloudFront
	// may reach, through the private origin (rules in ingestorigin.go);
	// LiveFromCloudFront the third,
	// for the LL-HLS origin port, nil unless lowLatency.
	FromCloudFront, LiveFromCloudFront awsec2.SecurityGroup
}

// NewLive creates the VPC (public subnets only: the tasks get public IPs to
// reach S3, so there is no NAT gateway to pay for), the cluster, the
// service and the load balancer.
func NewLive(scope constructs.Construct, cfg Config, st *Storage) *Live {
	s := constructs.NewConstruct(scope, jsii.String("Live"))
	l := &Live{}
	l.Vpc = awsec2.NewVpc(s, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name:       jsii.String("public"),
			SubnetType: awsec2.SubnetType_PUBLIC,
			CidrMask:   jsii.Number(24),
		}, {
			// CloudFront's private way in (ingestorigin.go).
			Name:       jsii.String(originSubnets),
			SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED,
			CidrMask:   jsii.Number(24),
		}},
	})
	// Flow logs record who reached the ingest (and who was refused) in the
	// logs bucket; at a few publishers they cost next to nothing.
	l.Vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToS3(st.Logs, jsii.String(vpcLogPrefix), nil),
		TrafficType: awsec2.FlowLogTrafficType_ALL,
	})
	cluster := awsecs.NewCluster(s, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: l.Vpc})
	nagSuppress(cluster, nagRule{id: "AwsSolutions-ECS4", reason: "one service of one container: its logs, /healthz and the NLB's target health cover it, and Container Insights adds per-metric charges"})

	// The HMAC secret stream keys are derived from (internal/live/keys):
	// a plain string, injected into the task as STREAM_KEY_SECRET.
	l.StreamSecret = awssecretsmanager.NewSecret(s, jsii.String("StreamKeySecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("hlsflow live stream-key HMAC secret"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
	nagSuppress(l.StreamSecret, nagRule{id: "AwsSolutions-SMG4", reason: "rotated by the operator (infra/README.md, Rotating secrets): a new value invalidates every stream key handed out, which must not happen on a schedule"})

	// UDP ingest has no key: the first sender claims the stream. So it
	// exists only for the networks the operator lists; without a list the
	// ingest does not even listen ("off", internal/live/ingest).
	udp := len(cfg.UDPIngestCIDRs) > 0
	udpAddr := "off"
	// SRT, like RTMP, is open to every network: a caller is rejected in
	// the handshake, before its connection exists, unless it sends a valid
	// stream key, and connections are capped per address
	// (services/ingest/README.md).
	ports := []*awsecs.PortMapping{
		{ContainerPort: jsii.Number(rtmpPort), Protocol: awsecs.Protocol_TCP},
		{ContainerPort: jsii.Number(srtPort), Protocol: awsecs.Protocol_UDP},
		{ContainerPort: jsii.Number(whipPort), Protocol: awsecs.Protocol_TCP},
		{ContainerPort: jsii.Number(whipICEPort), Protocol: awsecs.Protocol_UDP},
		{ContainerPort: jsii.Number(whipICETCPPort), Protocol: awsecs.Protocol_TCP},
		{ContainerPort: jsii.Number(healthPort), Protocol: awsecs.Protocol_TCP},
	}
	if cfg.LowLatency {
		ports = append(ports, &awsecs.PortMapping{ContainerPort: jsii.Number(liveOriginPort), Protocol: awsecs.Protocol_TCP})
	}
	if udp {
		udpAddr = fmt.Sprintf(":%d", udpPort)
		ports = append(ports, &awsecs.PortMapping{ContainerPort: jsii.Number(udpPort), Protocol: awsecs.Protocol_UDP})
	}

	cpuArch, platform := awsecs.CpuArchitecture_ARM64(), awsecrassets.Platform_LINUX_ARM64()
	if cfg.Arch == "x86_64" {
		cpuArch, platform = awsecs.CpuArchitecture_X86_64(), awsecrassets.Platform_LINUX_AMD64()
	}
	task := awsecs.NewFargateTaskDefinition(s, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(float64(cfg.IngestCPU)),
		MemoryLimitMiB: jsii.Number(float64(cfg.IngestMemory)),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       cpuArch,
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	l.TaskRole = task.TaskRole()
	logs := awslogs.NewLogGroup(s, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     retentionDays(cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	container := task.AddContainer(jsii.String("Ingest"), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(ingestContainer),
		// Synth only stages the build context; Docker runs at deploy.
		Image: awsecs.ContainerImage_FromAsset(jsii.String(cfg.IngestContext), &awsecs.AssetImageProps{
			File:       jsii.String(cfg.IngestDockerfile),
			Platform:   platform,
			Exclude:    jsii.Strings(dockerExclude...),
			IgnoreMode: awscdk.IgnoreMode_DOCKER,
		}),
		Environment: &map[string]*string{
			"MEDIA_BUCKET": st.Media.BucketName(),
			"DVR_WINDOW":   jsii.String(cfg.DVRWindow.String()),
			// The ingest's own finalising deadline, inside ECS's.
			"STOP_TIMEOUT": jsii.String(fmt.Sprintf("%ds", ingestStopSeconds)),
			"RTMP_ADDR":    jsii.String(fmt.Sprintf(":%d", rtmpPort)),
			"SRT_ADDR":     jsii.String(fmt.Sprintf(":%d", srtPort)),
			// Each task announces its own public IP in WHIP's candidates
			// (the ENI's, found at start: internal/taskip), so a
			// session's media goes straight to the task that answered
			// its offer, whichever task the NLB gave the offer to.
			// WHIP_PUBLIC_HOST (the NLB's name, the fallback) is added
			// with the NLB.
			"WHIP_PUBLIC_IPS":   jsii.String("ecs"), // ingest.WHIPPublicFromECS
			"WHIP_ADDR":         jsii.String(fmt.Sprintf(":%d", whipPort)),
			"WHIP_ICE_ADDR":     jsii.String(fmt.Sprintf(":%d", whipICEPort)),
			"WHIP_ICE_TCP_ADDR": jsii.String(fmt.Sprintf(":%d", whipICETCPPort)),
			"UDP_ADDR":          jsii.String(udpAddr),
			// The app checks the same list as the security group, so a
			// datagram the network lets through by mistake still cannot
			// claim the UDP stream.
			"UDP_ALLOW":   jsii.String(strings.Join(cfg.UDPIngestCIDRs, ",")),
			"HEALTH_ADDR": jsii.String(fmt.Sprintf(":%d", healthPort)),
		},
		Secrets: &map[string]awsecs.Secret{
			"STREAM_KEY_SECRET": awsecs.Secret_FromSecretsManager(l.StreamSecret, nil),
		},
		PortMappings: &ports,
		StopTimeout:  awscdk.Duration_Seconds(jsii.Number(stopTimeoutSeconds)),
		Logging: awsecs.LogDrivers_AwsLogs(&awsecs.AwsLogDriverProps{
			StreamPrefix: jsii.String("ingest"),
			LogGroup:     logs,
		}),
	})
	// What internal/live/publish writes, and nothing else (it only ever
	// PUTs whole objects): live playlists under live/{stream}/, and the
	// recording under vod/{stream}-{YYYYMMDD}-{HHMMSS}/ (publish.RecordingID),
	// whose segments the live playlists also point at. The recording
	// pattern cannot match an uploaded video's id, which ends in 12 hex
	// digits after its last dash (catalog.VideoID), nor a rung folder
	// ("1080p", "audio"), so the task cannot overwrite on-demand videos; it
	// can still overwrite another recording, as stream names are free.
	task.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteLive"),
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(livePattern))),
	}))
	task.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteRecordings"),
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(recordingPattern))),
	}))
	task.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadRestream"),
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(restreamPattern))),
	}))
	task.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteRestreamState"),
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*st.Media.ArnForObjects(jsii.String(restreamStatePattern))),
	}))
	// The task's own public IP for WHIP (internal/taskip): its network
	// interface's public IP association. DescribeNetworkInterfaces has no
	// resource-level form; it is read-only and held to the stack's region.
	task.AddToTaskRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("FindPublicIp"),
		Actions:    jsii.Strings("ec2:DescribeNetworkInterfaces"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": awscdk.Aws_REGION()}},
	}))

	lowLatencyGrants(task, cfg, st, container)
	// After every grant: a suppression reaches only children that exist.
	nagSuppress(task,
		nagRule{id: "AwsSolutions-ECS2", reason: "the environment holds addresses, the bucket name and timings; the one secret (STREAM_KEY_SECRET) comes from Secrets Manager through the container's secrets"},
		nagRule{id: "AwsSolutions-IAM5", reason: "the execution role's ecr:GetAuthorizationToken has no resource-level form (CDK's grant), nor has the task role's ec2:DescribeNetworkInterfaces (read-only, held to the stack's region: the task finds its own public IP for WHIP); the task role may PUT live playlists and recordings, the narrowest keys their layout allows (see the grants)",
			appliesTo: []string{"Resource::*", objectsIn("StorageMedia", livePattern), objectsIn("StorageMedia", recordingPattern),
				objectsIn("StorageMedia", restreamPattern), objectsIn("StorageMedia", restreamStatePattern), objectsIn("StorageMedia", liveOriginPattern)}})

	sg := awsec2.NewSecurityGroup(s, jsii.String("IngestSg"), &awsec2.SecurityGroupProps{
		Vpc:              l.Vpc,
		Description:      jsii.String("hlsflow ingest: RTMP and SRT from anywhere, MPEG-TS over UDP from the listed networks, health from the VPC"),
		AllowAllOutbound: jsii.Bool(true),
	})
	// The NLB keeps client addresses for IP targets, so publishers' traffic
	// arrives from the internet, not from the load balancer.
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(rtmpPort)), jsii.String("RTMP"), nil)
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Udp(jsii.Number(srtPort)), jsii.String("SRT"), nil)
	// WHIP's ICE ports answer only sessions created by an offer with the
	// stream key; the offer itself (whipPort) comes through CloudFront
	// over HTTPS only (livedelivery.go). The media comes to the task's own
	// public IP (WHIP_PUBLIC_IPS=ecs), or through the NLB in the fallback.
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Udp(jsii.Number(whipICEPort)), jsii.String("WHIP media (ICE)"), nil)
	sg.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(whipICETCPPort)), jsii.String("WHIP media (ICE-TCP)"), nil)
	for _, cidr := range cfg.UDPIngestCIDRs {
		sg.AddIngressRule(awsec2.Peer_Ipv4(jsii.String(cidr)), awsec2.Port_Udp(jsii.Number(udpPort)), jsii.String("MPEG-TS over UDP from "+cidr), nil)
	}
	sg.AddIngressRule(awsec2.Peer_Ipv4(l.Vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(healthPort)), jsii.String("NLB health checks"), nil)
	if cfg.LowLatency {
		// A task forwards a request for a stream another task holds
		// there (internal/live/ingest, holder.go).
		sg.AddIngressRule(awsec2.Peer_Ipv4(l.Vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(liveOriginPort)), jsii.String("LL-HLS between tasks"), nil)
	}
	nagSuppress(sg, nagRule{id: "AwsSolutions-EC23", reason: "RTMP, SRT and WHIP media publishers connect from anywhere (encoders and browsers on any network); a publish needs a valid stream key (SRT checks it in the handshake, WHIP before any WebRTC work, its ICE ports answer only sessions so created), and the ingest caps connections per address. WHIP's endpoint takes only CloudFront (livedelivery.go); MPEG-TS over UDP is open only to udpIngestCidrs"})

	// CloudFront's way in to the ingest's HTTP; livedelivery.go adds its
	// rules. A group of its own: CloudFront's prefix list counts as 55
	// rules against a group's quota of 60.
	l.FromCloudFront = awsec2.NewSecurityGroup(s, jsii.String("FromCloudFront"), &awsec2.SecurityGroupProps{
		Vpc:              l.Vpc,
		Description:      jsii.String("hlsflow ingest: its HTTP (WHIP, LL-HLS) from CloudFront only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	groups := []awsec2.ISecurityGroup{sg, l.FromCloudFront}
	if cfg.LowLatency {
		l.LiveFromCloudFront = awsec2.NewSecurityGroup(s, jsii.String("LiveFromCloudFront"), &awsec2.SecurityGroupProps{
			Vpc:              l.Vpc,
			Description:      jsii.String("hlsflow ingest: LL-HLS playlists and parts from CloudFront only"),
			AllowAllOutbound: jsii.Bool(false),
		})
		groups = append(groups, l.LiveFromCloudFront)
	}
	l.Service = awsecs.NewFargateService(s, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:                cluster,
		TaskDefinition:         task,
		DesiredCount:           jsii.Number(float64(cfg.IngestDesiredCount)),
		AssignPublicIp:         jsii.Bool(true),
		VpcSubnets:             &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		SecurityGroups:         &groups,
		MinHealthyPercent:      jsii.Number(100),
		MaxHealthyPercent:      jsii.Number(200),
		HealthCheckGracePeriod: awscdk.Duration_Seconds(jsii.Number(60)),
		CircuitBreaker:         &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
	})
	// Parked (0 tasks) means no scalable target at all: its minimum would
	// keep a task running, and CPU tracking cannot start one from zero
	// (no task, no metric), so 0 stays 0 until the operator raises it.
	if cfg.IngestDesiredCount > 0 && cfg.IngestMaxCount > cfg.IngestDesiredCount {
		scaling := l.Service.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{
			MinCapacity: jsii.Number(float64(cfg.IngestDesiredCount)),
			MaxCapacity: jsii.Number(float64(cfg.IngestMaxCount)),
		})
		// Scaling in drains a task and cuts its publishers (they reconnect
		// to another), so it waits long after load drops.
		scaling.ScaleOnCpuUtilization(jsii.String("Cpu"), &awsecs.CpuUtilizationScalingProps{
			TargetUtilizationPercent: jsii.Number(60),
			ScaleOutCooldown:         awscdk.Duration_Minutes(jsii.Number(2)),
			ScaleInCooldown:          awscdk.Duration_Minutes(jsii.Number(15)),
		})
	}

	l.LoadBalancer = elbv2.NewNetworkLoadBalancer(s, jsii.String("Nlb"), &elbv2.NetworkLoadBalancerProps{
		Vpc:              l.Vpc,
		InternetFacing:   jsii.Bool(true),
		CrossZoneEnabled: jsii.Bool(true),
		VpcSubnets:       &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
	})
	nagSuppress(l.LoadBalancer, nagRule{id: "AwsSolutions-ELB2", reason: "an NLB writes access logs only for TLS listeners; RTMP (TCP), SRT and MPEG-TS (UDP) have none, and the VPC flow logs record the connections instead"})
	health := ingestHealthCheck()
	// Each publish protocol: a listener on the NLB forwarding to the same
	// port of the ingest container.
	listen := func(name string, port int, proto elbv2.Protocol) (elbv2.NetworkListener, elbv2.NetworkTargetGroup) {
		ecsProto := awsecs.Protocol_TCP
		if proto == elbv2.Protocol_UDP {
			ecsProto = awsecs.Protocol_UDP
		}
		ln := l.LoadBalancer.AddListener(jsii.String(name), &elbv2.BaseNetworkListenerProps{
			Port: jsii.Number(port), Protocol: proto,
		})
		tg := ln.AddTargets(jsii.String(name), &elbv2.AddNetworkTargetsProps{
			Port:                jsii.Number(port),
			Protocol:            proto,
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(deregistrationSeconds)),
			HealthCheck:         health,
			Targets: &[]elbv2.INetworkLoadBalancerTarget{l.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
				ContainerName: jsii.String(ingestContainer), ContainerPort: jsii.Number(port), Protocol: ecsProto,
			})},
		})
		return ln, tg
	}
	l.RTMPListener, l.RTMPTargets = listen("Rtmp", rtmpPort, elbv2.Protocol_TCP)
	l.SRTListener, _ = listen("Srt", srtPort, elbv2.Protocol_UDP)
	// WHIP's media goes to each task's own public IP (WHIP_PUBLIC_IPS
	// above). The NLB's ICE listeners and its name (WHIP_PUBLIC_HOST) are
	// the fallback of a task that cannot find its IP (EC2 refusing the
	// call): its candidates then carry the NLB's addresses, which works
	// with one task; with several the NLB hashes each flow to a task of
	// its own choosing, which may not hold the session.
	listen("WhipUdp", whipICEPort, elbv2.Protocol_UDP)
	listen("WhipTcp", whipICETCPPort, elbv2.Protocol_TCP)
	container.AddEnvironment(jsii.String("WHIP_PUBLIC_HOST"), l.LoadBalancer.LoadBalancerDnsName())
	if udp {
		l.UDPListener, _ = listen("Udp", udpPort, elbv2.Protocol_UDP)
	}
	// WHIP's HTTP and LL-HLS are not on this NLB: CloudFront reaches
	// them privately (ingestorigin.go).
	return l
}

// SRTURL is the SRT publish address; a publisher adds
// ?streamid={stream key}.
func (l *Live) SRTURL() *string {
	return jsii.String(fmt.Sprintf("srt://%s:%d", *l.LoadBalancer.LoadBalancerDnsName(), srtPort))
}

// RTMPURL is the publish base; a stream key is appended as the last path
// segment.
func (l *Live) RTMPURL() *string {
	return jsii.String(fmt.Sprintf("rtmp://%s:%d/live", *l.LoadBalancer.LoadBalancerDnsName(), rtmpPort))
}
