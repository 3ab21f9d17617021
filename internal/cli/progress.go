package cli

import (
	"fmt"
	"io"
	"strings"
)

// progressBar draws one self-overwriting line: "[#####.....]  50% encoding".
type progressBar struct {
	w     io.Writer
	drawn bool
}

const barWidth = 30

func (b *progressBar) draw(label string, frac float64) {
	frac = max(0, min(1, frac))
	n := int(frac * barWidth)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%% %-12s", strings.Repeat("#", n), strings.Repeat(".", barWidth-n), frac*100, label)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
