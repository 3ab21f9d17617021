package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

func runStatus(ctx context.Context, env Env, args []string) error {
	var c Common
	fs := newFlagSet("status", env)
	c.register(fs)
	c.registerDeployment(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one video ID", errUsage)
	}
	id := pos[0]
	if !catalog.ValidID(id) {
		return fmt.Errorf("%q is not a video id (ids are lowercase letters, digits and dashes)", id)
	}
	tg, err := c.connect(ctx)
	if err != nil {
		return err
	}
	st, err := catalog.Read(ctx, tg.store, tg.media, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no video %s (nothing at s3://%s/%s)", id, tg.media, catalog.StatusKey(id))
	}
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	fmt.Fprintln(env.Stdout, string(b))
	if st.State == catalog.StateFailed {
		return fmt.Errorf("video %s failed: %s", id, st.Error)
	}
	return nil
}

func runID(_ context.Context, env Env, args []string) error {
	fs := newFlagSet("id", env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one object KEY", errUsage)
	}
	fmt.Fprintln(env.Stdout, catalog.VideoID(pos[0]))
	return nil
}
