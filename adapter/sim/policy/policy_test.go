package policy

import (
	"slices"
	"testing"
	"time"
)

func TestPregressoCutoffInstant(t *testing.T) {
	// Independent statement of the cutoff: midnight of 19 May 2020 in Rome is 22:00 UTC on the 18th.
	want := time.Date(2020, 5, 18, 22, 0, 0, 0, time.UTC)
	if !PregressoCutoff.Equal(want) {
		t.Fatalf("cutoff %v, want %v", PregressoCutoff.UTC(), want)
	}
	if rome, err := time.LoadLocation("Europe/Rome"); err == nil {
		if !PregressoCutoff.Equal(time.Date(2020, 5, 19, 0, 0, 0, 0, rome)) {
			t.Fatal("cutoff differs from tzdata's Europe/Rome midnight")
		}
	}
}

func TestCanSee(t *testing.T) {
	cut := time.Date(2020, 5, 18, 22, 0, 0, 0, time.UTC)
	after := Document{CreationTime: cut.Add(24 * time.Hour), PublishedBy: "160114"}
	all := Consents{"C1": true, "C2": true, "C3": true}
	noC3 := Consents{"C1": true, "C2": true}
	tests := []struct {
		name      string
		c         Consents
		d         Document
		requester string
		allowed   bool
		reason    Reason
		fault     string
	}{
		{"all consents, recent doc", all, after, "160115", true, ReasonOK, ""},
		{"no consents at all", Consents{}, after, "160114", false, ReasonNoC2, "FSE-00451"},
		{"only C1", Consents{"C1": true}, after, "160114", false, ReasonNoC2, "FSE-00451"},
		{"C4 beats C2", Consents{"C2": true, "C3": true, "C4": true}, after, "160114", false, ReasonOpposition, "FSE-00451"},
		{"C4 without C2 still opposition", Consents{"C4": true}, after, "160114", false, ReasonOpposition, "FSE-00451"},
		{"no C3, doc exactly at cutoff", noC3, Document{CreationTime: cut}, "x", true, ReasonOK, ""},
		{"no C3, doc 1ns before cutoff", noC3, Document{CreationTime: cut.Add(-time.Nanosecond)}, "x", false, ReasonNoC3, "FSE-00451"},
		{"no C3, 18 May 23:59 Rome", noC3, Document{CreationTime: time.Date(2020, 5, 18, 23, 59, 0, 0, time.FixedZone("CEST", 7200))}, "x", false, ReasonNoC3, "FSE-00451"},
		{"no C3, 19 May 00:00 Rome", noC3, Document{CreationTime: time.Date(2020, 5, 19, 0, 0, 0, 0, time.FixedZone("CEST", 7200))}, "x", true, ReasonOK, ""},
		{"C3, old doc", all, Document{CreationTime: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)}, "x", true, ReasonOK, ""},
		{"no C3, service start used when no creation time", noC3, Document{ServiceStart: cut.Add(-time.Hour)}, "x", false, ReasonNoC3, "FSE-00451"},
		{"no C3, creation time wins over older service start", noC3, Document{CreationTime: cut, ServiceStart: cut.Add(-time.Hour)}, "x", true, ReasonOK, ""},
		{"no C3, no dates at all", noC3, Document{}, "x", true, ReasonOK, ""},
		{"P99 other structure", all, Document{CreationTime: after.CreationTime, EventCodes: []string{"P99"}, PublishedBy: "160114"}, "160115", false, ReasonObscured, "FSE-00404"},
		{"P99 publisher", all, Document{CreationTime: after.CreationTime, EventCodes: []string{"P99"}, PublishedBy: "160114"}, "160114", true, ReasonOK, ""},
		{"P99 empty requester and publisher", all, Document{CreationTime: after.CreationTime, EventCodes: []string{"P99"}}, "", false, ReasonObscured, "FSE-00404"},
		{"P99 cleared by P00", all, Document{CreationTime: after.CreationTime, EventCodes: []string{"P99", "P00"}, PublishedBy: "160114"}, "160115", true, ReasonOK, ""},
		{"P97/P98 ignored", all, Document{CreationTime: after.CreationTime, EventCodes: []string{"P97", "P98"}}, "160115", true, ReasonOK, ""},
		{"P99 publisher without C2", Consents{}, Document{CreationTime: after.CreationTime, EventCodes: []string{"P99"}, PublishedBy: "160114"}, "160114", false, ReasonNoC2, "FSE-00451"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := CanSee(tc.c, tc.d, tc.requester)
			if d.Allowed != tc.allowed || d.Reason != tc.reason || d.FaultCode() != tc.fault {
				t.Fatalf("got %+v fault %q, want %v %v %q", d, d.FaultCode(), tc.allowed, tc.reason, tc.fault)
			}
			if !d.Allowed && d.Message() == "" {
				t.Fatal("refusal without a message")
			}
		})
	}
}

func TestVisible(t *testing.T) {
	cut := PregressoCutoff
	docs := []Document{
		{CreationTime: cut},
		{CreationTime: cut.Add(-time.Second)},
		{CreationTime: cut, EventCodes: []string{"P99"}, PublishedBy: "A"},
		{CreationTime: cut, EventCodes: []string{"P99"}, PublishedBy: "B"},
	}
	tests := []struct {
		name string
		c    Consents
		req  string
		want []int
	}{
		{"no C3, structure A", Consents{"C2": true}, "A", []int{0, 2}},
		{"C3, structure B", Consents{"C2": true, "C3": true}, "B", []int{0, 1, 3}},
		{"opposition", Consents{"C2": true, "C3": true, "C4": true}, "A", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Visible(tc.c, docs, tc.req); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
}
