// Package subtitles keeps a video's captions and publishes them: the
// checked WebVTT of each caption (uploaded, or extracted from the source)
// as a private record, and for the revision that plays a WebVTT file with
// its X-TIMESTAMP-MAP, a one-segment playlist, and the master's subtitles
// group. The API adds captions; the on-demand pipeline publishes them
// with every new version, so a re-upload keeps them.
package subtitles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hlsflow/hlsflow/internal/captions"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/hls"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Origins of a caption.
const (
	Upload = "upload" // sent to the API; kept across re-uploads
	Source = "source" // extracted from the upload; made again with each
)

// MaxUploads bounds the captions sent for one video (the source's own are
// bounded by media.MaxSubtitleTracks).
const MaxUploads = 16

// ErrTooMany refuses a caption beyond MaxUploads.
var ErrTooMany = fmt.Errorf("a video has at most %d uploaded captions", MaxUploads)

// maxNameRunes bounds a caption's name, shown in a track picker.
const maxNameRunes = 64

// Store keeps captions in the media bucket.
type Store struct {
	S      *store.Store
	Bucket string // the media bucket
}

// record is a caption as kept.
type record struct {
	Language string    `json:"language"`
	Name     string    `json:"name"`
	Origin   string    `json:"origin"`
	Added    time.Time `json:"added"`
	VTT      string    `json:"vtt"` // captions.Track.WebVTT(0)
	slot     string
}

// Slot names a caption by language and name: sending the same pair again
// replaces it.
func Slot(language, name string) string {
	sum := sha256.Sum256([]byte(language + "\x00" + name))
	return hex.EncodeToString(sum[:5])
}

func recordKey(id, origin, slot string) string {
	return catalog.CaptionsMetaPrefix + id + "/" + origin + "-" + slot + ".json"
}

// Label checks a caption's language (BCP 47, put in canonical case) and
// makes its name safe to show and to quote (the language when empty).
func Label(language, name string) (string, string, error) {
	lang, ok := captions.CanonicalLanguage(strings.TrimSpace(language))
	if !ok {
		return "", "", fmt.Errorf("%w: %q is not a BCP 47 language tag (such as en, pt-BR or zh-Hant)", captions.ErrInvalid, clip(language))
	}
	if !utf8.ValidString(name) {
		return "", "", fmt.Errorf("%w: the name is not UTF-8", captions.ErrInvalid)
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name))
	if utf8.RuneCountInString(name) > maxNameRunes {
		return "", "", fmt.Errorf("%w: the name is longer than %d characters", captions.ErrInvalid, maxNameRunes)
	}
	if name == "" {
		name = lang
	}
	return lang, name, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Add keeps track as video id's caption in language (checked by Label)
// and name, replacing one with the same language and name. A Source
// caption never replaces an uploaded one.
func (s Store) Add(ctx context.Context, id, language, name, origin string, t *captions.Track) (lang, label string, err error) {
	if !catalog.ValidID(id) || (origin != Upload && origin != Source) {
		return "", "", errors.New("add caption: bad id or origin")
	}
	if lang, label, err = Label(language, name); err != nil {
		return "", "", err
	}
	slot := Slot(lang, label)
	if origin == Upload {
		keys, err := s.S.List(ctx, s.Bucket, catalog.CaptionsMetaPrefix+id+"/"+Upload+"-")
		if err != nil {
			return "", "", err
		}
		if len(keys) >= MaxUploads && !slices.Contains(keys, recordKey(id, Upload, slot)) {
			return "", "", ErrTooMany
		}
	}
	b, err := json.Marshal(record{Language: lang, Name: label, Origin: origin, Added: time.Now().UTC(), VTT: string(t.WebVTT(0))})
	if err != nil {
		return "", "", err
	}
	key := recordKey(id, origin, slot)
	return lang, label, s.S.PutBytes(ctx, s.Bucket, key, b, store.Object{ContentType: "application/json", CacheControl: store.CacheNoCache})
}

// DropSource forgets the captions extracted from video id's previous
// upload (files already published stay until their revision goes).
func (s Store) DropSource(ctx context.Context, id string) error {
	keys, err := s.S.List(ctx, s.Bucket, catalog.CaptionsMetaPrefix+id+"/"+Source+"-")
	if err != nil || len(keys) == 0 {
		return err
	}
	return s.S.DeleteKeys(ctx, s.Bucket, keys)
}

// Version names the state of video id's captions: it changes when one
// is added, replaced or dropped. A job compares it before publishing and
// after its status.json says ready, to publish again what the API kept in
// between (the API publishes itself only once a video is ready).
func (s Store) Version(ctx context.Context, id string) (string, error) {
	objs, err := s.S.Objects(ctx, s.Bucket, catalog.CaptionsMetaPrefix+id+"/")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s %d %d\n", o.Key, o.Size, o.LastModified.UnixNano())
	}
	return b.String(), nil
}

// records reads video id's captions: uploaded ones first (oldest first),
// then the source's not shadowed by an upload with the same slot.
func (s Store) records(ctx context.Context, id string) ([]record, error) {
	keys, err := s.S.List(ctx, s.Bucket, catalog.CaptionsMetaPrefix+id+"/")
	if err != nil {
		return nil, err
	}
	var out []record
	seen := map[string]bool{}
	for _, k := range keys {
		base := strings.TrimSuffix(path.Base(k), ".json")
		origin, slot, _ := strings.Cut(base, "-")
		b, err := s.S.GetBytes(ctx, s.Bucket, k)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		var r record
		if json.Unmarshal(b, &r) != nil || r.Origin != origin {
			continue
		}
		r.slot = slot
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b record) int {
		if a.Origin != b.Origin {
			return strings.Compare(b.Origin, a.Origin) // "upload" before "source"
		}
		return a.Added.Compare(b.Added)
	})
	kept := out[:0]
	for _, r := range out {
		if !seen[r.slot] && len(kept) < MaxUploads+media.MaxSubtitleTracks {
			seen[r.slot] = true
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// Publish writes video id's captions for the version master m names (its
// first variant's revision): each a WebVTT file whose X-TIMESTAMP-MAP
// ties cue time 0 to the first frame of the variant's first segment, and
// a one-segment playlist as long as the variant; and sets m's subtitles
// group. It returns the keys written and the captions for status.json.
// The variant's playlist must be in the bucket.
func (s Store) Publish(ctx context.Context, id string, m *hls.MasterPlaylist) ([]string, []catalog.Caption, error) {
	recs, err := s.records(ctx, id)
	if err != nil || len(recs) == 0 {
		m.SetSubtitles(nil)
		return nil, nil, err
	}
	if len(m.Variants) == 0 {
		return nil, nil, errors.New("publish captions: the master has no variant")
	}
	v := m.Variants[0]
	rev := catalog.RevisionOf(v.URI)
	b, err := s.S.GetBytes(ctx, s.Bucket, catalog.Prefix(id)+v.URI)
	if err != nil {
		return nil, nil, fmt.Errorf("publish captions: %w", err)
	}
	pl, err := hls.ParseMedia(b)
	if err != nil || len(pl.Segments) == 0 {
		return nil, nil, fmt.Errorf("publish captions: variant playlist %s: %v", v.URI, err)
	}
	seg := catalog.Prefix(id) + path.Join(path.Dir(v.URI), pl.Segments[0].URI)
	head, _, err := s.S.Get(ctx, s.Bucket, seg, 256<<10)
	if err != nil {
		return nil, nil, fmt.Errorf("publish captions: %w", err)
	}
	pts, err := media.FirstPTS(strings.NewReader(string(head)))
	if err != nil {
		return nil, nil, fmt.Errorf("publish captions: %s: %w", seg, err)
	}
	var keys []string
	var caps []catalog.Caption
	var subs []hls.Subtitles
	names := map[string]bool{}
	for _, r := range recs {
		if names[r.Name] { // NAME is unique in a group (RFC 8216)
			r.Name += " (" + r.Language + ")"
		}
		names[r.Name] = true
		t, err := captions.Parse([]byte(r.VTT))
		if err != nil {
			continue // not one Add wrote
		}
		body := t.WebVTT(pts)
		sum := sha256.Sum256(body)
		vtt := catalog.CaptionKey(id, r.slot, rev, hex.EncodeToString(sum[:4]))
		p, err := hls.SubtitlesPlaylist(path.Base(vtt), pl.Duration())
		if err != nil {
			return nil, nil, err
		}
		list, err := p.Encode()
		if err != nil {
			return nil, nil, err
		}
		listKey := path.Dir(vtt) + "/" + media.PlaylistName(rev)
		for k, b := range map[string][]byte{vtt: body, listKey: list} {
			if err := s.S.PutBytes(ctx, s.Bucket, k, b, store.For(k)); err != nil {
				return nil, nil, err
			}
			keys = append(keys, k)
		}
		caps = append(caps, catalog.Caption{Language: r.Language, Name: r.Name, URI: vtt})
		subs = append(subs, hls.Subtitles{Language: r.Language, Name: r.Name, URI: strings.TrimPrefix(listKey, catalog.Prefix(id))})
	}
	m.SetSubtitles(subs)
	return keys, caps, nil
}
