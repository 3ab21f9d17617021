package ingest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/live/whip/whiptest"
	"github.com/hlsflow/hlsflow/internal/store"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestWHIPStreamHeldByAnotherTask: with two ingest tasks, a WHIP offer for
// a stream the other task holds (live or in its reconnect grace) is
// refused with 409 before any transcoder; a record naming a task that is
// gone, or one that does not hold the stream, refuses nothing; once the
// holder has finalised the stream, the other task takes it.
func TestWHIPStreamHeldByAnotherTask(t *testing.T) {
	task := func(whip bool) *env {
		addr := testenv.FreeAddr(t)
		return newEnv(t, func(c *Config) {
			c.LowLatency, c.MaxRungs, c.Grace = true, 1, 20*time.Second
			c.HTTPAddr, c.OriginURL, c.RTMPAddr, c.UDPAddr = addr, "http://"+addr, "", ""
			if whip {
				c.WHIPAddr, c.WHIPICEAddr, c.WHIPICETCPAddr = "127.0.0.1:0", "127.0.0.1:0", ""
			}
		})
	}
	a, b := task(false), task(true)
	runFeed(t, a.svc, "shared", synthFeed(t, 4), time.Now()) // a holds it, in its grace
	offer, err := whiptest.Offer("")
	if err != nil {
		t.Fatal(err)
	}
	post := func(name string) (int, string) {
		t.Helper()
		_, loc, err := whiptest.Post(t.Context(), b.whipEndpoint(name), b.key(name), "application/sdp", []byte(offer))
		var se *whiptest.StatusError
		switch {
		case err == nil:
			return http.StatusCreated, loc
		case errors.As(err, &se):
			return se.Code, ""
		}
		t.Fatal(err)
		return 0, ""
	}
	hangUp := func(name, loc string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodDelete, "http://"+b.svc.WHIPAddr()+loc, nil)
		req.Header.Set("Authorization", "Bearer "+b.key(name))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE %s: %v %v", loc, resp, err)
		}
		resp.Body.Close()
	}
	held := func(e *env, name string) int {
		t.Helper()
		resp, err := http.Head("http://" + e.svc.HTTPAddr() + "/live/" + name + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := held(a, "shared"), held(b, "shared"); a != http.StatusNoContent || b != http.StatusNotFound {
		t.Errorf("held: a %d, b %d; want 204 and 404 (never forwarded)", a, b)
	}

	if code, _ := post("shared"); code != http.StatusConflict {
		t.Errorf("offer for a stream the other task holds: %d, want 409", code)
	}
	if strings.Contains(b.log.String(), "stream=shared run=") {
		t.Error("the refused offer reached a transcoder")
	}

	// Records that do not hold: a task that is gone, one that does not
	// hold the stream, one that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx := context.Background()
	for name, url := range map[string]string{"gone": "http://" + testenv.FreeAddr(t), "moved": "http://" + a.svc.HTTPAddr(),
		"silent": "http://" + silent.Addr().String()} {
		if err := a.s3.PutBytes(ctx, testenv.BucketMedia, catalog.LiveOriginKey(name), []byte(`{"url":"`+url+`"}`), store.Object{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		code, loc := post(name)
		if code != http.StatusCreated || time.Since(start) > 5*time.Second {
			t.Errorf("%s: %d after %v, want 201 at once", name, code, time.Since(start))
			continue
		}
		hangUp(name, loc)
	}
	if !strings.Contains(b.log.String(), "does not answer") {
		t.Error("the gone task's record was not logged")
	}

	// The holder finalises: the stream is free for the other task.
	if err := a.svc.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a.get(catalog.LiveOriginKey("shared")) != "" {
		t.Fatal("the holder's record outlived the stream")
	}
	time.Sleep(holderTTL + 100*time.Millisecond) // b's memory of the record
	code, loc := post("shared")
	if code != http.StatusCreated {
		t.Fatalf("offer after the holder finalised: %d, want 201", code)
	}
	hangUp("shared", loc)
	if strings.Contains(b.log.String(), `stream=shared task=`) {
		t.Error("the finalised stream's record was still read")
	}
}
