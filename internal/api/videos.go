package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// States the API adds before status.json exists (the transcoder owns
// status.json and its processing/ready/failed).
const (
	StateUploading = "uploading" // URLs handed out, the object is not in the bucket yet
	StateQueued    = "queued"    // the object is uploaded, processing has not started
)

// Video is a video as the API shows it: the status.json document, plus
// client-facing URLs and, for the operator only, the file's name and where
// the upload is kept (status.json, which is public, has neither).
type Video struct {
	catalog.Status
	// Source, for the operator only, replaces status.json's source (size
	// and ETag) with the whole of it: bucket, key, size, ETag.
	Source      *catalog.Source `json:"source,omitempty"`
	Filename    string          `json:"filename,omitempty"`
	Uploaded    time.Time       `json:"uploaded,omitzero"`
	PlaybackURL string          `json:"playbackUrl,omitempty"`
	PosterURL   string          `json:"posterUrl,omitempty"`
	// DownloadURL is the MP4 download's (status.json's "download"), and
	// StoryboardURL the storyboard's WebVTT file ("storyboard").
	DownloadURL   string `json:"downloadUrl,omitempty"`
	StoryboardURL string `json:"storyboardUrl,omitempty"`
	// DashURL is the MPEG-DASH manifest's of a CMAF video ("dash").
	DashURL string `json:"dashUrl,omitempty"`
}

// VideoList is a page of GET /api/videos; Next, when set, is the cursor of
// the next page.
type VideoList struct {
	Videos []Video `json:"videos"`
	Next   string  `json:"next,omitempty"`
}

const (
	defaultPageSize = 20
	maxPageSize     = 100
	// fetchConcurrency bounds the status reads of one page.
	fetchConcurrency = 8
)

func (h *Handler) getVideo(r *request) (*response, error) {
	id := r.PathValue("id")
	private, err := h.mayRead(r)
	if err != nil {
		return nil, err
	}
	if !catalog.ValidID(id) {
		return nil, notFound("no video with id %q", id)
	}
	v, err := h.video(r, entry{id: id}, true, private)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, notFound("no video with id %q", id)
	}
	return reply(http.StatusOK, v)
}

// entry is a video found by listing: its id and what the listing showed.
type entry struct {
	id        string
	key       string    // object key in the uploads bucket, when seen there
	size      int64     // object size, when seen there
	uploaded  time.Time // object's LastModified
	recorded  time.Time // upload record's LastModified
	hasRecord bool
	clipped   time.Time // a clip's: when its mark (clipMarkKey) was written
}

// at is the entry's place in "newest first": when the API handed out the
// upload, else when the object appeared. Neither changes later, so cursors
// stay valid while videos are processed.
func (e entry) at() time.Time {
	if e.hasRecord {
		return e.recorded
	}
	if e.uploaded.IsZero() {
		return e.clipped
	}
	return e.uploaded
}

// video builds the view of one video, or nil when nothing is known of it
// (or nothing that may be shown). lookup says whether to look for the
// record and object (GET of one id) or to trust the listing in e; private
// whether the caller is the operator: anyone else sees ready videos only,
// without file name or source.
func (h *Handler) video(r *request, e entry, lookup, private bool) (*Video, error) {
	st, err := catalog.Read(r.Context(), h.cfg.Store, h.cfg.MediaBucket, e.id)
	if err == nil {
		if !private && st.State != catalog.StateReady {
			return nil, nil
		}
		v := &Video{Status: *st, Uploaded: e.uploaded}
		if private {
			if err := h.addSource(r, v, e, lookup); err != nil {
				return nil, err
			}
		}
		if st.State == catalog.StateReady {
			p := st.Playback
			if p == "" {
				p = catalog.MasterKey(st.ID)
			}
			v.PlaybackURL = h.url(r, p)
		}
		v.PosterURL = h.url(r, st.Poster)
		if st.State == catalog.StateReady {
			v.DownloadURL, v.StoryboardURL = h.url(r, st.Download), h.url(r, st.Storyboard)
			v.DashURL = h.url(r, st.DASH)
		}
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if !private {
		return nil, nil // uploads in progress are the operator's business
	}
	var rec *uploadRecord
	if lookup || e.hasRecord {
		rec, err = h.getRecord(r, e.id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if rec != nil && lookup {
		info, err := h.cfg.Store.Head(r.Context(), h.cfg.UploadsBucket, rec.Key)
		switch {
		case err == nil:
			e.key, e.size, e.uploaded = rec.Key, info.Size, info.LastModified
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	switch {
	case e.key != "":
		v := &Video{Status: catalog.Status{ID: e.id, State: StateQueued, Updated: e.uploaded},
			Source:   &catalog.Source{Bucket: h.cfg.UploadsBucket, Key: e.key, Upload: catalog.Upload{Size: e.size}},
			Filename: displayName(e.key), Uploaded: e.uploaded}
		if rec != nil {
			v.Filename = rec.Filename
		}
		return v, nil
	case rec != nil:
		v := &Video{Status: catalog.Status{ID: e.id, State: StateUploading, Updated: rec.Created},
			Source:   &catalog.Source{Bucket: h.cfg.UploadsBucket, Key: rec.Key, Upload: catalog.Upload{Size: rec.Size}},
			Filename: rec.Filename}
		if h.cfg.Now().After(rec.Expires) {
			// Its URLs no longer work: say so rather than "uploading" forever.
			v.State, v.Error = catalog.StateFailed, "the upload did not finish before its upload links expired; upload the file again"
		}
		return v, nil
	}
	return nil, nil
}

// addSource tells the operator which object a video was made from and the
// file's own name: from the API's record of the upload when it made one,
// else from the listing in e. A video put in the bucket without the API
// (the CLI, aws s3 cp) has no record, so GET of that one video shows no
// source: finding its key would take a LIST of the whole bucket.
func (h *Handler) addSource(r *request, v *Video, e entry, lookup bool) error {
	src := catalog.Source{Bucket: h.cfg.UploadsBucket, Key: e.key, Upload: v.Status.Source}
	if lookup || e.hasRecord {
		rec, err := h.getRecord(r, e.id)
		switch {
		case err == nil:
			src.Key, v.Filename = rec.Key, rec.Filename
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if src.Key == "" {
		return nil // not known here: status.json is all there is
	}
	if v.Filename == "" {
		v.Filename = displayName(src.Key)
	}
	v.Source = &src
	return nil
}

func (h *Handler) listVideos(r *request) (*response, error) {
	private, err := h.mayRead(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	limit := defaultPageSize
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return nil, badField("limit", "limit must be a whole number from 1 to %d", maxPageSize)
		}
		limit = n
	}
	var after *cursor
	if s := q.Get("cursor"); s != "" {
		c, err := parseCursor(s)
		if err != nil {
			return nil, badField("cursor", "cursor is not one this API returned")
		}
		after = &c
	}
	entries, err := h.entries(r)
	if err != nil {
		return nil, err
	}
	start := 0
	if after != nil {
		start = sort.Search(len(entries), func(i int) bool { return after.before(entries[i]) })
	}
	page := entries[start:min(start+limit, len(entries))]
	out := VideoList{Videos: make([]Video, 0, len(page))}
	views := make([]*Video, len(page))
	errs := make([]error, len(page))
	var wg sync.WaitGroup
	sem := make(chan struct{}, fetchConcurrency)
	for i, e := range page {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			views[i], errs[i] = h.video(r, e, false, private)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, v := range views {
		if v != nil {
			out.Videos = append(out.Videos, *v)
		}
	}
	if start+limit < len(entries) {
		last := page[len(page)-1]
		out.Next = cursor{at: last.at(), id: last.id}.String()
	}
	return reply(http.StatusOK, out)
}

// entries lists every video, newest first. It costs one LIST request per
// 1000 uploads plus one per 1000 upload records and one per 1000 clips
// (clipMarkPrefix), and no per-video request:
// the uploads bucket holds one object per video and S3 lists it with
// sizes and times. Only the page shown then reads status.json.
func (h *Handler) entries(r *request) ([]entry, error) {
	// The two listings are independent: run them side by side.
	var uploads, records, clips []store.Listed
	var upErr, recErr, clipErr error
	var wg sync.WaitGroup
	wg.Go(func() { uploads, upErr = h.cfg.Store.Objects(r.Context(), h.cfg.UploadsBucket, "") })
	wg.Go(func() { records, recErr = h.cfg.Store.Objects(r.Context(), h.cfg.MediaBucket, recordPrefix) })
	wg.Go(func() { clips, clipErr = h.cfg.Store.Objects(r.Context(), h.cfg.MediaBucket, clipMarkPrefix) })
	wg.Wait()
	if err := errors.Join(upErr, recErr, clipErr); err != nil {
		return nil, err
	}
	byID := make(map[string]*entry, len(uploads)+len(records))
	get := func(id string) *entry {
		e := byID[id]
		if e == nil {
			e = &entry{id: id}
			byID[id] = e
		}
		return e
	}
	for _, o := range uploads {
		e := get(catalog.VideoID(o.Key))
		e.key, e.size, e.uploaded = o.Key, o.Size, o.LastModified
	}
	for _, o := range records {
		id := strings.TrimSuffix(strings.TrimPrefix(o.Key, recordPrefix), ".json")
		if !catalog.ValidID(id) {
			continue
		}
		e := get(id)
		e.hasRecord, e.recorded = true, o.LastModified
	}
	for _, o := range clips {
		id := strings.TrimSuffix(strings.TrimPrefix(o.Key, clipMarkPrefix), ".json")
		if !catalog.ValidID(id) {
			continue
		}
		get(id).clipped = o.LastModified
	}
	list := make([]entry, 0, len(byID))
	for _, e := range byID {
		list = append(list, *e)
	}
	sort.Slice(list, func(i, j int) bool { return newer(list[i], list[j]) })
	return list, nil
}

func newer(a, b entry) bool {
	if !a.at().Equal(b.at()) {
		return a.at().After(b.at())
	}
	return a.id < b.id
}

// cursor marks the last video of a page by its place in the order.
type cursor struct {
	at time.Time
	id string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at.UnixNano(), 10) + "," + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	ns, id, ok := strings.Cut(string(b), ",")
	if !ok || !catalog.ValidID(id) {
		return cursor{}, errors.New("malformed cursor")
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return cursor{}, err
	}
	return cursor{at: time.Unix(0, n), id: id}, nil
}

// before reports whether e comes after the cursor in the listing order.
func (c cursor) before(e entry) bool {
	return newer(entry{id: c.id, uploaded: c.at}, e)
}

// displayName is the file name within an upload key (after the unique
// folder the API adds).
func displayName(key string) string {
	if key == "" {
		return ""
	}
	return path.Base(key)
}
