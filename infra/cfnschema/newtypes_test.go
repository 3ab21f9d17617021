package cfnschema

import (
	"strings"
	"testing"
)

// Types AWS added after the specification (newTypes) are checked like the
// others: a VPC origin as CDK writes it passes, a misspelt or missing
// property of it fails.
func TestNewTypesChecked(t *testing.T) {
	const valid = `{"Resources": {
  "Origin": {"Type": "AWS::CloudFront::VpcOrigin", "Properties": {"VpcOriginEndpointConfig": {
    "Arn": {"Ref": "Nlb"}, "HTTPPort": 8080, "Name": "o", "OriginProtocolPolicy": "http-only", "OriginSSLProtocols": ["TLSv1.2"]}}},
  "Dist": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {"Enabled": true,
    "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only"},
    "Origins": [{"Id": "o", "DomainName": "x", "VpcOriginConfig": {"VpcOriginId": {"Fn::GetAtt": ["Origin", "Id"]}, "OriginReadTimeout": 15}}]}}}}}`
	if err := load(t).Check([]byte(valid)); err != nil {
		t.Fatalf("valid VPC origin refused:\n%v", err)
	}
	for name, tc := range map[string]struct{ from, to, want string }{
		"misspelt": {`"HTTPPort"`, `"HttpPort"`, "VpcOriginEndpointConfig.HttpPort: unknown property"},
		"missing":  {`"Arn": {"Ref": "Nlb"}, `, ``, "required property Arn is missing"},
		"origin":   {`"VpcOriginId"`, `"VpcOriginID"`, "VpcOriginConfig.VpcOriginID: unknown property"},
		"type":     {`"HTTPPort": 8080`, `"HTTPPort": "eighty"`, "HTTPPort: want number"},
	} {
		err := load(t).Check([]byte(strings.Replace(valid, tc.from, tc.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
