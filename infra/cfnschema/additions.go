package cfnschema

// additions are properties AWS added to CloudFormation after the
// specification goformation v7.14.9 ships (2024-04) and that CDK now
// writes: resource or property type → property → its schema. Each is in
// CloudFormation's template reference for that type. Add one here only
// from that reference, when a check fails on a property AWS really added;
// Load fails once the specification has it itself.
var additions = map[string]map[string]*node{
	// Recursive loop detection, "Allow" or "Terminate" (2024-08; CDK's
	// Function sets it).
	"AWS::Lambda::Function": {"RecursiveLoop": primitive("string")},
	// lambda:InvokeFunction allowed only through a function URL (2025-10,
	// when function URLs began to need both InvokeFunctionUrl and
	// InvokeFunction; CDK writes it for the URL CloudFront calls).
	"AWS::Lambda::Permission": {"InvokedViaFunctionUrl": primitive("boolean")},
	// Tags on types that took none in 2024-04; CDK's Tags.of tags them now.
	"AWS::CloudFront::Function":                   {"Tags": tagList},
	"AWS::ElasticLoadBalancingV2::Listener":       {"Tags": tagList},
	"AWS::ApplicationAutoScaling::ScalableTarget": {"Tags": tagList},
	// CloudFront VPC origins (2024-11): an origin names one.
	"AWS::CloudFront::Distribution.Origin": {"VpcOriginConfig": ref("AWS::CloudFront::Distribution.VpcOriginConfig")},
}

// newTypes are resource types (their Properties) and property types AWS
// added after the specification, from CloudFormation's template reference,
// under the same rule as additions; Load fails once the specification has
// one itself.
var newTypes = map[string]*node{
	// CloudFront VPC origins (2024-11).
	"AWS::CloudFront::VpcOrigin": object(map[string]*node{
		"Tags":                    tagList,
		"VpcOriginEndpointConfig": ref("AWS::CloudFront::VpcOrigin.VpcOriginEndpointConfig"),
	}, "VpcOriginEndpointConfig"),
	"AWS::CloudFront::VpcOrigin.VpcOriginEndpointConfig": object(map[string]*node{
		"Arn": primitive("string"), "Name": primitive("string"),
		"HTTPPort": primitive("number"), "HTTPSPort": primitive("number"),
		"OriginProtocolPolicy": primitive("string"),
		"OriginSSLProtocols":   {Type: typeList{"array"}, Items: primitive("string")},
	}, "Arn", "Name"),
	"AWS::CloudFront::Distribution.VpcOriginConfig": object(map[string]*node{
		"VpcOriginId": primitive("string"), "OwnerAccountId": primitive("string"),
		"OriginKeepaliveTimeout": primitive("number"), "OriginReadTimeout": primitive("number"),
	}, "VpcOriginId"),
}

func primitive(t string) *node { return &node{Type: typeList{t}} }

func ref(typ string) *node { return &node{Ref: "#/definitions/" + typ} }

// object is a closed object schema: these properties only.
func object(props map[string]*node, required ...string) *node {
	closed := false
	return &node{Type: typeList{"object"}, Properties: props, AdditionalProperties: &closed, Required: required}
}

// tagList is a resource's Tags: a list of {Key, Value}.
var tagList = &node{Type: typeList{"array"}, Items: &node{Ref: "#/definitions/Tag"}}
