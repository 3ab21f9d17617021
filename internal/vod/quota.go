package vod

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/media"
	"github.com/hlsflow/hlsflow/internal/store"
)

// The daily quota of source minutes (SOURCE_MINUTES_PER_DAY) caps what
// uploads can spend: before anything is encoded, the probed duration of
// the source is added to the counter of the current UTC day, an object
// in the media bucket. The edge and CloudFront serve only vod/ and live/,
// so the counters are never public.
const quotaPrefix = "_quota/"

// quotaDay is one day's counter, _quota/YYYY-MM-DD.json.
type quotaDay struct {
	Day          string  `json:"day"`
	LimitMinutes float64 `json:"limitMinutes"` // the quota when last written
	UsedMinutes  float64 `json:"usedMinutes"`
	// Charged holds the minutes of every upload charged today, by
	// "{video id}@{revision}", so that a retried event is not charged twice.
	Charged map[string]float64 `json:"charged"`
}

// quotaKey is the counter of the UTC day of t.
func quotaKey(t time.Time) string { return quotaPrefix + t.UTC().Format(time.DateOnly) + ".json" }

// chargeQuota adds the probed minutes of upload src (video id) to today's
// counter, or refuses it when they do not fit in what is left of
// SourceMinutesPerDay. The counter is changed with store.Update, so two
// transcodes that read the same counter cannot both write it: the loser
// reads again and decides again. An upload already charged today (a retry
// of the same event) passes without a second charge.
func (p *Pipeline) chargeQuota(ctx context.Context, id string, src catalog.Source, ms *media.Source) error {
	quota := p.cfg.SourceMinutesPerDay
	if quota <= 0 {
		return nil
	}
	day := p.now().UTC()
	charge := id + "@" + src.Revision()
	minutes := math.Max(0, ms.Duration) / 60
	err := store.Update(ctx, p.store, p.cfg.MediaBucket, quotaKey(day), store.Object{CacheControl: store.CacheNoCache}, func(q *quotaDay) error {
		q.Day = day.Format(time.DateOnly)
		if q.Charged == nil {
			q.Charged = map[string]float64{}
		}
		if _, ok := q.Charged[charge]; ok {
			return errCharged
		}
		if q.UsedMinutes+minutes > quota+1e-9 {
			p.log.Warn("daily quota reached", "id", id, "minutes", minutes, "used", q.UsedMinutes, "quota", quota)
			return &refusal{reason: "quota", msg: fmt.Sprintf("daily quota of %s source minutes reached; resets at 00:00 UTC",
				strconv.FormatFloat(quota, 'f', -1, 64))}
		}
		q.UsedMinutes += minutes
		q.Charged[charge] = minutes
		q.LimitMinutes = quota
		return nil
	})
	var r *refusal
	switch {
	case err == nil, errors.Is(err, errCharged):
		return nil
	case errors.As(err, &r):
		return err
	}
	// Past store.Update's attempts the event is retried later, uncharged.
	return fmt.Errorf("daily quota: %w", err)
}

// errCharged ends an update that finds the upload charged already.
var errCharged = errors.New("already charged")
