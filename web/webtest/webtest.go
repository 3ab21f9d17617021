// Package webtest drives hlsflow's page in headless Chromium for tests:
// open it, choose files as a person would, wait for what the page shows,
// and keep a screenshot and the page text when a test fails.
package webtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hlsflow/hlsflow/internal/browsertest"
)

// Page is the page open in a fresh Chromium.
type Page struct {
	t   testing.TB
	tab context.Context
}

// Open starts Chromium (phone-sized window, autoplay allowed) on url and
// waits for the page to be there. Chromium stops when the test ends; if
// the test failed, a screenshot and the page text are saved first under
// $HLSFLOW_ARTIFACTS/{test name}/ (default: the temp dir's
// hlsflow-artifacts/). flags are Chromium's extra ones.
func Open(t testing.TB, url string, flags ...chromedp.ExecAllocatorOption) *Page {
	t.Helper()
	// A phone-sized window: the page must work there.
	tab, stop, err := browsertest.Launch(t, 412, 915, flags...)
	if err != nil {
		t.Fatal(err)
	}
	p := &Page{t: t, tab: tab}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveArtifacts()
		}
		stop()
	})
	if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#dropzone"))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return p
}

// Do runs chromedp actions on the page.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.tab, actions...); err != nil {
		p.t.Fatal(err)
	}
}

// SignIn enters the API token in the page's prompt and waits until the
// page took it (the prompt closes; a refused token keeps it open, and the
// test fails).
func (p *Page) SignIn(token string) {
	p.t.Helper()
	p.Do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		document.getElementById('token').value = %q;
		document.querySelector('#token-form button[type=submit]').click();
	})()`, token)))
	p.Wait("token accepted", `document.getElementById('signin').hidden`, 20*time.Second)
}

// Choose picks a file in the page's file chooser, which starts its upload.
func (p *Page) Choose(path string) {
	p.t.Helper()
	if err := chromedp.Do(p.tab, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{path})); err != nil {
		p.t.Fatalf("choose %s: %v", path, err)
	}
}

// UploadReady uploads the file at path from the page and waits for it to
// be uploaded and then ready in the library; it returns the card's name.
func (p *Page) UploadReady(path string) string {
	p.t.Helper()
	p.Choose(path)
	name := filepath.Base(path)
	p.Wait("upload finished", `document.querySelector('[data-testid=upload].done') !== null`, 30*time.Second)
	p.Wait("video ready in the library", CardState(name)+` === 'ready'`, 3*time.Minute)
	return name
}

// Click clicks the first element matching the CSS selector from script, so
// an element off screen on a phone-sized window is clicked all the same.
func (p *Page) Click(selector string) {
	p.t.Helper()
	p.Do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error('no element ' + %q); e.click(); })()`, selector, selector)))
}

// Wait polls a JavaScript expression until it is true, failing the test
// with what the page says after timeout.
func (p *Page) Wait(what, expr string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(p.tab, chromedp.Evaluate[bool](expr))
		if err != nil {
			p.t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(p.tab, chromedp.Text(chromedp.CSS("main")))
			p.t.Fatalf("%s: not after %s; the page says:\n%s", what, timeout, text)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// String evaluates a JavaScript expression that yields a string.
func (p *Page) String(expr string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.tab, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// CardState is an expression giving the library state ("ready",
// "failed"…) of the video named name, or "" while it is not listed.
func CardState(name string) string {
	return fmt.Sprintf(`(() => { const c = [...document.querySelectorAll('#library li.card')].find(c => c.querySelector('.title').textContent === %q); return c ? c.dataset.state : ''; })()`, name)
}

// PlayCard clicks the Play button of the ready video named name.
func (p *Page) PlayCard(name string) {
	p.t.Helper()
	p.Do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const c = [...document.querySelectorAll('#library li.card[data-state=ready]')].find(c => c.querySelector('.title').textContent === %q); if (!c) throw new Error('no ready video ' + %q); c.querySelector('[data-testid=play]').click(); })()`, name, name)))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (p *Page) saveArtifacts() {
	dir := os.Getenv("HLSFLOW_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hlsflow-artifacts")
	}
	dir = filepath.Join(dir, unsafeName.ReplaceAllString(p.t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Logf("artefacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
	defer cancel()
	// Quality 100 makes a PNG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("artefacts: %v", err)
		return
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	_ = os.WriteFile(filepath.Join(dir, "page.png"), png, 0o644)
	_ = os.WriteFile(filepath.Join(dir, "page.txt"), []byte(text), 0o644)
	p.t.Logf("screenshot and page text saved in %s", dir)
}
