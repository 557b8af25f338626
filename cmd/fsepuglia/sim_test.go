package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestSimOptions: `fsepuglia sim`'s flags reach the simulator's options; --no-sync turns off
// the store's fsyncs (for the benchmark harness) and nothing else does.
func TestSimOptions(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		noSync     bool
		plain      bool
		inject     uint64
		maxBody    int64
		relaxed    bool
		addrPrefix string
	}{
		{args: nil, addrPrefix: "127.0.0.1:"},
		{args: []string{"--no-sync"}, noSync: true, addrPrefix: "127.0.0.1:"},
		{args: []string{"--plain-http", "--relaxed", "--inject-seed", "7", "--max-body", "1000", "--addr", "127.0.0.1:9999"},
			plain: true, relaxed: true, inject: 7, maxBody: 1000, addrPrefix: "127.0.0.1:9999"},
	} {
		set := flag.NewFlagSet("sim", flag.ContinueOnError)
		for _, f := range simCommand().Flags {
			if err := f.Apply(set); err != nil {
				t.Fatal(err)
			}
		}
		if err := set.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		o := simOptions(cli.NewContext(cli.NewApp(), set, nil), "/data", nil, nil)
		if o.Core.Store.NoSync != tc.noSync || o.PlainHTTP != tc.plain || o.Relaxed != tc.relaxed ||
			o.InjectSeed != tc.inject || o.MaxBody != tc.maxBody || o.DataDir != "/data" || !strings.HasPrefix(o.Addr, tc.addrPrefix) {
			t.Errorf("%v: options %+v", tc.args, o)
		}
	}
}
