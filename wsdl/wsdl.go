// Package wsdl embeds the service contracts (the three WSDLs and their XSDs) so that the
// simulator can serve them on `?wsdl` and tools can read them without a checkout.
package wsdl

import (
	"embed"
	"io/fs"
)

//go:embed *.wsdl *.xsd
var files embed.FS

// FS holds IDocumentService.wsdl, IGestoreConsensoService.wsdl, ITaccuinoService.wsdl and the
// XSDs they include, at the root.
var FS fs.FS = files
