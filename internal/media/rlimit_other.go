//go:build unix && !linux

package media

// Apply does nothing where prlimit(2) does not exist (macOS, the
// BSDs): hlsflow up still runs there, with -max_pixels and -t as the only
// bounds.
func (Budget) Apply(int) error { return nil }
