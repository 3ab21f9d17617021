package keys

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestKeyVerify(t *testing.T) {
	s, err := New([]byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := New([]byte("another-secret-0123456"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := s.Key("studio-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(good, "studio-1.") {
		t.Fatalf("key %q does not start with its name", good)
	}
	forged, _ := other.Key("studio-1")
	otherName, _ := s.Key("studio-2")
	_, sig, _ := strings.Cut(otherName, ".")

	tests := []struct {
		name, key, wantName string
		wantOK              bool
	}{
		{"genuine", good, "studio-1", true},
		{"other secret", forged, "", false},
		{"signature of another name", "studio-1." + sig, "", false},
		{"empty", "", "", false},
		{"name only", "studio-1", "", false},
		{"truncated", good[:len(good)-1], "", false},
		{"extra", good + "A", "", false},
		{"bad base64", "studio-1.!!!!", "", false},
		{"invalid name", "../x." + sig, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, ok := s.Verify(tt.key)
			if ok != tt.wantOK || name != tt.wantName {
				t.Errorf("Verify(%q) = %q, %v; want %q, %v", tt.key, name, ok, tt.wantName, tt.wantOK)
			}
		})
	}
}

func TestKeyRejectsInvalidNames(t *testing.T) {
	s, _ := New([]byte("0123456789abcdef0123"))
	for _, name := range []string{"", "Upper", "a/b", "a--b", "-x"} {
		if _, err := s.Key(name); err == nil {
			t.Errorf("Key(%q) accepted an invalid name", name)
		}
	}
}

func TestNewRejectsShortSecret(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", SecretFileName)
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = LoadOrCreateSecret(path) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if string(got[i]) != string(got[0]) {
			t.Fatalf("concurrent creators disagree: %q vs %q", got[i], got[0])
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret mode %v, want 0600", st.Mode().Perm())
	}
	again, err := LoadOrCreateSecret(path)
	if err != nil || string(again) != string(got[0]) {
		t.Fatalf("reload = %q, %v; want %q", again, err, got[0])
	}
}

func TestSourceLoad(t *testing.T) {
	dir := t.TempDir()
	fetch := func(_ context.Context, arn string) (string, error) { return "from-store-" + arn + "-0123456789", nil }
	tests := []struct {
		name    string
		src     Source
		want    string
		wantErr bool
	}{
		{"value", Source{Value: " value-secret-0123456 \n"}, "value-secret-0123456", false},
		{"value too short", Source{Value: "x"}, "", true},
		{"arn", Source{ARN: "arn:x"}, "from-store-arn:x-0123456789", false},
		{"nothing", Source{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.src.Load(context.Background(), fetch)
			if (err != nil) != tt.wantErr || string(got) != tt.want {
				t.Errorf("Load = %q, %v; want %q, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	t.Run("file", func(t *testing.T) {
		p := filepath.Join(dir, SecretFileName)
		a, err := Source{File: p}.Load(context.Background(), nil)
		if err != nil || len(a) != 64 {
			t.Fatalf("Load file = %q, %v", a, err)
		}
	})
}
