package vod

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// onDay makes h's quota clock a fixed day, one per test: the test S3 is
// shared by the whole test binary.
func onDay(h *Pipeline, day string) {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	h.now = func() time.Time { return t.Add(13 * time.Hour) }
}

func readCounter(t *testing.T, st *store.Store, day string) quotaDay {
	t.Helper()
	b, err := st.GetBytes(context.Background(), testenv.BucketMedia, quotaPrefix+day+".json")
	if err != nil {
		t.Fatal(err)
	}
	var q quotaDay
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestQuotaChargesConcurrentTranscodesOnce: transcodes charging the same
// day at once never pass more minutes than the quota, the counter holds
// exactly what passed, and an upload charged already (a retried event) is
// not charged again.
func TestQuotaChargesConcurrentTranscodesOnce(t *testing.T) {
	h, env := newHandler(t)
	h.cfg.SourceMinutesPerDay = 5
	onDay(h, "2001-01-01")
	ms := &media.Source{Duration: 60} // a minute each
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			src := catalog.Source{Bucket: testenv.BucketUploads, Key: fmt.Sprintf("c%d.mp4", i), Upload: catalog.Upload{Size: 100, ETag: "e"}}
			errs[i] = h.chargeQuota(context.Background(), catalog.VideoID(src.Key), src, ms)
		})
	}
	wg.Wait()
	var passed, refused int
	for _, err := range errs {
		switch {
		case err == nil:
			passed++
		case userMessage(err) == "daily quota of 5 source minutes reached; resets at 00:00 UTC":
			refused++
		default:
			t.Errorf("charge: %v", err)
		}
	}
	q := readCounter(t, env.Store, "2001-01-01")
	if passed != 5 || refused != n-5 || q.UsedMinutes != 5 || len(q.Charged) != 5 {
		t.Errorf("%d passed, %d refused, counter %.2f min for %d uploads; want 5, %d, 5 and 5", passed, refused, q.UsedMinutes, len(q.Charged), n-5)
	}

	// A retry of an upload that passed: not charged again, and it passes
	// although the day is full.
	src := catalog.Source{Bucket: testenv.BucketUploads, Key: "c0.mp4", Upload: catalog.Upload{Size: 100, ETag: "e"}}
	id := catalog.VideoID(src.Key)
	if _, ok := q.Charged[id+"@"+src.Revision()]; ok {
		if err := h.chargeQuota(context.Background(), id, src, ms); err != nil {
			t.Errorf("retry of a charged upload: %v", err)
		}
		if again := readCounter(t, env.Store, "2001-01-01"); again.UsedMinutes != 5 {
			t.Errorf("retry charged again: %.2f min used", again.UsedMinutes)
		}
	}
	// The same key with new content is a new upload: charged, so refused.
	src.ETag = "other"
	if err := h.chargeQuota(context.Background(), id, src, ms); userMessage(err) == "" {
		t.Errorf("a new upload on a full day: %v, want a refusal", err)
	}
	// The next UTC day starts again from zero.
	onDay(h, "2001-01-02")
	if err := h.chargeQuota(context.Background(), id, src, ms); err != nil {
		t.Errorf("next day: %v", err)
	}
	if q := readCounter(t, env.Store, "2001-01-02"); q.UsedMinutes != 1 {
		t.Errorf("next day's counter %.2f min, want 1", q.UsedMinutes)
	}
}

// TestDailyQuota: through the handler, with uploads arriving together, an
// upload over what is left of the day's quota ends failed with the reason
// and nothing encoded; the one that fits is ready.
func TestDailyQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg")
	}
	h, env := newHandler(t)
	onDay(h, "2001-02-01")
	// 2.1 s and 2.2 s of source, and room for one of them.
	h.cfg.SourceMinutesPerDay = 0.05
	keys := []string{"quota/roar.mp3", "quota/portrait.mov"}
	uploadFile(t, env.Store, keys[0], testenv.Media(t, "14_t_rex_roar_audio_only.mp3"))
	uploadFile(t, env.Store, keys[1], testenv.Media(t, "04_iphone4s_portrait_rot90.mov"))
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if err := h.Handle(context.Background(), putEvent(t, k)); err != nil {
				t.Errorf("handle %s: %v", k, err)
			}
		})
	}
	wg.Wait()
	states := map[catalog.State]int{}
	for _, k := range keys {
		id := catalog.VideoID(k)
		s := readStatus(t, env.Store, id)
		states[s.State]++
		if s.State != catalog.StateFailed {
			continue
		}
		if s.Error != "daily quota of 0.05 source minutes reached; resets at 00:00 UTC" {
			t.Errorf("%s failed with %q, want the quota's reason", k, s.Error)
		}
		if got := listKeys(t, env.Store, id); len(got) != 1 || got[0] != catalog.StatusKey(id) {
			t.Errorf("%s was refused but left %v", k, got)
		}
	}
	if states[catalog.StateReady] != 1 || states[catalog.StateFailed] != 1 {
		t.Errorf("states %v, want one ready and one failed", states)
	}
	q := readCounter(t, env.Store, "2001-02-01")
	if len(q.Charged) != 1 || q.UsedMinutes > 0.05 {
		t.Errorf("counter %+v, want one upload of at most 0.05 min", q)
	}
	// A retried event of the refused upload is refused again, uncharged.
	for _, k := range keys {
		if readStatus(t, env.Store, catalog.VideoID(k)).State == catalog.StateFailed {
			if err := h.Handle(context.Background(), putEvent(t, k)); err != nil {
				t.Fatal(err)
			}
			if again := readCounter(t, env.Store, "2001-02-01"); again.UsedMinutes != q.UsedMinutes {
				t.Errorf("the refused upload's retry changed the counter: %.4f -> %.4f", q.UsedMinutes, again.UsedMinutes)
			}
		}
	}
	noChildren(t)
}

func TestConfigQuotaFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want float64
		bad  bool
	}{{"", 0, false}, {"600", 600, false}, {"0.5", 0.5, false}, {"0", 0, false}, {"-1", 0, true}, {"lots", 0, true}, {"NaN", 0, true}} {
		c, err := ConfigFromEnv(func(k string) string {
			if k == "SOURCE_MINUTES_PER_DAY" {
				return tc.env
			}
			return ""
		})
		if (err != nil) != tc.bad || c.SourceMinutesPerDay != tc.want {
			t.Errorf("SOURCE_MINUTES_PER_DAY=%q: %v, %g; want error %v, %g", tc.env, err, c.SourceMinutesPerDay, tc.bad, tc.want)
		}
	}
}
