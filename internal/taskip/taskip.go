// Package taskip finds the public IPv4 address of this ECS task: the one
// AWS associates with the task's network interface when its service runs
// with AssignPublicIp in a public subnet. The live ingest announces it in
// WHIP's ICE candidates, so a publisher's media goes straight to the task
// that answered its offer.
//
// The task metadata (internal/ecsmeta) names the interface by its private
// address and MAC address; EC2's DescribeNetworkInterfaces, filtered by
// both, gives its public IP association. That is one read-only IAM action
// (ec2:DescribeNetworkInterfaces), and no ecs:DescribeTasks.
package taskip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/hlsflow/hlsflow/internal/ecsmeta"
)

// EC2 is the call used of EC2 (*ec2.Client).
type EC2 interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

var _ EC2 = (*ec2.Client)(nil)

// Defaults of Find.
const (
	// CallTimeout bounds one EC2 call (its SDK retries included).
	CallTimeout = 5 * time.Second
	// Attempts and Retry: an address is asked for this many times, this
	// far apart, when EC2 fails or shows no public IP yet.
	Attempts = 3
	Retry    = 2 * time.Second
)

// ErrNoPublicIP is returned when the interface has no public IPv4 address
// (a private subnet, or AssignPublicIp off).
var ErrNoPublicIP = errors.New("taskip: the task's network interface has no public IPv4 address")

// Finder finds the task's public IPv4 address.
type Finder struct {
	// Network reads the task's interface (ecsmeta.TaskNetwork).
	Network func(context.Context) (ecsmeta.Network, error)
	EC2     EC2
	// Zero values take the defaults above.
	CallTimeout time.Duration
	Attempts    int
	Retry       time.Duration
}

// Find returns the task's public IPv4 address. The metadata is read once
// (it is local, and its failure does not pass); EC2 is asked up to
// Attempts times. ctx bounds the whole.
func (f *Finder) Find(ctx context.Context) (netip.Addr, error) {
	n, err := f.Network(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	if n.MAC == "" {
		return netip.Addr{}, errors.New("taskip: the task metadata gives no MAC address for its network interface")
	}
	attempts, retry, call := f.Attempts, f.Retry, f.CallTimeout
	if attempts <= 0 {
		attempts = Attempts
	}
	if retry <= 0 {
		retry = Retry
	}
	if call <= 0 {
		call = CallTimeout
	}
	for i := 1; ; i++ {
		cctx, cancel := context.WithTimeout(ctx, call)
		ip, err := PublicIPv4(cctx, f.EC2, n)
		cancel()
		if err == nil || i >= attempts || errors.Is(err, errHostile) {
			return ip, err
		}
		select {
		case <-ctx.Done():
			return netip.Addr{}, fmt.Errorf("%w (after %d attempts)", err, i)
		case <-time.After(retry):
		}
	}
}

// errHostile marks an answer that names another interface or an address
// no public interface has: asking again would not help.
var errHostile = errors.New("taskip: EC2's answer does not fit the task")

// PublicIPv4 asks EC2 once for the public IPv4 address of the interface
// with n's MAC and private address, and checks the answer describes that
// interface: exactly one, the same MAC and private address, and a public
// unicast IPv4 address.
func PublicIPv4(ctx context.Context, api EC2, n ecsmeta.Network) (netip.Addr, error) {
	out, err := api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []types.Filter{
			{Name: aws.String("mac-address"), Values: []string{n.MAC}},
			{Name: aws.String("private-ip-address"), Values: []string{n.IPv4.String()}},
		},
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("taskip: ec2 DescribeNetworkInterfaces: %w", err)
	}
	switch len(out.NetworkInterfaces) {
	case 0:
		return netip.Addr{}, fmt.Errorf("taskip: EC2 knows no interface with MAC %s and address %s", n.MAC, n.IPv4)
	case 1:
	default:
		return netip.Addr{}, fmt.Errorf("%w: %d interfaces match", errHostile, len(out.NetworkInterfaces))
	}
	ni := out.NetworkInterfaces[0]
	if !strings.EqualFold(aws.ToString(ni.MacAddress), n.MAC) || !hasPrivate(ni, n.IPv4) {
		return netip.Addr{}, fmt.Errorf("%w: it describes another interface", errHostile)
	}
	if ni.Association == nil || aws.ToString(ni.Association.PublicIp) == "" {
		return netip.Addr{}, ErrNoPublicIP
	}
	ip, err := netip.ParseAddr(aws.ToString(ni.Association.PublicIp))
	if err != nil || !ip.Is4() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return netip.Addr{}, fmt.Errorf("%w: %q is not a public IPv4 address", errHostile, firstN(aws.ToString(ni.Association.PublicIp), 64))
	}
	return ip, nil
}

func hasPrivate(ni types.NetworkInterface, ip netip.Addr) bool {
	if aws.ToString(ni.PrivateIpAddress) == ip.String() {
		return true
	}
	for _, a := range ni.PrivateIpAddresses {
		if aws.ToString(a.PrivateIpAddress) == ip.String() {
			return true
		}
	}
	return false
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
