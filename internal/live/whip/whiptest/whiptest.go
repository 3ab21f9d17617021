// Package whiptest is a WHIP publisher for tests and benchmarks: a pion
// client that sends an H.264 (or VP8) and Opus clip, made by ffmpeg, to a
// WHIP endpoint in real time, as a browser does.
package whiptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Clip is a looped test source: Annex-B H.264 (baseline, no B-frames, as
// browsers send), the same picture as VP8 in IVF, and Ogg Opus in 20 ms
// pages.
type Clip struct {
	H264, VP8, Opus string
	FPS             int
}

// MakeClip encodes seconds of a test pattern and a tone with ffmpeg.
func MakeClip(t testing.TB, width, height, seconds int) Clip {
	t.Helper()
	return MakeClipIn(t, t.TempDir(), width, height, seconds)
}

// MakeClipIn is MakeClip into dir, which the caller removes.
func MakeClipIn(t testing.TB, dir string, width, height, seconds int) Clip {
	t.Helper()
	c := Clip{H264: filepath.Join(dir, "clip.h264"), VP8: filepath.Join(dir, "clip.ivf"), Opus: filepath.Join(dir, "clip.ogg"), FPS: 25}
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", width, height, c.FPS)
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", src, "-t", fmt.Sprint(seconds),
			"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-bf", "0", "-g", fmt.Sprint(c.FPS),
			"-pix_fmt", "yuv420p", "-bsf:v", "h264_mp4toannexb", "-f", "h264", c.H264},
		{"-f", "lavfi", "-i", src, "-t", fmt.Sprint(seconds),
			"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k", "-g", fmt.Sprint(c.FPS),
			"-pix_fmt", "yuv420p", "-f", "ivf", c.VP8},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", fmt.Sprint(seconds),
			"-c:a", "libopus", "-b:a", "64k", "-page_duration", "20000", "-f", "ogg", c.Opus},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make the WHIP clip: %v\n%s", err, out)
		}
	}
	return c
}

// Options tune Publish.
type Options struct {
	NoVideo, NoAudio bool
	// SendFor is how long media is sent (the clip looped); then the
	// publisher stays connected without sending until Close: a stall.
	SendFor time.Duration
	// TCP limits the client to ICE-TCP.
	TCP bool
	// Garbage sends random bytes as the video's frames (keyframes by
	// their first byte) instead of the clip's: a hostile publisher.
	Garbage bool
	// BehindNAT makes the publisher look, to the endpoint, like a browser
	// on a home network: its offer carries no candidates (a browser hides
	// its host addresses behind mDNS names), so the endpoint learns its
	// address only from the binding requests that reach it; and it
	// gathers loopback alone, so its media is one UDP flow.
	BehindNAT bool
	// VP8 sends the clip's VP8 and offers VP8 alone for video, as a
	// browser without H.264 does.
	VP8 bool
	// GarbageKeyframes, with VP8 and Garbage, gives every random frame a
	// VP8 keyframe's header (320x240): the feed starts, and the decoder
	// gets the garbage.
	GarbageKeyframes bool
}

// Publisher is one WHIP session seen from the client.
type Publisher struct {
	Location string // the session resource, absolute
	token    string
	pc       *webrtc.PeerConnection
	stop     chan struct{}
	sent     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
	errMu    sync.Mutex
	err      error
}

// StatusError is a refused offer.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("whip: %d %s", e.Code, strings.TrimSpace(e.Body))
}

// Publish offers to endpoint with token as the bearer and, once
// answered, sends clip until SendFor has passed.
func Publish(ctx context.Context, endpoint, token string, clip Clip, opt Options) (*Publisher, error) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	if opt.BehindNAT {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if opt.TCP {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me, opt.VP8); err != nil {
		return nil, err
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p := &Publisher{token: token, pc: pc, stop: make(chan struct{}), sent: make(chan struct{})}
	var video, audio *webrtc.TrackLocalStaticSample
	if !opt.NoVideo {
		vc := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
		if opt.VP8 {
			vc = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		}
		video, _ = webrtc.NewTrackLocalStaticSample(vc, "video", "whiptest")
		if _, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	if !opt.NoAudio {
		audio, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whiptest")
		if _, err := pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(pc)
		if err = pc.SetLocalDescription(offer); err == nil {
			<-gathered
		}
	}
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	offerSDP := pc.LocalDescription().SDP
	if opt.BehindNAT {
		offerSDP = withoutCandidates(offerSDP)
	}
	answer, loc, err := Post(ctx, endpoint, token, "application/sdp", []byte(offerSDP))
	if err == nil {
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)})
	}
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	base, _ := url.Parse(endpoint)
	if l, err := base.Parse(loc); err == nil {
		p.Location = l.String()
	}
	deadline := time.Now().Add(opt.SendFor)
	if video != nil {
		switch {
		case opt.Garbage:
			p.wg.Go(func() { p.sendGarbage(video, deadline, opt.VP8, opt.GarbageKeyframes) })
		case opt.VP8:
			p.wg.Go(func() { p.sendLooped(video, clip.VP8, deadline, vp8Samples(time.Second/time.Duration(clip.FPS))) })
		default:
			p.wg.Go(func() { p.sendLooped(video, clip.H264, deadline, h264Samples(time.Second/time.Duration(clip.FPS))) })
		}
	}
	if audio != nil {
		p.wg.Go(func() { p.sendLooped(audio, clip.Opus, deadline, opusSamples) })
	}
	go func() {
		p.wg.Wait()
		close(p.sent)
	}()
	return p, nil
}

// withoutCandidates drops an SDP's candidate lines.
func withoutCandidates(sdp string) string {
	var out []string
	for _, l := range strings.Split(sdp, "\r\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

// registerCodecs are pion's default codecs (VP8 first, then H.264, as
// browsers list them) or, with vp8Only, VP8 and Opus alone.
func registerCodecs(me *webrtc.MediaEngine, vp8Only bool) error {
	if !vp8Only {
		return me.RegisterDefaultCodecs()
	}
	for _, c := range []struct {
		p webrtc.RTPCodecParameters
		k webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
	} {
		if err := me.RegisterCodec(c.p, c.k); err != nil {
			return err
		}
	}
	return nil
}

// Offer is a publisher's offer (pion's codecs, VP8, H.264 and Opus among
// them, with its candidates) whose connection is closed at once: a
// publisher that never connects. With videoOnly set (a MIME type such as
// webrtc.MimeTypeVP9) it offers video alone, in that codec alone.
func Offer(videoOnly string) (string, error) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if videoOnly != "" {
		if err := me.RegisterCodec(webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: videoOnly, ClockRate: 90000}, PayloadType: 96,
		}, webrtc.RTPCodecTypeVideo); err != nil {
			return "", err
		}
	} else if err := me.RegisterDefaultCodecs(); err != nil {
		return "", err
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	defer pc.Close()
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio}
	if videoOnly != "" {
		kinds = kinds[:1]
	}
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return "", err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

// Post sends body to endpoint as WHIP does and returns the answer and its
// Location; a status other than 201 is a *StatusError.
func Post(ctx context.Context, endpoint, token, contentType string, body []byte) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return nil, "", &StatusError{Code: resp.StatusCode, Body: string(b)}
	}
	return b, resp.Header.Get("Location"), nil
}

// Sent is closed once the publisher has stopped sending media.
func (p *Publisher) Sent() <-chan struct{} { return p.sent }

// Err is the first error sending media met.
func (p *Publisher) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

func (p *Publisher) fail(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

// Close hangs up (DELETE of the session, unless hangUp is false: the
// publisher vanishes) and closes the connection.
func (p *Publisher) Close(hangUp bool) error {
	var err error
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if hangUp && p.Location != "" {
			req, _ := http.NewRequest(http.MethodDelete, p.Location, nil)
			req.Header.Set("Authorization", "Bearer "+p.token)
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("whip delete: %s", resp.Status)
				}
			}
		}
		if cerr := p.pc.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// pace sleeps until at, or returns false when the publisher stops.
func (p *Publisher) pace(at time.Time) bool {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-p.stop:
		return false
	case <-t.C:
		return true
	}
}

func (p *Publisher) sendGarbage(track *webrtc.TrackLocalStaticSample, deadline time.Time, vp8, keyframes bool) {
	const frame = 40 * time.Millisecond
	next := time.Now()
	for p.pace(next) && time.Now().Before(deadline) {
		next = next.Add(frame)
		b := make([]byte, 3000)
		_, _ = rand.Read(b)
		b[0] = 0x65 // an IDR slice's NAL header, so it is not dropped as a delta
		if vp8 {
			b[0] &^= 1 // a VP8 keyframe's tag, without the start code
		}
		if vp8 && keyframes {
			copy(b[3:], []byte{0x9d, 0x01, 0x2a, 64, 1, 240, 0}) // start code, 320 x 240
		}
		if err := track.WriteSample(media.Sample{Data: b, Duration: frame}); err != nil {
			p.fail(err)
			return
		}
	}
}

// samples reads one clip file's samples in order, and io.EOF at its end.
type samples func() (data []byte, d time.Duration, err error)

// sendLooped sends the samples of the file at path, read by open, each at
// its time, looping the file, until deadline or Close.
func (p *Publisher) sendLooped(track *webrtc.TrackLocalStaticSample, path string, deadline time.Time, open func(io.Reader) (samples, error)) {
	next := time.Now()
	for p.sendOnce(track, path, &next, deadline, open) {
	}
}

// sendOnce sends the file at path once through, pacing from *next; it
// returns false when sending is over (deadline, Close, or an error, kept
// for Err).
func (p *Publisher) sendOnce(track *webrtc.TrackLocalStaticSample, path string, next *time.Time, deadline time.Time, open func(io.Reader) (samples, error)) bool {
	f, err := os.Open(path)
	if err != nil {
		p.fail(err)
		return false
	}
	defer f.Close()
	read, err := open(f)
	if err != nil {
		p.fail(err)
		return false
	}
	for {
		b, d, err := read()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			p.fail(err)
			return false
		}
		if !p.pace(*next) || time.Now().After(deadline) {
			return false
		}
		*next = next.Add(d)
		if err := track.WriteSample(media.Sample{Data: b, Duration: d}); err != nil {
			p.fail(err)
			return false
		}
	}
}

// h264Samples reads Annex-B access units, frame apart: each picture with
// the parameter sets before it.
func h264Samples(frame time.Duration) func(io.Reader) (samples, error) {
	return func(f io.Reader) (samples, error) {
		r, err := h264reader.NewReader(f)
		if err != nil {
			return nil, err
		}
		return func() ([]byte, time.Duration, error) {
			var au []byte
			for {
				nal, err := r.NextNAL()
				if err != nil {
					return nil, 0, err
				}
				au = append(au, 0, 0, 0, 1)
				au = append(au, nal.Data...)
				if nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr {
					return au, frame, nil
				}
			}
		}, nil
	}
}

// vp8Samples reads IVF frames, frame apart.
func vp8Samples(frame time.Duration) func(io.Reader) (samples, error) {
	return func(f io.Reader) (samples, error) {
		r, _, err := ivfreader.NewWith(f)
		if err != nil {
			return nil, err
		}
		return func() ([]byte, time.Duration, error) {
			b, _, err := r.ParseNextFrame()
			return b, frame, err
		}, nil
	}
}

// opusSamples reads Ogg Opus pages, each as long as its granule position
// advanced; the header pages are skipped.
func opusSamples(f io.Reader) (samples, error) {
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	var lastGranule uint64
	return func() ([]byte, time.Duration, error) {
		for {
			page, hdr, err := r.ParseNextPage()
			if err != nil {
				return nil, 0, err
			}
			n := hdr.GranulePosition - lastGranule
			lastGranule = hdr.GranulePosition
			if n == 0 || n > 48000 || len(page) == 0 || bytes.HasPrefix(page, []byte("OpusTags")) {
				continue
			}
			return page, time.Duration(n) * time.Second / 48000, nil
		}
	}, nil
}
