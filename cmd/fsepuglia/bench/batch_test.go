package main

import (
	"runtime"
	"testing"
	"time"
)

func TestSince(t *testing.T) {
	for _, tc := range []struct {
		a, b [4]float64
		wall time.Duration
		want machineCPU
	}{
		// 1 s of wall on 2 cores: 200 ticks in all, each tick 10 ms of one core.
		{[4]float64{0, 0, 0, 0}, [4]float64{100, 50, 20, 30}, time.Second, machineCPU{100, 50, 20, 30}},
		{[4]float64{10, 10, 10, 10}, [4]float64{30, 20, 10, 50}, 500 * time.Millisecond, machineCPU{40, 20, 0, 80}},
	} {
		if got := since(tc.a, tc.b, tc.wall); got != tc.want {
			t.Errorf("since(%v, %v, %v) = %+v, want %+v", tc.a, tc.b, tc.wall, got, tc.want)
		}
	}
}

func TestCPUTicks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/stat is Linux's")
	}
	a, ok := cpuTicks()
	if !ok {
		t.Fatal("no cpu line in /proc/stat")
	}
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) { // keep a core busy so that user time moves
	}
	b, _ := cpuTicks()
	if b[0] <= a[0] || b[3] < a[3] {
		t.Fatalf("user or idle ticks went backwards or did not move: %v then %v", a, b)
	}
}
