package vod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Re-uploading under the same key replaces a ready video without a moment
// when it does not play:
//
//   - while the new upload is processed, the old version's master,
//     playlists, segments, poster and status.json ("ready") stay as they
//     are; status.json's "replacement" tells of the new one;
//   - the new version's files have other names (its revision), and its
//     master is written only when it is complete (no early EVENT master),
//     so the master switches from one complete version to the other;
//   - the old version's files are deleted RetireAfter later;
//   - a failed replacement deletes only the new version's files and says
//     why in "replacement".

// DefaultRetireAfter is how long a replaced version's files outlive the
// switch: three times the master's max-age (store.CacheVODPlaylist), so a
// player handed the old master by a cache just before it expired still
// finds the playlists and first segments it names.
const DefaultRetireAfter = 30 * time.Second

// bookkeepingTime is what the deletes after a job get, even when the
// invocation's context is over.
const bookkeepingTime = 15 * time.Second

// errSuperseded stops a job whose upload was overwritten while it ran: the
// newer upload's job owns the video now.
var errSuperseded = errors.New("a newer upload replaced this one while it was processed")

// replaced returns the ready video that src is to replace, which keeps
// playing until src's is ready, or nil: a first upload, a video not ready
// (processing or failed: nothing plays), or the same upload again (same
// revision, same file names) are processed from a clean folder.
func replaced(prev *catalog.Status, src catalog.Upload) *catalog.Status {
	if prev == nil || prev.State != catalog.StateReady || prev.Source.Revision() == src.Revision() {
		return nil
	}
	old := *prev
	return &old
}

// inProgress says whether prev records src being processed, as the video
// or as its replacement.
func inProgress(prev *catalog.Status, src catalog.Upload) bool {
	if r := prev.Replacement; r != nil {
		return r.State == catalog.StateProcessing && r.Source == src
	}
	return prev.State == catalog.StateProcessing && prev.Source == src
}

// newer returns the revision of the upload now at the job's key if it is
// no longer the job's upload, else "". An upload deleted since is still
// the newest: its video is kept.
func (j *job) newer(ctx context.Context) (string, error) {
	info, err := j.store.Head(ctx, j.src.Bucket, j.src.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", err
	case uploadOf(info) != j.src.Upload:
		return uploadOf(info).Revision(), nil
	}
	return "", nil
}

// uploadOf is the Upload an object's HEAD describes.
func uploadOf(info store.Info) catalog.Upload {
	return catalog.Upload{Size: info.Size, ETag: strings.Trim(info.ETag, `"`)}
}

// playing returns the revisions whose files must stay: the one status.json
// says plays, and whatever master.m3u8 names (the master is the truth of
// what players load, even if status.json could not be updated after it).
func (p *Pipeline) playing(ctx context.Context, id string, st *catalog.Status) (map[string]bool, error) {
	revs := map[string]bool{}
	if st != nil && st.State == catalog.StateReady {
		revs[st.Source.Revision()] = true
	}
	b, err := p.store.GetBytes(ctx, p.cfg.MediaBucket, catalog.MasterKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return revs, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := hls.ParseMaster(b)
	if err != nil {
		return revs, nil // not a master we wrote: it names nothing to keep
	}
	for _, v := range m.Variants {
		revs[catalog.RevisionOf(v.URI)] = true
	}
	for _, a := range m.Media {
		revs[catalog.RevisionOf(a.URI)] = true
	}
	delete(revs, "")
	return revs, nil
}

// sweepAttempts deletes the outputs of every revision but those playing:
// a replacement's partial files (before it starts again, or after it
// failed) and what crashed attempts left.
func (p *Pipeline) sweepAttempts(ctx context.Context, id string, st *catalog.Status) error {
	keep, err := p.playing(ctx, id, st)
	if err != nil {
		return err
	}
	return p.sweep(ctx, id, func(_, rev string) bool { return rev != "" && !keep[rev] })
}

// sweep deletes the video's outputs for which drop(key, revision) is
// true, never status.json. The master has no revision: only clean drops
// it, and retire keeps the new version's.
func (p *Pipeline) sweep(ctx context.Context, id string, drop func(key, rev string) bool) error {
	keys, err := p.store.List(ctx, p.cfg.MediaBucket, catalog.Prefix(id))
	if err != nil {
		return err
	}
	var del []string
	for _, k := range keys {
		if k != catalog.StatusKey(id) && drop(k, catalog.RevisionOf(k)) {
			del = append(del, k)
		}
	}
	if len(del) == 0 {
		return nil
	}
	return p.store.DeleteKeys(ctx, p.cfg.MediaBucket, del)
}

// abandon ends a superseded job: its own files go, status.json and the
// master are left to the newer upload's job.
func (j *job) abandon(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTime)
	defer cancel()
	j.log.Info("superseded by a newer upload; its outputs are removed", "etag", j.src.ETag)
	keep, err := j.playing(bctx, j.id, nil)
	if err != nil {
		return fmt.Errorf("transcode %s: %w", j.id, err)
	}
	rev := j.src.Revision()
	if err := j.sweep(bctx, j.id, func(_, r string) bool { return r == rev && !keep[r] }); err != nil {
		return fmt.Errorf("transcode %s: clean up: %w", j.id, err)
	}
	return nil
}

// publishMaster writes each rendition's stable index.m3u8, then the
// master res was made with: the moment players switch to the new version.
// Not if the upload was overwritten since (errSuperseded): the newer
// upload's job publishes.
func (j *job) publishMaster(ctx context.Context, res *result) error {
	switch newer, err := j.newer(ctx); {
	case err != nil:
		return err
	case newer != "":
		return errSuperseded
	}
	for key, body := range res.stable {
		if err := j.store.PutBytes(ctx, j.cfg.MediaBucket, key, body, store.For(key)); err != nil {
			return err
		}
		j.use.wrote(1, int64(len(body)))
	}
	if res.mpd != nil {
		// Like the master, after every media playlist it names.
		key := catalog.DASHKey(j.id)
		if err := j.store.PutBytes(ctx, j.cfg.MediaBucket, key, res.mpd, store.For(key)); err != nil {
			return err
		}
		j.use.wrote(1, int64(len(res.mpd)))
		res.keys[key] = true
	}
	key := catalog.MasterKey(j.id)
	if err := j.store.PutBytes(ctx, j.cfg.MediaBucket, key, res.master, store.For(key)); err != nil {
		return err
	}
	j.use.wrote(1, int64(len(res.master)))
	j.use.playable()
	res.keys[key] = true
	return nil
}

// retire deletes, RetireAfter after the switch, what the replaced version
// left: every output not in keep (the new version's) but status.json.
// The wait ends early, and the deletes run at once, when the invocation
// is near its deadline or cancelled. A newer upload being processed by
// then keeps its files. Failures are logged: the new video is ready, and
// the next replacement sweeps what is left.
func (j *job) retire(ctx context.Context, keep map[string]bool) {
	wait := j.cfg.RetireAfter
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)-bookkeepingTime)
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTime)
	defer cancel()
	newer, err := j.newer(bctx)
	if err != nil {
		j.log.Warn("the replaced version's files are kept", "err", err)
		return
	}
	err = j.sweep(bctx, j.id, func(k, rev string) bool {
		switch {
		case keep[k]:
			return false
		case rev == j.src.Revision() && strings.Contains(k, "/subs/"):
			return false // a caption the API published since the switch
		case rev == "":
			// A stable index.m3u8 of a rung the new ladder lacks: gone,
			// unless a newer version may be about to write it.
			return newer == ""
		}
		return rev != newer
	})
	if err != nil {
		j.log.Warn("delete the replaced version", "err", err)
		return
	}
	j.log.Info("replaced version deleted", "after", wait.Round(time.Millisecond))
}
