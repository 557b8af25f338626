package wsdl

import "strings"

// Namespace is the target namespace of the three services, with its final slash as public
// traffic shows it (it-fse-support #2501 #2511 #2331 #2717). Every Action is Namespace
// followed by a path, without another slash.
const Namespace = "http://www.sist.puglia.it/Schemas/PDD_SIST/SCATEL/FSE/"

// Service names, as in the endpoint paths.
const (
	DocumentService = "IDocumentService"
	ConsensoService = "IGestoreConsensoService"
	TaccuinoService = "ITaccuinoService"
)

// SAML is what an operation's assertion states: purposeofuse and action-id.
type SAML struct {
	PurposeOfUse string
	ActionID     string
	// AlsoAccepted lists other action-ids the simulator accepts for the operation.
	AlsoAccepted []string
}

// Accepts reports whether action (any case) fits the operation.
func (s SAML) Accepts(action string) bool {
	a := strings.ToUpper(strings.TrimSpace(action))
	if a == strings.ToUpper(s.ActionID) {
		return true
	}
	for _, x := range s.AlsoAccepted {
		if a == strings.ToUpper(x) {
			return true
		}
	}
	return false
}

// Operation is one row of the contracts' table: everything the client and the simulator
// need to know about an operation besides its payload types (generated from the WSDL).
type Operation struct {
	// Name is the operation and its request wrapper element.
	Name string
	// Service is the service the operation belongs to (its endpoint path).
	Service string
	// Read is true for operations that change nothing (safe to retry).
	Read bool
	// Observed is true when public traffic shows the operation (PROVENANCE.md).
	Observed bool
	// Puglia is the assertion's vocabulary in the observed Puglia profile: purposeofuse
	// "C" and action-id "C" for addDocument (#2501 #2511); the other letters are modelled
	// on it (R read, U update, D delete).
	Puglia SAML
	// National is the vocabulary of the national INI profile (TREATMENT/CREATE ...).
	National SAML
	// Faults are the fault codes the operation may answer besides the common ones
	// (CommonFaults); wsdl/FAULTS.md describes each.
	Faults []string
}

// PortType is the operation's portType (the service name without "Service"), which is
// also the faultactor of its faults.
func (o Operation) PortType() string { return strings.TrimSuffix(o.Service, "Service") }

// Action is the wsa:Action (and soapAction) of the request: Namespace + name (observed
// for addDocument).
func (o Operation) Action() string { return Namespace + o.Name }

// ResponseAction is the wsa:Action of a normal answer (modelled: no success was observed).
func (o Operation) ResponseAction() string { return Namespace + o.Name + "Response" }

// FaultAction is the wsa:Action of a fault answer, as observed for addDocument (#2331):
// Namespace + portType/operation/Fault/SOAPFaultException.
func (o Operation) FaultAction() string {
	return Namespace + o.PortType() + "/" + o.Name + "/Fault/SOAPFaultException"
}

// CommonFaults are the codes every operation may answer: generic, request not valid,
// WS-Security, replay, SAML assertions, unavailable; and the security fault E000231
// (operator and certificate disagree), which is not an FSE-NNNNN code.
var CommonFaults = []string{"FSE-00000", "FSE-00400", "FSE-00401", "FSE-00402", "FSE-00407", "FSE-00503", "E000231"}

var (
	readPuglia    = SAML{PurposeOfUse: "C", ActionID: "R"}
	readNational  = SAML{PurposeOfUse: "TREATMENT", ActionID: "READ"}
	publishFaults = []string{"FSE-10001", "FSE-00422", "FSE-00409"}
)

// Operations is the table of the fourteen operations. Adding an operation means a row
// here, its messages in the WSDL/XSD and its adapter method.
var Operations = []Operation{
	{Name: "addDocument", Service: DocumentService, Observed: true,
		Puglia: SAML{PurposeOfUse: "C", ActionID: "C"}, National: SAML{PurposeOfUse: "TREATMENT", ActionID: "CREATE"},
		Faults: publishFaults},
	{Name: "replaceDocument", Service: DocumentService,
		Puglia: SAML{PurposeOfUse: "C", ActionID: "U"}, National: SAML{PurposeOfUse: "UPDATE", ActionID: "UPDATE"},
		Faults: append([]string{"FSE-00404"}, publishFaults...)},
	{Name: "deleteDocument", Service: DocumentService,
		Puglia: SAML{PurposeOfUse: "C", ActionID: "D"}, National: SAML{PurposeOfUse: "UPDATE", ActionID: "DELETE"},
		Faults: []string{"FSE-00404"}},
	{Name: "searchDocuments", Service: DocumentService, Read: true,
		Puglia: readPuglia, National: readNational, Faults: []string{"FSE-00451"}},
	{Name: "retrieveDocument", Service: DocumentService, Read: true,
		Puglia: readPuglia, National: readNational, Faults: []string{"FSE-00404", "FSE-00451"}},

	{Name: "statoConsensi", Service: ConsensoService, Read: true,
		Puglia: readPuglia, National: SAML{PurposeOfUse: "CONSENT", ActionID: "READ"}},
	{Name: "comunicazioneConsensi", Service: ConsensoService,
		Puglia:   SAML{PurposeOfUse: "C", ActionID: "C", AlsoAccepted: []string{"U"}},
		National: SAML{PurposeOfUse: "CONSENT", ActionID: "UPDATE", AlsoAccepted: []string{"CREATE"}}},
	{Name: "recuperoInformativa", Service: ConsensoService, Read: true,
		Puglia: readPuglia, National: SAML{PurposeOfUse: "CONSENT", ActionID: "READ"}, Faults: []string{"FSE-00404"}},

	{Name: "getTaccuino", Service: TaccuinoService, Read: true, Puglia: readPuglia, National: readNational},
	{Name: "getRilevazioni", Service: TaccuinoService, Read: true, Puglia: readPuglia, National: readNational},
	{Name: "getFarmaci", Service: TaccuinoService, Read: true, Puglia: readPuglia, National: readNational},
	{Name: "getEventi", Service: TaccuinoService, Read: true, Puglia: readPuglia, National: readNational},
	{Name: "getSintomi", Service: TaccuinoService, Read: true, Puglia: readPuglia, National: readNational},
	{Name: "getDocumentiPersonali", Service: TaccuinoService, Read: true, Puglia: readPuglia, National: readNational},
}

// Lookup returns the operation called name.
func Lookup(name string) (Operation, bool) {
	for _, o := range Operations {
		if o.Name == name {
			return o, true
		}
	}
	return Operation{}, false
}

// MustLookup is Lookup for names fixed in the code; it panics on an unknown name.
func MustLookup(name string) Operation {
	o, ok := Lookup(name)
	if !ok {
		panic("wsdl: unknown operation " + name)
	}
	return o
}

// ByAction returns the operation whose request Action is action.
func ByAction(action string) (Operation, bool) {
	name, ok := strings.CutPrefix(action, Namespace)
	if !ok {
		return Operation{}, false
	}
	return Lookup(name)
}
