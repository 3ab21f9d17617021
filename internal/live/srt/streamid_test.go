package srt

import (
	"errors"
	"testing"
)

func TestStreamKey(t *testing.T) {
	tests := []struct {
		id, want string
		err      error
	}{
		{"cam.abc_DEF-123", "cam.abc_DEF-123", nil},
		{"#!::r=cam.abc,m=publish", "cam.abc", nil},
		{"#!::m=publish,u=someone,r=cam.abc", "cam.abc", nil},
		{"#!::r=cam.abc", "cam.abc", nil},
		{"#!::r=cam.abc,m=request", "", errBadMode},
		{"#!::r=cam.abc,m=bidirectional", "", errBadMode},
		{"#!::u=someone", "", errNoKey},
		{"#!::", "", errNoKey},
		{"", "", errNoKey},
		{"r=cam.abc,m=publish", "", errNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := streamKey(tt.id)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("streamKey(%q) = %q, %v; want %q, %v", tt.id, got, err, tt.want, tt.err)
			}
		})
	}
}
