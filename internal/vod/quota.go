package vod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

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

// quotaAttempts bounds the read-modify-write retries when other
// transcodes update the counter at the same time; past it the event is
// retried later, uncharged.
const quotaAttempts = 25

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
// SourceMinutesPerDay. The counter is written with a conditional PUT
// (If-Match on the ETag read, If-None-Match for the day's first charge),
// so two transcodes that read the same counter cannot both write it: the
// loser reads again and decides again. An upload already charged today
// (a retry of the same event) passes without a second charge.
func (p *Pipeline) chargeQuota(ctx context.Context, id string, src catalog.Source, ms *media.Source) error {
	quota := p.cfg.SourceMinutesPerDay
	if quota <= 0 {
		return nil
	}
	day := p.now().UTC()
	key := quotaKey(day)
	charge := id + "@" + src.Revision()
	minutes := math.Max(0, ms.Duration) / 60
	for attempt := 1; ; attempt++ {
		q, etag, err := p.readQuota(ctx, key, day.Format(time.DateOnly))
		if err != nil {
			return fmt.Errorf("daily quota: %w", err)
		}
		if _, ok := q.Charged[charge]; ok {
			return nil
		}
		if q.UsedMinutes+minutes > quota+1e-9 {
			p.log.Warn("daily quota reached", "id", id, "minutes", minutes, "used", q.UsedMinutes, "quota", quota)
			return &refusal{reason: "quota", msg: fmt.Sprintf("daily quota of %s source minutes reached; resets at 00:00 UTC",
				strconv.FormatFloat(quota, 'f', -1, 64))}
		}
		q.UsedMinutes += minutes
		q.Charged[charge] = minutes
		q.LimitMinutes = quota
		err = p.putQuota(ctx, key, q, etag)
		if err == nil {
			return nil
		}
		if !conditionFailed(err) || attempt == quotaAttempts {
			return fmt.Errorf("daily quota: %w", err)
		}
		// Another transcode wrote first: wait a little, at random so that
		// the contenders spread out, and decide again on what it wrote.
		wait := time.Duration(attempt) * time.Duration(20+rand.IntN(40)) * time.Millisecond
		select {
		case <-ctx.Done():
			return fmt.Errorf("daily quota: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// readQuota returns the day's counter and its ETag ("" when it does not
// exist yet).
func (p *Pipeline) readQuota(ctx context.Context, key, day string) (*quotaDay, string, error) {
	q := &quotaDay{Day: day, Charged: map[string]float64{}}
	out, err := p.store.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &p.cfg.MediaBucket, Key: &key})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return q, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read s3://%s/%s: %w", p.cfg.MediaBucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 64<<20))
	if err != nil {
		return nil, "", fmt.Errorf("read s3://%s/%s: %w", p.cfg.MediaBucket, key, err)
	}
	if err := json.Unmarshal(body, q); err != nil {
		return nil, "", fmt.Errorf("read s3://%s/%s: %w", p.cfg.MediaBucket, key, err)
	}
	if q.Charged == nil {
		q.Charged = map[string]float64{}
	}
	return q, aws.ToString(out.ETag), nil
}

// putQuota writes the counter only if it is still the one read: If-Match
// its ETag, or If-None-Match "*" when there was none.
func (p *Pipeline) putQuota(ctx context.Context, key string, q *quotaDay, etag string) error {
	body, err := json.Marshal(q)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket: &p.cfg.MediaBucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType: aws.String("application/json"), CacheControl: aws.String(store.CacheNoCache),
	}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	} else {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := p.store.Client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", p.cfg.MediaBucket, key, err)
	}
	return nil
}

// conditionFailed says whether a conditional PUT lost to another writer:
// 412 Precondition Failed, or 409 ConditionalRequestConflict when S3 saw
// both writes at once.
func conditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict)
}
