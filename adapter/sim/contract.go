package sim

import (
	"bytes"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/fsepuglia/fsepuglia/wsdl"
)

var soapAddress = regexp.MustCompile(`(<soap:address location=")[^"]*(")`)

// serveContract answers GET <prefix>/<Service>?wsdl with the service's WSDL (its soap:address
// pointing at this simulator) and GET <prefix>/<name>.xsd with an included schema.
func (s *Server) serveContract(w http.ResponseWriter, r *http.Request, name string) {
	var file string
	switch {
	case isService(name) && r.URL.Query().Has("wsdl"):
		file = name + ".wsdl"
	case strings.HasSuffix(name, ".xsd") || strings.HasSuffix(name, ".wsdl"):
		file = name
	default:
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(wsdl.FS, file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(file, ".wsdl") {
		loc := s.url + strings.TrimSuffix(r.URL.Path, ".wsdl")
		b = soapAddress.ReplaceAll(b, []byte("${1}"+xmlAttrEscape(loc)+"${2}"))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

func xmlAttrEscape(s string) string {
	var b bytes.Buffer
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '<':
			b.WriteString("&lt;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
