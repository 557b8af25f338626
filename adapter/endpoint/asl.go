package endpoint

import "strings"

// ASL is one local health authority of Regione Puglia.
type ASL struct {
	// Name is the canonical name used in URLs (aslba …).
	Name string
	// Sigla is the short name as written in Italian documents ("ASL BA").
	Sigla string
	// FullName is the authority's name.
	FullName string
	// NationalCode is the national ASL code (region 160 + ASL number).
	NationalCode string
	// CodeVerified is true when NationalCode was checked against a public source.
	CodeVerified bool
	// Aliases are spellings found in the regional specification, accepted with a warning.
	Aliases []string
}

// asls is the one table of ASLs (README.md repeats it; a test keeps the two in sync).
var asls = []ASL{
	{Name: "aslba", Sigla: "ASL BA", FullName: "Azienda Sanitaria Locale della Provincia di Bari", NationalCode: "160114", CodeVerified: true},
	{Name: "aslbt", Sigla: "ASL BT", FullName: "Azienda Sanitaria Locale della Provincia di Barletta-Andria-Trani", NationalCode: "160113"},
	{Name: "aslbr", Sigla: "ASL BR", FullName: "Azienda Sanitaria Locale della Provincia di Brindisi", NationalCode: "160106"},
	{Name: "aslle", Sigla: "ASL LE", FullName: "Azienda Sanitaria Locale della Provincia di Lecce", NationalCode: "160116"},
	{Name: "aslfg", Sigla: "ASL FG", FullName: "Azienda Sanitaria Locale della Provincia di Foggia", NationalCode: "160115", Aliases: []string{"aslfgr"}},
	{Name: "aslta", Sigla: "ASL TA", FullName: "Azienda Sanitaria Locale della Provincia di Taranto", NationalCode: "160112", Aliases: []string{"ashta"}},
}

// List returns the ASL table (a copy), in table order, for `fsepuglia endpoints`.
func List() []ASL {
	out := make([]ASL, len(asls))
	for i, a := range asls {
		a.Aliases = append([]string(nil), a.Aliases...)
		out[i] = a
	}
	return out
}

// ASLNames returns the canonical names in table order.
func ASLNames() []string {
	out := make([]string, len(asls))
	for i, a := range asls {
		out[i] = a.Name
	}
	return out
}

// Lookup finds an ASL by canonical name or alias, ignoring case and surrounding spaces.
// alias reports whether name was an alias.
func Lookup(name string) (a ASL, alias bool, ok bool) {
	a, alias, ok = lookup(strings.ToLower(strings.TrimSpace(name)))
	a.Aliases = append([]string(nil), a.Aliases...)
	return a, alias, ok
}

func lookup(name string) (ASL, bool, bool) {
	for _, a := range asls {
		if a.Name == name {
			return a, false, true
		}
		for _, al := range a.Aliases {
			if al == name {
				return a, true, true
			}
		}
	}
	return ASL{}, false, false
}
