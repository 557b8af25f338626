package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/gateway"
)

// StateFile is the file the simulator keeps its state in, inside Options.DataDir.
const StateFile = "middleware.json"

// state is everything the simulator remembers across restarts. It holds no fiscal code:
// validations are keyed by CDA hash, documents by uniqueId.
type state struct {
	// Validations maps the CDA hash (gateway.CDAHash) of a VALIDATION to its record.
	Validations map[string]validation `json:"validations"`
	// Documents maps identificativoDoc to the published document.
	Documents map[string]document `json:"documents"`
	// Events maps a workflowInstanceId to its events, in order.
	Events map[string][]gateway.Event `json:"events"`
	// Traces maps a traceID to the workflowInstanceId of its call.
	Traces map[string]string `json:"traces"`
	// Accepted counts the calls accepted per operation (transmissions counted at the server).
	Accepted map[gateway.Operation]int `json:"accepted"`
}

type validation struct {
	WII   string    `json:"wii"`
	DocID string    `json:"doc_id"`
	At    time.Time `json:"at"`
}

type document struct {
	WII        string    `json:"wii"`
	Hash       string    `json:"attachment_hash"`
	Class      string    `json:"class"`
	Published  time.Time `json:"published"`
	Deleted    bool      `json:"deleted,omitempty"`
	ReplacedBy string    `json:"replaced_by,omitempty"`
}

func newState() *state {
	return &state{Validations: map[string]validation{}, Documents: map[string]document{}, Events: map[string][]gateway.Event{},
		Traces: map[string]string{}, Accepted: map[gateway.Operation]int{}}
}

func loadState(dir string) (*state, error) {
	st := newState()
	if dir == "" {
		return st, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("middleware sim: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("middleware sim: %s: %w", StateFile, err)
	}
	if st.Validations == nil || st.Documents == nil || st.Events == nil || st.Traces == nil || st.Accepted == nil {
		fresh := newState()
		if st.Validations == nil {
			st.Validations = fresh.Validations
		}
		if st.Documents == nil {
			st.Documents = fresh.Documents
		}
		if st.Events == nil {
			st.Events = fresh.Events
		}
		if st.Traces == nil {
			st.Traces = fresh.Traces
		}
		if st.Accepted == nil {
			st.Accepted = fresh.Accepted
		}
	}
	return st, nil
}

// save writes the state atomically (0600); the caller holds the lock.
func (st *state) save(dir string) error {
	if dir == "" {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, StateFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
