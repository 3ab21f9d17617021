package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The ingest's HTTP (WHIP and LL-HLS) is reached only through the private
// origin: an internal NLB in isolated subnets (no route out, no NAT),
// with the tasks behind it seeing its address, neither port on the
// internet-facing NLB, and no cdk-nag acceptance of a plain-HTTP origin
// over the internet left. The front secret reaches the task through ECS's
// secrets, never its environment. lowLatency=false has WHIP alone.
func TestIngestPrivateOrigin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ctx   map[string]any
		ports []int
	}{
		{"low latency", nil, []int{whipPort, liveOriginPort}},
		{"no low latency", map[string]any{ctxLowLatency: "false"}, []int{whipPort}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.ctx)
			nlbID, nlb := s.one(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", "LiveDeliveryNlb")
			if nlb.Properties["Scheme"] != "internal" {
				t.Errorf("private origin NLB scheme %v, want internal", nlb.Properties["Scheme"])
			}
			subnets := map[string]bool{}
			for _, sn := range list(nlb.Properties["Subnets"]) {
				id := get(sn, "Ref").(string)
				subnets[id] = true
				if typ := subnetTag(s, id, "aws-cdk:subnet-type"); typ != "Isolated" {
					t.Errorf("private origin NLB in subnet %s of type %q, want Isolated", id, typ)
				}
			}
			if len(subnets) != 2 {
				t.Errorf("private origin NLB in %d subnets, want one per AZ (2)", len(subnets))
			}
			// Isolated: no route of those subnets leads out, and there is
			// no NAT gateway to pay for.
			tables := map[string]bool{}
			for _, a := range s.ofType("AWS::EC2::SubnetRouteTableAssociation") {
				if subnets[get(a.Properties, "SubnetId", "Ref").(string)] {
					tables[get(a.Properties, "RouteTableId", "Ref").(string)] = true
				}
			}
			for id, r := range s.ofType("AWS::EC2::Route") {
				if tables[get(r.Properties, "RouteTableId", "Ref").(string)] {
					t.Errorf("route %s out of the origin subnets: %v", id, r.Properties)
				}
			}
			if n := len(s.ofType("AWS::EC2::NatGateway")); n != 0 {
				t.Errorf("%d NAT gateways", n)
			}

			// Listeners: the private NLB has exactly the HTTP ports; the
			// public one none of them.
			var private []int
			for _, l := range s.ofType("AWS::ElasticLoadBalancingV2::Listener") {
				port := int(l.Properties["Port"].(float64))
				if get(l.Properties, "LoadBalancerArn", "Ref") == nlbID {
					private = append(private, port)
				} else if port == whipPort || port == liveOriginPort {
					t.Errorf("the internet-facing NLB listens on %d", port)
				}
			}
			slices.Sort(private)
			if !slices.Equal(private, tc.ports) {
				t.Errorf("private origin NLB listens on %v, want %v", private, tc.ports)
			}
			for id, tg := range s.ofType("AWS::ElasticLoadBalancingV2::TargetGroup") {
				if !strings.HasPrefix(id, "LiveDeliveryNlb") {
					continue
				}
				if !slices.ContainsFunc(list(tg.Properties["TargetGroupAttributes"]), func(a any) bool {
					return get(a, "Key") == "preserve_client_ip.enabled" && get(a, "Value") == "false"
				}) {
					t.Errorf("target group %s keeps the client address: the tasks' groups admit the NLB's", id)
				}
			}
			// The NLB's groups send only to the tasks' ports in the VPC.
			for id, g := range s.ofType("AWS::EC2::SecurityGroup") {
				if !strings.HasPrefix(id, "LiveDeliveryWhipSg") && !strings.HasPrefix(id, "LiveDeliveryLiveSg") {
					continue
				}
				for _, e := range list(g.Properties["SecurityGroupEgress"]) {
					if ref(get(e, "CidrIp")) != "LiveVpc.CidrBlock" || !slices.Contains(append(tc.ports, healthPort), int(get(e, "FromPort").(float64))) {
						t.Errorf("%s sends to %v", id, e)
					}
				}
			}

			// The front secret: a task secret from Secrets Manager, not an
			// environment value.
			_, task := s.one(t, "AWS::ECS::TaskDefinition", "LiveTask")
			var secret string
			for _, e := range list(get(task.Properties, "ContainerDefinitions", 0, "Secrets")) {
				if get(e, "Name") == "WHIP_FRONT_SECRET" {
					secret = ref(get(e, "ValueFrom"))
				}
			}
			if secret != "LiveDeliveryFrontSecret" {
				t.Errorf("WHIP_FRONT_SECRET from %q, want the FrontSecret secret", secret)
			}
			if _, ok := ingestEnv(t, s)["WHIP_FRONT_SECRET"]; ok {
				t.Error("WHIP_FRONT_SECRET is in the task's environment")
			}
			_, sec := s.one(t, "AWS::SecretsManager::Secret", "LiveDeliveryFrontSecret")
			if n := get(sec.Properties, "GenerateSecretString", "PasswordLength"); n.(float64) < 32 {
				t.Errorf("front secret of %v characters", n)
			}

			tmpl, _ := json.Marshal(s.tmpl.ToJSON())
			if strings.Contains(string(tmpl), "AwsSolutions-CFR5") {
				t.Error("a plain-HTTP origin over the internet is still accepted (AwsSolutions-CFR5)")
			}
			if len(s.nag) > 0 {
				t.Errorf("cdk-nag: %q", s.nag)
			}
		})
	}
}

// subnetTag is the value of a tag of the subnet with logical id id.
func subnetTag(s *synthesized, id, key string) string {
	for _, tag := range list(s.resources[id].Properties["Tags"]) {
		if get(tag, "Key") == key {
			return fmt.Sprint(get(tag, "Value"))
		}
	}
	return ""
}
