package catalog

import "github.com/hlsflow/hlsflow/internal/media"

// Plan is the per-title ladder plan in status.json ("ladder"): the
// slices the complexity pass encoded and, per rung of the fixed ladder,
// what it measured (bitrate and x264 luma SSIM at each trial CRF) and
// what was decided ("crf", "fixed" or "dropped", the CRF, the bitrate
// expected and today's). Version changes when a field's meaning does.
type Plan = media.TitlePlan

// PlanOf is the plan as status.json tells it.
func PlanOf(p media.TitlePlan) *Plan { return &p }
