// Package batch publishes documents durably. Every file of a batch is first recorded in an
// outbox (package adapter/outbox), all or none, then sent with bounded concurrency; a batch
// interrupted at any point (Ctrl-C, a crash, a lost connection) is finished by the next Run
// without sending a document twice:
//
//   - a file given again once done is skipped;
//   - an item that may have reached the region (its run died, or the call failed on the
//     way) is looked up by uniqueId before anything is sent again, and only once its last
//     attempt can no longer arrive (Options.CallTimeout);
//   - when the region will not show it (no consultation consent), it stays in doubt, with a
//     reason, until a later run can look it up or the user settles it (Publisher.Outbox:
//     Retry, Remove); it is never sent again on a guess;
//   - on cancellation, sends already in flight are let finish (within CallTimeout) and
//     committed; items not started stay pending.
//
// This is what `fsepuglia publish` uses; a Go program gets the same guarantees with
// Open, Add and Run on an *adapter.Client's Documents.
package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/fault"
	"github.com/fsepuglia/fsepuglia/adapter/internal/filehash"
	"github.com/fsepuglia/fsepuglia/adapter/outbox"
)

// Documents is what a Publisher needs of *adapter.DocumentService.
type Documents interface {
	Publish(ctx context.Context, req adapter.PublishRequest) (*adapter.PublishResult, error)
	Retrieve(ctx context.Context, patientCF, id string) (*adapter.Document, error)
}

// File is a document file to publish and its metadata (Metadata.UniqueID is required; Hash,
// Size and DocumentName are filled from the file when empty).
type File struct {
	Path     string
	Metadata adapter.Metadata
}

// Publisher publishes files through an outbox. It is safe for concurrent use; a second
// process opening the same outbox gets an error matching outbox.ErrLocked.
type Publisher struct {
	ob   *outbox.Outbox
	docs Documents
}

// Open opens (creating if needed) the outbox file at path and returns a Publisher that sends
// through docs (an *adapter.Client's Documents).
func Open(path string, docs Documents) (*Publisher, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("batch: outbox directory: %w", err)
		}
	}
	ob, err := outbox.Open(path)
	if err != nil {
		return nil, err
	}
	return &Publisher{ob: ob, docs: docs}, nil
}

// Close closes the outbox.
func (p *Publisher) Close() error { return p.ob.Close() }

// Outbox is the underlying outbox: its items (Items, Get) and the user's settlements
// (Retry, Remove, Forget).
func (p *Publisher) Outbox() *outbox.Outbox { return p.ob }

// Entry turns a file into an outbox entry: the file is read once to hash it, and
// Metadata.Hash and Size, when given, must match the file.
func Entry(f File) (outbox.Entry, error) {
	if f.Metadata.UniqueID == "" {
		return outbox.Entry{}, &adapter.InputError{Field: "unique_id", Msg: "missing", Fix: "give the document's uniqueId"}
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return outbox.Entry{}, fmt.Errorf("batch: %w", err)
	}
	defer fh.Close()
	n, sum, err := filehash.Reader(fh)
	if err != nil {
		return outbox.Entry{}, fmt.Errorf("batch: reading %s: %w", f.Path, err)
	}
	m := f.Metadata
	if m.Hash != "" && !strings.EqualFold(m.Hash, sum) {
		return outbox.Entry{}, &adapter.InputError{Field: "hash", Msg: "does not match the file's SHA-256", Fix: "leave hash empty: it is computed from the file"}
	}
	if m.Size != 0 && m.Size != n {
		return outbox.Entry{}, &adapter.InputError{Field: "size", Msg: "does not match the file's size", Fix: "leave size empty: it is computed from the file"}
	}
	m.Hash, m.Size = sum, n
	if m.DocumentName == "" {
		m.DocumentName = filepath.Base(f.Path)
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return outbox.Entry{}, fmt.Errorf("batch: metadata of %s: %w", f.Path, err)
	}
	path := f.Path
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return outbox.Entry{Path: path, SHA256: sum, Size: n, UniqueID: m.UniqueID, Metadata: meta}, nil
}

// Add records files in the outbox in one transaction (all or none). A file already done is
// left as it is (EnqueueResult.AlreadyDone: a Run skips it); a failed one is pending again.
func (p *Publisher) Add(files ...File) (outbox.EnqueueResult, error) {
	entries := make([]outbox.Entry, 0, len(files))
	for _, f := range files {
		e, err := Entry(f)
		if err != nil {
			return outbox.EnqueueResult{}, err
		}
		entries = append(entries, e)
	}
	return p.ob.Enqueue(entries)
}

// AddEntries records prepared entries (see Entry) in one transaction (a long batch can be
// given a chunk at a time, as the CLI does, to keep memory flat).
func (p *Publisher) AddEntries(entries []outbox.Entry) (outbox.EnqueueResult, error) {
	return p.ob.Enqueue(entries)
}

// HashFile returns the size and hex SHA-256 of the file at path, read as a stream (through
// a reused buffer: a batch hashes thousands of files).
func HashFile(path string) (int64, string, error) { return filehash.File(path) }

// DefaultCallTimeout is adapter.Config.Timeout's default.
const DefaultCallTimeout = 60 * time.Second

// Options tune a Run.
type Options struct {
	// Concurrency bounds the documents in flight; 0 means 4.
	Concurrency int
	// CallTimeout is the client's per-call timeout (adapter.Config.Timeout; 0 means
	// DefaultCallTimeout). An item that may have reached the region is looked up only once
	// that long has passed since its last attempt, and sends in flight when ctx ends are let
	// finish that long.
	CallTimeout time.Duration
	// OnChange, when set, is called after each committed state change (from several
	// goroutines at once).
	OnChange func(outbox.Item)
	// Keys, when non-empty, limits the run to these items (outbox.Key).
	Keys []string
	// Sender, when set, sends and looks up items instead of Sender(docs): e.g. one that
	// routes some items through the FSE 2.0 middleware and the others to it.
	Sender outbox.Sender
}

// Run sends every pending, in-doubt and retryable failed item of the outbox (see the package
// documentation). It returns when each is done, failed or in doubt, or when ctx ends.
func (p *Publisher) Run(ctx context.Context, opts Options) (outbox.Summary, error) {
	t := opts.CallTimeout
	if t <= 0 {
		t = DefaultCallTimeout
	}
	snd := opts.Sender
	if snd == nil {
		snd = Sender(p.docs)
	}
	return p.ob.Run(ctx, snd, outbox.Options{
		Concurrency:  opts.Concurrency,
		Retryable:    Retryable,
		OnChange:     opts.OnChange,
		Keys:         opts.Keys,
		InDoubtAfter: t + time.Second, // the region may still be finishing at the client's deadline
		Answered:     Answered,
		Drain:        t,
	})
}

// Sender is the outbox.Sender that publishes items with docs and looks them up with
// Retrieve: FSE-00409 becomes outbox.ErrDuplicate, a consultation refused for consent
// (FSE-00451) outbox.ErrLookupRefused.
func Sender(docs Documents) outbox.Sender { return &sender{docs: docs} }

type sender struct{ docs Documents }

// Request reads an item's file back for sending: its metadata from the outbox and its bytes,
// which must still hash to the recorded SHA-256.
func Request(it outbox.Item) (adapter.PublishRequest, error) {
	var meta adapter.Metadata
	if err := json.Unmarshal(it.Metadata, &meta); err != nil {
		return adapter.PublishRequest{}, fmt.Errorf("metadata of %s in the outbox: %w", it.Path, err)
	}
	body, err := os.ReadFile(it.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return adapter.PublishRequest{}, fmt.Errorf("%s: %w (the file was recorded in the outbox but is gone: restore it, or publish it again from its new place)", it.Path, err)
	}
	h := sha256.Sum256(body)
	if hex.EncodeToString(h[:]) != it.SHA256 {
		return adapter.PublishRequest{}, fmt.Errorf("%s changed since it was recorded in the outbox: publish it again (it becomes a new item)", it.Path)
	}
	return adapter.PublishRequest{Metadata: meta, Body: body, DocumentName: meta.DocumentName}, nil
}

// HashVerifier is implemented by a Documents that, given a PublishRequest.Path, refuses
// before any byte is sent a file whose SHA-256 is not Metadata.Hash, with an
// *adapter.InputError on field "metadata.hash" (*adapter.DocumentService does: it hashes
// the file before it writes the request, and again on the way). A Sender over such a
// Documents leaves that check to it instead of reading every file once more (issue 13);
// over any other Documents it checks the file itself first.
type HashVerifier interface {
	VerifiesHash() bool
}

func verifiesHash(docs Documents) bool {
	if _, ok := docs.(*adapter.DocumentService); ok {
		return true
	}
	hv, ok := docs.(HashVerifier)
	return ok && hv.VerifiesHash()
}

// errChanged is the error of an item whose file no longer hashes to the recorded SHA-256.
func errChanged(it outbox.Item) error {
	return fmt.Errorf("%s changed since it was recorded in the outbox: publish it again (it becomes a new item)", it.Path)
}

// streamRequest is Request without reading the file into memory: the library streams it
// (PublishRequest.Path) with Metadata.Hash the recorded SHA-256, which it checks on the
// way. When check is set the file is first hashed here too (a Documents that does not
// verify the hash before sending, see HashVerifier).
func streamRequest(it outbox.Item, check bool) (adapter.PublishRequest, error) {
	var meta adapter.Metadata
	if err := json.Unmarshal(it.Metadata, &meta); err != nil {
		return adapter.PublishRequest{}, fmt.Errorf("metadata of %s in the outbox: %w", it.Path, err)
	}
	f, err := os.Open(it.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return adapter.PublishRequest{}, fmt.Errorf("%s: %w (the file was recorded in the outbox but is gone: restore it, or publish it again from its new place)", it.Path, err)
	}
	if check {
		_, sum, err := filehash.Reader(f)
		if err != nil {
			f.Close()
			return adapter.PublishRequest{}, fmt.Errorf("%s: %w", it.Path, err)
		}
		if sum != it.SHA256 {
			f.Close()
			return adapter.PublishRequest{}, errChanged(it)
		}
	}
	f.Close()
	// The recorded hash, whatever the metadata says: the bytes sent must be the recorded ones.
	meta.Hash = it.SHA256
	return adapter.PublishRequest{Metadata: meta, Path: it.Path, DocumentName: meta.DocumentName}, nil
}

// Send publishes the item's file, streamed (its bytes never sit in memory whole).
func (s *sender) Send(ctx context.Context, it outbox.Item) error {
	verified := verifiesHash(s.docs)
	req, err := streamRequest(it, !verified)
	if err != nil {
		return err
	}
	if _, err := s.docs.Publish(ctx, req); err != nil {
		var ie *adapter.InputError
		if verified && errors.As(err, &ie) && ie.Field == "metadata.hash" {
			return fmt.Errorf("%w: %w", errChanged(it), err)
		}
		if IsClass(err, fault.Duplicate) {
			return fmt.Errorf("%w: %w", outbox.ErrDuplicate, err)
		}
		return err
	}
	return nil
}

func (s *sender) Lookup(ctx context.Context, it outbox.Item) (bool, bool, error) {
	var meta adapter.Metadata
	if err := json.Unmarshal(it.Metadata, &meta); err != nil {
		return false, false, fmt.Errorf("metadata of %s in the outbox: %w", it.Path, err)
	}
	doc, err := s.docs.Retrieve(ctx, meta.PatientCF, it.UniqueID)
	if err != nil {
		switch {
		case IsClass(err, fault.NotFound):
			return false, false, nil
		case IsClass(err, fault.ConsentMissing):
			return false, false, fmt.Errorf("%w: %w", outbox.ErrLookupRefused, err)
		}
		return false, false, err
	}
	if len(doc.Body) > 0 {
		h := sha256.Sum256(doc.Body)
		return true, hex.EncodeToString(h[:]) == it.SHA256, nil
	}
	return true, strings.EqualFold(doc.Metadata.Hash, it.SHA256), nil
}

// faultCoder is a fault-like error that is not a *fault.Fault (a wrapper, a test fake).
type faultCoder interface{ FaultCode() string }

// transportFailure marks an error as a failed call when it is not a *fault.CallError.
type transportFailure interface{ TransportFailure() bool }

// transientAnswer is an answer of a service that says whether trying again may succeed (the
// middleware's *gateway.Problem).
type transientAnswer interface{ Transient() bool }

// IsClass reports whether err carries a region fault of class c: a *fault.Fault, or an error
// with a FaultCode() string method classified by the project's code table (fault.ClassOf).
func IsClass(err error, c fault.Class) bool {
	var f *fault.Fault
	if errors.As(err, &f) {
		return f.Class == c
	}
	var fc faultCoder
	if errors.As(err, &fc) {
		return fault.ClassOf(fc.FaultCode()) == c
	}
	return false
}

// Answered reports whether err is the region's answer to a call (a fault, an HTTP status, a
// middleware problem): such an attempt is over and cannot reach the region later. A call cut
// off on the way (reset, timeout, truncated answer) is not.
func Answered(err error) bool {
	var f *fault.Fault
	var fc faultCoder
	var se *fault.StatusError
	if errors.As(err, &f) || errors.As(err, &fc) || errors.As(err, &se) {
		return true
	}
	var ce *fault.CallError
	if errors.As(err, &ce) {
		return false // cut off on the way (a status would have matched above)
	}
	var ta transientAnswer
	return errors.As(err, &ta)
}

// Retryable reports whether an item that failed with err is sent again by the next Run: after
// a transient fault (FSE-00503), an answer whose Transient() is true (a middleware problem), or
// a failure of the call itself (*fault.CallError: network,
// TLS, timeout, HTTP status, or an error whose TransportFailure() is true). Such a call may
// have reached the region; the next Run looks the item up first. Faults the region answered
// on purpose (validation, security, duplicate …) are permanent.
func Retryable(err error) bool {
	var ce *fault.CallError
	if errors.As(err, &ce) {
		return true // the call failed on the way (its own status or cut off)
	}
	var f *fault.Fault
	var fc faultCoder
	if errors.As(err, &f) || errors.As(err, &fc) {
		return IsClass(err, fault.Transient)
	}
	var ta transientAnswer
	if errors.As(err, &ta) {
		return ta.Transient() // a middleware problem (mw/io_error, 502/503/504, 429)
	}
	var tf transportFailure
	if errors.As(err, &tf) {
		return tf.TransportFailure()
	}
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF)
}
