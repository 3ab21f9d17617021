package ingest

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// WHIPPublicFromECS as WHIP_PUBLIC_IPS asks for this ECS task's own public
// IPv4 address in WHIP's candidates. Behind a load balancer with several
// tasks, the balancer's address would let a session's media reach a task
// other than the one that answered its offer (it picks a task per flow);
// the task's own address takes the media straight to it.
const WHIPPublicFromECS = "ecs"

// whipPublicFor bounds ResolveWHIPPublic: RTMP and SRT must not wait
// long on it.
const whipPublicFor = 25 * time.Second

// ResolveWHIPPublic sets WHIPPublicIPs to this task's public IPv4 address,
// from find (internal/taskip), when WHIPPublicFromTask asks for it; the
// load balancer's name (WHIPPublicHost) is then not used. If find fails
// the configuration is left as it is, announcing WHIPPublicHost's
// addresses (or the ports' own), and the error says so: the caller logs
// it, WHIP still works with one task.
func (c *Config) ResolveWHIPPublic(ctx context.Context, find func(context.Context) (netip.Addr, error)) error {
	if !c.WHIPPublicFromTask || c.WHIPICEAddr == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, whipPublicFor)
	defer cancel()
	ip, err := find(ctx)
	if err == nil && !ip.Is4() {
		err = fmt.Errorf("%s is not an IPv4 address", ip)
	}
	if err != nil {
		fallback := "the ICE ports' own addresses"
		if c.WHIPPublicHost != "" {
			fallback = "the addresses of " + c.WHIPPublicHost + " (with several tasks, a session's media may reach one that does not hold it)"
		}
		return fmt.Errorf("whip: this task's public IP not found, candidates carry %s: %w", fallback, err)
	}
	c.WHIPPublicIPs, c.WHIPPublicHost = []string{ip.String()}, ""
	return nil
}
