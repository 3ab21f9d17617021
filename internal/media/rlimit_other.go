//go:build unix && !linux

package media

// applyBudget does nothing where prlimit(2) does not exist (macOS, the
// BSDs): hlsflow up still runs there, with -max_pixels and -t as the only
// bounds.
func applyBudget(int, Budget) error { return nil }
