package cli

import (
	"flag"
	"io"
	"testing"
)

// --fetch-allow is repeatable and comma-separated, and refuses what is no
// range.
func TestFetchAllowFlag(t *testing.T) {
	var p prefixList
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&p, "fetch-allow", "")
	if err := fs.Parse([]string{"--fetch-allow", "127.0.0.0/8", "--fetch-allow", "::1,192.168.1.0/24"}); err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "127.0.0.0/8,::1/128,192.168.1.0/24"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "http://10.0.0.1/"} {
		var q prefixList
		if err := q.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
