// Package cost says what an on-demand job used and what that costs at the
// region's published prices, for status.json. The functions' memory sizes
// it is charged by are internal/lambdaspec's, as the stack deploys them.
package cost

import "math"

// Prices are what AWS charges in a region, in US dollars.
type Prices struct {
	Region string
	// Date is when the prices were read, Source the public pages they
	// were read from.
	Date, Source string

	Arch           string  // the functions' CPU architecture: "arm64" or "x86_64"
	LambdaGBSecond float64 // per GB-second, for Arch
	LambdaRequest  float64 // per invocation
	S3Put          float64 // per PUT, COPY, POST or LIST request (S3 Standard)
	S3Get          float64 // per GET or HEAD request (S3 Standard)
}

// USEast1 are the prices in us-east-1 for arm64 functions (the stack's
// default architecture).
var USEast1 = Prices{
	Region: "us-east-1",
	Date:   "2026-12-07",
	Source: "AWS Lambda pricing (aws.amazon.com/lambda/pricing), Amazon S3 pricing (aws.amazon.com/s3/pricing), requests & data retrievals",

	Arch:           "arm64",
	LambdaGBSecond: 0.0000133334,
	LambdaRequest:  0.20 / 1e6,
	S3Put:          0.005 / 1000,
	S3Get:          0.0004 / 1000,
}

// USEast1X86 are the same prices for x86_64 functions (-c arch=x86_64):
// a GB-second costs 25 % more.
var USEast1X86 = func() Prices {
	p := USEast1
	p.Arch, p.LambdaGBSecond = "x86_64", 0.0000166667
	return p
}()

// USEast1For returns the us-east-1 prices for functions built for goarch
// (runtime.GOARCH: a function is charged at its own architecture's rate).
func USEast1For(goarch string) Prices {
	if goarch == "amd64" {
		return USEast1X86
	}
	return USEast1
}

// Function is what one function used for a job.
type Function struct {
	Invocations int     `json:"invocations"`
	GBSeconds   float64 `json:"gbSeconds"`
}

// Usage is what a job used and what it cost; status.json's "cost".
type Usage struct {
	// Functions by name ("transcode", "encode").
	Functions map[string]*Function `json:"functions"`
	// S3Puts and S3Gets are the requests the job made itself (ffmpeg's
	// range reads of the source are not counted); BytesWritten is the
	// size of the segments, playlists and poster it wrote.
	S3Puts       int64 `json:"s3Puts"`
	S3Gets       int64 `json:"s3Gets"`
	BytesWritten int64 `json:"bytesWritten"`
	// USD is the total at Prices' prices, rounded to a millionth of a dollar.
	USD    float64 `json:"usd"`
	Prices string  `json:"prices"` // region and date of the prices used
}

// Invocation adds one invocation of function name with memory MB that
// ran for seconds.
func (u *Usage) Invocation(name string, memoryMB int, seconds float64) {
	if u.Functions == nil {
		u.Functions = map[string]*Function{}
	}
	f := u.Functions[name]
	if f == nil {
		f = &Function{}
		u.Functions[name] = f
	}
	f.Invocations++
	f.GBSeconds += GBSeconds(memoryMB, seconds)
}

// GBSeconds is Lambda's measure: memory in GB (1024 MB) × seconds.
func GBSeconds(memoryMB int, seconds float64) float64 {
	return float64(memoryMB) / 1024 * seconds
}

// GBSeconds is the total over every function.
func (u *Usage) GBSeconds() float64 {
	var s float64
	for _, f := range u.Functions {
		s += f.GBSeconds
	}
	return s
}

// Price sets USD and Prices from p, and rounds the GB-seconds to a
// thousandth, as they are shown.
func (u *Usage) Price(p Prices) {
	var usd float64
	for _, f := range u.Functions {
		f.GBSeconds = math.Round(f.GBSeconds*1000) / 1000
		usd += f.GBSeconds*p.LambdaGBSecond + float64(f.Invocations)*p.LambdaRequest
	}
	usd += float64(u.S3Puts)*p.S3Put + float64(u.S3Gets)*p.S3Get
	u.USD, u.Prices = math.Round(usd*1e6)/1e6, p.Region+" "+p.Arch+" "+p.Date
}

// VCPUMemoryMB is the memory at which Lambda gives a function one whole
// vCPU: a CPU-bound encode's CPU seconds cost that many MB-seconds.
const VCPUMemoryMB = 1769

// VCPUSecond is what one fully used vCPU-second costs on Lambda.
func (p Prices) VCPUSecond() float64 {
	return GBSeconds(VCPUMemoryMB, 1) * p.LambdaGBSecond
}

// MediaConvertPrices are AWS Elemental MediaConvert's on-demand prices per
// output minute that the benchmarks compare our cost with.
type MediaConvertPrices struct {
	Date, Source string
	// SDMinute and HDMinute are per output minute under 720 lines and from
	// 720 to 1080 lines, up to 30 fps; above 30 fps costs twice as much.
	SDMinute, HDMinute float64
}

// MediaConvertBasicUSEast1 is MediaConvert's Basic tier (AVC, single
// pass) in us-east-1, at its first volume tier (the discounts since
// September 2024 start far above a small operator's volume). It is a
// floor for our outputs: AV1 and HEVC need the Professional tier, which
// costs more, so charging them at this rate can only flatter MediaConvert.
var MediaConvertBasicUSEast1 = MediaConvertPrices{
	Date:     "2026-12-07",
	Source:   "AWS Elemental MediaConvert pricing (aws.amazon.com/mediaconvert/pricing), on-demand, Basic tier",
	SDMinute: 0.0075,
	HDMinute: 0.015,
}

// OutputMinute is the price of one minute of a width x height output at
// fps frames per second (a portrait picture is classed by its width).
func (m MediaConvertPrices) OutputMinute(width, height int, fps float64) float64 {
	p := m.SDMinute
	if min(width, height) >= 720 {
		p = m.HDMinute
	}
	if fps > 30.01 {
		p *= 2
	}
	return p
}
