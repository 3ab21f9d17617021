package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/hlsflow/hlsflow/internal/testenv"

	"github.com/hlsflow/hlsflow/internal/catalog"
)

// hlsflow runs the CLI against the system under test.
func hlsflow(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	if sys.Local == nil {
		t.Skip("the CLI tests need the local system's binary and addresses")
	}
	u := strings.TrimPrefix
	args = append(args, "--s3", u(sys.S3Endpoint, "http://"), "--edge", u(sys.EdgeURL, "http://"), "--data", sys.Local.DataDir)
	cmd := exec.Command(sys.Local.Bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run hlsflow %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestCLIUploadWaitAndStatus(t *testing.T) {
	out, errOut, code := hlsflow(t, "upload", testenv.Media(t, "02_flower_960x540_h264_aac.mp4"), "--wait", "--key", "cli/flower.mp4")
	if code != 0 {
		t.Fatalf("upload --wait exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	id := catalog.VideoID("cli/flower.mp4")
	if !strings.Contains(out, "id: "+id) {
		t.Errorf("stdout lacks the id %s:\n%s", id, out)
	}
	if !regexp.MustCompile(`playback: http://[^ ]+/vod/` + regexp.QuoteMeta(id) + `/master\.m3u8`).MatchString(out) {
		t.Errorf("stdout lacks the playback URL:\n%s", out)
	}
	if !strings.Contains(errOut, "100%") {
		t.Errorf("no progress bar reached 100%%:\n%s", errOut)
	}

	out, errOut, code = hlsflow(t, "status", id)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, errOut)
	}
	var st catalog.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status output is not status.json: %v\n%s", err, out)
	}
	if st.ID != id || st.State != catalog.StateReady || len(st.Renditions) == 0 {
		t.Errorf("status %+v", st)
	}
}

func TestCLIUploadWaitFailsOnBrokenVideo(t *testing.T) {
	p := writeFile(t, "broken.mp4", []byte("definitely not a video"))
	out, errOut, code := hlsflow(t, "upload", p, "--wait", "--key", "cli/broken.mp4")
	if code == 0 {
		t.Fatalf("upload --wait of a broken file exited 0\nstdout: %s\nstderr: %s", out, errOut)
	}
	if !strings.Contains(errOut, "failed") {
		t.Errorf("stderr does not say the video failed: %s", errOut)
	}
	if _, _, code := hlsflow(t, "status", "no-such-video-000000000000"); code == 0 {
		t.Errorf("status of an unknown id exited 0")
	}
}

// TestCLIWaitFollowsTheNewUpload: a broken file fails; the fixed file
// uploaded under the same key is waited for until it is ready, not
// reported from the first upload's status.json (failed, or ready with
// the old video).
func TestCLIWaitFollowsTheNewUpload(t *testing.T) {
	const key = "cli/fixed later.mp4"
	broken := writeFile(t, "broken.mp4", []byte("not a video yet"))
	if out, errOut, code := hlsflow(t, "upload", broken, "--wait", "--key", key); code == 0 {
		t.Fatalf("upload --wait of a broken file exited 0\nstdout: %s\nstderr: %s", out, errOut)
	}
	good := testenv.Media(t, "07_bbb_vp9_opus.webm")
	out, errOut, code := hlsflow(t, "upload", good, "--wait", "--key", key)
	if code != 0 {
		t.Fatalf("upload --wait of the fixed file exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, _, _ = hlsflow(t, "status", catalog.VideoID(key))
	var st catalog.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != catalog.StateReady || st.Source.Size != fileSize(t, good) {
		t.Errorf("after the second --wait: state %s, source %+v; want ready from the second upload", st.State, st.Source)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCLIStreamCreateFromElsewhere runs `stream create` as a newcomer does
// by mistake: from a folder that is not the one `hlsflow up` keeps its data
// in. It must refuse (not invent a key secret the server does not know),
// write nothing there, and a wrong token must be refused by the server.
func TestCLIStreamCreateFromElsewhere(t *testing.T) {
	if sys.Local == nil {
		t.Skip("the CLI tests need the local system's binary and addresses")
	}
	u := strings.TrimPrefix
	run := func(dir string, extra ...string) (string, int) {
		t.Helper()
		args := append([]string{"stream", "create", "elsewhere", "--edge", u(sys.EdgeURL, "http://")}, extra...)
		cmd := exec.Command(sys.Local.Bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HLSFLOW_TOKEN=")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("run hlsflow: %v", err)
		}
		return out.String(), code
	}
	dir := t.TempDir()
	out, code := run(dir)
	if code != 1 || !strings.Contains(out, "no API token") {
		t.Errorf("from an empty folder: exit %d, output %q; want 1 and 'no API token'", code, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("stream create wrote %d entries into the folder it ran in (first: %s)", len(entries), entries[0].Name())
	}
	out, code = run(dir, "--token", strings.Repeat("0", 32))
	if code != 1 || !strings.Contains(out, "refused the API token") || strings.Contains(out, "rtmp://") {
		t.Errorf("with a wrong token: exit %d, output %q; want 1, refused, no publish URL", code, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("stream create wrote into the folder it ran in")
	}
}

// TestCLIIgnoresEnvironmentKeys: a user's real AWS keys in the environment
// must not be sent to the local system (which would refuse them); the CLI
// uses the credentials `hlsflow up` keeps for its data dir.
func TestCLIIgnoresEnvironmentKeys(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	out, errOut, code := hlsflow(t, "upload", testenv.Media(t, "14_t_rex_roar_audio_only.mp3"), "--wait", "--key", "cli/env-keys.mp3")
	if code != 0 {
		t.Fatalf("upload with other keys in the environment: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if _, errOut, code := hlsflow(t, "status", catalog.VideoID("cli/env-keys.mp3")); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
}
