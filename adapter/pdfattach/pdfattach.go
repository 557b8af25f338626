// Package pdfattach injects a CDA into a PDF as the FSE wants it: an embedded file named
// exactly cda.xml, MIME type application/xml, in the document's EmbeddedFiles name tree,
// and, when the base PDF is PDF/A, as a PDF/A-3 associated file (catalog /AF, file
// specification /AFRelationship). It is an incremental update (adapter/pdfupdate): the base
// PDF's bytes are kept, so a PDF/A-3 base stays PDF/A-3.
//
// A PDF/A-2 base is declared PDF/A-3 in a new XMP metadata stream (PDF/A-2 forbids embedded
// files that are not PDF/A, PDF/A-3 allows them); a PDF/A-1 base is refused.
package pdfattach

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/digitorus/pdf"

	"github.com/fsepuglia/fsepuglia/adapter/pdfupdate"
)

// Name is the attachment's name, fixed by the FSE.
const Name = "cda.xml"

// ErrHasCDA is returned when the base PDF already embeds a file named cda.xml.
var ErrHasCDA = errors.New("pdfattach: the base PDF already embeds cda.xml: start from a PDF without it")

// Options configure Attach. The zero value uses time.Now and /AFRelationship /Data.
type Options struct {
	// Now is the clock for the embedded file's /ModDate; nil means time.Now.
	Now func() time.Time
	// Relationship is the PDF/A-3 /AFRelationship (Data, Source, Alternative, Supplement,
	// Unspecified); default Data.
	Relationship string
}

// Result says what Attach did.
type Result struct {
	// PDFA is the base's PDF/A part and conformance from its XMP metadata ("3B", "2A"…),
	// empty when the base does not claim PDF/A.
	PDFA string `json:"pdfa,omitempty"`
	// AssociatedFile is true when the CDA was also made a PDF/A-3 associated file (/AF).
	AssociatedFile bool `json:"associated_file"`
	// UpgradedTo3 is true when a PDF/A-2 base was declared PDF/A-3.
	UpgradedTo3 bool `json:"upgraded_to_pdfa3,omitempty"`
	// Attachments lists the embedded files after the injection, cda.xml included.
	Attachments []string `json:"attachments"`
}

// Attach writes to dst the PDF read from src (size bytes) followed by an incremental update
// that embeds cda. cda must be well-formed XML.
func Attach(dst io.Writer, src io.ReaderAt, size int64, cda []byte, opt Options) (*Result, error) {
	update, res, err := prepare(src, size, cda, opt)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(dst, io.NewSectionReader(src, 0, size)); err != nil {
		return nil, fmt.Errorf("pdfattach: write: %w", err)
	}
	if _, err := dst.Write(update); err != nil {
		return nil, fmt.Errorf("pdfattach: write: %w", err)
	}
	return res, nil
}

// AttachBytes returns base followed by the update that embeds cda.
func AttachBytes(base, cda []byte, opt Options) ([]byte, *Result, error) {
	update, res, err := prepare(bytes.NewReader(base), int64(len(base)), cda, opt)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, 0, len(base)+len(update))
	return append(append(out, base...), update...), res, nil
}

var (
	partAttr = regexp.MustCompile(`pdfaid:part\s*=\s*["'](\d)["']`)
	partElem = regexp.MustCompile(`<pdfaid:part>\s*(\d)\s*</pdfaid:part>`)
	confAttr = regexp.MustCompile(`pdfaid:conformance\s*=\s*["']([A-Za-z])["']`)
	confElem = regexp.MustCompile(`<pdfaid:conformance>\s*([A-Za-z])\s*</pdfaid:conformance>`)
)

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	root := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !root {
				return errors.New("no root element")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if _, ok := tok.(xml.StartElement); ok {
			root = true
		}
	}
}

func prepare(src io.ReaderAt, size int64, cda []byte, opt Options) ([]byte, *Result, error) {
	if err := wellFormed(cda); err != nil {
		return nil, nil, fmt.Errorf("pdfattach: the CDA is not well-formed XML (%v): fix it before injecting", err)
	}
	rel := opt.Relationship
	if rel == "" {
		rel = "Data"
	}
	switch rel {
	case "Data", "Source", "Alternative", "Supplement", "Unspecified":
	default:
		return nil, nil, fmt.Errorf("pdfattach: AFRelationship %q is not one of Data, Source, Alternative, Supplement, Unspecified", rel)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	doc, err := pdfupdate.Open(src, size)
	if err != nil {
		return nil, nil, fmt.Errorf("pdfattach: %w", err)
	}
	res := &Result{}
	var update []byte
	err = pdfupdate.Do(func() error {
		cat := doc.Catalog()
		catRef, ok := pdfupdate.KeyRef(doc.Reader().Trailer(), "Root")
		if !ok {
			return &pdfupdate.Error{Msg: "the catalog is not an indirect object"}
		}
		// Existing attachments, flattened into one leaf with ours.
		pairs := map[string]string{}
		names := cat.Key("Names")
		if err := collect(names.Key("EmbeddedFiles"), pairs, 0); err != nil {
			return err
		}
		if _, ok := pairs[Name]; ok {
			return ErrHasCDA
		}
		// PDF/A?
		var xmp []byte
		meta := cat.Key("Metadata")
		if meta.Kind() == pdf.Stream {
			rc := meta.Reader()
			xmp, _ = io.ReadAll(io.LimitReader(rc, 4<<20))
			rc.Close()
		}
		part := firstMatch(xmp, partAttr, partElem)
		if part != "" {
			res.PDFA = part + strings.ToUpper(firstMatch(xmp, confAttr, confElem))
		}
		if part == "1" {
			return &pdfupdate.Error{Msg: "the base is PDF/A-1, which cannot carry an XML attachment: convert it to PDF/A-3 (or PDF/A-2) first"}
		}

		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(cda)
		zw.Close()
		sum := md5.Sum(cda)
		file := doc.Add(pdfupdate.Stream(fmt.Sprintf("<< /Type /EmbeddedFile /Subtype /application#2Fxml /Filter /FlateDecode /Params << /Size %d /ModDate %s /CheckSum <%s> >> >>",
			len(cda), pdfupdate.String(pdfupdate.Date(now())), hex.EncodeToString(sum[:])), z.Bytes()))
		spec := doc.Add([]byte(fmt.Sprintf("<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %s /UF %s >> /Desc (HL7 CDA R2) /AFRelationship /%s >>", Name, Name, file, file, rel)))
		pairs[Name] = spec.String()
		keys := make([]string, 0, len(pairs))
		for k := range pairs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var leaf strings.Builder
		leaf.WriteString("<< /Names [")
		for i, k := range keys {
			if i > 0 {
				leaf.WriteString(" ")
			}
			leaf.WriteString("<" + hex.EncodeToString([]byte(k)) + "> " + pairs[k])
		}
		leaf.WriteString("] >>")
		res.Attachments = keys
		tree := doc.Add([]byte(leaf.String()))

		var extra []string
		drop := []string{"Names"}
		newNames := "/EmbeddedFiles " + tree.String()
		if nref, ok := pdfupdate.KeyRef(cat, "Names"); ok && names.Kind() == pdf.Dict {
			body, err := pdfupdate.FormatDictWithout(names, newNames, "EmbeddedFiles")
			if err != nil {
				return err
			}
			doc.Replace(nref, []byte(body))
			drop = nil
		} else {
			inner := "<< " + newNames + " >>"
			if names.Kind() == pdf.Dict {
				var err error
				if inner, err = pdfupdate.FormatDictWithout(names, newNames, "EmbeddedFiles"); err != nil {
					return err
				}
			}
			extra = append(extra, "/Names "+inner)
		}
		if part != "" {
			af, err := pdfupdate.FormatElements(cat.Key("AF"))
			if err != nil {
				return err
			}
			extra = append(extra, "/AF ["+strings.Join(append(af, spec.String()), " ")+"]")
			drop = append(drop, "AF")
			res.AssociatedFile = true
			if part == "2" {
				mref, ok := pdfupdate.KeyRef(cat, "Metadata")
				if !ok {
					return &pdfupdate.Error{Msg: "the PDF/A metadata stream is not an indirect object"}
				}
				up := partAttr.ReplaceAll(xmp, []byte(`pdfaid:part="3"`))
				up = partElem.ReplaceAll(up, []byte(`<pdfaid:part>3</pdfaid:part>`))
				doc.Replace(mref, pdfupdate.Stream("<< /Type /Metadata /Subtype /XML >>", up))
				res.UpgradedTo3 = true
			}
		}
		if len(extra) > 0 {
			body, err := pdfupdate.FormatDictWithout(cat, strings.Join(extra, " "), drop...)
			if err != nil {
				return err
			}
			doc.Replace(catRef, []byte(body))
		}
		var err error
		update, err = doc.Update()
		return err
	})
	if err != nil {
		if errors.Is(err, ErrHasCDA) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("pdfattach: %w", err)
	}
	return update, res, nil
}

// collect adds the (name, value) pairs of an EmbeddedFiles name tree node to pairs.
func collect(node pdf.Value, pairs map[string]string, depth int) error {
	if node.Kind() != pdf.Dict {
		return nil
	}
	if depth > 8 {
		return &pdfupdate.Error{Msg: "the EmbeddedFiles name tree is deeper than 8 levels"}
	}
	arr := node.Key("Names")
	vals, err := pdfupdate.FormatElements(arr)
	if err != nil {
		return err
	}
	for i := 0; i+1 < arr.Len(); i += 2 {
		pairs[arr.Index(i).RawString()] = vals[i+1]
	}
	kids := node.Key("Kids")
	for i := 0; i < kids.Len(); i++ {
		if err := collect(kids.Index(i), pairs, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func firstMatch(b []byte, res ...*regexp.Regexp) string {
	for _, re := range res {
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return ""
}
