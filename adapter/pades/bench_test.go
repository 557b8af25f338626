//go:build linux

package pades

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// helperEnv makes TestSignFileHelper sign IN to OUT in a child process (the benchmark reads
// the child's peak RSS).
const helperEnv = "FSEPUGLIA_PADES_HELPER"

// TestSignFileHelper is the child of BenchmarkSign100MB; it does nothing otherwise.
func TestSignFileHelper(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process for BenchmarkSign100MB")
	}
	var in, out string
	fmt.Sscanf(spec, "%s %s", &in, &out)
	p := testPKI(t)
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, _ := src.Stat()
	dst, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Sign(dst, src, st.Size(), p.rsa, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	// This process's own peak resident set since exec (rusage's maxrss would include the
	// parent's, which the child shares until exec).
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println("PEAK-RSS-KB", strings.Fields(line)[1])
		}
	}
}

// peakHeap samples HeapAlloc while f runs and returns the highest value seen.
func peakHeap(f func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	f()
	close(done)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > peak.Load() {
		peak.Store(m.HeapAlloc)
	}
	return peak.Load()
}

// BenchmarkSign100MB signs a 100 MB PDF (an incompressible 100 MB stream plus cda.xml):
//   - file: file to file in a child process; peak-RSS/file is the child's whole peak
//     resident memory (VmHWM: Go runtime and test binary included) over the file size;
//   - memory: the input held in memory (as the middleware holds an upload), the signed
//     PDF written to a writer; peak-heap/file counts the input itself (1.0 is the floor);
//   - verify: Verify on the signed file in memory, same measure.
//
// The bar is 1.5 for each.
func BenchmarkSign100MB(b *testing.B) {
	p := testPKI(b)
	dir := b.TempDir()
	in := filepath.Join(dir, "in.pdf")
	gen := pdfcdatest.PDF{Attachment: pdfcdatest.CDA{}.Bytes(), PadTo: 100 << 20}.Bytes()
	if err := os.WriteFile(in, gen, 0o600); err != nil {
		b.Fatal(err)
	}
	size := int64(len(gen))
	gen = nil
	runtime.GC()

	b.Run("file", func(b *testing.B) {
		b.SetBytes(size)
		var worst int64
		for b.Loop() {
			out := filepath.Join(dir, "out.pdf")
			cmd := exec.Command(os.Args[0], "-test.run=^TestSignFileHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+in+" "+out)
			msg, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("child: %v\n%s", err, msg)
			}
			var kb int64
			if i := bytes.Index(msg, []byte("PEAK-RSS-KB ")); i >= 0 {
				fmt.Sscanf(string(msg[i:]), "PEAK-RSS-KB %d", &kb)
			}
			if kb == 0 {
				b.Fatalf("the child did not report its peak RSS:\n%s", msg)
			}
			worst = max(worst, kb*1024)
			if st, err := os.Stat(out); err != nil || st.Size() <= size {
				b.Fatalf("output: %v", err)
			}
		}
		b.ReportMetric(float64(worst)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(worst)/float64(size), "peak-RSS/file")
	})

	data, err := os.ReadFile(in)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("memory", func(b *testing.B) {
		b.SetBytes(size)
		var worst uint64
		for b.Loop() {
			runtime.GC()
			peak := peakHeap(func() {
				if err := Sign(io.Discard, bytes.NewReader(data), size, p.rsa, SignOptions{}); err != nil {
					b.Fatal(err)
				}
			})
			worst = max(worst, peak)
		}
		b.ReportMetric(float64(worst)/float64(size), "peak-heap/file")
	})

	update, err := prepare(bytes.NewReader(data), size, p.rsa, SignOptions{})
	if err != nil {
		b.Fatal(err)
	}
	full := make([]byte, 0, len(data)+len(update)) // exactly one copy held from here on
	full = append(append(full, data...), update...)
	data = nil
	runtime.GC()
	b.Run("verify", func(b *testing.B) {
		b.SetBytes(size)
		var worst uint64
		for b.Loop() {
			runtime.GC()
			peak := peakHeap(func() {
				sigs, err := Verify(full, sign.VerifyOptions{})
				if err != nil || !Intact(sigs) {
					b.Fatalf("%v %+v", err, sigs)
				}
			})
			worst = max(worst, peak)
		}
		b.ReportMetric(float64(worst)/float64(len(full)), "peak-heap/file")
	})
}
