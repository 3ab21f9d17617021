package s3server

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/versity/versitygw/backend/meta"
	"golang.org/x/sys/unix"
)

// metaStore picks where the posix backend keeps object metadata: user
// xattrs when the filesystem under root takes them, else a sidecar
// directory (which versitygw requires to be outside root).
func metaStore(root, sidecar string) (meta.MetadataStorer, error) {
	probe := filepath.Join(root, ".xattr-probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return nil, fmt.Errorf("probe xattrs in %s: %w", root, err)
	}
	defer os.Remove(probe)
	if err := unix.Setxattr(probe, "user.hlsflow.probe", []byte("1"), 0); err == nil {
		return meta.XattrMeta{}, nil
	}
	if err := os.MkdirAll(sidecar, 0o700); err != nil {
		return nil, fmt.Errorf("sidecar metadata dir: %w", err)
	}
	sc, err := meta.NewSideCar(sidecar)
	if err != nil {
		return nil, fmt.Errorf("sidecar metadata dir %s: %w", sidecar, err)
	}
	return sc, nil
}
