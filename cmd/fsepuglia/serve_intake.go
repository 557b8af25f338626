package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/fsepuglia/fsepuglia/cmd/fsepuglia/internal/redact"
)

// documentMetadata builds a document's metadata as `publish` does: first what the document
// says (its CDA), then the overrides (a sidecar file's or the API's metadata part: the JSON
// keys of adapter.Metadata), then the required fields are checked. Errors are
// *adapter.InputError naming the field and the fix.
func (a *appEnv) documentMetadata(name string, body, overrides []byte, overridesName string) (adapter.Metadata, error) {
	var meta adapter.Metadata
	if a.deps.docMetadata != nil {
		m, err := a.deps.docMetadata(a.cfg, name, body, false)
		if err != nil {
			return meta, &adapter.InputError{Field: "file", Msg: redact.Text(fmt.Sprintf("%s: %v", name, err)),
				Fix: "send a PDF with its CDA attached as cda.xml (fsepuglia inspect FILE shows what is wrong)"}
		}
		meta = m
	}
	if len(bytes.TrimSpace(overrides)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(overrides))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&meta); err != nil {
			return meta, &adapter.InputError{Field: overridesName, Msg: fmt.Sprintf("invalid metadata JSON: %v", err),
				Fix: "its keys are those of adapter.Metadata (OUTPUT.md, publish), e.g. {\"type_code\":\"11502-2\"}"}
		}
	}
	missing := func(field string) error {
		return &adapter.InputError{Field: field, Msg: fmt.Sprintf("missing for %s (not in the document)", name),
			Fix: fmt.Sprintf("give %q in the %s", field, overridesName)}
	}
	switch {
	case meta.PatientCF == "":
		return meta, missing("patient_cf")
	case meta.UniqueID == "":
		return meta, missing("unique_id")
	case meta.TypeCode == "":
		return meta, missing("type_code")
	case meta.ClassCode == "":
		return meta, missing("class_code")
	}
	cf, err := patientCF("patient_cf", meta.PatientCF)
	if err != nil {
		return meta, err
	}
	meta.PatientCF = cf
	h := sha256.Sum256(body)
	sum := hex.EncodeToString(h[:])
	if meta.Hash != "" && !strings.EqualFold(meta.Hash, sum) {
		return meta, &adapter.InputError{Field: "hash", Value: meta.Hash, Msg: "does not match the document's SHA-256 " + sum, Fix: "leave hash out: it is computed"}
	}
	meta.Hash, meta.Size = sum, int64(len(body))
	if meta.DocumentName == "" {
		meta.DocumentName = filepath.Base(name)
	}
	if meta.MimeType == "" {
		meta.MimeType = "application/pdf"
	}
	return meta, nil
}

// enqueueDocument checks a document and records it in the queue.
func (s *server) enqueueDocument(ctx context.Context, name string, body, overrides []byte, overridesName, source string) (queue.Item, bool, error) {
	meta, err := s.a.documentMetadata(name, body, overrides, overridesName)
	if err != nil {
		return queue.Item{}, false, err
	}
	// The route (legacy or middleware) is decided as publish decides it, and what the gateway
	// would refuse (never validated, CDA changed, too late, unsigned in the final scenario) is
	// refused here, before anything is recorded.
	raw, _, err := s.router.metadata(&loadedDoc{path: name, body: body, size: int64(len(body)), sum: meta.Hash, meta: meta})
	if err != nil {
		return queue.Item{}, false, err
	}
	e := queue.Entry{UniqueID: meta.UniqueID, SHA256: meta.Hash, Size: meta.Size, Path: name, Source: source, Metadata: raw, Body: body}
	res, err := s.st.Enqueue(ctx, []queue.Entry{e})
	if err != nil {
		return queue.Item{}, false, err
	}
	s.wakeWorkers()
	it, err := s.st.Get(ctx, res.Keys[0])
	if err != nil {
		return queue.Item{}, false, err
	}
	s.metrics.enqueued.WithLabelValues(source).Add(float64(res.Added + res.Requeued))
	s.log.Info("enqueued", map[string]any{"unique_id": it.UniqueID, "key": it.Key, "source": source, "new": res.Added+res.Requeued > 0, "state": string(it.State)})
	return it, res.Added+res.Requeued > 0, nil
}
