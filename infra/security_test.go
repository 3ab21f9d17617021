package main

import (
	"strings"
	"testing"
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
