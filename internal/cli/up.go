package cli

import (
	"context"
	"fmt"
)

func runUp(ctx context.Context, env Env, args []string) error {
	return fmt.Errorf("not wired yet")
}

func runStream(ctx context.Context, env Env, args []string) error {
	return fmt.Errorf("not wired yet")
}
