// Command composecheck validates a Compose file the way `docker compose
// config` does, without a Docker engine or the compose plugin: it loads it
// with compose-go (the loader the plugin itself uses: schema, variable
// interpolation, required variables) and prints the resolved project as
// JSON. It is its own module so the project's go.mod stays free of
// compose-go's dependencies.
//
//	go run . FILE > resolved.json
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
}

func run(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("path %s: %w", file, err)
	}
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithOsEnv,
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithConsistency(true),
	)
	if err != nil {
		return fmt.Errorf("options for %s: %w", file, err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		return fmt.Errorf("load %s: %w", file, err)
	}
	b, err := p.MarshalJSON()
	if err != nil {
		return fmt.Errorf("print %s: %w", file, err)
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}
