package lambdarie

import (
	"fmt"
	"os"
)

// CanLimitMemory tells tests whether memory sizes can be enforced here.
func CanLimitMemory() error {
	_, remove, err := newMemoryLimit(fmt.Sprintf("hlsflow-check-%d", os.Getpid()), 64)
	if err == nil {
		remove()
	}
	return err
}
