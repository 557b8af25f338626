package main

import (
	"fmt"
	"path/filepath"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
)

// docmetaMetadata derives a document's metadata from the document itself (the CDA header
// inside the PDF) with adapter/docmeta, using the configured structure as profile. Failed
// pre-flight checks are returned as the *docmeta.CheckError (exit code 3) unless skipChecks.
// As the legacy service refuses a CDA without a valid XML signature (FSE-10001), so does
// this check, before anything is sent, as signatures.cda says (SignaturePolicy.RequireCDA).
// With body nil the file at path is inspected without reading it into memory.
func docmetaMetadata(cfg adapter.Config, path string, body []byte, skipChecks bool) (adapter.Metadata, error) {
	opts := docmeta.Options{Profile: docmeta.Profile{
		StructureName:          cfg.Structure.Name,
		StructureCode:          cfg.Structure.Code,
		HealthcareFacilityType: cfg.Structure.FacilityType,
		PracticeSettingCode:    cfg.Structure.PracticeSetting,
		RepositoryUniqueID:     cfg.Structure.RepositoryID,
	}, RequireCDASignature: cfg.Signatures.RequireCDA(cfg.Environment)}
	var rep *docmeta.Report
	if body != nil {
		rep = docmeta.InspectBytes(body, filepath.Base(path), opts)
	} else {
		var err error
		if rep, err = docmeta.InspectFile(path, opts); err != nil {
			return adapter.Metadata{}, err
		}
	}
	if err := rep.Err(); err != nil && !skipChecks {
		return adapter.Metadata{}, fmt.Errorf("%w (fix the document, or pass --skip-checks to rely on <file>.json and flags)", err)
	}
	return rep.Metadata, nil
}
