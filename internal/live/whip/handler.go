package whip

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/hlsflow/hlsflow/internal/live/feed"
)

// gatherTimeout bounds waiting for the answer's candidates: with the
// muxes they are the listeners' own addresses, known at once.
const gatherTimeout = 5 * time.Second

// Handler serves the WHIP endpoint under Prefix: POST {name} (an offer),
// DELETE {name}/{session} (the publisher hangs up), OPTIONS for browsers'
// preflights, and PATCH {name}/{session} answered 405 (no trickle ICE nor
// ICE restart: the answer carries every candidate).
func (s *Server) Handler() http.Handler {
	p := s.Prefix
	if p == "" {
		p = "/whip/"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+p+"{name}", s.offer)
	mux.HandleFunc("DELETE "+p+"{name}/{id}", s.hangUp)
	mux.HandleFunc("PATCH "+p+"{name}/{id}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "DELETE, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "trickle ICE and ICE restarts are not supported")
	})
	preflight := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	}
	mux.HandleFunc("OPTIONS "+p+"{name}", preflight)
	mux.HandleFunc("OPTIONS "+p+"{name}/{id}", preflight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The token travels in Authorization, never in a cookie, so any
		// page may publish with it: a page without it can do nothing.
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Location, ETag, Link")
		h.Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

// bearer is the request's bearer token, "" if none.
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// authorize checks the bearer token names the stream of the path.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	name, ok := s.Verify(bearer(r))
	if !ok || name != r.PathValue("name") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="whip"`)
		httpError(w, http.StatusUnauthorized, "the bearer token is not this stream's key")
		return false
	}
	return true
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, _ := netip.ParseAddr(host)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// offer answers a publisher's SDP offer and starts its session.
func (s *Server) offer(w http.ResponseWriter, r *http.Request) {
	if s.api == nil {
		httpError(w, http.StatusServiceUnavailable, "whip is not running")
		return
	}
	remote, err := s.clientAddr(r)
	if err != nil {
		s.refuse(remoteAddr(r).String(), err.Error())
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The key first: a stranger costs an HMAC, nothing more.
	if !s.authorize(w, r) {
		s.refuse(remote.String(), "bad stream key")
		return
	}
	name := r.PathValue("name")
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), "application/sdp") {
		s.refuse(remote.String(), "not application/sdp")
		httpError(w, http.StatusUnsupportedMediaType, "the offer must be application/sdp")
		return
	}
	if why, ok := s.admit(remote); !ok {
		s.refuse(remote.String(), why)
		code := http.StatusServiceUnavailable
		if why == "too many sessions from this address" {
			code = http.StatusTooManyRequests
		}
		w.Header().Set("Retry-After", "10")
		httpError(w, code, why)
		return
	}
	admitted := true
	defer func() {
		if admitted {
			s.release(remote)
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.MaxOffer)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(remote.String(), "offer too large")
			httpError(w, http.StatusRequestEntityTooLarge, "the offer is too large")
			return
		}
		httpError(w, http.StatusBadRequest, "reading the offer failed")
		return
	}
	video, audio, err := checkOffer(body)
	if err != nil {
		s.refuse(remote.String(), err.Error())
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		s.Log.Error("whip: new peer connection", "err", err)
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	answer, vcodec, audio, err := answerOffer(pc, string(body), video, audio)
	if err != nil {
		_ = pc.Close()
		s.refuse(remote.String(), err.Error())
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	f, err := s.Hub.Claim(name, remote.String())
	if err != nil {
		_ = pc.Close()
		switch {
		case errors.Is(err, feed.ErrBusy):
			httpError(w, http.StatusConflict, "the stream already has a publisher")
		default:
			httpError(w, http.StatusServiceUnavailable, "the ingest is shutting down")
		}
		s.Log.Info("whip: publish refused", "stream", name, "remote", remote.String(), "err", err)
		return
	}
	ss, err := s.newSession(name, remote, pc, f, vcodec, audio)
	if err != nil {
		_ = pc.Close()
		f.End(err)
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.add(ss) {
		_ = pc.Close()
		f.End(errClosed)
		httpError(w, http.StatusServiceUnavailable, "the ingest is shutting down")
		return
	}
	admitted = false // the session releases its slot when it ends
	go func() {
		defer s.wg.Done()
		ss.run()
	}()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", s.Prefix+name+"/"+ss.id)
	w.Header().Set("ETag", `"`+ss.id+`"`)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
	s.Log.Info("whip: session", "stream", name, "remote", remote.String(), "video", vcodec, "audio", audio)
}

// checkOffer refuses what is not an SDP offer with media: it is parsed
// before any WebRTC work.
func checkOffer(body []byte) (video, audio bool, err error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(body)); err != nil {
		return false, false, errors.New("the offer is not SDP")
	}
	for _, m := range d.MediaDescriptions {
		switch m.MediaName.Media {
		case "video":
			video = true
		case "audio":
			audio = true
		}
	}
	if !video && !audio {
		return false, false, errors.New("the offer has no audio or video")
	}
	return video, audio, nil
}

// answerOffer applies the offer and returns the complete answer (all
// candidates in it), with the agreed video codec ("" for none) and
// whether Opus audio was agreed on.
func answerOffer(pc *webrtc.PeerConnection, offer string, wantVideo, wantAudio bool) (string, string, bool, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", "", false, errors.New("the offer was refused: " + firstLine(err.Error()))
	}
	codec := chooseVideo(pc)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", "", false, errors.New("no answer to the offer: " + firstLine(err.Error()))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", "", false, errors.New("no answer to the offer: " + firstLine(err.Error()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), gatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", "", false, errors.New("gathering candidates timed out")
	}
	local := pc.LocalDescription()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(local.SDP); err != nil {
		return "", "", false, err
	}
	var video, audio bool
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Port.Value == 0 {
			continue // refused: no codec in common
		}
		if _, ok := m.Attribute("recvonly"); !ok {
			if _, ok := m.Attribute("sendrecv"); !ok {
				continue
			}
		}
		switch m.MediaName.Media {
		case "video":
			video = wantVideo
		case "audio":
			audio = wantAudio
		}
	}
	if !video && !audio {
		return "", "", false, errors.New("the offer sends neither H.264 or VP8 video nor Opus audio")
	}
	if !video {
		codec = ""
	}
	return local.SDP, codec, audio, nil
}

// The video codecs a session may carry.
const (
	codecH264 = "h264"
	codecVP8  = "vp8"
)

// chooseVideo narrows every video transceiver of an applied offer to one
// codec, so the answer names it alone: H.264 when the offer has it (the
// MPEG-TS feed, which restreams copy without re-encoding; browsers often
// encode it in hardware), else VP8 (a browser without H.264), carried as
// WebM. It returns the codec, "" when the offer has neither.
func chooseVideo(pc *webrtc.PeerConnection) string {
	type offered struct {
		tr        *webrtc.RTPTransceiver
		h264, vp8 []webrtc.RTPCodecParameters
	}
	var all []offered
	var anyH264 bool
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo || tr.Receiver() == nil {
			continue
		}
		o := offered{tr: tr}
		for _, c := range tr.Receiver().GetParameters().Codecs {
			switch {
			case strings.EqualFold(c.MimeType, webrtc.MimeTypeH264):
				o.h264 = append(o.h264, c)
			case strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8):
				o.vp8 = append(o.vp8, c)
			}
		}
		anyH264 = anyH264 || len(o.h264) > 0
		all = append(all, o)
	}
	codec := ""
	for _, o := range all {
		keep, name := o.vp8, codecVP8
		if anyH264 {
			keep, name = o.h264, codecH264
		}
		if len(keep) > 0 && o.tr.SetCodecPreferences(keep) == nil {
			codec = name
		}
	}
	return codec
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// hangUp ends a session: the publisher's DELETE. It needs the key too,
// so knowing a session's URL is not enough to end it.
func (s *Server) hangUp(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	s.mu.Lock()
	ss := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if ss == nil || subtle.ConstantTimeCompare([]byte(ss.name), []byte(r.PathValue("name"))) != 1 {
		httpError(w, http.StatusNotFound, "no such session")
		return
	}
	ss.stop(nil)
	w.WriteHeader(http.StatusOK)
}

// add registers a new session, unless the server is closing; the caller
// then runs it and calls s.wg.Done when it ends (counted here, so that
// Close cannot miss it).
func (s *Server) add(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[ss.id] = ss
	s.wg.Add(1)
	return true
}

// remove forgets an ended session and frees its slot.
func (s *Server) remove(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
	s.release(ss.remote)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
