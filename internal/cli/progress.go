package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progressBar draws "[#####.....]  50% processing". On a terminal it
// rewrites one line; into a file or pipe it prints a line only when the
// state or the tens of percent change, so logs stay readable.
type progressBar struct {
	w         io.Writer
	drawn     bool
	lastLabel string
	lastTens  int
}

const barWidth = 30

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (b *progressBar) draw(label string, frac float64) {
	frac = max(0, min(1, frac))
	n := int(frac * barWidth)
	line := fmt.Sprintf("[%s%s] %3.0f%% %s", strings.Repeat("#", n), strings.Repeat(".", barWidth-n), frac*100, label)
	if isTerminal(b.w) {
		fmt.Fprintf(b.w, "\r%-60s", line)
		b.drawn = true
		return
	}
	tens := int(frac * 10)
	if b.drawn && label == b.lastLabel && tens == b.lastTens {
		return
	}
	fmt.Fprintln(b.w, line)
	b.drawn, b.lastLabel, b.lastTens = true, label, tens
}

func (b *progressBar) done() {
	if b.drawn && isTerminal(b.w) {
		fmt.Fprintln(b.w)
	}
}
