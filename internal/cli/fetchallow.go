package cli

import (
	"net/netip"
	"strings"

	"github.com/hlsflow/hlsflow/internal/safefetch"
)

// prefixList is `--fetch-allow CIDR`: ranges, repeated or comma-separated,
// that uploads from a URL may reach although they are not public.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, pf := range *p {
		s[i] = pf.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	ps, err := safefetch.ParseAllow(v)
	if err != nil {
		return err
	}
	*p = append(*p, ps...)
	return nil
}
