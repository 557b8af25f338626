package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
)

// startProfiles starts the developer profiles named by the hidden variables
// FSEPUGLIA_CPUPROFILE, FSEPUGLIA_MEMPROFILE and FSEPUGLIA_EXECTRACE (README.md, developer
// section): a CPU profile for the whole process, an allocation profile written when it
// ends, and an execution trace (go tool trace: where goroutines wait). "%p" in a
// path is replaced by the process id, so that every process of a benchmark writes its own.
// The returned function stops them; it does nothing when neither variable is set.
func startProfiles() func() {
	path := func(v string) string {
		return strings.ReplaceAll(os.Getenv(v), "%p", strconv.Itoa(os.Getpid()))
	}
	cpu, mem := path("FSEPUGLIA_CPUPROFILE"), path("FSEPUGLIA_MEMPROFILE")
	if mem == "" {
		// Nobody reads the allocation profile: don't sample it. The runtime records a stack
		// every 512 KiB allocated by default; over a long batch its buckets grew to 1.6 MB
		// and the unwinding kept touching more of the binary's tables (issue 13).
		runtime.MemProfileRate = 0
	}
	var cpuFile *os.File
	if cpu != "" {
		if f, err := os.Create(cpu); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				cpuFile = f
			} else {
				_ = f.Close()
			}
		}
	}
	var traceFile *os.File
	if t := path("FSEPUGLIA_EXECTRACE"); t != "" {
		if f, err := os.Create(t); err == nil {
			if trace.Start(f) == nil {
				traceFile = f
			} else {
				_ = f.Close()
			}
		}
	}
	return func() {
		if traceFile != nil {
			trace.Stop()
			_ = traceFile.Close()
		}
		if cpuFile != nil {
			pprof.StopCPUProfile()
			_ = cpuFile.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				runtime.GC()
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}
	}
}
