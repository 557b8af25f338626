package sim

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// A request is read once, from the connection, without holding a large document in memory
// (issue 13; adapter/sim/DESIGN.md "Large requests"): its markup and short texts are kept
// (the skeleton, which is then parsed once), and every text run longer than elideThreshold
// made of base64 characters and white space only is written to a temporary file instead,
// a random marker taking its place in the skeleton. The handler of addDocument and
// replaceDocument decodes the document from that file into the store; the signature check
// digests the file's text in the marker's place when the Body is signed (wssec.Elision).

// elideThreshold is the length from which a base64 text run is kept out of memory. A
// variable so that tests can send every document through the file path.
var elideThreshold = 64 << 10

// maxSkeleton caps what a request keeps in memory besides its large base64 texts.
const maxSkeleton = 8 << 20

// elided is one text run kept out of memory.
type elided struct {
	marker string
	file   *os.File // the text with character references resolved: base64 alphabet and white space
	size   int64
	hasCR  bool   // a carriage return is in the text (its canonical form is &#xD;)
	sum    []byte // SHA-256 of the text as written to the file
	hash   hash.Hash
}

// canonical writes the exclusive canonical form of the text: itself, but carriage returns
// as &#xD; (no other character of a base64 text is escaped).
func (e *elided) canonical(w io.Writer) error {
	r := io.NewSectionReader(e.file, 0, e.size)
	if !e.hasCR {
		_, err := io.Copy(w, r)
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		for p := buf[:n]; len(p) > 0; {
			i := bytes.IndexByte(p, '\r')
			if i < 0 {
				if _, werr := w.Write(p); werr != nil {
					return werr
				}
				break
			}
			if _, werr := w.Write(p[:i]); werr != nil {
				return werr
			}
			if _, werr := io.WriteString(w, "&#xD;"); werr != nil {
				return werr
			}
			p = p[i+1:]
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decoded returns a reader of the bytes the base64 text stands for; a text that is not
// standard base64 (white space aside) makes it fail.
func (e *elided) decoded() io.Reader {
	return base64.NewDecoder(base64.StdEncoding, &stripSpace{r: bufio.NewReaderSize(io.NewSectionReader(e.file, 0, e.size), 64<<10)})
}

// stripSpace drops the white space of a base64 text.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// request is what readRequest read.
type request struct {
	skeleton []byte
	elided   []*elided
}

// close removes the temporary files.
func (q *request) close() {
	for _, e := range q.elided {
		_ = e.file.Close()
		_ = os.Remove(e.file.Name())
	}
	q.elided = nil
}

// byMarker returns the elided text a marker stands for.
func (q *request) byMarker(s string) *elided {
	for _, e := range q.elided {
		if e.marker == s {
			return e
		}
	}
	return nil
}

// errSkeleton is returned when the markup of a request exceeds maxSkeleton.
var errSkeleton = fmt.Errorf("request markup and short texts larger than %d bytes", maxSkeleton)

// errLargeText is returned for a long text run that is not base64, and for more than
// maxElided long texts in one request.
var errLargeText = fmt.Errorf("a text of more than %d KiB that is not base64, or more than %d such texts", 64, maxElided)

// Scanner states.
const (
	stText    = iota // character data (or the prolog)
	stLT             // just after '<'
	stTag            // inside a start or end tag, or a declaration
	stComment        // inside <!-- -->
	stCDATA          // inside <![CDATA[ ]]>
	stPI             // inside <? ?>
)

// isB64 marks the bytes a base64 text may hold (white space included).
var isB64 = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n") {
		t[c] = true
	}
	return
}()

// whiteRefs are the character references a base64 text may carry (encoders write the
// carriage return of a line break as &#13; or &#xD;).
var whiteRefs = map[string]byte{"#13": '\r', "#xD": '\r', "#xd": '\r', "#10": '\n', "#xA": '\n', "#xa": '\n',
	"#9": '\t', "#x9": '\t', "#32": ' ', "#x20": ' '}

// scanner splits a request into skeleton and elided texts.
type scanner struct {
	state   int
	quote   byte   // in stTag: the quote of the attribute value being read, 0 outside one
	lead    []byte // in stLT: what follows '<' so far ("!--", "![CDATA[", ...)
	endSeen int    // in stComment/stCDATA/stPI: how much of the terminator was matched

	run   []byte // the current text run, not yet in the skeleton
	runOK bool   // run holds base64 characters, white space and white space references only
	ent   []byte // an entity reference being read in the run ("&" included), nil outside one

	cur *elided // the text being written to a file
	w   *bufio.Writer
	ref []byte // an entity reference being read in cur's text

	q       *request
	newTemp func() (*os.File, error)
}

// readRequest reads body whole, splitting it as described above; sizeHint is the
// Content-Length (-1 when unknown, chunked), and a body of another length is an error.
// newTemp creates the temporary files (removed by request.close, also on error).
func readRequest(body io.Reader, sizeHint int64, newTemp func() (*os.File, error)) (*request, error) {
	q := &request{}
	if sizeHint > 0 {
		q.skeleton = make([]byte, 0, min(sizeHint, int64(elideThreshold)*2))
	}
	sc := &scanner{q: q, newTemp: newTemp, runOK: true}
	// A small request is read in one buffer of its size (plus one byte to see the end).
	size := 64 << 10
	if sizeHint >= 0 && sizeHint < int64(size) {
		size = int(sizeHint) + 1
	}
	buf := make([]byte, size)
	var total int64
	for {
		n, err := body.Read(buf)
		total += int64(n)
		if n > 0 {
			if serr := sc.feed(buf[:n]); serr != nil {
				q.close()
				return nil, serr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			q.close()
			return nil, err
		}
	}
	if sizeHint >= 0 && total != sizeHint {
		q.close()
		return nil, fmt.Errorf("request body of %d bytes, Content-Length %d: %w", total, sizeHint, io.ErrUnexpectedEOF)
	}
	if err := sc.finish(); err != nil {
		q.close()
		return nil, err
	}
	return q, nil
}

func (sc *scanner) emit(b ...byte) error {
	if len(sc.q.skeleton)+len(b) > maxSkeleton {
		return errSkeleton
	}
	sc.q.skeleton = append(sc.q.skeleton, b...)
	return nil
}

// flushRun moves the pending text run into the skeleton; endRun when the run ends there
// (at '<'), so that the next one may be elided.
func (sc *scanner) flushRun(endRun bool) error {
	if err := sc.emit(sc.run...); err != nil {
		return err
	}
	sc.run = sc.run[:0]
	if endRun {
		sc.runOK, sc.ent = true, nil
	}
	return nil
}

// maxElided bounds the large texts of one request (one is all a request may carry).
const maxElided = 4

// startElision opens a file for the run and writes the run to it.
func (sc *scanner) startElision() error {
	if len(sc.q.elided) >= maxElided {
		return errLargeText
	}
	f, err := sc.newTemp()
	if err != nil {
		return fmt.Errorf("temporary file: %w", err)
	}
	var m [16]byte
	_, _ = rand.Read(m[:])
	// Private-use characters around a random id: valid character data, never base64,
	// unguessable by a sender.
	e := &elided{marker: "\ue000" + hex.EncodeToString(m[:]) + "\ue001", file: f}
	sc.q.elided = append(sc.q.elided, e)
	e.hash = sha256.New()
	sc.cur, sc.w, sc.ref = e, bufio.NewWriterSize(io.MultiWriter(f, e.hash), 64<<10), nil
	if err := sc.emit([]byte(e.marker)...); err != nil {
		return err
	}
	run := sc.run
	sc.run, sc.runOK, sc.ent = sc.run[:0], true, nil
	return sc.elide(run)
}

// elide writes text bytes of the current elided run; it stops at nothing ('<' is handled
// by the caller).
func (sc *scanner) elide(p []byte) error {
	e := sc.cur
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if sc.ref != nil {
			if c == ';' {
				r, ok := whiteRefs[string(sc.ref[1:])]
				if !ok {
					return errLargeText
				}
				if r == '\r' {
					e.hasCR = true
				}
				if err := sc.w.WriteByte(r); err != nil {
					return err
				}
				e.size++
				sc.ref = nil
				start = i + 1
				continue
			}
			if len(sc.ref) > 5 {
				return errLargeText
			}
			sc.ref = append(sc.ref, c)
			start = i + 1
			continue
		}
		if c == '&' {
			if _, err := sc.w.Write(p[start:i]); err != nil {
				return err
			}
			e.size += int64(i - start)
			sc.ref = []byte{'&'}
			start = i + 1
			continue
		}
		if !isB64[c] {
			return errLargeText
		}
		if c == '\r' {
			e.hasCR = true
		}
	}
	if sc.ref == nil && start < len(p) {
		if _, err := sc.w.Write(p[start:]); err != nil {
			return err
		}
		e.size += int64(len(p) - start)
	}
	return nil
}

// endElision closes the current elided run at the '<' that ends it.
func (sc *scanner) endElision() error {
	if sc.ref != nil {
		return errLargeText // an unterminated reference
	}
	if err := sc.w.Flush(); err != nil {
		return err
	}
	sc.cur.sum, sc.cur.hash = sc.cur.hash.Sum(nil), nil
	sc.cur, sc.w = nil, nil
	return nil
}

// text handles character data bytes (no '<' among them).
func (sc *scanner) text(p []byte) error {
	if sc.cur != nil {
		return sc.elide(p)
	}
	if sc.runOK {
		for _, c := range p {
			if sc.ent != nil {
				if c == ';' {
					if _, ok := whiteRefs[string(sc.ent[1:])]; !ok {
						sc.runOK = false
					}
					sc.ent = nil
				} else if sc.ent = append(sc.ent, c); len(sc.ent) > 6 {
					sc.runOK = false
				}
				continue
			}
			if c == '&' {
				sc.ent = []byte{'&'}
			} else if !isB64[c] {
				sc.runOK = false
				break
			}
		}
	}
	sc.run = append(sc.run, p...)
	if !sc.runOK {
		return sc.flushRun(false) // not elidable: straight to the skeleton, to the run's end
	}
	if len(sc.run) >= elideThreshold {
		return sc.startElision()
	}
	return nil
}

// feed scans one chunk of the request.
func (sc *scanner) feed(p []byte) error {
	for len(p) > 0 {
		switch sc.state {
		case stText:
			i := bytes.IndexByte(p, '<')
			if i < 0 {
				return sc.text(p)
			}
			if err := sc.text(p[:i]); err != nil {
				return err
			}
			if sc.cur != nil {
				if err := sc.endElision(); err != nil {
					return err
				}
			} else if err := sc.flushRun(true); err != nil {
				return err
			}
			sc.runOK, sc.ent = true, nil
			if err := sc.emit('<'); err != nil {
				return err
			}
			sc.state, sc.lead = stLT, sc.lead[:0]
			p = p[i+1:]
		case stLT:
			// What follows '<' tells a processing instruction, a comment or a CDATA section
			// from a tag.
			c := p[0]
			if len(sc.lead) == 0 {
				switch c {
				case '?':
					sc.state, sc.endSeen = stPI, 0
				case '!':
					sc.lead = append(sc.lead, c)
				default:
					sc.state, sc.quote = stTag, 0
					continue // the tag's first byte is the tag state's
				}
				if err := sc.emit(c); err != nil {
					return err
				}
				p = p[1:]
				continue
			}
			sc.lead = append(sc.lead, c)
			if err := sc.emit(c); err != nil {
				return err
			}
			p = p[1:]
			switch l := string(sc.lead); {
			case l == "!--":
				sc.state, sc.endSeen = stComment, 0
			case l == "![CDATA[":
				sc.state, sc.endSeen = stCDATA, 0
			case isPrefix(l, "!--") || isPrefix(l, "![CDATA["):
			default: // a declaration (<!DOCTYPE …): read as a tag
				sc.state, sc.quote = stTag, 0
				if c == '>' {
					sc.state = stText
				} else if c == '"' || c == '\'' {
					sc.quote = c
				}
			}
		case stTag:
			i := 0
			for ; i < len(p); i++ {
				c := p[i]
				if sc.quote != 0 {
					if c == sc.quote {
						sc.quote = 0
					}
					continue
				}
				if c == '"' || c == '\'' {
					sc.quote = c
				} else if c == '>' {
					i++
					sc.state = stText
					break
				}
			}
			if err := sc.emit(p[:i]...); err != nil {
				return err
			}
			p = p[i:]
		case stComment, stCDATA, stPI:
			term := "?>"
			if sc.state == stComment {
				term = "-->"
			} else if sc.state == stCDATA {
				term = "]]>"
			}
			i := 0
			for ; i < len(p); i++ {
				c := p[i]
				switch {
				case c == term[sc.endSeen]:
					sc.endSeen++
				case sc.endSeen == 2 && c == term[0]: // "]]]>": the last two still count
				case c == term[0]:
					sc.endSeen = 1
				default:
					sc.endSeen = 0
				}
				if sc.endSeen == len(term) {
					i++
					sc.state = stText
					break
				}
			}
			if err := sc.emit(p[:i]...); err != nil {
				return err
			}
			p = p[i:]
		}
	}
	return nil
}

func isPrefix(s, of string) bool { return len(s) <= len(of) && of[:len(s)] == s }

// finish ends the request: a pending run goes to the skeleton (the parser refuses text
// after the root anyway), an open elision is closed.
func (sc *scanner) finish() error {
	if sc.cur != nil {
		return sc.endElision()
	}
	return sc.flushRun(true)
}

// streamedResponse is an answer one xs:base64Binary field of which is written from a file
// while the answer is sent (retrieveDocument): resp holds placeholder bytes in that field,
// whose base64 text is cut out of the marshalled envelope and replaced by the file's.
type streamedResponse struct {
	resp        any
	placeholder []byte
	file        io.ReadCloser
	size        int64
}

// newPlaceholder returns 24 random bytes: their base64 (32 characters, no padding, inside
// one window of the generated encoder) cannot occur elsewhere in an answer by chance.
func newPlaceholder() []byte {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return b
}

// split cuts the marshalled envelope at the placeholder's base64.
func (sr *streamedResponse) split(env []byte) (prefix, suffix []byte, err error) {
	enc := []byte(base64.StdEncoding.EncodeToString(sr.placeholder))
	i := bytes.Index(env, enc)
	if i < 0 || bytes.Count(env, enc) != 1 {
		return nil, nil, errors.New("streamed answer: placeholder not found once")
	}
	return env[:i], env[i+len(enc):], nil
}

// write sends prefix, the file's bytes in base64, suffix.
func (sr *streamedResponse) write(w io.Writer, prefix, suffix []byte) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(prefix); err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, bw)
	if _, err := io.CopyN(enc, sr.file, sr.size); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if _, err := bw.Write(suffix); err != nil {
		return err
	}
	return bw.Flush()
}
