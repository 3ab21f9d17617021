package cli

import (
	"net/netip"
	"strings"

	"github.com/hlsflow/hlsflow/internal/netpolicy"
)

// prefixList is a repeatable flag of ranges (CIDRs or addresses, also
// comma-separated): --fetch-allow, --webhook-allow.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, pf := range *p {
		s[i] = pf.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	ps, err := netpolicy.ParseAllow(v)
	if err != nil {
		return err
	}
	*p = append(*p, ps...)
	return nil
}
