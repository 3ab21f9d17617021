package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/web/webtest"
)

// forceVP8 makes this page's offers those of a browser without H.264
// (test code only): before each offer every video transceiver prefers
// all its codecs but H.264, and the answer is kept to be checked.
const forceVP8 = `(() => {
  const offer = RTCPeerConnection.prototype.createOffer;
  RTCPeerConnection.prototype.createOffer = function (...args) {
    const codecs = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => !/h264/i.test(c.mimeType));
    for (const tr of this.getTransceivers()) {
      if (tr.receiver.track.kind === 'video') tr.setCodecPreferences(codecs);
    }
    return offer.apply(this, args);
  };
  const answer = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (d) {
    window.answerSDP = d.sdp;
    return answer.apply(this, arguments);
  };
})()`

// TestPageGoLiveVP8: Chromium forced to offer VP8 alone publishes from
// the page's fake camera; the answer names VP8, the stream goes live
// through the WebM feed and plays in hls.js.
func TestPageGoLiveVP8(t *testing.T) {
	sys := newStack(t, options{whip: true})
	page := webtest.Open(t, sys.url+"/",
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true))
	page.SignIn(browserToken)
	page.Do(
		chromedp.Evaluate[chromedp.Void](forceVP8),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('.live-section details').open = true`),
		chromedp.SendKeys(chromedp.CSS("#stream-name"), "vp8-cam"),
		chromedp.Click(chromedp.CSS("#stream-form button")),
	)
	page.Wait("WHIP URL filled in", `document.getElementById('golive-url').value !== ''`, 10*time.Second)
	page.Click(`#golive-start`)
	page.Wait("publishing", `document.getElementById('golive-status').dataset.state === 'live'`, 30*time.Second)
	if got := page.String(`String(/ VP8\/90000/.test(window.answerSDP) && !/ H264\/90000/.test(window.answerSDP))`); got != "true" {
		t.Fatalf("the answer does not name VP8 alone:\n%s", page.String(`String(window.answerSDP)`))
	}
	page.Wait("LIVE badge in the list", `(() => { const li = document.querySelector('#streams li[data-name="vp8-cam"]'); return !!li && li.dataset.state === 'live'; })()`, 60*time.Second)
	page.Click(`#streams li[data-name="vp8-cam"] [data-testid=watch]`)
	page.Wait("live playback", `document.getElementById('player').currentTime > 1`, 60*time.Second)
	page.Click(`#golive-stop`)
	page.Wait("the stream ends", `(() => { const li = document.querySelector('#streams li[data-name="vp8-cam"]'); return !!li && li.dataset.state !== 'live'; })()`, 60*time.Second)
}
