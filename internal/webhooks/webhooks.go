// Package webhooks tells the operator's endpoints what happened: a video
// was created, became ready or failed, a live stream started or ended, a
// recording is ready. Each event is delivered to every registered
// endpoint as a signed POST (sign.go), at least once, in order per video
// or stream, retried with capped exponential backoff for a day and more;
// every attempt is logged where the API reads it.
//
// The endpoints, the deliveries (pending and done) and their log live in
// the media bucket under Prefix, never served. Hooks writes a delivery
// before Emit returns, so a delivery survives a restart; its sender
// (Start, Close) works through the pending ones.
package webhooks

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// The events.
const (
	VideoCreated   = "video.created"
	VideoReady     = "video.ready"
	VideoFailed    = "video.failed"
	StreamStarted  = "stream.started"
	StreamEnded    = "stream.ended"
	RecordingReady = "recording.ready"
)

// Prefix holds webhooks' records in the media bucket: endpoints (with
// their secrets), deliveries and the pending index. The edge serves only
// vod/ and live/.
const Prefix = "webhooks-meta/"

// Event is what an endpoint receives, as the JSON body of the POST.
type Event struct {
	ID      string          `json:"id"`      // evt_…, the same in every delivery of the event
	Type    string          `json:"type"`    // video.ready…
	Created time.Time       `json:"created"` // when it happened
	Data    json.RawMessage `json:"data"`    // the object's public fields (a video's status.json, a stream)
}

// VideoSubject and StreamSubject name what an event is about; events with
// the same subject are delivered in the order they were emitted.
func VideoSubject(id string) string    { return "video/" + id }
func StreamSubject(name string) string { return "stream/" + name }

// newID is prefix and 16 random bytes in hex.
func newID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return prefix + hex.EncodeToString(b)
}
