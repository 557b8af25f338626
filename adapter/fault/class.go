package fault

// Class groups fault codes by what a caller can do about them.
type Class int

// The classes of the project's fault code table. The zero value is Unknown.
const (
	// Unknown is a fault whose code is absent or not in the table.
	Unknown Class = iota
	// Security is a WS-Security, SAML or certificate problem: fix the credentials, do not retry.
	Security
	// Validation is a request the server refused as invalid: fix the input, do not retry.
	Validation
	// NotFound is an unknown document uniqueId.
	NotFound
	// Duplicate is a document uniqueId that is already published.
	Duplicate
	// ConsentMissing is a consultation refused for lack of consent (C2, C3) or for opposition (C4).
	ConsentMissing
	// Transient is a temporary unavailability: a read may be retried.
	Transient
	// Server is a generic server error: not retried.
	Server
)

var classNames = [...]string{
	Unknown:        "unknown",
	Security:       "security",
	Validation:     "validation",
	NotFound:       "not-found",
	Duplicate:      "duplicate",
	ConsentMissing: "consent-missing",
	Transient:      "transient",
	Server:         "server",
}

// String returns the class as a lower-case word (security, not-found, …).
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// CodeInfo describes one FSE fault code of the project's table.
type CodeInfo struct {
	// Code is the fault code, e.g. "FSE-00407".
	Code string
	// Meaning is a short English description.
	Meaning string
	// Class is what a caller can do about it.
	Class Class
	// Observed is true when the code was seen in public traffic of the real gateway; false
	// when the project chose it (the simulator and this table agree on it).
	Observed bool
}

// codeTable is the one table of fault codes that the whole project uses (wsdl/FAULTS.md).
var codeTable = []CodeInfo{
	{"E000231", "the certificate's CF differs from the operator's (security fault, no detail)", Security, true},
	{"FSE-00000", "generic error; with a problem+json inside, the middleware's refusal", Server, true},
	{"FSE-00407", "mandatory application (SAML) assertions missing or invalid", Security, true},
	{"FSE-10001", "the CDA inside the PDF is not digitally signed", Validation, true},
	{"FSE-00400", "request not valid (schema, missing or invalid field)", Validation, false},
	{"FSE-00401", "WS-Security missing or invalid", Security, false},
	{"FSE-00402", "replayed MessageID", Security, false},
	{"FSE-00404", "document not found", NotFound, false},
	{"FSE-00409", "document uniqueId already published", Duplicate, false},
	{"FSE-00422", "document content inconsistent", Validation, false},
	{"FSE-00451", "consultation refused for consent", ConsentMissing, false},
	{"FSE-00503", "service temporarily unavailable", Transient, false},
	// The project's earlier model, kept so that servers answering in it still classify:
	// FSE-00231 was its name for E000231; FSE-00415 its code for "Il documento non è pdf",
	// which #2717 shows to be the national gateway's 415 inside an FSE-00000.
	{"FSE-00231", "earlier name of E000231", Security, false},
	{"FSE-00415", "document is not a PDF (earlier model)", Validation, false},
}

// Codes returns a copy of the project's fault code table, in table order.
func Codes() []CodeInfo {
	return append([]CodeInfo(nil), codeTable...)
}

// Lookup returns the table entry of code ("FSE-00407").
func Lookup(code string) (CodeInfo, bool) {
	for _, c := range codeTable {
		if c.Code == code {
			return c, true
		}
	}
	return CodeInfo{}, false
}

// ClassOf returns the class of code, Unknown when the code is not in the table.
func ClassOf(code string) Class {
	c, _ := Lookup(code)
	return c.Class
}
