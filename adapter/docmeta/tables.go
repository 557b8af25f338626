package docmeta

import (
	"maps"
	"slices"
)

// TypeInfo describes a document type (LOINC typeCode) of the Italian affinity domain.
type TypeInfo struct {
	// Display is the Italian name of the type.
	Display string `json:"display"`
	// Classes lists the classCodes (tipoDocumentoLivAlto) the type may be published under;
	// the first is the one derived by default.
	Classes []string `json:"classes"`
}

// typeTable is the typeCode → classCode table; read it through Type and TypeCodes.
//
// Sources: the typeCode value set and displays are those of the national gateway
// (ministero-salute/it-fse-gtw-dispatcher, enums/DocumentTypeEnum.java) and the classCode
// value set is its enums/TipoDocAltoLivEnum.java (WOR REF LDO RIC SUM TAC PRS PRE ESE PDC
// VAC CER VRB CON CNT), extended with LET and CRT listed in domain.md §6. The gateway takes
// the class from the caller and has no pairing table in code: the pairs below follow the
// Affinity Domain Italia examples quoted in domain.md §6 (11502-2→REF, 34105-7→LDO,
// 59258-4→VRB, 60591-5→SUM) and, for the rest, the meaning of the class names (reports →
// REF, prescriptions → PRS, dispensations → PRE, …). Pairs marked "modelled" are our
// reading and must be checked against the region's tables; a Profile can extend or
// override any entry.
var typeTable = map[string]TypeInfo{
	"11502-2":  {"Referto di laboratorio", []string{"REF"}},
	"68604-8":  {"Referto di radiologia", []string{"REF"}},
	"11488-4":  {"Referto specialistico", []string{"REF"}},
	"11526-1":  {"Referto di anatomia patologica", []string{"REF"}},
	"34105-7":  {"Lettera di dimissione ospedaliera", []string{"LDO"}},
	"18842-5":  {"Lettera di dimissione non ospedaliera", []string{"LET", "LDO"}}, // modelled
	"59258-4":  {"Verbale di pronto soccorso", []string{"VRB"}},
	"60591-5":  {"Profilo Sanitario Sintetico", []string{"SUM"}},
	"57833-6":  {"Prescrizione farmaceutica", []string{"PRS"}},
	"57832-8":  {"Prescrizione diagnostica o specialistica", []string{"PRS"}},
	"57829-4":  {"Prescrizione per prodotto o apparecchiature mediche", []string{"PRS"}},
	"29304-3":  {"Erogazione farmaceutica", []string{"PRE"}},                        // modelled
	"81223-0":  {"Erogazione specialistica", []string{"PRE"}},                       // modelled
	"57827-8":  {"Documento di esenzione", []string{"ESE"}},                         // modelled
	"18776-5":  {"Piano terapeutico", []string{"PDC"}},                              // modelled
	"87273-9":  {"Scheda singola vaccinazione", []string{"VAC"}},                    // modelled
	"82593-5":  {"Certificato vaccinale", []string{"VAC", "CER"}},                   // modelled
	"97500-3":  {"Certificazione verde Covid-19", []string{"CER"}},                  // modelled
	"97499-8":  {"Certificato di guarigione da Covid-19", []string{"CER"}},          // modelled
	"59284-0":  {"Documento dei consensi", []string{"CON"}},                         // modelled
	"28653-4":  {"Certificato di malattia", []string{"CRT", "CER"}},                 // modelled
	"103140-0": {"Taccuino personale", []string{"TAC"}},                             // modelled
	"53576-5":  {"Taccuino: documento personale", []string{"TAC"}},                  // modelled
	"55750-4":  {"Resoconto relativo alla sicurezza del paziente", []string{"REF"}}, // modelled
	"68814-3":  {"Bilanci di salute pediatrici", []string{"REF", "SUM"}},            // modelled
}

// classCodes is the classCode value set (domain.md §6).
var classCodes = []string{"WOR", "REF", "LDO", "RIC", "SUM", "TAC", "PRS", "PRE", "ESE", "PDC", "VAC", "CER", "VRB", "CON", "CNT", "CRT", "LET", "PRO", "COL"}

// facilityTypes is the healthcareFacilityTypeCode value set.
var facilityTypes = []string{"Ospedale", "Prevenzione", "Territorio", "SistemaTS", "Cittadino"}

// confidentialityCodes is the confidentialityCode value set (2.16.840.1.113883.5.25).
var confidentialityCodes = []string{"N", "R", "V"}

// OIDLoinc is the LOINC code system.
const OIDLoinc = "2.16.840.1.113883.6.1"

// OIDRegion is the prefix of every identifier Regione Puglia (region 160) assigns; in strict
// mode the document id root must start with it.
const OIDRegion = "2.16.840.1.113883.2.9.2.160."

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// Type returns the built-in entry of the typeCode → classCode table.
func Type(code string) (TypeInfo, bool) {
	t, ok := typeTable[code]
	return TypeInfo{Display: t.Display, Classes: slices.Clone(t.Classes)}, ok
}

// TypeCodes returns the typeCodes of the built-in table, sorted.
func TypeCodes() []string {
	return slices.Sorted(maps.Keys(typeTable))
}

// ClassCodes returns the classCode value set.
func ClassCodes() []string { return slices.Clone(classCodes) }

// FacilityTypes returns the healthcareFacilityTypeCode value set.
func FacilityTypes() []string { return slices.Clone(facilityTypes) }

// ConfidentialityCodes returns the confidentialityCode value set.
func ConfidentialityCodes() []string { return slices.Clone(confidentialityCodes) }
