package main

// The batch part (-only batch; issue 13 items 2 and 4): `fsepuglia publish --dir` of
// generated documents, the real binary against the separate simulator process.
//
//   - throughput: N documents of -doc-size published with --concurrency 1, 2 and 4, against a
//     raw POST of N addDocument envelopes of the same kind that the library signed before
//     the timer started (1, 2 and 4 connections: the simulator's own limit). The CLI's time
//     is its whole process (start, configuration, inspection of each file, outbox, TLS
//     handshake, sends); docs/s = N / wall time. The simulator's CPU during each leg is
//     read from /proc, to show when it is the limit, and the whole machine's (user, system,
//     iowait, idle from /proc/stat) to show what is when neither process is.
//   - the same throughput table against a second simulator started with --no-sync
//     (-batch-nosync-conc, default 1,4,8): without the simulator's fsyncs the disk is out of
//     the way, and what is left to limit the batch is the CPU the two processes share.
//   - memory: peak RSS (/usr/bin/time -v) of `publish --dir` of each of -batch-rss-counts
//     documents of -batch-rss-size bytes, each against the first: a flat batch peaks within
//     10 % whatever its length; the middle size shows where the peak is reached.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
)

var (
	nBatch          = flag.Int("n-batch", 150, "documents per batch leg and round (batch part)")
	batchConc       = flag.String("batch-conc", "1,2,4", "concurrencies of the batch legs (CLI --concurrency and raw POST connections)")
	batchNoSyncConc = flag.String("batch-nosync-conc", "1,4,8", "concurrencies of the batch legs against a simulator started with --no-sync (empty: skipped)")
	batchRSSCounts  = flag.String("batch-rss-counts", "100,1000,10000", "documents of the memory leg's batches, the first the reference (empty: leg skipped)")
	batchRSSSize    = flag.Int("batch-rss-size", 3<<10, "size of the memory leg's documents")
)

// simCPU returns the simulator process's CPU time so far (user+sys).
func (s *simProc) simCPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// batchSample is one batch leg in one round.
type batchSample struct {
	rate   float64 // documents per second
	simPct float64 // simulator CPU during the leg, % of one core
	cliMs  float64 // the CLI process's CPU per document (user+sys), ms
	mach   machineCPU
}

// machineCPU is how the whole machine's CPU time was spent during a leg, in % of one core
// (all cores together add up to 100 × cores), from /proc/stat: it shows what a leg is bound
// by when neither process uses its cores to the full (the kernel, the disk's waits).
type machineCPU struct {
	user, system, iowait, idle float64
}

// cpuTicks reads the aggregate "cpu" line of /proc/stat: user+nice, system+irq+softirq,
// iowait, idle (USER_HZ ticks). ok is false where /proc/stat is not there.
func cpuTicks() (t [4]float64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return t, false
	}
	v := make([]float64, 7)
	for i := range v {
		v[i], _ = strconv.ParseFloat(f[i+1], 64)
	}
	// user nice system idle iowait irq softirq
	return [4]float64{v[0] + v[1], v[2] + v[5] + v[6], v[4], v[3]}, true
}

// since returns the machine's CPU use between two cpuTicks readings over wall.
func since(a, b [4]float64, wall time.Duration) machineCPU {
	ms := float64(max(wall.Milliseconds(), 1))
	pct := func(i int) float64 { return (b[i] - a[i]) * 10 * 100 / ms } // a tick is 10 ms
	return machineCPU{user: pct(0), system: pct(1), iowait: pct(2), idle: pct(3)}
}

func concList(list, flagName string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q", flagName, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// rawParallel posts envs over conc goroutines sharing one pooled client (conc connections).
func rawParallel(hc *http.Client, envs []captured, conc int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conc)
	for k := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(envs) {
					return
				}
				if err := post(hc, envs[i]); err != nil {
					errs[k] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// batchLegs runs the batch part: the throughput table against the simulator as it runs by
// default, the fsync count and the memory leg; then the throughput table again against a
// simulator that does not fsync (-batch-nosync-conc), where the disk's waits are out of the
// way and the two processes' CPU shows as the limit.
func batchLegs(dir string) error {
	concs, err := concList(*batchConc, "-batch-conc")
	if err != nil {
		return err
	}
	var noSyncConcs []int // parsed before anything runs, so that a bad list fails at once
	if *batchNoSyncConc != "" {
		if noSyncConcs, err = concList(*batchNoSyncConc, "-batch-nosync-conc"); err != nil {
			return err
		}
	}
	err = withSim(filepath.Join(dir, "sim-batch"), nil, func(s *simProc) error {
		title := fmt.Sprintf("batch: `publish --dir` of %d × %d KiB (whole CLI process) vs raw POST of pre-signed addDocument (simulator: separate process)", *nBatch, *docSize>>10)
		if err := batchTable(dir, s, concs, title); err != nil {
			return err
		}
		if err := batchFsyncs(dir, s, *nBatch); err != nil {
			return err
		}
		return batchRSS(dir, s)
	})
	if err != nil || noSyncConcs == nil {
		return err
	}
	return withSim(filepath.Join(dir, "sim-batch-nosync"), []string{"--no-sync"}, func(s *simProc) error {
		return batchTable(dir, s, noSyncConcs, "batch, simulator started with `--no-sync` (it waits on no disk: where the CPU of the two processes is the limit)")
	})
}

// withSim runs fn against a simulator started in dir with args, stopped when fn returns.
func withSim(dir string, args []string, fn func(*simProc) error) error {
	s, err := startSim(dir, args...)
	if err != nil {
		return err
	}
	defer s.stop()
	return fn(s)
}

// batchTable measures the CLI against raw POST at each concurrency against simulator s and
// prints the table under title.
func batchTable(dir string, s *simProc, concs []int, title string) error {
	cfg, err := adapter.LoadConfig(s.config)
	if err != nil {
		return err
	}
	hc, err := httpClient(cfg)
	if err != nil {
		return err
	}
	defer hc.CloseIdleConnections()
	ctx := context.Background()
	n := *nBatch
	res := map[string][]batchSample{}
	for r := range *rounds {
		type leg struct {
			name string
			f    func() error
		}
		var cliCPU time.Duration // of the last CLI leg
		var legs []leg
		// Inputs of every leg of the round first: raw envelopes signed, CLI directories written.
		for _, c := range concs {
			reqs, err := docs(fmt.Sprintf("braw%d-%d", r, c), n+1, *docSize)
			if err != nil {
				return err
			}
			envs, err := presign(cfg, hc.Transport, n, func(cl *adapter.Client, i int) error {
				_, err := cl.Documents.Publish(ctx, reqs[i])
				return err
			})
			if err != nil {
				return fmt.Errorf("presign addDocument: %w", err)
			}
			reqs = nil
			// One connection per goroutine, opened before the timer.
			if err := rawParallel(hc, envs[:c], c); err != nil {
				return err
			}
			rest := envs[c:]
			legs = append(legs, leg{fmt.Sprintf("raw/%d", c), func() error { return rawParallel(hc, rest, c) }})
			docDir := filepath.Join(dir, "batch", fmt.Sprintf("r%d-c%d", r, c))
			if err := writeDocs(docDir, fmt.Sprintf("bcli%d-%d", r, c), n, *docSize); err != nil {
				return err
			}
			data := filepath.Join(dir, "batch", fmt.Sprintf("data-r%d-c%d", r, c))
			argv := []string{*binPath, "--config", s.config, "--data-dir", data, "publish", "--dir", docDir, "--concurrency", strconv.Itoa(c)}
			legs = append(legs, leg{fmt.Sprintf("cli/%d", c), func() error {
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Env = append(os.Environ(), "HOME="+data, "XDG_CACHE_HOME="+data)
				out, err := cmd.CombinedOutput()
				if err != nil {
					return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
				}
				cliCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				return nil
			}})
		}
		if r%2 == 1 {
			for i, j := 0, len(legs)-1; i < j; i, j = i+1, j-1 {
				legs[i], legs[j] = legs[j], legs[i]
			}
		}
		for _, l := range legs {
			m0, _ := cpuTicks()
			cpu0, t0 := s.simCPU(), time.Now()
			if err := l.f(); err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			wall := time.Since(t0)
			m1, _ := cpuTicks()
			cnt := n
			if strings.HasPrefix(l.name, "raw/") {
				c, _ := strconv.Atoi(strings.TrimPrefix(l.name, "raw/"))
				cnt = n - c
			}
			res[l.name] = append(res[l.name], batchSample{rate: float64(cnt) / wall.Seconds(),
				simPct: 100 * (s.simCPU() - cpu0).Seconds() / wall.Seconds(), cliMs: cliCPU.Seconds() * 1000 / float64(cnt),
				mach: since(m0, m1, wall)})
		}
		_ = os.RemoveAll(filepath.Join(dir, "batch"))
	}
	medOf := func(name string) batchSample {
		var a, b, c, mu, ms, mw, mi []float64
		for _, x := range res[name] {
			a, b, c = append(a, x.rate), append(b, x.simPct), append(c, x.cliMs)
			mu, ms, mw, mi = append(mu, x.mach.user), append(ms, x.mach.system), append(mw, x.mach.iowait), append(mi, x.mach.idle)
		}
		if len(a) == 0 {
			return batchSample{}
		}
		return batchSample{rate: med(a), simPct: med(b), cliMs: med(c), mach: machineCPU{med(mu), med(ms), med(mw), med(mi)}}
	}
	fmt.Printf("\n## %s\n", title)
	fmt.Printf("| concurrency | fsepuglia docs/s (CLI CPU ms/doc, sim CPU %%) | CLI + sim CPU, of %d %% | machine during the CLI leg: user / system / iowait / idle %% | raw POST docs/s (sim CPU %%) | ratio (goal ≥ 0.6 at 1) | CLI speed-up over concurrency %d |\n|---|---|---|---|---|---|---|\n", 100*runtime.NumCPU(), concs[0])
	base := medOf(fmt.Sprintf("cli/%d", concs[0])).rate
	for _, c := range concs {
		a, b := medOf(fmt.Sprintf("cli/%d", c)), medOf(fmt.Sprintf("raw/%d", c))
		fmt.Printf("| %d | %.1f (%.1f ms, %.0f %%) | %.0f %% | %.0f / %.0f / %.0f / %.0f | %.1f (%.0f %%) | %.2f | %.2f |\n", c, a.rate, a.cliMs, a.simPct, a.rate*a.cliMs/10+a.simPct,
			a.mach.user, a.mach.system, a.mach.iowait, a.mach.idle, b.rate, b.simPct, a.rate/b.rate, a.rate/base)
	}
	return nil
}

// batchFsyncs counts the fdatasync/fsync calls of one `publish --dir` of n documents at
// concurrency 1 with strace -c (untimed: strace slows the process down).
func batchFsyncs(dir string, s *simProc, n int) error {
	if _, err := exec.LookPath("strace"); err != nil {
		fmt.Printf("\n(fsync count skipped: strace missing: apt-get install strace)\n")
		return nil
	}
	docDir := filepath.Join(dir, "batch-fsync", "docs")
	if err := writeDocs(docDir, "bsync", n, *docSize); err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Join(dir, "batch-fsync"))
	data := filepath.Join(dir, "batch-fsync", "data")
	report := filepath.Join(dir, "batch-fsync", "strace.txt")
	cmd := exec.Command("strace", "-f", "-c", "-e", "trace=fdatasync,fsync", "-o", report,
		*binPath, "--config", s.config, "--data-dir", data, "publish", "--dir", docDir, "--concurrency", "1")
	cmd.Env = append(os.Environ(), "HOME="+data, "XDG_CACHE_HOME="+data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("strace publish: %w\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	calls := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && (f[len(f)-1] == "fdatasync" || f[len(f)-1] == "fsync") {
			// % time, seconds, usecs/call, calls, [errors,] syscall
			if c, err := strconv.Atoi(f[3]); err == nil {
				calls += c
			}
		}
	}
	fmt.Printf("\nfsync + fdatasync of `publish --dir` (%d documents, concurrency 1, strace -c): %d, **%.2f per document** (outbox; 4 before commit grouping)\n",
		n, calls, float64(calls)/float64(n))
	return nil
}

// batchRSS measures the peak RSS of `publish --dir` of batches of -batch-rss-counts documents.
func batchRSS(dir string, s *simProc) error {
	var counts []int
	for _, f := range strings.Split(*batchRSSCounts, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("-batch-rss-counts: %q", f)
		}
		counts = append(counts, n)
	}
	if len(counts) < 2 {
		return nil
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		fmt.Printf("\n(batch memory leg skipped: /usr/bin/time missing: apt-get install time)\n")
		return nil
	}
	type out struct {
		n    int
		peak int64
		wall time.Duration
	}
	var outs []out
	for _, n := range counts {
		docDir := filepath.Join(dir, "batch-rss", fmt.Sprintf("docs%d", n))
		if err := writeDocs(docDir, fmt.Sprintf("brss%d", n), n, *batchRSSSize); err != nil {
			return err
		}
		data := filepath.Join(dir, "batch-rss", fmt.Sprintf("data%d", n))
		t0 := time.Now()
		peak, err := maxRSS([]string{"HOME=" + data, "XDG_CACHE_HOME=" + data},
			*binPath, "--config", s.config, "--data-dir", data, "publish", "--dir", docDir, "--concurrency", "4")
		if err != nil {
			return err
		}
		outs = append(outs, out{n, peak, time.Since(t0)})
		_ = os.RemoveAll(docDir)
	}
	_ = os.RemoveAll(filepath.Join(dir, "batch-rss"))
	fmt.Printf("\n## batch memory: peak RSS of `publish --dir` (real binary, /usr/bin/time -v, %d KiB documents, concurrency 4; goal: within 10 %% of %d documents)\n", *batchRSSSize>>10, outs[0].n)
	fmt.Printf("| documents | peak RSS | ÷ %d documents | per extra document | wall |\n|---|---|---|---|---|\n", outs[0].n)
	a := outs[0]
	for i, o := range outs {
		if i == 0 {
			fmt.Printf("| %d | %.1f MB | | | %.1f s |\n", o.n, float64(o.peak)/(1<<20), o.wall.Seconds())
			continue
		}
		fmt.Printf("| %d | %.1f MB | **%.3f** | %+.2f KB | %.1f s |\n", o.n, float64(o.peak)/(1<<20), float64(o.peak)/float64(a.peak),
			float64(o.peak-a.peak)/1024/float64(o.n-a.n), o.wall.Seconds())
	}
	return nil
}
