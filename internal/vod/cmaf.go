package vod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// uploadInit uploads the init segment of CMAF rendition r, as ffmpeg
// wrote it in job's output, under the revision's name (media.InitName),
// points the playlist's EXT-X-MAP at it, and records its size among r's
// files. The codecs of a video rendition are read from it into codecs:
// CMAF segments carry no parameter sets of their own.
func uploadInit(ctx context.Context, st *store.Store, bucket, prefix string, job encoder.Job, r rendition, video bool, codecs map[string]string) error {
	path, err := encoder.InitFile(filepath.Join(job.Output.Dir, r.name), r.p)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	name := media.InitName(job.Output.Revision)
	rel := r.name + "/" + name
	if video {
		if f, err := os.Open(path); err == nil {
			codecs[r.name], _ = media.InitCodecs(f) // best effort, as for TS
			f.Close()
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", rel, err)
	}
	if err := st.PutFile(ctx, bucket, prefix+rel, path, store.For(rel)); err != nil {
		return err
	}
	r.p.Segments[0].Map.URI = name
	r.sizes[name] = fi.Size()
	return nil
}

// chunkedCMAF reports, and logs, that a source the fan-out would encode
// is encoded as MPEG-TS even though the deployment asks for CMAF: the
// chunk joins are not yet proven byte-identical across chunk init
// segments, so the fan-out stays on TS (see README, "Segment format").
func (j *job) chunkedCMAF() {
	if j.cfg.SegmentFormat == media.CMAF {
		j.log.Info("chunked source encoded as MPEG-TS: CMAF is single-process only for now", "id", j.id)
	}
}
