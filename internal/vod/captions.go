package vod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hlsflow/hlsflow/internal/captions"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/encoder"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/subtitles"
)

// subtitleTimeout bounds the extraction of one subtitle stream: the
// source is read through, nothing is decoded but text.
const subtitleTimeout = 2 * time.Minute

func (j *job) subtitles() subtitles.Store {
	return subtitles.Store{S: j.store, Bucket: j.cfg.MediaBucket}
}

// captions extracts the source's subtitle streams (replacing those of
// the previous upload), then publishes every caption of the video for
// the master about to be written, adding their files to res.keys.
// Captions are a nicety: a failure is logged, the video plays without.
func (j *job) captions(ctx context.Context, ms *media.Source, master *hls.MasterPlaylist, res *result) {
	subs := j.subtitles()
	if err := subs.DropSource(ctx, j.id); err != nil {
		j.log.Warn("captions: forget the previous upload's", "err", err)
	}
	for _, s := range ms.Subtitles {
		if err := j.extract(ctx, ms, s); err != nil {
			j.log.Warn("captions: subtitle stream not kept", "stream", s.Index, "err", err)
		}
	}
	version, err := subs.Version(ctx, j.id)
	if err != nil {
		j.log.Warn("captions: not published", "err", err)
		return
	}
	keys, caps, err := subs.Publish(ctx, j.id, master)
	if err != nil {
		j.log.Warn("captions: not published", "err", err)
		return
	}
	res.captionsVersion = version
	for _, k := range keys {
		res.keys[k] = true
	}
	j.use.wrote(len(keys), 0)
	res.captions = caps
}

// extract converts subtitle stream s to WebVTT with ffmpeg, then checks
// it like an uploaded file and keeps it.
func (j *job) extract(ctx context.Context, ms *media.Source, s media.Subtitle) error {
	ctx, cancel := context.WithTimeout(ctx, subtitleTimeout)
	defer cancel()
	dir, err := os.MkdirTemp(j.cfg.TmpDir, "subs-"+j.id+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "subs.vtt")
	args := encoder.SubtitleArgs(ms, j.url, s, out)
	if args == nil {
		return fmt.Errorf("stream %d is not a text subtitle stream", s.Index)
	}
	err = encoder.Run(ctx, encoder.Options{FFmpeg: j.cfg.FFmpeg, Args: args,
		Budget: encoder.EncodeBudget(&media.Source{Duration: ms.Duration, Size: ms.Size}, media.Ladder{}, ms.Duration, "")})
	if err != nil {
		return j.hide(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() > captions.MaxBytes {
		return fmt.Errorf("stream %d: no WebVTT, or more than %d bytes", s.Index, captions.MaxBytes)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	t, err := captions.Parse(b)
	if err != nil {
		return err
	}
	lang := s.Language
	if _, ok := captions.CanonicalLanguage(lang); !ok {
		lang = "und"
	}
	name := s.Title
	if name == "" {
		name = "Subtitles " + strconv.Itoa(s.Index)
		if lang != "und" {
			name = lang
		}
	}
	_, _, err = j.subtitles().Add(ctx, j.id, lang, name, subtitles.Source, t)
	return err
}

// recaption publishes again, with the master and status.json, the
// captions the API kept while the job ran: it answered "pending" for
// those, since until status.json said ready the job owned the master.
// Called once status.json says ready; from then on the API publishes.
func (j *job) recaption(ctx context.Context, res *result) {
	if res.master == nil || len(res.ladder.Video) == 0 {
		return
	}
	subs := j.subtitles()
	if v, err := subs.Version(ctx, j.id); err != nil || v == res.captionsVersion {
		return
	}
	m, err := hls.ParseMaster(res.master)
	if err != nil {
		return
	}
	_, caps, err := subs.Publish(ctx, j.id, m)
	if err == nil {
		var out []byte
		if out, err = m.Encode(); err == nil {
			key := catalog.MasterKey(j.id)
			err = j.store.PutBytes(ctx, j.cfg.MediaBucket, key, out, store.For(key))
		}
	}
	if err == nil {
		j.st.Captions = caps
		err = j.save(ctx)
	}
	if err != nil {
		j.log.Warn("captions sent while processing: not published", "err", err)
	}
}
