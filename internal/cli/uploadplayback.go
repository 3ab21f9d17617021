package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// uploadPlayback is where an uploaded video plays. Under signed playback
// (the stack's signedPlayback, hlsflow up --signed-playback) the edge
// refuses the bare /vod/… URL, so upload asks the API for a URL with a
// grant once the video is ready (POST /api/videos/{id}/playback).
type uploadPlayback struct {
	signed      bool
	base, token string // the API's, when signed; token may be "" (asked later)
	unknown     error  // why the local system could not be asked
}

// playbackOf finds out whether tg signs playback: a deployment's outputs
// name its signing key; the local system is asked with the API token
// (a grant request it answers 501 when it does not sign).
func playbackOf(ctx context.Context, env Env, c *Common, tg *target, flagToken, id string) uploadPlayback {
	if d := tg.deployment; d != nil {
		return uploadPlayback{signed: d.signedPlayback, base: d.edge}
	}
	base, token, err := streamAPI(ctx, env, c, flagToken)
	if err != nil {
		return uploadPlayback{unknown: err}
	}
	status, b, err := apiPost(ctx, base, token, "/api/videos/"+id+"/playback", nil)
	switch {
	case err != nil:
		return uploadPlayback{unknown: err}
	case status == http.StatusNotImplemented:
		return uploadPlayback{}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return uploadPlayback{unknown: tokenRefused(base, b, status)}
	case status == http.StatusOK || status == http.StatusNotFound || status == http.StatusConflict:
		// It signs: the video is not ready yet (or an earlier upload of
		// the key is).
		return uploadPlayback{signed: true, base: base, token: token}
	}
	return uploadPlayback{unknown: fmt.Errorf("the API answered %s", apiMessage(b, statusLine(status)))}
}

// printEarly prints the playback line an upload can print at once: the
// bare URL when playback is not signed, else how to get one.
func (p uploadPlayback) printEarly(env Env, tg *target, id string, wait bool) {
	if !p.signed {
		fmt.Fprintf(env.Stdout, "playback: %s/%s\n", tg.edge, catalog.MasterKey(id))
		if p.unknown != nil {
			fmt.Fprintf(env.Stderr, "could not ask the API whether playback is signed (%v): if the system runs with signed playback, that URL needs a grant: POST %s/api/videos/%s/playback with the API token\n", p.unknown, tg.edge, id)
		}
		return
	}
	if !wait {
		fmt.Fprintf(env.Stdout, "playback: signed; once the video is ready, POST %s/api/videos/%s/playback with the API token for a URL (or upload with --wait)\n", p.base, id)
	}
}

// printGranted prints a URL with a grant for the ready video id.
func (p uploadPlayback) printGranted(ctx context.Context, env Env, c *Common, tg *target, flagToken, id string) error {
	if !p.signed {
		return nil
	}
	token := p.token
	if token == "" {
		var err error
		if token, err = deploymentToken(ctx, env, flagToken, tg.deployment, c.Region); err != nil {
			return fmt.Errorf("video %s is ready; its playback is signed and a grant needs the API token: %w", id, err)
		}
	}
	status, b, err := apiPost(ctx, p.base, token, "/api/videos/"+id+"/playback", nil)
	if err == nil && status != http.StatusOK {
		err = errors.New(apiMessage(b, statusLine(status)))
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			err = tokenRefused(p.base, b, status)
		}
	}
	var g struct {
		URL     string    `json:"url"`
		Expires time.Time `json:"expires"`
	}
	if err == nil && (json.Unmarshal(b, &g) != nil || g.URL == "") {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("video %s is ready, but no playback grant (POST %s/api/videos/%s/playback): %w", id, p.base, id, err)
	}
	fmt.Fprintf(env.Stdout, "playback: %s\nexpires:  %s\n", g.URL, g.Expires.UTC().Format(time.RFC3339))
	return nil
}
