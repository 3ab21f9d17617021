package feed

import "time"

// LogRate lets one log line of a kind through per Every, counting those
// held back, so a stranger's flood of refused packets or callers cannot
// flood the log too. The zero value needs Every set; not safe for
// concurrent use.
type LogRate struct {
	Every time.Duration
	last  time.Time
	count int
}

// Allow counts one event at now and reports whether to log it, with how
// many events (this one included) the line stands for.
func (l *LogRate) Allow(now time.Time) (int, bool) {
	l.count++
	if now.Sub(l.last) < l.Every {
		return 0, false
	}
	n := l.count
	l.last, l.count = now, 0
	return n, true
}
