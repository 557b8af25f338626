package pades

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/cms"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda"
	"github.com/fsepuglia/fsepuglia/adapter/sign"
)

// Signature is what verifying one PDF signature found.
type Signature struct {
	sign.Result
	// SubFilter is the dictionary's /SubFilter.
	SubFilter string `json:"sub_filter,omitempty"`
	// ByteRange is /ByteRange as found.
	ByteRange []int64 `json:"byte_range"`
	// CoversWholeFile is true when the range covers every byte of the file but the
	// signature's own /Contents.
	CoversWholeFile bool `json:"covers_whole_file"`
	// AppendedBytes is how many bytes follow the signed range (an incremental update made
	// after signing); 0 when CoversWholeFile.
	AppendedBytes int64 `json:"appended_bytes,omitempty"`
	// UpdatesAfter counts the incremental updates after the signed range (from pdfcda).
	UpdatesAfter int `json:"updates_after,omitempty"`
}

// Verify finds the signature dictionaries of the PDF in data (adapter/pdfcda) and verifies
// each with VerifyRange, in file order. It returns sign.ErrUnsigned when there is none.
func Verify(data []byte, opt sign.VerifyOptions) ([]Signature, error) {
	return VerifyAt(bytes.NewReader(data), int64(len(data)), opt)
}

// VerifyAt is Verify for the size bytes of r (an *os.File), read as pdfcda.ReadPDFAt reads
// it; the signed ranges are hashed as they are read, never held in memory.
func VerifyAt(r io.ReaderAt, size int64, opt sign.VerifyOptions) ([]Signature, error) {
	doc, err := pdfcda.ReadPDFAt(r, size, pdfcda.Limits{})
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	return VerifySignaturesAt(r, size, doc.Signatures, opt)
}

// VerifySignatures verifies the signature dictionaries found by pdfcda.ReadPDF in data.
func VerifySignatures(data []byte, sigs []pdfcda.Signature, opt sign.VerifyOptions) ([]Signature, error) {
	return VerifySignaturesAt(bytes.NewReader(data), int64(len(data)), sigs, opt)
}

// VerifySignaturesAt is VerifySignatures for the size bytes of r.
func VerifySignaturesAt(r io.ReaderAt, size int64, sigs []pdfcda.Signature, opt sign.VerifyOptions) ([]Signature, error) {
	if len(sigs) == 0 {
		return nil, sign.ErrUnsigned
	}
	out := make([]Signature, 0, len(sigs))
	for _, s := range sigs {
		claimed, _ := ParseDate(s.M)
		v := verifyRange(r, size, s.ByteRange, s.SubFilter, claimed, opt)
		v.UpdatesAfter = s.UpdatesAfter
		out = append(out, v)
	}
	return out, nil
}

// Intact reports whether sigs has a valid signature covering the whole file: the state
// the national gateway accepts at publication.
func Intact(sigs []Signature) bool {
	for _, s := range sigs {
		if s.Valid && s.CoversWholeFile {
			return true
		}
	}
	return false
}

// VerifyRange verifies the signature whose /ByteRange is br in data: the range must be
// [0 a b c] with the gap a..b exactly the /Contents hex string, the CMS inside must verify
// over the two ranges, and the signer's certificate is described (and checked against
// opt.Roots). Bytes after the range are reported, not an error: an incremental update after
// signing leaves the signature valid for what it covers.
func VerifyRange(data []byte, br []int64, subFilter string, opt sign.VerifyOptions) Signature {
	return verifyRange(bytes.NewReader(data), int64(len(data)), br, subFilter, time.Time{}, opt)
}

// verifyRange is VerifyRange over the size bytes of data, with the claimed signing time
// (/M) when known; zero means read it from the dictionary around the /Contents.
func verifyRange(data io.ReaderAt, size int64, br []int64, subFilter string, claimed time.Time, opt sign.VerifyOptions) Signature {
	s := Signature{SubFilter: subFilter, ByteRange: br}
	s.Format = sign.FormatPAdES
	switch subFilter {
	case "ETSI.CAdES.detached":
	case "adbe.pkcs7.detached", "adbe.pkcs7.sha1":
		s.Format = sign.FormatPKCS7
	case "ETSI.RFC3161":
		s.Format = "PAdES document time-stamp"
		s.Problem("document time-stamps are not verified")
		return s
	default:
		s.Problem("SubFilter " + subFilter + " is not a PAdES or PKCS#7 signature")
		return s
	}
	if len(br) != 4 || br[0] != 0 || br[1] <= 0 || br[2] <= br[1] || br[3] < 0 || br[2] > size || br[3] > size-br[2] {
		s.Problem(fmt.Sprintf("/ByteRange %v is not [0 a b c] inside the file (%d bytes)", br, size))
		return s
	}
	a, b, c := br[1], br[2], br[2]+br[3]
	// The gap's delimiters first: a ByteRange leaving out most of the file is not read whole.
	first, last := readAt(data, a, 1), readAt(data, b-1, 1)
	if b-a < 2 || len(first) != 1 || first[0] != '<' || len(last) != 1 || last[0] != '>' {
		s.Problem("the bytes /ByteRange leaves out are not the /Contents hex string: the range does not match the signature")
		return s
	}
	gap := readAt(data, a, b-a)
	if int64(len(gap)) != b-a {
		s.Problem("the file cannot be read")
		return s
	}
	der := make([]byte, hex.DecodedLen(len(gap)-2))
	if _, err := hex.Decode(der, bytes.TrimSpace(gap[1:len(gap)-1])); err != nil {
		s.Problem("/Contents is not a hex string")
		return s
	}
	s.CoversWholeFile = c == size
	if !s.CoversWholeFile {
		s.AppendedBytes = size - c
	}
	p, err := cms.Parse(der)
	if err != nil {
		s.Problem("/Contents: " + err.Error())
		return s
	}
	h := p.DigestAlgorithm()
	if h == 0 {
		s.Problem("the CMS uses an unknown digest algorithm")
		return s
	}
	// The two ranges, hashed as they are read.
	digest := func(h crypto.Hash) ([]byte, error) {
		w := h.New()
		buf := make([]byte, 64<<10)
		if _, err := io.CopyBuffer(w, io.NewSectionReader(data, 0, a), buf); err != nil {
			return nil, err
		}
		if _, err := io.CopyBuffer(w, io.NewSectionReader(data, b, c-b), buf); err != nil {
			return nil, err
		}
		return w.Sum(nil), nil
	}
	var d []byte
	if subFilter == "adbe.pkcs7.sha1" {
		// The CMS signs the SHA-1 digest of the range, encapsulated as its content.
		sum, err := digest(crypto.SHA1)
		if err != nil {
			s.Problem("the file cannot be read: " + err.Error())
			return s
		}
		if !bytes.Equal(p.Content, sum) {
			s.Problem("message digest mismatch: the signed bytes were changed after signing")
			return s
		}
		d = hashOf(h, p.Content)
	} else if d, err = digest(h); err != nil {
		s.Problem("the file cannot be read: " + err.Error())
		return s
	}
	if claimed.IsZero() {
		claimed = claimedTime(data, size, a, b)
	}
	s.Result = *p.Verify(d, s.Format, claimed, opt)
	if !endsWithEOF(data, c) {
		s.Problem("the signed range does not end with %%EOF: the signed revision is incomplete")
	}
	if !s.CoversWholeFile {
		s.Problem(fmt.Sprintf("%d bytes were added after this signature (an incremental update): they are not signed", s.AppendedBytes))
	}
	return s
}

func hashOf(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

var mRE = regexp.MustCompile(`/M\s*\((D:\d{4}[^)]*)\)`)

var dateRE = regexp.MustCompile(`^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?$`)

// ParseDate parses a PDF date (D:YYYYMMDDHHmmSS+HH'mm', trailing parts optional).
func ParseDate(s string) (time.Time, bool) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	n := func(i, d int) int {
		if m[i] == "" {
			return d
		}
		v, _ := strconv.Atoi(m[i])
		return v
	}
	loc := time.UTC
	if m[7] == "+" || m[7] == "-" {
		off := n(8, 0)*3600 + n(9, 0)*60
		if m[7] == "-" {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(n(1, 0), time.Month(n(2, 1)), n(3, 1), n(4, 0), n(5, 0), n(6, 0), 0, loc), true
}

// claimedTime reads /M from the signature dictionary around the /Contents gap a..b (the
// dictionary's other entries are within a few kilobytes on either side), zero when absent.
func claimedTime(data io.ReaderAt, size, a, b int64) time.Time {
	const window = 4096
	lo, hi := max(0, a-window), min(size, b+window)
	// Only this dictionary: stop at the nearest "obj" before and "endobj" after.
	before := readAt(data, lo, a-lo)
	if i := bytes.LastIndex(before, []byte(" obj")); i >= 0 {
		before = before[i:]
	}
	after := readAt(data, b, hi-b)
	if i := bytes.Index(after, []byte("endobj")); i >= 0 {
		after = after[:i]
	}
	for _, part := range [][]byte{before, after} {
		if m := mRE.FindSubmatch(part); m != nil {
			if t, ok := ParseDate(string(m[1])); ok {
				return t
			}
		}
	}
	return time.Time{}
}

// readAt returns up to n bytes of r at off (fewer at the end of the file or on an error).
func readAt(r io.ReaderAt, off, n int64) []byte {
	if n <= 0 || off < 0 {
		return nil
	}
	buf := make([]byte, n)
	got, _ := r.ReadAt(buf, off)
	return buf[:got]
}

// endsWithEOF reports whether the file's first c bytes end with %%EOF, white space and NULs
// after it allowed: the signed revision is complete. It reads backwards from c.
func endsWithEOF(r io.ReaderAt, c int64) bool {
	const ws = "\r\n \t\x00"
	end := c
	for end > 0 {
		start := max(0, end-4096)
		chunk := readAt(r, start, end-start)
		if int64(len(chunk)) != end-start {
			return false
		}
		if t := bytes.TrimRight(chunk, ws); len(t) > 0 {
			end = start + int64(len(t))
			tail := readAt(r, max(0, end-5), min(end, 5))
			return bytes.Equal(tail, []byte("%%EOF"))
		}
		end = start
	}
	return false
}
