package transcode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// setProgress records the progress of the work in st: the replacement's
// when there is one (the video's own stays that of what plays), and says
// whether it changed.
func setProgress(st *catalog.Status, p float64) bool {
	at := &st.Progress
	if st.Replacement != nil {
		at = &st.Replacement.Progress
	}
	if *at == p {
		return false
	}
	*at = p
	return true
}

// current returns errSuperseded when the upload at src's key is no longer
// src, so a job never switches the master to an upload already replaced.
// An upload deleted since is still the newest: its video is kept.
func (h *Handler) current(ctx context.Context, src catalog.Source) error {
	info, err := h.Store.Head(ctx, src.Bucket, src.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case strings.Trim(info.ETag, `"`) != src.ETag || info.Size != src.Size:
		return errSuperseded
	}
	return nil
}

// playing returns the revisions whose files must stay: the one status.json
// says plays, and whatever master.m3u8 names (the master is the truth of
// what players load, even if status.json could not be updated after it).
func (h *Handler) playing(ctx context.Context, id string, st *catalog.Status) (map[string]bool, error) {
	revs := map[string]bool{}
	if st != nil && st.State == catalog.StateReady {
		revs[st.Source.Revision()] = true
	}
	b, err := h.Store.GetBytes(ctx, h.MediaBucket, catalog.MasterKey(id))
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
func (h *Handler) sweepAttempts(ctx context.Context, id string, st *catalog.Status) error {
	keep, err := h.playing(ctx, id, st)
	if err != nil {
		return err
	}
	return h.sweep(ctx, id, func(_, rev string) bool { return rev != "" && !keep[rev] })
}

// sweep deletes the video's outputs for which drop(key, revision) is true;
// status.json and master.m3u8 are never deleted.
func (h *Handler) sweep(ctx context.Context, id string, drop func(key, rev string) bool) error {
	keys, err := h.Store.List(ctx, h.MediaBucket, catalog.Prefix(id))
	if err != nil {
		return err
	}
	var del []string
	for _, k := range keys {
		if k != catalog.StatusKey(id) && k != catalog.MasterKey(id) && drop(k, catalog.RevisionOf(k)) {
			del = append(del, k)
		}
	}
	if len(del) == 0 {
		return nil
	}
	return h.Store.DeleteKeys(ctx, h.MediaBucket, del)
}

// abandon ends a superseded job: its own files go, status.json and the
// master are left to the newer upload's job.
func (h *Handler) abandon(ctx context.Context, log *slog.Logger, id string, src catalog.Source) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTime)
	defer cancel()
	log.Info("superseded by a newer upload; its outputs are removed", "etag", src.ETag)
	keep, err := h.playing(bctx, id, nil)
	if err != nil {
		return fmt.Errorf("transcode %s: %w", id, err)
	}
	rev := src.Revision()
	if err := h.sweep(bctx, id, func(_, r string) bool { return r == rev && !keep[r] }); err != nil {
		return fmt.Errorf("transcode %s: clean up: %w", id, err)
	}
	return nil
}

// publishMaster writes each rendition's stable index.m3u8, then the
// master res was made with: the moment players switch to the new version.
// Not if the upload was overwritten since (errSuperseded): the newer
// upload's job publishes.
func (h *Handler) publishMaster(ctx context.Context, id string, src catalog.Source, res *result) error {
	if err := h.current(ctx, src); err != nil {
		return err
	}
	for key, body := range res.stable {
		if err := h.Store.PutBytes(ctx, h.MediaBucket, key, body, store.For(key)); err != nil {
			return err
		}
	}
	key := catalog.MasterKey(id)
	if err := h.Store.PutBytes(ctx, h.MediaBucket, key, res.master, store.For(key)); err != nil {
		return err
	}
	res.keys[key] = true
	return nil
}

func (h *Handler) retireAfter() time.Duration {
	if h.RetireAfter == 0 {
		return DefaultRetireAfter
	}
	return max(h.RetireAfter, 0)
}

// retire deletes, RetireAfter after the switch, what the replaced version
// left: every output not in keep (the new version's) but status.json.
// The wait ends early, and the deletes run at once, when the invocation
// is near its deadline or cancelled. A newer upload being processed by
// then keeps its files. Failures are logged: the new video is ready, and
// the next replacement sweeps what is left.
func (h *Handler) retire(ctx context.Context, log *slog.Logger, id string, src catalog.Source, keep map[string]bool) {
	wait := h.retireAfter()
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
	newer := ""
	info, err := h.Store.Head(bctx, src.Bucket, src.Key)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		log.Warn("the replaced version's files are kept", "err", err)
		return
	case err == nil && (strings.Trim(info.ETag, `"`) != src.ETag || info.Size != src.Size):
		newer = catalog.Upload{ETag: strings.Trim(info.ETag, `"`), Size: info.Size}.Revision()
	}
	err = h.sweep(bctx, id, func(k, rev string) bool {
		switch {
		case keep[k]:
			return false
		case rev == "":
			// A stable index.m3u8 of a rung the new ladder lacks: gone,
			// unless a newer version may be about to write it.
			return newer == ""
		}
		return rev != newer
	})
	if err != nil {
		log.Warn("delete the replaced version", "err", err)
		return
	}
	log.Info("replaced version deleted", "after", wait.Round(time.Millisecond))
}
