// Package ecsmeta reads the ECS task metadata endpoint (version 4): the
// task's own network interface, its private IPv4 address (where the other
// tasks of its service reach it) and its MAC address (which names the
// interface to EC2, internal/taskip).
package ecsmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// EnvURI is the variable ECS sets in every container to the endpoint's
// base URL.
const EnvURI = "ECS_CONTAINER_METADATA_URI_V4"

// maxBody bounds what is read of the endpoint's answer: a task's metadata
// is a few kilobytes.
const maxBody = 1 << 20

// timeout bounds one lookup when ctx has no earlier deadline; the
// endpoint is local to the task and answers at once.
const timeout = 5 * time.Second

// ErrNotOnECS is returned when there is no endpoint to ask (base is
// empty: the process is not an ECS task).
var ErrNotOnECS = errors.New("ecs metadata: " + EnvURI + " is not set")

// task is what is used of GET {base}/task.
type task struct {
	Containers []struct {
		Networks []struct {
			IPv4Addresses []string `json:"IPv4Addresses"`
			MACAddress    string   `json:"MACAddress"`
		} `json:"Networks"`
	} `json:"Containers"`
}

// Network is the task's network interface (awsvpc) as the metadata
// describes it.
type Network struct {
	IPv4 netip.Addr // its private address
	// MAC is its MAC address, lower-case (aa:bb:cc:dd:ee:ff); "" when the
	// metadata gives none that parses.
	MAC string
}

// TaskIPv4 returns the task's first IPv4 address (awsvpc: the one of its
// network interface) from GET {base}/task, base being the value of
// EnvURI.
func TaskIPv4(ctx context.Context, c *http.Client, base string) (netip.Addr, error) {
	n, err := TaskNetwork(ctx, c, base)
	return n.IPv4, err
}

// TaskNetwork returns the first network of the task's containers with a
// usable IPv4 address, from GET {base}/task.
func TaskNetwork(ctx context.Context, c *http.Client, base string) (Network, error) {
	if base == "" {
		return Network{}, ErrNotOnECS
	}
	t, err := getTask(ctx, c, base)
	if err != nil {
		return Network{}, err
	}
	for _, c := range t.Containers {
		for _, n := range c.Networks {
			for _, a := range n.IPv4Addresses {
				ip, err := netip.ParseAddr(a)
				if err == nil && ip.Is4() && !ip.IsUnspecified() && !ip.IsLoopback() && !ip.IsMulticast() {
					out := Network{IPv4: ip}
					if hw, err := net.ParseMAC(n.MACAddress); err == nil && len(hw) == 6 {
						out.MAC = hw.String()
					}
					return out, nil
				}
			}
		}
	}
	return Network{}, errors.New("ecs metadata: the task has no IPv4 address")
}

// getTask reads GET {base}/task, bounded in time and size.
func getTask(ctx context.Context, c *http.Client, base string) (task, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/task", nil)
	if err != nil {
		return task{}, fmt.Errorf("ecs metadata: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return task{}, fmt.Errorf("ecs metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return task{}, fmt.Errorf("ecs metadata: GET /task: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return task{}, fmt.Errorf("ecs metadata: read /task: %w", err)
	}
	if len(b) > maxBody {
		return task{}, fmt.Errorf("ecs metadata: /task answer over %d bytes", maxBody)
	}
	var t task
	if err := json.Unmarshal(b, &t); err != nil {
		return task{}, fmt.Errorf("ecs metadata: /task: %w", err)
	}
	return t, nil
}
