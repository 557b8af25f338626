package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
)

// TestKillAndResume is the real crash test of the outbox (issue 6): the fsepuglia binary
// publishes a slow batch (addDocument delayed 150 ms by the simulator), is SIGKILLed in the
// middle, and the same command run again finishes the batch. The simulator's store must
// then hold every document exactly once, byte for byte. publish_test.go covers the same
// ground in-process with a cancelled context; this test kills a real process, so bbolt's
// durability and the in-doubt lookup are exercised as they are in production.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the simulator")
	}
	const nDocs = 12
	bin := filepath.Join(t.TempDir(), "fsepuglia")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	s, err := sim.Start(context.Background(), sim.Options{DataDir: t.TempDir(),
		Inject: []inject.Rule{{Operation: "addDocument", Latency: 150 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := s.ClientConfigPath()

	// Consultation consent, so that the resumed run can confirm in-doubt items by retrieve.
	if _, e, code := runReal(t, cfg, t.TempDir(), "consent", "set", "--patient", cfA, "--c2=true", "--c3=true"); code != 0 {
		t.Fatalf("consent: exit %d\n%s", code, e)
	}

	docs := t.TempDir()
	want := map[string]string{} // uniqueId -> sha256 of the file
	for i := range nDocs {
		body := pdfcdatest.PDF{Sign: true, Attachment: pdfcdatest.CDA{PatientCF: cfA, IDExtension: fmt.Sprintf("KILL.%02d", i)}.Bytes()}.Bytes()
		name := fmt.Sprintf("doc%02d.pdf", i)
		rep := docmeta.InspectBytes(body, name, docmeta.Options{})
		if err := rep.Err(); err != nil {
			t.Fatal(err)
		}
		want[rep.Metadata.UniqueID] = rep.SHA256
		if err := os.WriteFile(filepath.Join(docs, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	data := t.TempDir()
	command := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfg, "--data-dir", data, "publish", "--dir", docs, "--concurrency", "3")
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		return cmd
	}
	store := s.Data().Store
	count := func() int {
		n, err := store.Count()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := command()
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for count() < 3 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			first.Wait()
			t.Fatalf("fewer than 3 documents published after 30s\n%s", firstOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = first.Wait()
	if ws, ok := first.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first run was not killed (it ended by itself: %v)\n%s", err, firstOut.String())
	}
	// Requests already in flight may still land after the kill; give them the latency.
	time.Sleep(400 * time.Millisecond)
	atKill := count()
	if atKill >= nDocs {
		t.Fatalf("all %d documents were published before the kill: the batch is not slow enough to test resume", atKill)
	}
	t.Logf("killed with %d of %d documents in the store", atKill, nDocs)

	second := command()
	out, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "sent ") {
			t.Logf("resumed run: %s", line)
		}
	}

	list, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range list {
		seen[m.UniqueID]++
		if wantHash, ok := want[m.UniqueID]; !ok {
			t.Errorf("unexpected document %s in the store", m.UniqueID)
		} else if m.Hash != wantHash {
			t.Errorf("%s: stored hash %s, file %s", m.UniqueID, m.Hash, wantHash)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s published %d times, want exactly once", id, seen[id])
		}
	}
	if len(list) != nDocs {
		t.Errorf("store holds %d documents, want %d", len(list), nDocs)
	}
	// And the stored bytes are the files' bytes (the store computed Hash; read one back).
	for _, m := range list[:1] {
		_, rc, err := store.Get(m.UniqueID)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want[m.UniqueID] {
			t.Errorf("%s: stored bytes hash %s, want %s", m.UniqueID, got, want[m.UniqueID])
		}
	}
}
