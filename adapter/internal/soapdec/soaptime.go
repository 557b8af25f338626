package soapdec

import (
	"strings"
	"time"
)

// The layouts of gowsdl's soap.XSDDateTime and soap.XSDDate.
const (
	timeLayoutDateTime = time.RFC3339Nano
	timeLayoutDate     = "2006-01-02Z07:00"
)

// parseTime reads an xs:dateTime or xs:date by the rules of gowsdl v0.5.0's unmarshalTime
// (soap/xsdDateTime.go), which the types' UnmarshalXML apply to the element's text: whether
// a zone is written decides hasTz, a missing one is read as UTC, the zero dateTime and an
// unparsable value give the zero time (gowsdl drops the parse error). The differential test
// holds the two equal on every generated type.
func parseTime(content, layout string) (time.Time, bool) {
	if content == "" {
		return time.Time{}, true
	}
	hasTz := false
	if strings.Contains(content, "T") {
		if _, tm, ok := strings.Cut(content, "T"); ok && strings.ContainsAny(tm, "Z+-") {
			hasTz = true
		}
		if !hasTz {
			content += "Z"
		}
		if content == "0001-01-01T00:00:00Z" {
			return time.Time{}, true
		}
	} else {
		if strings.ContainsAny(content, "Z:") {
			hasTz = true
		}
		if !hasTz {
			content += "Z"
		}
	}
	t, _ := time.Parse(layout, content)
	return t, hasTz
}
