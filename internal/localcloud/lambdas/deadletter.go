package lambdas

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// deadLetter records an async invocation that will not run again: a JSON
// file under DeadLetterDir (like Lambda's on-failure destination) and a
// log line either way.
func (r *Runtime) deadLetter(j *job) {
	rec := DeadLetter{
		Function: j.function, RequestID: j.requestID, Received: j.received,
		Failed: time.Now().UTC(), Attempts: j.attempts, Errors: j.errs,
		Event: j.payload,
	}
	if len(j.errs) > 0 {
		rec.Error = j.errs[len(j.errs)-1]
	}
	if !json.Valid(j.payload) {
		// Keep the record valid JSON whatever the payload was.
		rec.Event, _ = json.Marshal(string(j.payload))
	}
	path, err := WriteDeadLetter(r.cfg.DeadLetterDir, rec)
	attrs := []any{"function", j.function, "request_id", j.requestID, "attempts", j.attempts}
	if rec.Error != nil {
		attrs = append(attrs, "error", rec.Error.Error())
	}
	switch {
	case err != nil:
		attrs = append(attrs, "write_error", err.Error())
	case path != "":
		attrs = append(attrs, "file", path)
	}
	r.log.Error("lambda async invoke dead-lettered", attrs...)
}

// WriteDeadLetter writes rec as a JSON file in dir and returns its path
// ("" when dir is empty). Names sort by failure time.
func WriteDeadLetter(dir string, rec DeadLetter) (string, error) {
	if dir == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("write dead letter: %w", err)
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write dead letter: %w", err)
	}
	name := rec.Failed.UTC().Format("20060102T150405.000000000Z") + "-" + safeName(rec.Function) + "-" + rec.RequestID + ".json"
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("write dead letter: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write dead letter: %w", err)
	}
	return path, nil
}

// safeName keeps a function name usable in a file name.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "function"
	}
	return string(b)
}
