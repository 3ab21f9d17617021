package api

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/testenv"
)

// TestAddressesByHost: with ByHost set (hlsflow up on every interface), a
// client that reached the API under another name for this machine (here
// "localhost", as a phone would use 192.168.x.y) gets playback, upload and
// publish URLs under that name, and the presigned upload works there: the
// signature covers the host it was made for.
func TestAddressesByHost(t *testing.T) {
	s3u, err := url.Parse(testenv.S3(t).Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.PublicURL, c.Keys = "http://0.0.0.0:8080", newSigner(t)
		c.ByHost = func(host string) Addresses {
			name, _, _ := net.SplitHostPort(host)
			return Addresses{PublicURL: "http://" + host + "/", S3: "http://" + net.JoinHostPort(name, s3u.Port()),
				RTMPURL: "rtmp://" + net.JoinHostPort(name, "1935") + "/live/"}
		}
	})
	_, apiPort, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))
	host := net.JoinHostPort("localhost", apiPort)

	data := bytes.Repeat([]byte("lan "), 500)
	var up Upload
	e.callJSON("POST", "/api/uploads", fmt.Sprintf(`{"filename":"phone.mp4","size":%d,"contentType":"video/mp4"}`, len(data)), 201, &up,
		"Host", host)
	pu, err := url.Parse(up.Put.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := net.JoinHostPort("localhost", s3u.Port()); pu.Host != want {
		t.Fatalf("upload URL host %q, want %q (the name the client used)", pu.Host, want)
	}
	if code, body := put(t, up.Put.URL, data, up.Put.Headers); code != 200 {
		t.Fatalf("PUT to the presigned URL under the client's name: %d %s", code, body)
	}
	if got, err := e.store.GetBytes(context.Background(), e.uploads, up.Key); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded object: %v (%d bytes)", err, len(got))
	}

	st := &catalog.Status{ID: up.ID, State: catalog.StateReady, Playback: catalog.MasterKey(up.ID)}
	if err := catalog.Write(context.Background(), e.store, e.media, st); err != nil {
		t.Fatal(err)
	}
	var v Video
	e.callJSON("GET", "/api/videos/"+up.ID, "", 200, &v, "Host", host)
	if want := "http://" + host + "/vod/" + up.ID + "/master.m3u8"; v.PlaybackURL != want {
		t.Errorf("playback URL %q, want %q", v.PlaybackURL, want)
	}
	var s CreatedStream
	e.callJSON("POST", "/api/streams", `{"name":"phone-cam"}`, 201, &s, "Host", host, "Authorization", "Bearer "+testToken)
	if !strings.HasPrefix(s.PublishURL, "rtmp://localhost:1935/live/") || s.PlaybackURL != "http://"+host+"/live/phone-cam/master.m3u8" {
		t.Errorf("stream URLs: publish %q playback %q", s.PublishURL, s.PlaybackURL)
	}
}

func TestValidHost(t *testing.T) {
	for host, want := range map[string]bool{
		"192.168.1.20:8080": true, "phone.local:8080": true, "localhost": true, "[fe80::1]:8080": true, "::1": true,
		"": false, ":8080": false, "a/b:80": false, "user@host:80": false, "host:0": false, "host:99999": false,
		"host:http": false, "ho st": false, "host?x": false, "host#x": false, strings.Repeat("a", 254): false,
	} {
		if got := validHost(host); got != want {
			t.Errorf("validHost(%q) = %v, want %v", host, got, want)
		}
	}
}
