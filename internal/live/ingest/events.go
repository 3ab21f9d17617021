package ingest

import (
	"context"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// Events receives what happens to live streams, for webhooks
// (*webhooks.Hooks fits). Emit stores the event before it returns.
type Events interface {
	Emit(ctx context.Context, typ, subject string, data any) error
}

// StreamEvent is a live stream's public fields, as its events carry them.
type StreamEvent struct {
	Name      string    `json:"name"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
	Recording string    `json:"recording"` // the recording's video id
	// Playback is the key of the stream's master playlist (live/…) or, in
	// recording.ready, the recording's (vod/…).
	Playback string `json:"playback"`
}

// maxEvents bounds the events waiting for the events goroutine.
const maxEvents = 256

type event struct {
	typ string
	ev  StreamEvent
}

// notify hands an event about st to the events goroutine, which emits
// them in order; it never blocks (the owner and the listeners call it).
func (s *Service) notify(typ string, st *stream) {
	if s.deps.Events == nil {
		return
	}
	ev := StreamEvent{Name: st.name, Started: st.started.UTC(), Recording: st.rec, Playback: catalog.LiveMasterKey(st.name)}
	switch typ {
	case webhooks.StreamEnded:
		ev.Ended = time.Now().UTC()
	case webhooks.RecordingReady:
		ev.Ended, ev.Playback = time.Now().UTC(), catalog.MasterKey(st.rec)
	}
	select {
	case s.events <- event{typ, ev}:
	default:
		s.deps.Log.Error("live: webhook event dropped: too many waiting", "type", typ, "stream", st.name)
	}
}

// tell emits the events, in order, until Close; what is left then is
// emitted before it returns.
func (s *Service) tell() {
	emit := func(e event) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.deps.Events.Emit(ctx, e.typ, webhooks.StreamSubject(e.ev.Name), e.ev); err != nil {
			s.deps.Log.Error("live: webhook event", "type", e.typ, "stream", e.ev.Name, "err", err)
		}
	}
	for {
		select {
		case e := <-s.events:
			emit(e)
		case <-s.quitEvents:
			for {
				select {
				case e := <-s.events:
					emit(e)
				default:
					return
				}
			}
		}
	}
}
