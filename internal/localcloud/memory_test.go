package localcloud_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hlsflow/hlsflow/internal/store"
)

// peakRSS is the process's high-water resident set size (Linux), in bytes.
func peakRSS(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Skip("no VmHWM")
	return 0
}

// BenchmarkMultipartMemory uploads a 256 MiB file in 8 MiB parts through
// the front door (client, proxy and gateway all in this process) and
// prints how much the peak RSS grew, against the upload's size: bodies
// stream to disk, so the growth stays near a few parts, not the file.
func BenchmarkMultipartMemory(b *testing.B) {
	c := shared(b)
	const size, part = 256 << 20, 8 << 20
	file := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	st := store.New(awsConfig(c, c.SecretKey()))
	ctx := context.Background()
	before := peakRSS(b)
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("bench/big-%d.bin", i)
		cm, err := st.Client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("media"), Key: aws.String(key)})
		if err != nil {
			b.Fatal(err)
		}
		var parts []types.CompletedPart
		for n := int32(1); int64(n-1)*part < size; n++ {
			out, err := st.Client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String("media"), Key: aws.String(key), UploadId: cm.UploadId, PartNumber: aws.Int32(n),
				Body: io.NewSectionReader(f, int64(n-1)*part, part),
			})
			if err != nil {
				b.Fatal(err)
			}
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		}
		if _, err := st.Client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: aws.String("media"), Key: aws.String(key), UploadId: cm.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		}); err != nil {
			b.Fatal(err)
		}
		if err := st.DeleteKeys(ctx, "media", []string{key}); err != nil {
			b.Fatal(err)
		}
	}
	growth := float64(peakRSS(b)-before) / (1 << 20)
	b.ReportMetric(growth, "rss_growth_MiB")
	b.SetBytes(size)
	fmt.Printf("multipart_256MiB_rss_growth_mib: %.1f\n", growth)
}
