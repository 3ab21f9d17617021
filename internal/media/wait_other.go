//go:build unix && !linux

package media

// waitExited waits for the child's pipes to close, which happens when it
// exits: other systems lack waitid(WNOWAIT), and the child stays unreaped
// until Run calls Wait either way.
func waitExited(_ int, pipesDone <-chan struct{}) { <-pipesDone }
