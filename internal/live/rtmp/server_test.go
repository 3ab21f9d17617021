package rtmp

import (
	"net/url"
	"testing"
)

func TestStreamKey(t *testing.T) {
	tests := []struct{ url, want string }{
		{"rtmp://h/live/abc.DEF", "abc.DEF"},
		{"rtmp://h/live/abc.DEF/", "abc.DEF"},
		{"rtmp://h/live/abc?x=1", "abc"},
		{"rtmp://h/live", "live"},
		{"rtmp://h/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := streamKey(u); got != tt.want {
				t.Errorf("streamKey(%s) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
	if streamKey(nil) != "" {
		t.Error("nil url gave a key")
	}
}
