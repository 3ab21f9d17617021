package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Launch starts Debian's Chromium headless, autoplay allowed, in a window of
// width×height, with its profile and its temporary files in folders of the
// test's own, and returns its first tab. stop closes Chromium gracefully and
// waits for it: killed, Chromium leaves its singleton folder
// (/tmp/org.chromium.Chromium.*) behind, one per browser a test starts.
// extra adds flags (a fake camera, say).
func Launch(t testing.TB, width, height int, extra ...chromedp.ExecAllocatorOption) (tab context.Context, stop func(), err error) {
	chromium, err := ChromiumPath()
	if err != nil {
		return nil, nil, err
	}
	dir := t.TempDir()
	// Not under t.TempDir(): Chromium's singleton socket goes in there, and
	// a socket path may not be longer than 107 bytes.
	tmp, err := os.MkdirTemp("", "hlsflow-chromium-")
	if err != nil {
		return nil, nil, fmt.Errorf("chromium temp dir: %w", err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		// Even a clean exit may leave files there; the test removes them.
		chromedp.Env("TMPDIR=" + tmp),
	}, extra...)...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	stop = func() {
		// Browser.close when the browser runs; a plain cancel otherwise.
		_ = chromedp.Cancel(tab)
		cancelTab()
		// Cancelling the allocator stops Chromium if it is still there
		// and waits for it to exit.
		cancelAlloc()
		// Chromium's helpers may write to the profile briefly after exit;
		// t.TempDir's own removal would then fail the test.
		for range 50 {
			if os.RemoveAll(dir) == nil && os.RemoveAll(tmp) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return tab, stop, nil
}
