package transcode

import (
	"errors"
	"strings"

	"github.com/hlsflow/hlsflow/internal/media"
)

// refusal is a final failure caused by the upload itself (or by its
// processing taking too long): retrying would fail the same way. msg is
// written to status.json for the person who uploaded the file.
type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string {
	if r.err != nil {
		return r.msg + ": " + r.err.Error()
	}
	return r.msg
}

func (r *refusal) Unwrap() error { return r.err }

func refuse(msg string, err error) error { return &refusal{msg: msg, err: err} }

// userMessage returns the sentence status.json shows for a final failure,
// or "" when err is transient and the event should be retried.
func userMessage(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.msg
	}
	if errors.Is(err, media.ErrUnsupported) {
		// media's refusals read "...: unsupported input: the file is empty".
		s, ok := refusedInput(err)
		if !ok {
			s = err.Error()
		}
		return "this file cannot be made into a video stream: " + s
	}
	return ""
}

// unsupportedMarker starts the part of an error message that tells, in
// words for the uploader, why media refused the input.
var unsupportedMarker = media.ErrUnsupported.Error() + ": "

// refusedInput finds media's refusal in an error that lost its type on the
// way (a function error of the encode Lambda) and returns its reason.
func refusedInput(err error) (string, bool) {
	s := err.Error()
	i := strings.LastIndex(s, unsupportedMarker)
	if i < 0 {
		return "", false
	}
	return strings.TrimSpace(s[i+len(unsupportedMarker):]), true
}
