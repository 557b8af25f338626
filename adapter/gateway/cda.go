package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"

	"github.com/beevik/etree"
)

// Placeholder is what every attribute and leaf text under legalAuthenticator becomes before
// the validated CDA is hashed.
const Placeholder = "PLACEHOLDER"

// CDAHash returns the hash that links a publication to its validation: Base64 of the SHA-256
// of the CDA after legalAuthenticator/signature is removed and every attribute value and
// leaf text under legalAuthenticator is set to PLACEHOLDER (the dispatcher's
// AbstractCTL#cdaWithoutLegalAuthenticator). Only the legal authenticator may therefore
// change between validation and publication (the signer is known only then).
//
// The dispatcher serialises with jsoup; this serialises with etree, keeping whitespace. The
// hash is compared only with hashes computed the same way (the durable workflow, the
// simulator), never with the gateway's.
func CDAHash(cda []byte) (string, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(cda); err != nil {
		return "", fmt.Errorf("gateway: CDA: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return "", fmt.Errorf("gateway: CDA: no root element")
	}
	for _, la := range root.FindElements("//legalAuthenticator") {
		for _, s := range la.SelectElements("signature") {
			la.RemoveChild(s)
		}
		placehold(la)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return "", fmt.Errorf("gateway: CDA: %w", err)
	}
	sum := sha256.Sum256(out)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

func placehold(e *etree.Element) {
	for i := range e.Attr {
		e.Attr[i].Value = Placeholder
	}
	kids := e.ChildElements()
	if len(kids) == 0 {
		if e.Text() != "" {
			e.SetText(Placeholder)
		}
		return
	}
	for _, k := range kids {
		placehold(k)
	}
}

// WorkflowSuffix ends every workflowInstanceId.
const WorkflowSuffix = "^^^^urn:ihe:iti:xdw:2013:workflowInstanceId"

// WorkflowIDPattern is the shape of a workflowInstanceId: the CDA id root, the hex SHA-256
// of its extension, a hex random part, the XDW suffix (the dispatcher's
// CdaUtility#getWorkflowInstanceId).
var WorkflowIDPattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)*)\.([0-9a-f]{64})\.([0-9a-f]{1,32})` + regexp.QuoteMeta(WorkflowSuffix) + `$`)

// NewWorkflowID builds a workflowInstanceId for the CDA id root^extension, with a 10-hex
// random part read from rnd (crypto/rand when nil).
func NewWorkflowID(root, extension string, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [5]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(extension))
	return root + "." + hex.EncodeToString(sum[:]) + "." + hex.EncodeToString(b[:]) + WorkflowSuffix, nil
}

// WorkflowIDMatches reports whether wii has the spec's shape and was computed for the CDA id
// root^extension.
func WorkflowIDMatches(wii, root, extension string) bool {
	m := WorkflowIDPattern.FindStringSubmatch(wii)
	if m == nil {
		return false
	}
	sum := sha256.Sum256([]byte(extension))
	return m[1] == root && m[2] == hex.EncodeToString(sum[:])
}
