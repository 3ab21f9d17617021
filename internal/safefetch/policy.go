// Package safefetch fetches a URL given by a user without letting it reach
// what only the server can reach (server-side request forgery): http and
// https only; every address a name resolves to, on every hop of a
// redirect, must be public (not loopback, private, link-local — the cloud
// metadata endpoint 169.254.169.254 among them — multicast, unspecified,
// shared, documentation or another special-purpose range, in IPv4, IPv6 or
// an IPv6 form that embeds IPv4) unless an allow list names it; the
// connection goes to the very address that was checked, so a name that
// resolves elsewhere a moment later (DNS rebinding) gains nothing. Bodies
// are bounded in size and time.
package safefetch

import (
	"errors"
	"fmt"
)

// ErrRefused wraps every refusal of a URL or of an address it leads to:
// the source is not one that may be fetched, and asking again will not
// change that.
var ErrRefused = errors.New("source URL refused")

// refusal is an ErrRefused with its reason, found again with errors.As
// under whatever net/http wraps around it.
type refusal struct{ reason string }

func (r *refusal) Error() string        { return ErrRefused.Error() + ": " + r.reason }
func (r *refusal) Is(target error) bool { return target == ErrRefused }

func refused(format string, a ...any) error {
	return &refusal{reason: fmt.Sprintf(format, a...)}
}
