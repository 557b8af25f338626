package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
)

// heapPeak samples runtime.MemStats.HeapAlloc every few milliseconds and keeps the
// highest value: the peak live heap of the whole process (CLI, library and, in these
// benchmarks, the in-process simulator too).
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	max  uint64
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			h.max = max(h.max, ms.HeapAlloc)
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// MB stops the sampling and returns the peak in MiB.
func (h *heapPeak) MB() float64 {
	close(h.stop)
	<-h.done
	return float64(h.max) / (1 << 20)
}

// benchDocs writes n generated documents of about size bytes for the test patient.
func benchDocs(b *testing.B, n, size int) string {
	b.Helper()
	dir := b.TempDir()
	for i := range n {
		cda := pdfcdatest.CDA{PatientCF: cfA, IDExtension: fmt.Sprintf("BENCH.%04d", i)}
		body := pdfcdatest.PDF{Attachment: cda.Bytes(), Sign: true, PadTo: size}.Bytes()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("doc%04d.pdf", i)), body, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func benchDeps(dataDir string) deps {
	d := defaultDeps()
	d.getenv = func(string) string { return "" }
	d.userCacheDir = func() (string, error) { return dataDir, nil }
	d.isTerminal = func(io.Writer) bool { return false }
	return d
}

// BenchmarkSimPublish publishes a batch of generated documents with `fsepuglia publish
// --dir` in-process, through the real library (mutual TLS, WS-Security, SAML, outbox with
// its fsyncs) to the in-process simulator (which validates, verifies and stores each one).
// Each iteration starts a fresh simulator and outbox, outside the timer. Reports docs/s of
// the timed part and the peak live heap.
func BenchmarkSimPublish(b *testing.B) {
	for _, bc := range []struct {
		docs, size, concurrency int
	}{
		{48, 100 << 10, 1},
		{48, 100 << 10, 4},
		{8, 5 << 20, 4},
	} {
		b.Run(fmt.Sprintf("%ddocs-%dKiB-c%d", bc.docs, bc.size>>10, bc.concurrency), func(b *testing.B) {
			dir := benchDocs(b, bc.docs, bc.size)
			var elapsed time.Duration
			var peak float64
			for b.Loop() {
				b.StopTimer()
				s, err := sim.Start(context.Background(), sim.Options{DataDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				data := b.TempDir()
				var out, errOut bytes.Buffer
				args := []string{"fsepuglia", "--config", s.ClientConfigPath(), "--data-dir", data, "publish", "--dir", dir, "--concurrency", fmt.Sprint(bc.concurrency)}
				hp := startHeapPeak()
				b.StartTimer()
				start := time.Now()
				code := runWith(context.Background(), args, &out, &errOut, benchDeps(data))
				elapsed += time.Since(start)
				b.StopTimer()
				peak = max(peak, hp.MB())
				n, _ := s.Data().Store.Count()
				s.Close()
				if code != 0 || n != bc.docs {
					b.Fatalf("exit %d, %d stored: %s", code, n, errOut.String())
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(bc.docs*b.N)/elapsed.Seconds(), "docs/s")
			b.ReportMetric(peak, "peak-heap-MB")
		})
	}
}

// BenchmarkSimSearch searches a patient holding 50 documents. "client" reuses one
// adapter.Client (kept-alive TLS connection: the steady state of a server integration);
// "cli" runs `fsepuglia search` in-process per iteration (config, new client, TLS handshake,
// table output), which is what one command-line call costs minus process start.
func BenchmarkSimSearch(b *testing.B) {
	s, err := sim.Start(context.Background(), sim.Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cfgPath := s.ClientConfigPath()
	data := b.TempDir()
	run := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := runWith(context.Background(), append([]string{"fsepuglia", "--config", cfgPath, "--data-dir", data}, args...), &out, &errOut, benchDeps(data))
		return out.String() + errOut.String(), code
	}
	if out, code := run("consent", "set", "--patient", cfA, "--c2=true", "--c3=true"); code != 0 {
		b.Fatal(out)
	}
	if out, code := run("publish", "--dir", benchDocs(b, 50, 20<<10), "--concurrency", "4"); code != 0 {
		b.Fatal(out)
	}
	raw, _ := os.ReadFile(cfgPath)
	var cfg adapter.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		b.Fatal(err)
	}

	b.Run("client", func(b *testing.B) {
		c, err := adapter.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		hp := startHeapPeak()
		start := time.Now()
		for b.Loop() {
			res, err := c.Documents.Search(context.Background(), adapter.SearchQuery{PatientCF: cfA, Limit: 100})
			if err != nil || len(res.Documents) != 50 {
				b.Fatalf("%v", err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "searches/s")
		b.ReportMetric(hp.MB(), "peak-heap-MB")
	})
	b.Run("client-parallel4", func(b *testing.B) {
		c, err := adapter.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		hp := startHeapPeak()
		start := time.Now()
		var wg sync.WaitGroup
		work := make(chan struct{})
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					if _, err := c.Documents.Search(context.Background(), adapter.SearchQuery{PatientCF: cfA, Limit: 100}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		for b.Loop() {
			work <- struct{}{}
		}
		close(work)
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "searches/s")
		b.ReportMetric(hp.MB(), "peak-heap-MB")
	})
	b.Run("cli", func(b *testing.B) {
		hp := startHeapPeak()
		start := time.Now()
		for b.Loop() {
			if out, code := run("search", "--patient", cfA, "--limit", "100"); code != 0 {
				b.Fatal(out)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "searches/s")
		b.ReportMetric(hp.MB(), "peak-heap-MB")
	})
}
