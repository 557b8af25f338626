//go:build unix

package outbox

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// fileRegion is a fake region whose record survives the death of the process: every accepted
// send is appended to a file and fsynced before Send returns.
type fileRegion struct {
	mu   sync.Mutex
	path string
	// killAfter, when > 0, SIGKILLs the process right after the n-th accepted send is
	// recorded (killBefore: right before it reaches the record).
	killAfter, killBefore int
	n                     int
}

func (f *fileRegion) records() (map[string]string, map[string]int, error) {
	held, sends := map[string]string{}, map[string]int{}
	fh, err := os.Open(f.path)
	if os.IsNotExist(err) {
		return held, sends, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		id, hash, _ := strings.Cut(sc.Text(), " ")
		held[id] = hash
		sends[id]++
	}
	return held, sends, sc.Err()
}

func (f *fileRegion) Send(ctx context.Context, it Item) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.killBefore > 0 && f.n == f.killBefore {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	// A transmission: the request reached the region, whatever it answers.
	if err := appendSync(f.path+".tx", it.UniqueID+"\n"); err != nil {
		return err
	}
	held, _, err := f.records()
	if err != nil {
		return err
	}
	if _, ok := held[it.UniqueID]; ok {
		return fmt.Errorf("FSE-00409: %w", ErrDuplicate)
	}
	fh, err := os.OpenFile(f.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(fh, "%s %s\n", it.UniqueID, it.SHA256)
	if err := fh.Sync(); err != nil {
		return err
	}
	fh.Close()
	if f.killAfter > 0 && f.n == f.killAfter {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return nil
}

// transmissions counts, per unique id, the requests that reached the region.
func (f *fileRegion) transmissions() (map[string]int, error) {
	b, err := os.ReadFile(f.path + ".tx")
	if os.IsNotExist(err) {
		return map[string]int{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, id := range strings.Fields(string(b)) {
		out[id]++
	}
	return out, nil
}

func appendSync(path, line string) error {
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fh.WriteString(line); err != nil {
		return err
	}
	return fh.Sync()
}

func (f *fileRegion) Lookup(ctx context.Context, it Item) (bool, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	held, _, err := f.records()
	if err != nil {
		return false, false, err
	}
	h, ok := held[it.UniqueID]
	return ok, ok && h == it.SHA256, nil
}

// TestCrashChild is the child process of TestSIGKILLResume; it does nothing when run alone.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("OUTBOX_CRASH_DIR")
	if dir == "" {
		t.Skip("child process of TestSIGKILLResume")
	}
	after, _ := strconv.Atoi(os.Getenv("OUTBOX_KILL_AFTER"))
	before, _ := strconv.Atoi(os.Getenv("OUTBOX_KILL_BEFORE"))
	o, err := Open(filepath.Join(dir, "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fileRegion{path: filepath.Join(dir, "region"), killAfter: after, killBefore: before}
	o.Run(context.Background(), f, Options{Concurrency: 3})
	t.Fatal("child was not killed")
}

// TestSIGKILLResume kills a real process (SIGKILL) in the middle of a batch, at several points,
// then resumes in this process and checks that every document reached the region exactly once.
func TestSIGKILLResume(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	tests := []struct {
		name          string
		after, before int
	}{
		{"killed right after the 1st send, before its commit", 1, 0},
		{"killed right after the 7th send, before its commit", 7, 0},
		{"killed after marking sending, before the 5th send", 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o, err := Open(filepath.Join(dir, "outbox.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.Enqueue(entries(12)); err != nil {
				t.Fatal(err)
			}
			o.Close()

			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "OUTBOX_CRASH_DIR="+dir,
				"OUTBOX_KILL_AFTER="+strconv.Itoa(tt.after), "OUTBOX_KILL_BEFORE="+strconv.Itoa(tt.before))
			out, err := cmd.CombinedOutput()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if err == nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("child was not SIGKILLed: %v\n%s", err, out)
			}

			o, err = Open(filepath.Join(dir, "outbox.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if st := states(t, o); st[Sending] == 0 {
				t.Fatalf("states after the kill %v: want at least one item found sending", st)
			}
			f := &fileRegion{path: filepath.Join(dir, "region")}
			sum, err := o.Run(context.Background(), f, Options{Concurrency: 3})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failed != 0 {
				t.Fatalf("resume summary %+v", sum)
			}
			held, sends, err := f.records()
			if err != nil {
				t.Fatal(err)
			}
			if len(held) != 12 {
				t.Fatalf("region holds %d documents, want 12", len(held))
			}
			for id, n := range sends {
				if n != 1 {
					t.Errorf("%s accepted %d times", id, n)
				}
			}
			tx, err := f.transmissions()
			if err != nil {
				t.Fatal(err)
			}
			for id, n := range tx {
				if n != 1 {
					t.Errorf("%s transmitted %d times (counted at the region)", id, n)
				}
			}
			if st := states(t, o); st[Done] != 12 {
				t.Fatalf("states %v, want 12 done", st)
			}
		})
	}
}
