package sim

import (
	"testing"
)

func TestBodyElement(t *testing.T) {
	const op = `<addDocument xmlns="` + NS + `"><a>1</a></addDocument>`
	tests := []struct {
		name, env, want, wantErr string
	}{
		{"soap prefix", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + op + `</soap:Body></soap:Envelope>`, op, ""},
		{"other prefix, header, white space", "<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\">\n <S:Header><x/></S:Header>\n <S:Body>\n" + op + "\n </S:Body>\n</S:Envelope>\n", op + "\n ", ""},
		{"default namespace", `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body>` + op + `</Body></Envelope>`, op, ""},
		{"trailing comment falls back to tokens", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + op + `</soap:Body></soap:Envelope><!-- c -->`, op, ""},
		{"SOAP 1.2", `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>` + op + `</env:Body></env:Envelope>`, "", "root is not a SOAP 1.1 Envelope"},
		{"empty body", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body></soap:Body></soap:Envelope>`, "", "empty soap:Body"},
		{"not XML", `{"json": true}`, "", "no soap:Body element"},
		{"broken XML", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><a></b>`, "", "XML not well-formed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, got, err := bodyElement([]byte(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want || name.Local != "addDocument" || name.Space != NS {
				t.Fatalf("got %s %q, %v", name.Local, got, err)
			}
		})
	}
}
