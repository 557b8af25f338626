package batch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
)

// codeFault stands for a fault-like error that is not a *fault.Fault.
type codeFault string

func (c codeFault) Error() string     { return string(c) }
func (c codeFault) FaultCode() string { return string(c) }

type transient bool

func (transient) Error() string     { return "problem" }
func (t transient) Transient() bool { return bool(t) }

type cutOff struct{}

func (cutOff) Error() string          { return "connection reset" }
func (cutOff) TransportFailure() bool { return true }

func TestClassification(t *testing.T) {
	tests := []struct {
		name                               string
		err                                error
		retryable, dup, notFound, answered bool
	}{
		{"503 fault", &fault.Fault{Code: "FSE-00503", Class: fault.Transient}, true, false, false, true},
		{"409 fault", fmt.Errorf("x: %w", &fault.Fault{Code: "FSE-00409", Class: fault.Duplicate}), false, true, false, true},
		{"404 fault", &fault.Fault{Code: "FSE-00404", Class: fault.NotFound}, false, false, true, true},
		{"validation fault", &fault.Fault{Code: "FSE-00415", Class: fault.Validation}, false, false, false, true},
		{"fault by code", codeFault("FSE-00409"), false, true, false, true},
		{"connection refused", &fault.CallError{Err: syscall.ECONNREFUSED}, true, false, false, false},
		{"HTTP status", &fault.CallError{Err: &fault.StatusError{StatusCode: 503}}, true, false, false, true},
		{"per-call deadline", &fault.CallError{Err: context.DeadlineExceeded}, true, false, false, false},
		{"closed connection", &fault.CallError{Err: net.ErrClosed}, true, false, false, false},
		{"transport failure by method", cutOff{}, true, false, false, false},
		{"security fault", &fault.Fault{Code: "FSE-00401", Class: fault.Security}, false, false, false, true},
		{"plain error", errors.New("file changed"), false, false, false, false},
		{"transient answer", transient(true), true, false, false, true},
		{"permanent answer", transient(false), false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.retryable {
				t.Errorf("Retryable = %v", got)
			}
			if got := IsClass(tt.err, fault.Duplicate); got != tt.dup {
				t.Errorf("duplicate = %v", got)
			}
			if got := IsClass(tt.err, fault.NotFound); got != tt.notFound {
				t.Errorf("not found = %v", got)
			}
			if got := Answered(tt.err); got != tt.answered {
				t.Errorf("Answered = %v", got)
			}
		})
	}
}

// region is an in-memory IDocumentService that counts every Publish reaching it.
type region struct {
	mu      sync.Mutex
	docs    map[string][]byte
	tx      map[string]int
	consent bool
}

func (r *region) Publish(_ context.Context, req adapter.PublishRequest) (*adapter.PublishResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Metadata.UniqueID
	r.tx[id]++
	if _, ok := r.docs[id]; ok {
		return nil, &fault.Fault{Code: "FSE-00409", Class: fault.Duplicate}
	}
	body := req.Body
	if len(body) == 0 && req.Path != "" { // streamed by the library: the fake reads the file
		b, err := os.ReadFile(req.Path)
		if err != nil {
			return nil, err
		}
		body = b
	}
	r.docs[id] = body
	return &adapter.PublishResult{UniqueID: id}, nil
}

func (r *region) Retrieve(_ context.Context, _, id string) (*adapter.Document, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.consent {
		return nil, &fault.Fault{Code: "FSE-00451", Class: fault.ConsentMissing}
	}
	b, ok := r.docs[id]
	if !ok {
		return nil, &fault.Fault{Code: "FSE-00404", Class: fault.NotFound}
	}
	return &adapter.Document{Body: b}, nil
}

func TestPublisherAddRunSkip(t *testing.T) {
	dir := t.TempDir()
	r := &region{docs: map[string][]byte{}, tx: map[string]int{}, consent: true}
	p, err := Open(filepath.Join(dir, "ob", "outbox.db"), r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var files []File
	for i := range 5 {
		path := filepath.Join(dir, fmt.Sprintf("d%d.pdf", i))
		os.WriteFile(path, []byte(fmt.Sprintf("%%PDF %d", i)), 0o600)
		files = append(files, File{Path: path, Metadata: adapter.Metadata{PatientCF: "FSEPGL01E41A145J", UniqueID: fmt.Sprintf("ID^%d", i)}})
	}
	if _, err := p.Add(files...); err != nil {
		t.Fatal(err)
	}
	sum, err := p.Run(context.Background(), Options{Concurrency: 2})
	if err != nil || sum.Sent != 5 {
		t.Fatalf("Run = %+v, %v", sum, err)
	}
	res, _ := p.Add(files...)
	if res.AlreadyDone != 5 {
		t.Fatalf("Add again = %+v, want all already done", res)
	}
	if sum, _ := p.Run(context.Background(), Options{}); sum != (outbox.Summary{}) {
		t.Fatalf("second Run = %+v, want nothing to do", sum)
	}
	for id, n := range r.tx {
		if n != 1 {
			t.Errorf("%s transmitted %d times", id, n)
		}
	}
	// A file whose declared hash is not its own is refused before anything is recorded.
	bad := files[0]
	bad.Metadata.UniqueID, bad.Metadata.Hash = "ID^bad", "00"
	var ie *adapter.InputError
	if _, err := p.Add(bad); !errors.As(err, &ie) || ie.Field != "hash" {
		t.Fatalf("Add with a wrong hash: %v", err)
	}
	items, _ := p.Outbox().Items()
	if len(items) != 5 {
		t.Fatalf("outbox holds %d items", len(items))
	}
}
