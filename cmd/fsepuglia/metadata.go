package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/batch"
	"github.com/urfave/cli/v2"
)

// metadataFlags are the flags that give or override a document's metadata.
func metadataFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "patient", Usage: "patient's codice fiscale"},
		&cli.StringFlag{Name: "unique-id", Usage: "document uniqueId (only with a single file)"},
		&cli.StringFlag{Name: "type-code", Usage: "LOINC typeCode, e.g. 11502-2"},
		&cli.StringFlag{Name: "class-code", Usage: "classCode, e.g. REF"},
		&cli.StringFlag{Name: "format-code", Usage: "formatCode (CDA templateId root)"},
		&cli.StringFlag{Name: "practice-setting", Usage: "practiceSettingCode, e.g. AD_PSC001"},
		&cli.StringFlag{Name: "facility-type", Usage: "healthcareFacilityTypeCode: Ospedale, Prevenzione, Territorio …"},
		&cli.StringFlag{Name: "confidentiality", Usage: "confidentialityCode: N, R or V"},
		&cli.StringFlag{Name: "title", Usage: "document title"},
		&cli.BoolFlag{Name: "skip-checks", Usage: "do not stop on failed pre-flight checks of the document (metadata from <file>.json and flags)"},
	}
}

// loadedDoc is a file ready to publish: its bytes' identity and its metadata. The bytes
// stay in the file (publish streams them) unless body holds them (serve's intake); bytes
// reads them for the routes that need them.
type loadedDoc struct {
	path string
	body []byte
	size int64
	sum  string
	meta adapter.Metadata
}

// bytes returns the document whole (replace, the middleware's routes, serve's queue), read
// from its file unless it is in memory, checking that it is still what was loaded.
func (d *loadedDoc) bytes() ([]byte, error) {
	if d.body != nil {
		return d.body, nil
	}
	body, err := os.ReadFile(d.path)
	if err != nil {
		return nil, &adapter.InputError{Field: "file", Value: d.path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
	}
	if h := sha256.Sum256(body); hex.EncodeToString(h[:]) != d.sum {
		return nil, &adapter.InputError{Field: "file", Value: d.path, Msg: "changed while it was being published", Fix: "publish it again once it is complete"}
	}
	return body, nil
}

// hashFile returns the size and SHA-256 of the file at path, read as a stream.
func hashFile(path string) (int64, string, error) {
	return batch.HashFile(path) // its read buffer is reused: a batch hashes thousands of files
}

// loadDocument reads path (as a stream: it is never held in memory) and builds its
// metadata from, in increasing precedence: the document itself (deps.docMetadata: the CDA
// inside the PDF), the sidecar <path>.json, the flags.
// Then it checks the required fields and fills hash, size, name and MIME type.
func (a *appEnv) loadDocument(c *cli.Context, path string, single bool) (*loadedDoc, error) {
	cannotRead := func(err error) error {
		return &adapter.InputError{Field: "file", Value: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check the path"}
	}
	var size int64
	var sum string
	var meta adapter.Metadata
	if a.deps.docMetadata != nil {
		// The inspection hashes the file as it reads it (and fails if it changed meanwhile):
		// its hash and size are the file's, so it is not read a second time to hash it.
		f, err := os.Open(path)
		if err == nil {
			var b [1]byte
			if _, err = f.Read(b[:]); err == io.EOF {
				err = nil
			}
			_ = f.Close()
		}
		if err != nil {
			return nil, cannotRead(err)
		}
		m, err := a.deps.docMetadata(a.cfg, path, nil, c.Bool("skip-checks"))
		if err != nil {
			return nil, fmt.Errorf("%s: reading metadata from the document: %w", path, err)
		}
		meta, size, sum = m, m.Size, m.Hash
	}
	if sum == "" || size == 0 {
		var err error
		if size, sum, err = hashFile(path); err != nil {
			return nil, cannotRead(err)
		}
	}
	side := path + ".json"
	if raw, err := os.ReadFile(side); err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&meta); err != nil {
			return nil, &adapter.InputError{Field: "sidecar", Value: side, Msg: fmt.Sprintf("invalid metadata JSON: %v", err),
				Fix: "fix the file: its keys are " + jsonKeyList(adapter.Metadata{})}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &adapter.InputError{Field: "sidecar", Value: side, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err)), Fix: "check its permissions"}
	}
	set := func(flag string, dst *string) {
		if c.IsSet(flag) {
			*dst = c.String(flag)
		}
	}
	set("patient", &meta.PatientCF)
	set("type-code", &meta.TypeCode)
	set("class-code", &meta.ClassCode)
	set("format-code", &meta.FormatCode)
	set("practice-setting", &meta.PracticeSettingCode)
	set("facility-type", &meta.HealthcareFacilityType)
	set("confidentiality", &meta.ConfidentialityCode)
	set("title", &meta.Title)
	if c.IsSet("unique-id") {
		if !single {
			return nil, usagef("--unique-id names one document: use it with a single file, or put unique_id in each <file>.json")
		}
		meta.UniqueID = c.String("unique-id")
	}

	missing := func(field, flag string) error {
		return &adapter.InputError{Field: field, Msg: fmt.Sprintf("missing for %s", path),
			Fix: fmt.Sprintf("pass --%s or put %q in %s", flag, field, side)}
	}
	switch {
	case meta.PatientCF == "":
		return nil, missing("patient_cf", "patient")
	case meta.UniqueID == "":
		return nil, missing("unique_id", "unique-id")
	case meta.TypeCode == "":
		return nil, missing("type_code", "type-code")
	case meta.ClassCode == "":
		return nil, missing("class_code", "class-code")
	}
	cf, err := patientCF("patient", meta.PatientCF)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	meta.PatientCF = cf

	if meta.Hash != "" && !strings.EqualFold(meta.Hash, sum) {
		return nil, &adapter.InputError{Field: "hash", Value: meta.Hash, Msg: fmt.Sprintf("%s does not match the file's SHA-256 %s", side, sum),
			Fix: "remove hash from the sidecar or point it at the right file"}
	}
	meta.Hash, meta.Size = sum, size
	if meta.DocumentName == "" {
		meta.DocumentName = filepath.Base(path)
	}
	if meta.MimeType == "" {
		meta.MimeType = "application/pdf"
	}
	return &loadedDoc{path: path, size: size, sum: sum, meta: meta}, nil
}
