package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// VideoTypes are the Content-Types an upload may declare. The type is
// signed into the upload URL (or set on the multipart upload), so S3
// refuses a PUT that claims another.
var VideoTypes = map[string]bool{
	"video/mp4": true, "video/quicktime": true, "video/webm": true,
	"video/x-matroska": true, "video/mp2t": true, "video/x-flv": true,
	"video/x-msvideo": true, "video/mpeg": true, "video/x-m4v": true,
	"video/3gpp": true, "video/ogg": true,
}

// recordPrefix holds the API's record of each upload it handed out, in the
// media bucket (never in the uploads bucket, where every new object is a
// video to transcode). The edge serves only vod/ and live/, not this.
const recordPrefix = "uploads-meta/"

func recordKey(id string) string { return catalog.RecordKey(id) }

// uploadRecord is what the API remembers of an upload: enough to tell
// "uploading" from "queued" before the transcoder writes status.json, to
// complete a multipart upload, to check the upload's secret, and to show
// the operator the file's own name and where it is kept (status.json,
// which is public, says neither).
type uploadRecord struct {
	ID          string    `json:"id"`
	Key         string    `json:"key"`
	Filename    string    `json:"filename"`
	Size        int64     `json:"size"`
	ContentType string    `json:"contentType"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	UploadID    string    `json:"uploadId,omitempty"`
	PartSize    int64     `json:"partSize,omitempty"`
	Parts       int       `json:"parts,omitempty"`
	// SecretSHA256 is the hex SHA-256 of the upload's secret; the secret
	// itself is only ever in the answer to POST /api/uploads.
	SecretSHA256 string `json:"secretSha256,omitempty"`
	// SourceURL is where an upload from a URL is fetched from.
	SourceURL string `json:"sourceUrl,omitempty"`
	// Options are what the upload asks of its encode; the transcode
	// reads them from here (catalog.ReadOptions).
	Options catalog.Options `json:"options,omitzero"`
}

// UploadRequest is the body of POST /api/uploads: a file's name, size and
// type, or the URL to fetch it from (uploadurl.go).
type UploadRequest struct {
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	URL         string `json:"url,omitempty"`
	// Codecs are the video codecs to encode beside H.264, which every
	// video has: "hevc", "av1" ("h264" alone: H.264 only). Empty is the
	// deployment's VIDEO_CODECS.
	Codecs []string `json:"codecs,omitempty"`
}

// Upload is the answer to POST /api/uploads: exactly one of Put and
// Multipart is set. Secret lets whoever holds it complete or cancel this
// upload (and nothing else) without the API token; it is shown only here.
type Upload struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Secret    string     `json:"secret"`
	StatusURL string     `json:"statusUrl"`
	Expires   time.Time  `json:"expires"`
	Put       *PutURL    `json:"put,omitempty"`
	Multipart *Multipart `json:"multipart,omitempty"`
}

// PutURL is a presigned single PUT; the request must carry exactly these
// headers and a body of exactly the declared size.
type PutURL struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// Multipart is a multipart upload: PUT each part's bytes (part n covers
// bytes (n-1)*partSize up to n*partSize, the last part the rest) to its URL,
// in any order and in parallel, then POST CompleteURL.
type Multipart struct {
	UploadID    string `json:"uploadId"`
	PartSize    int64  `json:"partSize"`
	Parts       []Part `json:"parts"`
	CompleteURL string `json:"completeUrl"`
	AbortURL    string `json:"abortUrl"`
}

// Part is one presigned part URL.
type Part struct {
	Number int    `json:"partNumber"`
	Size   int64  `json:"size"`
	URL    string `json:"url"`
}

func (h *Handler) createUpload(r *request) (*response, error) {
	if err := h.requireOperator(r, "creating an upload"); err != nil {
		return nil, err
	}
	var in UploadRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	opts, err := catalog.NewOptions(in.Codecs)
	if err != nil {
		return nil, badField("codecs", "%s", err.Error())
	}
	if in.URL != "" {
		return h.createFromURL(r, in, opts)
	}
	switch {
	case strings.TrimSpace(in.Filename) == "":
		return nil, badField("filename", "filename is required")
	case len(in.Filename) > 255:
		return nil, badField("filename", "filename is longer than 255 bytes")
	case in.Size <= 0:
		return nil, badField("size", "size must be the file's size in bytes, more than 0")
	case in.Size > h.cfg.MaxUploadSize:
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Field: "size",
			Message: fmt.Sprintf("the file is %s; the largest upload allowed is %s", humanBytes(in.Size), humanBytes(h.cfg.MaxUploadSize))}
	}
	ct := strings.ToLower(strings.TrimSpace(in.ContentType))
	if ct == "" {
		return nil, badField("contentType", "contentType is required (for example video/mp4)")
	}
	if !VideoTypes[ct] {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Field: "contentType",
			Message: fmt.Sprintf("%q is not a video type this service accepts (%s)", in.ContentType, strings.Join(videoTypeList(), ", "))}
	}

	now := h.cfg.Now().UTC()
	key, err := uploadKey(now, in.Filename)
	if err != nil {
		return nil, err
	}
	id := catalog.VideoID(key)
	secret, err := newUploadSecret()
	if err != nil {
		return nil, err
	}
	rec := uploadRecord{ID: id, Key: key, Filename: in.Filename, Size: in.Size, ContentType: ct,
		Created: now, Expires: now.Add(h.cfg.URLTTL), SecretSHA256: secretHash(secret), Options: opts}
	out := Upload{ID: id, Key: key, Secret: secret, StatusURL: "/api/videos/" + id, Expires: rec.Expires}

	if in.Size <= h.cfg.MultipartThreshold {
		u, err := h.cfg.Store.PresignPut(r.Context(), h.cfg.UploadsBucket, key, ct, in.Size, h.presign(r))
		if err != nil {
			return nil, err
		}
		out.Put = &PutURL{URL: u, Headers: map[string]string{"Content-Type": ct}}
	} else {
		mp, err := h.startMultipart(r, &rec)
		if err != nil {
			return nil, err
		}
		out.Multipart = mp
	}
	if err := h.putRecord(r, &rec); err != nil {
		return nil, err
	}
	return reply(http.StatusCreated, out)
}

func (h *Handler) startMultipart(r *request, rec *uploadRecord) (*Multipart, error) {
	partSize := h.cfg.PartSize
	// Stay within S3's 10,000 parts, in whole MiB.
	if minSize := (rec.Size + maxParts - 1) / maxParts; minSize > partSize {
		partSize = (minSize + 1<<20 - 1) &^ (1<<20 - 1)
	}
	n := int((rec.Size + partSize - 1) / partSize)
	uploadID, err := h.cfg.Store.CreateMultipart(r.Context(), h.cfg.UploadsBucket, rec.Key, rec.ContentType)
	if err != nil {
		return nil, err
	}
	rec.UploadID, rec.PartSize, rec.Parts = uploadID, partSize, n
	mp := &Multipart{UploadID: rec.UploadID, PartSize: partSize, Parts: make([]Part, n),
		CompleteURL: "/api/uploads/" + rec.ID + "/complete", AbortURL: "/api/uploads/" + rec.ID}
	at := h.presign(r)
	for i := range n {
		size := min(partSize, rec.Size-int64(i)*partSize)
		u, err := h.cfg.Store.PresignPart(r.Context(), h.cfg.UploadsBucket, rec.Key, uploadID, int32(i+1), size, at)
		if err != nil {
			return nil, err
		}
		mp.Parts[i] = Part{Number: i + 1, Size: size, URL: u}
	}
	return mp, nil
}

func (h *Handler) putRecord(r *request, rec *uploadRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode upload record %s: %w", rec.ID, err)
	}
	key := recordKey(rec.ID)
	return h.cfg.Store.PutBytes(r.Context(), h.cfg.MediaBucket, key, b, store.Object{ContentType: "application/json", CacheControl: store.CacheNoCache})
}

// getRecord returns the upload record of id; the error wraps
// store.ErrNotFound when there is none.
func (h *Handler) getRecord(r *request, id string) (*uploadRecord, error) {
	b, err := h.cfg.Store.GetBytes(r.Context(), h.cfg.MediaBucket, recordKey(id))
	if err != nil {
		return nil, err
	}
	var rec uploadRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decode upload record %s: %w", id, err)
	}
	return &rec, nil
}

// uploadRecordOr404 loads the record of id, turning a missing one into 404.
func (h *Handler) uploadRecordOr404(r *request, id string) (*uploadRecord, error) {
	if !catalog.ValidID(id) {
		return nil, notFound("no upload with id %q", id)
	}
	rec, err := h.getRecord(r, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no upload with id %q", id)
	}
	return rec, err
}

// Completed is the answer to POST /api/uploads/{id}/complete.
type Completed struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	StatusURL string `json:"statusUrl"`
}

func (h *Handler) completeUpload(r *request) (*response, error) {
	id := r.PathValue("id")
	rec, err := h.uploadFor(r, id, "completing an upload")
	if err != nil {
		return nil, err
	}
	done := Completed{ID: id, State: StateQueued, StatusURL: "/api/videos/" + id}
	if rec.UploadID == "" {
		return nil, &apiError{Status: http.StatusConflict,
			Message: "this upload is a single PUT; it is complete when the PUT succeeds"}
	}
	parts, err := h.cfg.Store.ListParts(r.Context(), h.cfg.UploadsBucket, rec.Key, rec.UploadID)
	if errors.Is(err, store.ErrNoSuchUpload) {
		// Completed before (a retried call), or aborted.
		if info, herr := h.cfg.Store.Head(r.Context(), h.cfg.UploadsBucket, rec.Key); herr == nil && info.Size == rec.Size {
			return reply(http.StatusOK, done)
		}
		return nil, &apiError{Status: http.StatusGone,
			Message: "this multipart upload no longer exists (it was aborted or expired); upload the file again"}
	}
	if err != nil {
		return nil, err
	}
	byNum := make(map[int32]store.Part, len(parts))
	for _, p := range parts {
		byNum[p.Number] = p
	}
	var missing []int
	var total int64
	completed := make([]store.Part, 0, rec.Parts)
	for i := range rec.Parts {
		num := int32(i + 1)
		p, ok := byNum[num]
		if !ok {
			missing = append(missing, int(num))
			continue
		}
		want := min(rec.PartSize, rec.Size-int64(i)*rec.PartSize)
		if got := p.Size; got != want {
			return nil, &apiError{Status: http.StatusConflict,
				Message: fmt.Sprintf("part %d has %d bytes, expected %d; upload it again", num, got, want)}
		}
		total += want
		completed = append(completed, p)
	}
	if len(missing) > 0 {
		return nil, &apiError{Status: http.StatusConflict, Missing: missing,
			Message: fmt.Sprintf("%d of %d parts are not uploaded yet (%s)", len(missing), rec.Parts, partList(missing))}
	}
	if total != rec.Size {
		return nil, &apiError{Status: http.StatusConflict,
			Message: fmt.Sprintf("parts add up to %d bytes, the upload declared %d", total, rec.Size)}
	}
	if err := h.cfg.Store.CompleteMultipart(r.Context(), h.cfg.UploadsBucket, rec.Key, rec.UploadID, completed); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, done)
}

func (h *Handler) abortUpload(r *request) (*response, error) {
	id := r.PathValue("id")
	rec, err := h.uploadFor(r, id, "cancelling an upload")
	if err != nil {
		return nil, err
	}
	if _, err := h.cfg.Store.Head(r.Context(), h.cfg.UploadsBucket, rec.Key); err == nil {
		return nil, &apiError{Status: http.StatusConflict,
			Message: "this upload already finished; it cannot be cancelled"}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if rec.UploadID != "" {
		err := h.cfg.Store.AbortMultipart(r.Context(), h.cfg.UploadsBucket, rec.Key, rec.UploadID)
		if err != nil && !errors.Is(err, store.ErrNoSuchUpload) {
			return nil, err
		}
	}
	if err := h.cfg.Store.DeleteKeys(r.Context(), h.cfg.MediaBucket, []string{recordKey(id)}); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, map[string]string{"id": id, "state": "cancelled"})
}

// uploadKey chooses the object key: a time-ordered unique folder, then the
// file's name made safe, so two uploads of "clip.mp4" never collide and the
// video id still reads like the file.
func uploadKey(now time.Time, filename string) (string, error) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("random upload key: %w", err)
	}
	return now.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]) + "/" + safeName(filename), nil
}

// safeName keeps a file name's ASCII letters, digits, dots, dashes and
// underscores, folding every other run to one dash, at most 100 bytes with
// the extension kept; a name with nothing left becomes "video".
func safeName(name string) string {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	ext := path.Ext(base)
	stem := clean(strings.TrimSuffix(base, ext))
	if ext = clean(ext); ext != "" {
		ext = "." + ext
	}
	if len(ext) > 11 {
		ext = ""
	}
	if stem == "" {
		stem = "video"
	}
	if len(stem)+len(ext) > 100 {
		stem = strings.TrimRight(stem[:100-len(ext)], ".-")
	}
	return stem + ext
}

// clean keeps [A-Za-z0-9._-], folds other runs to "-", and trims dots and
// dashes at both ends.
func clean(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return strings.Trim(b.String(), ".-")
}

func videoTypeList() []string {
	l := make([]string, 0, len(VideoTypes))
	for t := range VideoTypes {
		l = append(l, t)
	}
	sort.Strings(l)
	return l
}

func partList(nums []int) string {
	const show = 10
	var s []string
	for i, n := range nums {
		if i == show {
			s = append(s, fmt.Sprintf("and %d more", len(nums)-show))
			break
		}
		s = append(s, fmt.Sprint(n))
	}
	return "part " + strings.Join(s, ", ")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
