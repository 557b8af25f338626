package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/fsepuglia/fsepuglia/adapter/sim"
	"github.com/fsepuglia/fsepuglia/adapter/sim/core"
	"github.com/fsepuglia/fsepuglia/adapter/sim/inject"
	"github.com/fsepuglia/fsepuglia/adapter/sim/store"
)

// simCommand is `fsepuglia sim`: it runs the local simulator of the three FSE services until
// SIGINT/SIGTERM, printing the base URL and the client configuration it wrote.
func simCommand() *cli.Command {
	return &cli.Command{
		Name:  "sim",
		Usage: "run the local simulator of the FSE services (loopback only)",
		Description: "Serves IDocumentService, IGestoreConsensoService and ITaccuinoService under /aslba_test/ and\n" +
			"/aslba|aslbt|aslbr|aslle|aslfg|aslta/, with mutual TLS and WS-Security checks by default, and the FSE 2.0\n" +
			"regional middleware (the national gateway's REST API, strict JWT checks) under /api/v1 on the same TLS.\n" +
			"On start it writes <data-dir>/client-config.json: run `fsepuglia --config <that file> …` to talk to it.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "listen address (loopback only; port 0 picks a free port)"},
			&cli.StringFlag{Name: "data-dir", Usage: "data directory (PKI, store, client config); default <user cache dir>/fsepuglia/sim"},
			&cli.BoolFlag{Name: "plain-http", Usage: "serve plain HTTP instead of HTTPS with client certificates"},
			&cli.BoolFlag{Name: "relaxed", Usage: "accept messages without WS-Security (interoperability checks only)"},
			&cli.GenericFlag{Name: "inject", Value: &specList{}, Usage: "fault injection, OPERATION:latency=200ms,rate=0.2,kinds=fault|503|reset|truncate|malformed,code=FSE-00503 (repeatable; middleware operations are gtw-validation, gtw-create, gtw-replace, gtw-delete, gtw-update-metadata, gtw-validate-and-create, gtw-status)"},
			&cli.Uint64Flag{Name: "inject-seed", Usage: "seed of the injected failure sequence"},
			&cli.Int64Flag{Name: "max-body", Usage: "largest request accepted, in bytes (0: the simulator's default, 64 MiB; a 100 MB document needs about 140 MB)"},
			&cli.BoolFlag{Name: "no-sync", Usage: "do not fsync the simulator's store (benchmarks and throwaway data: a crash of the machine may lose what it stored)"},
			// Hidden: profiling the simulator process for BENCH.md (issue 13).
			&cli.StringFlag{Name: "cpuprofile", Hidden: true, EnvVars: []string{"FSEPUGLIA_SIM_CPUPROFILE"}, Usage: "write a CPU profile of the simulator process to this file until it stops"},
		},
		Action: func(c *cli.Context) error {
			var specs []string
			if l, ok := c.Generic("inject").(*specList); ok {
				specs = *l
			}
			rules, err := inject.ParseSpecs(specs)
			if err != nil {
				return cli.Exit(fmt.Sprintf("sim: --inject: %v", err), 2)
			}
			dir := c.String("data-dir")
			if dir == "" {
				cache, err := os.UserCacheDir()
				if err != nil {
					return fmt.Errorf("sim: no user cache directory, pass --data-dir: %w", err)
				}
				dir = filepath.Join(cache, "fsepuglia", "sim")
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("sim: data directory: %w", err)
			}
			if p := c.String("cpuprofile"); p != "" {
				f, err := os.Create(p)
				if err != nil {
					return fmt.Errorf("sim: --cpuprofile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					_ = f.Close()
					return fmt.Errorf("sim: --cpuprofile: %w", err)
				}
				defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
			}
			log := logrus.New()
			log.SetOutput(c.App.ErrWriter)
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := sim.Start(ctx, simOptions(c, dir, rules, log))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "base URL:      %s\n", srv.URL())
			fmt.Fprintf(c.App.Writer, "middleware:    %s\n", srv.MiddlewareURL())
			fmt.Fprintf(c.App.Writer, "client config: %s\n", srv.ClientConfigPath())
			fmt.Fprintf(c.App.Writer, "press Ctrl-C to stop\n")
			<-ctx.Done()
			return closeSim(srv)
		},
	}
}

func closeSim(srv *sim.Server) error {
	if err := srv.Close(); err != nil && err != context.Canceled {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}

// specList collects repeated --inject values whole. urfave/cli's string slices split a value
// on commas, and a spec is comma-separated (addDocument:latency=200ms,rate=0.2): split, it
// could never be given in its documented form.
type specList []string

// Set appends one --inject value.
func (l *specList) Set(v string) error { *l = append(*l, v); return nil }

// String lists the values given.
func (l *specList) String() string { return strings.Join(*l, " ") }

// simOptions are the simulator's options as `fsepuglia sim`'s flags give them.
func simOptions(c *cli.Context, dir string, rules []inject.Rule, log sim.Logger) sim.Options {
	return sim.Options{
		DataDir: dir, Addr: c.String("addr"), PlainHTTP: c.Bool("plain-http"), Relaxed: c.Bool("relaxed"),
		Inject: rules, InjectSeed: c.Uint64("inject-seed"), MaxBody: c.Int64("max-body"), Logger: log,
		// --no-sync: the harness's second batch table (issue 13), where the simulator's disk
		// waits are taken out to show where the two processes' CPU is the limit.
		Core: core.Options{Store: store.Options{NoSync: c.Bool("no-sync")}},
	}
}
