package playsign

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// harness runs playbacktoken.js under Node as CloudFront would: its
// imports replaced by Node's crypto and a key value store holding the
// test keys, the clock set per case. It reads cases as JSON on stdin and
// writes each answer's status (200 when the request passes) and URI.
const harness = `
const crypto = require('crypto');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const cf = { kvs: () => ({ get: async (k) => {
  if (Object.prototype.hasOwnProperty.call(input.kvs, k)) { return input.kvs[k]; }
  throw new Error('key not found');
} }) };
%FUNCTION%
(async () => {
  const out = [];
  for (const c of input.cases) {
    Date.now = () => c.now * 1000;
    const r = await handler({ request: { method: 'GET', uri: c.uri, querystring: {}, headers: {}, cookies: {} } });
    out.push(r.statusCode ? { status: r.statusCode, uri: '' } : { status: 200, uri: r.uri });
  }
  process.stdout.write(JSON.stringify(out));
})();
`

var imports = regexp.MustCompile(`(?m)^import .*$`)

// The CloudFront Function and the Go verifier agree on tokens this package
// mints: valid ones pass (to the same path), expired, tampered,
// other-video and hostile ones are refused by both.
func TestFunctionAgreesWithVerifier(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	now := time.Unix(1_800_000_000, 0)
	s, v := newPair(t, now)
	tok := s.Token(Scope{"vod", "abc123"}, now.Add(time.Hour))
	live := s.Token(Scope{"live", "show_1"}, now.Add(time.Minute))
	old := s.Token(Scope{"vod", "abc123"}, now.Add(-time.Second))
	flipped := tok[:len(tok)-1] + map[bool]string{true: "1", false: "0"}[tok[len(tok)-1] == '0']
	type tcase struct {
		name, uri string
		now       int64
		want      string // the path served, "" when refused
	}
	cases := []tcase{
		{"master", "/p/" + tok + "/vod/abc123/master.m3u8", now.Unix(), "/vod/abc123/master.m3u8"},
		{"segment", "/p/" + tok + "/vod/abc123/720p/seg_1_00001.ts", now.Unix(), "/vod/abc123/720p/seg_1_00001.ts"},
		{"live", "/p/" + live + "/live/show_1/360p/index.m3u8", now.Unix(), "/live/show_1/360p/index.m3u8"},
		{"last second", "/p/" + tok + "/vod/abc123/master.m3u8", now.Unix() + 3599, "/vod/abc123/master.m3u8"},
		{"at expiry", "/p/" + tok + "/vod/abc123/master.m3u8", now.Unix() + 3600, ""},
		{"expired", "/p/" + old + "/vod/abc123/master.m3u8", now.Unix(), ""},
		{"tampered", "/p/" + flipped + "/vod/abc123/master.m3u8", now.Unix(), ""},
		{"other video", "/p/" + tok + "/vod/abc124/master.m3u8", now.Unix(), ""},
		{"vod token on live", "/p/" + tok + "/live/abc123/master.m3u8", now.Unix(), ""},
		{"longer expiry", "/p/" + strings.Replace(tok, "1800003600", "1800007200", 1) + "/vod/abc123/master.m3u8", now.Unix(), ""},
		{"leading zero", "/p/0" + tok + "/vod/abc123/master.m3u8", now.Unix(), ""},
		{"unknown key", "/p/" + strings.Replace(tok, ".k1.", ".k9.", 1) + "/vod/abc123/master.m3u8", now.Unix(), ""},
		{"dot-dot", "/p/" + tok + "/vod/abc123/../x/master.m3u8", now.Unix(), ""},
		{"hidden file", "/p/" + tok + "/vod/abc123/.env", now.Unix(), ""},
		{"empty segment", "/p/" + tok + "/vod/abc123//master.m3u8", now.Unix(), ""},
		{"no file", "/p/" + tok + "/vod/abc123/", now.Unix(), ""},
		{"other prefix", "/p/" + tok + "/uploads-meta/abc123/x.json", now.Unix(), ""},
		{"no token", "/vod/abc123/master.m3u8", now.Unix(), ""},
		{"live token on its recording", "/p/" + live + "/vod/show_1-20261207-120000/360p/seg_00001.ts", now.Unix(), "/vod/show_1-20261207-120000/360p/seg_00001.ts"},
		{"live token on another stream's recording", "/p/" + live + "/vod/show_2-20261207-120000/360p/seg_00001.ts", now.Unix(), ""},
		{"live token on a longer name's recording", "/p/" + live + "/vod/show_1-x-20261207-120000/360p/seg_00001.ts", now.Unix(), ""},
		{"live token on a look-alike", "/p/" + live + "/vod/show_1-2026120-120000/360p/seg_00001.ts", now.Unix(), ""},
		{"vod token not widened", "/p/" + tok + "/vod/abc123-20261207-120000/master.m3u8", now.Unix(), ""},
		{"upper-case mac", "/p/" + strings.ToUpper(tok) + "/vod/abc123/master.m3u8", now.Unix(), ""},
	}
	in := map[string]any{"kvs": map[string]string{"k1": string(s.keys.TokenKey)}, "cases": cases}
	type jsCase struct {
		URI string `json:"uri"`
		Now int64  `json:"now"`
	}
	js := make([]jsCase, len(cases))
	for i, c := range cases {
		js[i] = jsCase{c.uri, c.now}
	}
	in["cases"] = js
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "harness.js")
	src := strings.Replace(harness, "%FUNCTION%", imports.ReplaceAllString(FunctionJS, ""), 1)
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Stdin = strings.NewReader(string(stdin))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []struct {
		Status int    `json:"status"`
		URI    string `json:"uri"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("node answered %s (%v)", out, err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" && got[i].Status != 403 || c.want != "" && (got[i].Status != 200 || got[i].URI != c.want) {
				t.Errorf("function: %d %q, want %q", got[i].Status, got[i].URI, c.want)
			}
			v.SetClock(func() time.Time { return time.Unix(c.now, 0) })
			p, err := v.Check(get(t, "http://h"+c.uri, nil))
			if p != c.want || (err == nil) != (c.want != "") {
				t.Errorf("verifier: %q %v, want %q", p, err, c.want)
			}
		})
	}
}
