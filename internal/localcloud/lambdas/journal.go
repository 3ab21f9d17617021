package lambdas

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultResumeDelay is how long a New runtime waits before it runs again
// the async invocations a crashed process left unfinished: about AWS's
// first retry, and long enough for a handler's own "someone is working on
// this" marks (such as a heartbeat in a status file) to go stale.
const DefaultResumeDelay = time.Minute

// journaled is an async invocation as kept on disk until it ends.
type journaled struct {
	Function  string    `json:"function"`
	RequestID string    `json:"requestId"`
	Received  time.Time `json:"received"`
	Attempts  int       `json:"attempts"` // started so far
	Payload   []byte    `json:"payload"`
}

// journal writes j's record before each attempt (so a crash mid-attempt
// counts it) and on queueing. Without a QueueDir it does nothing.
func (r *Runtime) journal(j *job) {
	if r.cfg.QueueDir == "" {
		return
	}
	b, err := json.Marshal(journaled{Function: j.function, RequestID: j.requestID, Received: j.received,
		Attempts: j.attempts, Payload: j.payload})
	if err == nil {
		err = writeFileAtomic(r.journalPath(j), b)
	}
	if err != nil {
		r.log.Warn("lambda async invoke not journaled; a crash would lose it", "function", j.function,
			"request_id", j.requestID, "error", err)
	}
}

// unjournal forgets j once it succeeded or was dead-lettered.
func (r *Runtime) unjournal(j *job) {
	if r.cfg.QueueDir == "" {
		return
	}
	if err := os.Remove(r.journalPath(j)); err != nil && !os.IsNotExist(err) {
		r.log.Warn("lambda async invoke journal not removed", "request_id", j.requestID, "error", err)
	}
}

func (r *Runtime) journalPath(j *job) string {
	return filepath.Join(r.cfg.QueueDir, safeName(j.requestID)+".json")
}

// resume schedules the invocations an earlier process left in QueueDir,
// each as a retry after ResumeDelay: the attempt that was running when the
// process died counts as a failed one, so a handler that kills the process
// every time is dead-lettered after the retries, not run for ever.
func (r *Runtime) resume() {
	if r.cfg.QueueDir == "" {
		return
	}
	if err := os.MkdirAll(r.cfg.QueueDir, 0o700); err != nil {
		r.log.Error("lambda async queue dir", "error", err)
		return
	}
	files, err := filepath.Glob(filepath.Join(r.cfg.QueueDir, "*.json"))
	if err != nil {
		r.log.Error("lambda async queue dir", "error", err)
		return
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		var rec journaled
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil || rec.RequestID == "" || safeName(rec.RequestID)+".json" != filepath.Base(f) {
			r.log.Error("lambda async queue: unreadable record left as is", "file", f, "error", err)
			continue
		}
		j := &job{function: rec.Function, payload: rec.Payload, requestID: rec.RequestID,
			received: rec.Received, attempts: rec.Attempts}
		if _, ok := r.cfg.Functions[j.function]; !ok {
			r.pending.Add(1)
			r.finish(j, &FunctionError{Type: "ResourceNotFoundException", Message: "function " + j.function + " is no longer registered"})
			continue
		}
		if j.attempts > 0 {
			j.errs = append(j.errs, &FunctionError{Type: "Runtime.ExitError",
				Message: "the local cloud stopped during the invocation (crash or kill)"})
		}
		if j.attempts > r.cfg.Retries {
			r.pending.Add(1)
			r.finish(j, nil)
			continue
		}
		r.log.Info("lambda async invoke left by a stopped process, will run again", "function", j.function,
			"request_id", j.requestID, "attempts", j.attempts, "run_in", r.cfg.ResumeDelay)
		r.pending.Add(1)
		r.retryAfter(j, r.cfg.ResumeDelay)
	}
}

func writeFileAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
