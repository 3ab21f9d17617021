package ingest

import "github.com/hlsflow/hlsflow/internal/metrics"

// The ingest's metrics, recorded with the stats log line (Config.StatsLog).
// No stream-name dimension: each name would be a CloudWatch metric of its
// own, billed monthly.
var (
	mLiveStreams     = metrics.Metric{Name: "LiveStreams", Unit: "Count", Kind: metrics.Gauge, Help: "Live streams, live or in their reconnect grace."}
	mIngestBitrate   = metrics.Metric{Name: "IngestBitrate", Unit: "Kilobits/Second", Kind: metrics.Sum, Help: "Each live stream's input bitrate, sampled at every stats period."}
	mDroppedBytes    = metrics.Metric{Name: "DroppedBytes", Unit: "Bytes", Kind: metrics.Counter, Help: "Input dropped because the live encoder fell behind."}
	mSegmentsDropped = metrics.Metric{Name: "SegmentsDropped", Unit: "Count", Kind: metrics.Counter, Help: "Live segments not published (the upload queue overflowed or failed)."}
	mPublishLag      = metrics.Metric{Name: "PublishLag", Unit: "Milliseconds", Kind: metrics.Sum, Help: "From a live segment's end to its upload, sampled at every stats period."}
)

// recordStats records the metrics of every stream; called by the owner.
// Counters are sent as what was added since the last period.
func (s *Service) recordStats() {
	if s.deps.Metrics == nil {
		return
	}
	s.deps.Metrics.Record(nil, mLiveStreams.Value(float64(len(s.streams))))
	for _, st := range s.streams {
		now := st.stats()
		vals := []metrics.Value{
			mDroppedBytes.Value(float64(now.InputDroppedBytes - st.reported.InputDroppedBytes)),
			mSegmentsDropped.Value(float64(now.Publish.SegmentsDropped - st.reported.Publish.SegmentsDropped)),
		}
		if now.State == "live" {
			vals = append(vals, mIngestBitrate.Value(now.BitrateInKbps))
		}
		if now.Publish.SegmentsPublished > st.reported.Publish.SegmentsPublished {
			vals = append(vals, mPublishLag.Value(now.Publish.LastLagMs))
		}
		st.reported = now
		s.deps.Metrics.Record(nil, vals...)
	}
}
