package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// streamAPITimeout bounds the one API call stream create makes.
const streamAPITimeout = 30 * time.Second

// createdStream is the part of POST /api/streams' answer the CLI prints.
type createdStream struct {
	Name        string `json:"name"`
	PublishURL  string `json:"publishUrl"`
	SRTURL      string `json:"srtUrl"`
	WHIPURL     string `json:"whipUrl"`
	Key         string `json:"key"`
	PlaybackURL string `json:"playbackUrl"`
}

// runStream asks the running system for a stream key through its API, so
// the key is the one its ingest accepts: the key secret is the server's,
// never made here.
func runStream(ctx context.Context, env Env, args []string) error {
	var c Common
	fs := newFlagSet("stream", env)
	c.register(fs)
	c.registerDeployment(fs)
	token := fs.String("token", "", "API token (default: $HLSFLOW_TOKEN, then DATA/api.token, or with --outputs the stack's secret)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "create" {
		return fmt.Errorf("%w: want `stream create NAME`", errUsage)
	}
	name := pos[1]
	base, tok, err := streamAPI(ctx, env, &c, *token)
	if err != nil {
		return err
	}
	out, err := createStream(ctx, base, tok, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "stream:   %s\npublish:  %s\n", out.Name, out.PublishURL)
	if out.SRTURL != "" {
		fmt.Fprintf(env.Stdout, "srt:      %s\n", out.SRTURL)
	}
	if out.WHIPURL != "" {
		fmt.Fprintf(env.Stdout, "whip:     %s\nbearer:   %s\n", out.WHIPURL, out.Key)
	}
	fmt.Fprintf(env.Stdout, "playback: %s\n", out.PlaybackURL)
	fmt.Fprintln(env.Stderr, "keep the publish URLs secret: anyone who has one can broadcast as this stream")
	return nil
}

// streamAPI is the API's base URL and token: the deployment's with
// --outputs, else the local system's, checked to be running.
func streamAPI(ctx context.Context, env Env, c *Common, flagToken string) (base, token string, err error) {
	if c.Outputs != "" {
		d, err := readOutputs(c.Outputs)
		if err != nil {
			return "", "", err
		}
		token, err = deploymentToken(ctx, env, flagToken, d, c.Region)
		return d.edge, token, err
	}
	data, err := filepath.Abs(c.Data)
	if err != nil {
		return "", "", fmt.Errorf("data dir %s: %w", c.Data, err)
	}
	if token, err = apiToken(env, flagToken, data); err != nil {
		return "", "", err
	}
	if err := checkReachable(ctx, "edge and API", "edge", c.Edge); err != nil {
		return "", "", err
	}
	return httpURL(c.Edge), token, nil
}

func createStream(ctx context.Context, base, token, name string) (*createdStream, error) {
	body, err := json.Marshal(map[string]string{"name": name})
	if err != nil {
		return nil, err
	}
	status, b, err := apiPost(ctx, base, token, "/api/streams", body)
	if err != nil {
		return nil, fmt.Errorf("create stream: %w", err)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return nil, tokenRefused(base, b, status)
	case status/100 != 2:
		return nil, fmt.Errorf("create stream %q: %s", name, apiMessage(b, statusLine(status)))
	}
	var out createdStream
	if err := json.Unmarshal(b, &out); err != nil || out.PublishURL == "" {
		return nil, fmt.Errorf("create stream: the server at %s did not answer like hlsflow's API (%s)", base, statusLine(status))
	}
	// An API that does not know the CDN's address (the deployed one: its
	// function cannot name the distribution in front of it) answers with a
	// path on its own origin.
	if strings.HasPrefix(out.PlaybackURL, "/") {
		out.PlaybackURL = base + out.PlaybackURL
	}
	return &out, nil
}

// apiPost POSTs the JSON body to the API at base+path with the token and
// returns the status and (at most 1 MiB of) the answer.
func apiPost(ctx context.Context, base, token, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, streamAPITimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	// Behind CloudFront the API is a Lambda function URL reached through
	// origin access control, which signs only bodies whose hash the
	// client sent; the local edge ignores it.
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

// tokenRefused is the error of an API that refused the token.
func tokenRefused(base string, body []byte, status int) error {
	return fmt.Errorf("the server at %s refused the API token (%s): is --data the folder of the `hlsflow up` that answers there, or is --token its token?", base, apiMessage(body, statusLine(status)))
}

// statusLine is an HTTP status as net/http's Response.Status has it.
func statusLine(status int) string { return fmt.Sprintf("%d %s", status, http.StatusText(status)) }

// apiMessage is the API's {"error": …} text, or the HTTP status.
func apiMessage(body []byte, status string) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && strings.TrimSpace(e.Error) != "" {
		return e.Error
	}
	return status
}
