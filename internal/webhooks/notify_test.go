package webhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/hlsflow/hlsflow/internal/webhooks"
)

// TestNotify: a delivery another process stores (a zipped function under
// hlsflow up --functions zip) is sent once the sender is notified, not at
// its next poll, an hour away here.
func TestNotify(t *testing.T) {
	cfg := config(t)
	cfg.Poll = time.Hour
	sender := start(t, cfg)
	r := newReceiver(t, nil)
	register(t, sender, r.srv.URL)
	other, err := webhooks.New(cfg) // stores only: not started
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Emit(context.Background(), webhooks.VideoCreated, webhooks.VideoSubject("z"), "z"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(r.all()); n != 0 {
		t.Fatalf("%d sent before the notice", n)
	}
	sender.Notify()
	sender.Notify() // never blocks
	wait(t, 5*time.Second, "the delivery after the notice", func() bool { return len(r.all()) == 1 })
	other.Notify() // not started: nothing to tell
}
