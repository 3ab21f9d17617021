package vod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// How a failure is classified, in one place: userMessage says what
// status.json shows and whether the failure is final (the upload's fault,
// or out of time: retrying would fail again) or transient (the event is
// retried). Where a failure is known for what it is, it is marked: a
// refusal carries its sentence, media's refusals wrap
// media.ErrUnsupported (or say so in their text when they crossed the
// Invoke API), and interrupted marks a job its invocation stopped.

// refusal is a final failure caused by the upload itself (or by its
// processing taking too long): retrying would fail the same way. msg is
// written to status.json for the person who uploaded the file.
type refusal struct {
	msg    string
	err    error
	reason string // for metrics: "refused", "timeout", "quota"
}

func (r *refusal) Error() string {
	if r.err != nil {
		return r.msg + ": " + r.err.Error()
	}
	return r.msg
}

func (r *refusal) Unwrap() error { return r.err }

func refuse(msg string, err error) error { return &refusal{msg: msg, err: err, reason: "refused"} }

// failReason names the kind of a failure in the metrics' Reason
// dimension: a refusal's reason, "unsupported" for media's refusals,
// "interrupted", or "transient" (retried).
func failReason(err error) string {
	var r *refusal
	switch {
	case errors.Is(err, errInterrupted):
		return "interrupted"
	case errors.As(err, &r):
		return r.reason
	case userMessage(err) != "":
		return "unsupported"
	}
	return "transient"
}

// errInterrupted marks a job stopped because its invocation was.
var errInterrupted = errors.New("interrupted")

// userMessage returns the sentence status.json shows for a final failure,
// or "" when err is transient and the event should be retried.
func userMessage(err error) string {
	var r *refusal
	switch {
	case errors.Is(err, errInterrupted):
		return ""
	case errors.As(err, &r):
		return r.msg
	}
	if reason, ok := refusedInput(err); ok {
		return "this file cannot be made into a video stream: " + reason
	}
	return ""
}

// unsupportedMarker starts the part of an error message that tells, in
// words for the uploader, why media refused the input.
var unsupportedMarker = media.ErrUnsupported.Error() + ": "

// refusedInput says whether media refused the input, and why, also when
// the error lost its type on the way (a function error of the encode
// Lambda) or its text was redacted: media's refusals read
// "...: unsupported input: the file is empty".
func refusedInput(err error) (string, bool) {
	s := err.Error()
	if i := strings.LastIndex(s, unsupportedMarker); i >= 0 {
		return strings.TrimSpace(s[i+len(unsupportedMarker):]), true
	}
	return s, errors.Is(err, media.ErrUnsupported)
}

// interrupted marks what stopped a probe or an encode, if it was not the
// file: out of time (the encode context's deadline, a margin before the
// invocation's, is final), or the invocation cancelled (transient).
func interrupted(ctx, encCtx context.Context, start time.Time, err error) error {
	switch {
	case errors.Is(encCtx.Err(), context.DeadlineExceeded):
		return &refusal{reason: "timeout", err: err, msg: fmt.Sprintf("timed out: processing was stopped after %s, the most this function may run; try a shorter or smaller file",
			time.Since(start).Round(time.Second))}
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", errInterrupted, err)
	}
	return err
}

// redact replaces secret (a presigned URL) in err's text with name,
// keeping err's chain for errors.Is and errors.As.
func redact(err error, secret, name string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redacted{err: err, text: strings.ReplaceAll(err.Error(), secret, name)}
}

type redacted struct {
	err  error
	text string
}

func (r *redacted) Error() string { return r.text }
func (r *redacted) Unwrap() error { return r.err }
