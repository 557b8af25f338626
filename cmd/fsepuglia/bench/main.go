// Command bench is the harness behind `make bench` (BENCH.md, issue 13): it runs the
// fsepuglia binary's simulator as a separate process and measures, side by side in one run,
// the library against the limit of the wire and against two independent SOAP stacks.
//
//   - signed legs (mutual TLS, WS-Security as the client sends it): the library's Search and
//     Publish on one kept-alive connection against a raw POST, on a connection of the same
//     kind, of envelopes the library signed before the timer started (the same bytes: the
//     wire's limit for this simulator);
//   - peer legs (relaxed plain-HTTP simulator, no WS-Security, since neither peer signs in
//     the Puglia profile): the library against python3-zeep (zeep_bench.py) and node-soap
//     (soap_bench.js) on searchDocuments, statoConsensi and addDocument;
//   - memory legs (-rss): peak RSS of `fsepuglia publish` and `fsepuglia retrieve` of one
//     large document, measured with /usr/bin/time -v, and the simulator's VmHWM.
//
// Legs alternate within each round and the figures are medians over the rounds, so that
// the load of a shared machine hits every leg alike; the ratios are what to read.
//
// usage: go run ./cmd/fsepuglia/bench -bin PATH/fsepuglia [-node-modules DIR] [-rounds 5] [-rss]
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter"
	"github.com/fsepuglia/fsepuglia/adapter/docmeta"
	"github.com/fsepuglia/fsepuglia/adapter/pdfcda/pdfcdatest"
	"github.com/fsepuglia/fsepuglia/adapter/transport"
	"github.com/fsepuglia/fsepuglia/adapter/wssec"
)

// Published test identities: searches read patient's documents, publications go to
// publishPatient, so that the searched page keeps its size through the run.
const (
	patient        = "FSEPGL01E41A145J"
	publishPatient = "FSELBR01C41A145S"
	seedDocs       = 50
)

var (
	binPath     = flag.String("bin", "", "fsepuglia binary (required)")
	nodeModules = flag.String("node-modules", "", "directory holding node_modules/soap (node-soap leg skipped when empty)")
	python      = flag.String("python", "/usr/bin/python3", "interpreter where python3-zeep is importable")
	rounds      = flag.Int("rounds", 5, "alternating rounds (medians are reported)")
	nSearch     = flag.Int("n-search", 200, "searchDocuments calls per leg and round")
	nPublish    = flag.Int("n-publish", 40, "addDocument calls per leg and round (signed legs)")
	nPeer       = flag.Int("n-peer", 100, "calls per peer leg and round (addDocument: a fifth of it)")
	simClients  = flag.Int("sim-clients", 8, "concurrent connections of the simulator-throughput leg")
	nSim        = flag.Int("n-sim", 150, "pre-signed statoConsensi requests per connection and round (simulator-throughput leg)")
	docSize     = flag.Int("doc-size", 105<<10, "size of the published documents")
	rss         = flag.Bool("rss", false, "also measure peak RSS of publish/retrieve of large documents")
	rssSizes    = flag.String("rss-sizes", "20,100", "document sizes in MB for -rss")
	workDir     = flag.String("work", "", "working directory (a temporary one when empty, removed at the end)")
	cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the signed legs (this process: client and raw POST) to this file")
	traceFile   = flag.String("trace", "", "with -profile-leg: write an execution trace (runtime/trace) of that leg's first round to this file")
	profileLeg  = flag.String("profile-leg", "", "with -cpuprofile: profile only this signed leg (search/client, search/raw, publish/client, publish/raw)")
	only        = flag.String("only", "", "run only these parts, comma-separated: signed, peers, rss, batch (default: all enabled)")
)

func enabled(part string) bool {
	return *only == "" || slices.Contains(strings.Split(*only, ","), part)
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	if *binPath == "" {
		return errors.New("-bin is required (make bench builds it)")
	}
	dir := *workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "fsepuglia-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("# fsepuglia bench: %d rounds, medians; %s\n", *rounds, time.Now().UTC().Format(time.RFC3339))
	if enabled("signed") {
		if *cpuProfile != "" && *profileLeg == "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
		}
		err := signedLegs(dir)
		pprof.StopCPUProfile()
		if err != nil {
			return fmt.Errorf("signed legs: %w", err)
		}
	}
	if enabled("peers") {
		if err := peerLegs(dir); err != nil {
			return fmt.Errorf("peer legs: %w", err)
		}
	}
	if enabled("batch") {
		if err := batchLegs(dir); err != nil { // batch.go
			return fmt.Errorf("batch legs: %w", err)
		}
	}
	if *rss && enabled("rss") {
		if err := rssLegs(dir); err != nil {
			return fmt.Errorf("rss legs: %w", err)
		}
	}
	return nil
}

// sample is one leg's measurement in one round.
type sample struct {
	rate  float64 // calls per second (wall)
	cpuMs float64 // this process's CPU per call (user+sys), ms; peers report their own
}

type series map[string][]sample

func (s series) median(leg string) sample {
	xs := s[leg]
	if len(xs) == 0 {
		return sample{}
	}
	r := make([]float64, len(xs))
	c := make([]float64, len(xs))
	for i, x := range xs {
		r[i], c[i] = x.rate, x.cpuMs
	}
	return sample{rate: med(r), cpuMs: med(c)}
}

func med(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f n times and returns the rate and this process's CPU per call.
func measure(n int, f func(i int) error) (sample, error) {
	c0, t0 := cpuNow(), time.Now()
	for i := range n {
		if err := f(i); err != nil {
			return sample{}, fmt.Errorf("call %d: %w", i, err)
		}
	}
	wall, cpu := time.Since(t0), cpuNow()-c0
	return sample{rate: float64(n) / wall.Seconds(), cpuMs: float64(cpu.Microseconds()) / 1000 / float64(n)}, nil
}

// simProc is a simulator running as `fsepuglia sim`.
type simProc struct {
	cmd    *exec.Cmd
	config string
	url    string
}

func startSim(dir string, extra ...string) (*simProc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "sim.log"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"sim", "--data-dir", dir, "--addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(*binPath, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &simProc{cmd: cmd}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		v = strings.TrimSpace(v)
		switch k {
		case "base URL":
			s.url = v
		case "client config":
			s.config = v
		}
		if s.config != "" {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if s.config == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("simulator did not start (see %s)", logf.Name())
	}
	return s, nil
}

func (s *simProc) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// vmHWM returns the simulator's peak resident set (VmHWM) in bytes.
func (s *simProc) vmHWM() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// docs builds n publish requests of about size bytes with distinct CDA ids.
func docs(tag string, n, size int) ([]adapter.PublishRequest, error) {
	return docsFor(publishPatient, tag, n, size)
}

func docsFor(cf, tag string, n, size int) ([]adapter.PublishRequest, error) {
	out := make([]adapter.PublishRequest, n)
	for i := range out {
		cda := pdfcdatest.CDA{PatientCF: cf, IDExtension: fmt.Sprintf("BENCH.%s.%d.%d", tag, time.Now().UnixNano(), i)}
		body := pdfcdatest.PDF{Attachment: cda.Bytes(), Sign: true, PadTo: size}.Bytes()
		rep := docmeta.InspectBytes(body, "bench.pdf", docmeta.Options{})
		if err := rep.Err(); err != nil {
			return nil, err
		}
		out[i] = adapter.PublishRequest{Metadata: rep.Metadata, Body: body}
	}
	return out, nil
}

func writeDocs(dir, tag string, n, size int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	reqs, err := docs(tag, n, size)
	if err != nil {
		return err
	}
	for i, r := range reqs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("doc%04d.pdf", i)), r.Body, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// captured is one request the library built, kept instead of sent.
type captured struct {
	body   []byte
	header http.Header
	url    string
}

// capture is an http.RoundTripper that sends the first request for real (to learn a real
// answer) and then keeps every request, answering with that first answer.
type capture struct {
	real   http.RoundTripper
	mu     sync.Mutex
	reqs   []captured
	answer []byte
	status int
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answer == nil {
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(b))
		res, err := c.real.RoundTrip(r2)
		if err != nil {
			return nil, err
		}
		ans, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		c.answer, c.status = ans, res.StatusCode
		return &http.Response{StatusCode: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(ans)), Request: r}, nil
	}
	c.reqs = append(c.reqs, captured{body: b, header: r.Header.Clone(), url: r.URL.String()})
	return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"text/xml; charset=utf-8"}},
		Body: io.NopCloser(bytes.NewReader(c.answer)), Request: r}, nil
}

// presign has the library build n envelopes by calling f n+1 times through a capture.
func presign(cfg adapter.Config, rt http.RoundTripper, n int, f func(c *adapter.Client, i int) error) ([]captured, error) {
	cp := &capture{real: rt}
	c, err := adapter.New(cfg, adapter.WithHTTPClient(&http.Client{Transport: cp}))
	if err != nil {
		return nil, err
	}
	for i := range n + 1 {
		if err := f(c, i); err != nil {
			return nil, err
		}
	}
	return cp.reqs, nil
}

func post(hc *http.Client, e captured) error {
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(e.body))
	if err != nil {
		return err
	}
	req.Header = e.header
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return nil
}

func httpClient(cfg adapter.Config) (*http.Client, error) {
	hc, _, err := transport.New(transport.Config{Environment: cfg.Environment, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
		PKCS12File: cfg.TLS.PKCS12File, KeyPassword: cfg.TLS.KeyPassword, CAFile: cfg.TLS.CAFile})
	return hc, err
}

func setConsents(ctx context.Context, c *adapter.Client) error {
	c2, _ := adapter.ParseConsentCode("C2")
	c3, _ := adapter.ParseConsentCode("C3")
	_, err := c.Consents.Set(ctx, adapter.ConsentChange{PatientCF: patient, Values: map[adapter.ConsentCode]bool{c2: true, c3: true}})
	return err
}

// seed publishes n small documents and records the consents, so that searches find pages.
func seed(ctx context.Context, c *adapter.Client, tag string, n int) error {
	if err := setConsents(ctx, c); err != nil {
		return fmt.Errorf("consents: %w", err)
	}
	reqs, err := docsFor(patient, tag, n, 20<<10)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if _, err := c.Documents.Publish(ctx, r); err != nil {
			return fmt.Errorf("seed publish: %w", err)
		}
	}
	return nil
}

// sigStats are the client's signature counts during its legs (Client.SignatureStats).
var sigStats = map[string]wssec.PresignStats{}

// startLegProfile starts the CPU profile of -profile-leg in round r (one file per round:
// cpuprofile.r, merged by go tool pprof when given them all).
func startLegProfile(r int) error {
	f, err := os.Create(fmt.Sprintf("%s.%d", *cpuProfile, r))
	if err != nil {
		return err
	}
	legProfile = f
	return pprof.StartCPUProfile(f)
}

var legProfile *os.File

var searchQuery = adapter.SearchQuery{PatientCF: patient, Limit: 100}

func signedLegs(dir string) error {
	s, err := startSim(filepath.Join(dir, "sim-signed"))
	if err != nil {
		return err
	}
	defer s.stop()
	cfg, err := adapter.LoadConfig(s.config)
	if err != nil {
		return err
	}
	ctx := context.Background()
	c, err := adapter.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := seed(ctx, c, "seed", seedDocs); err != nil {
		return err
	}
	hc, err := httpClient(cfg)
	if err != nil {
		return err
	}
	defer hc.CloseIdleConnections()
	res := series{}
	for r := range *rounds {
		// Both legs' inputs are made before either timer starts; the order alternates.
		sigs, err := presign(cfg, hc.Transport, *nSearch, func(c *adapter.Client, _ int) error {
			_, err := c.Documents.Search(ctx, searchQuery)
			return err
		})
		if err != nil {
			return fmt.Errorf("presign search: %w", err)
		}
		pubRaw, err := docs(fmt.Sprintf("raw%d", r), *nPublish+1, *docSize)
		if err != nil {
			return err
		}
		pubs, err := presign(cfg, hc.Transport, *nPublish, func(c *adapter.Client, i int) error {
			_, err := c.Documents.Publish(ctx, pubRaw[i])
			return err
		})
		if err != nil {
			return fmt.Errorf("presign publish: %w", err)
		}
		pubLib, err := docs(fmt.Sprintf("lib%d", r), *nPublish, *docSize)
		if err != nil {
			return err
		}
		legs := []struct {
			name string
			n    int
			f    func(int) error
		}{
			{"search/client", *nSearch, func(int) error { _, err := c.Documents.Search(ctx, searchQuery); return err }},
			{"search/raw", *nSearch, func(i int) error { return post(hc, sigs[i]) }},
			{"publish/client", *nPublish, func(i int) error { _, err := c.Documents.Publish(ctx, pubLib[i]); return err }},
			{"publish/raw", *nPublish, func(i int) error { return post(hc, pubs[i]) }},
		}
		order := []int{0, 1, 2, 3}
		if r%2 == 1 {
			order = []int{1, 0, 3, 2}
		}
		for _, k := range order {
			l := legs[k]
			if l.name == *profileLeg && *cpuProfile != "" {
				if err := startLegProfile(r); err != nil {
					return err
				}
			}
			var tf *os.File
			if l.name == *profileLeg && *traceFile != "" && r == 0 {
				if tf, err = os.Create(*traceFile); err != nil {
					return err
				}
				if err := trace.Start(tf); err != nil {
					return err
				}
			}
			st0 := c.SignatureStats()
			x, err := measure(l.n, l.f)
			if tf != nil {
				trace.Stop()
				tf.Close()
			}
			if l.name == *profileLeg && legProfile != nil {
				pprof.StopCPUProfile()
				legProfile.Close()
				legProfile = nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			res[l.name] = append(res[l.name], x)
			if strings.HasSuffix(l.name, "/client") {
				st := c.SignatureStats()
				sigs := sigStats[l.name]
				sigs.Used += st.Used - st0.Used
				sigs.Inline += st.Inline - st0.Inline
				sigs.Waited += st.Waited - st0.Waited
				sigs.Discarded += st.Discarded - st0.Discarded
				sigStats[l.name] = sigs
			}
		}
	}
	// Simulator throughput: sim-clients connections posting pre-signed statoConsensi at once
	// (the lightest signed operation: what is measured is the simulator's verification).
	var simRates, simCPUms []float64
	for range *rounds {
		per := make([][]captured, *simClients)
		for k := range per {
			if per[k], err = presign(cfg, hc.Transport, *nSim, func(c *adapter.Client, _ int) error {
				_, err := c.Consents.Status(ctx, patient)
				return err
			}); err != nil {
				return fmt.Errorf("presign statoConsensi: %w", err)
			}
		}
		clients := make([]*http.Client, *simClients)
		for k := range clients {
			if clients[k], err = httpClient(cfg); err != nil {
				return err
			}
			if err := post(clients[k], per[k][0]); err != nil { // connect before the timer
				return err
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, *simClients)
		cpu0 := s.simCPU()
		t0 := time.Now()
		for k := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, e := range per[k][1:] {
					if err := post(clients[k], e); err != nil {
						errs[k] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		wall := time.Since(t0)
		simCPU := s.simCPU() - cpu0
		for k := range clients {
			clients[k].CloseIdleConnections()
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("simulator throughput: %w", err)
		}
		n := float64(*simClients * (*nSim - 1))
		simRates = append(simRates, n/wall.Seconds())
		simCPUms = append(simCPUms, simCPU.Seconds()*1000/n)
	}

	fmt.Printf("\n## signed, mutual TLS, one kept-alive connection (simulator: separate process)\n")
	fmt.Printf("| operation | fsepuglia calls/s | client CPU ms/call | raw POST calls/s | raw CPU ms/call | ratio (goal ≥ 0.8) |\n|---|---|---|---|---|---|\n")
	for _, op := range []string{"search", "publish"} {
		a, b := res.median(op+"/client"), res.median(op+"/raw")
		label := fmt.Sprintf("searchDocuments (%d documents, limit 100)", seedDocs)
		if op == "publish" {
			label = fmt.Sprintf("addDocument %d KiB", *docSize>>10)
		}
		fmt.Printf("| %s | %.0f | %.2f | %.0f | %.2f | %.2f |\n", label, a.rate, a.cpuMs, b.rate, b.cpuMs, a.rate/b.rate)
	}
	for _, op := range []string{"search", "publish"} {
		st := sigStats[op+"/client"]
		fmt.Printf("fsepuglia %s, all rounds: %d messages with a prepared signature (%d of them waited for it), %d signed inline, %d prepared ones discarded\n",
			op, st.Used, st.Waited, st.Inline, st.Discarded)
	}
	fmt.Printf("\n## simulator throughput: %d connections posting pre-signed statoConsensi (goal ≥ 1,000 verified requests/s)\n", *simClients)
	// The simulator's own CPU per request does not move with the machine's load as the rate does.
	fmt.Printf("| requests/s (median of %d rounds) | simulator CPU ms/request |\n|---|---|\n| %.0f | %.2f |\n", *rounds, med(simRates), med(simCPUms))
	return nil
}

// peer runs one peer script for one operation and parses its "RESULT rate cpu_ms" line.
func peer(argv []string, env []string) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "RESULT" {
			rate, err1 := strconv.ParseFloat(f[1], 64)
			cpu, err2 := strconv.ParseFloat(f[2], 64)
			if err1 == nil && err2 == nil {
				return sample{rate: rate, cpuMs: cpu}, nil
			}
		}
	}
	return sample{}, fmt.Errorf("%s: no RESULT line\n%s", strings.Join(argv, " "), out)
}

// scriptDir is where the peers' scripts live (beside this file).
func scriptDir() string {
	for _, d := range []string{"cmd/fsepuglia/bench", "."} {
		if _, err := os.Stat(filepath.Join(d, "zeep_bench.py")); err == nil {
			return d
		}
	}
	return "cmd/fsepuglia/bench"
}

func peerLegs(dir string) error {
	s, err := startSim(filepath.Join(dir, "sim-relaxed"), "--plain-http", "--relaxed")
	if err != nil {
		return err
	}
	defer s.stop()
	cfg, err := adapter.LoadConfig(s.config)
	if err != nil {
		return err
	}
	cfg.Security.Disabled = true
	ctx := context.Background()
	c, err := adapter.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := seed(ctx, c, "pseed", seedDocs); err != nil {
		return err
	}
	type peerDef struct {
		name string
		argv func(op string, n int, docDir string) []string
		env  []string
	}
	sd := scriptDir()
	var peers []peerDef
	if err := exec.Command(*python, "-c", "import zeep").Run(); err != nil {
		fmt.Printf("\n(python3-zeep leg skipped: not importable from %s: apt-get install python3-zeep)\n", *python)
	} else {
		peers = append(peers, peerDef{name: "zeep", argv: func(op string, n int, docDir string) []string {
			return []string{*python, filepath.Join(sd, "zeep_bench.py"), s.url, op, strconv.Itoa(n), patient, docDir}
		}})
	}
	if *nodeModules == "" {
		fmt.Printf("\n(node-soap leg skipped: no -node-modules; make bench installs npm soap)\n")
	} else if _, err := os.Stat(filepath.Join(*nodeModules, "node_modules", "soap")); err != nil {
		fmt.Printf("\n(node-soap leg skipped: %s/node_modules/soap missing)\n", *nodeModules)
	} else {
		peers = append(peers, peerDef{name: "node-soap", argv: func(op string, n int, docDir string) []string {
			return []string{"node", filepath.Join(sd, "soap_bench.js"), s.url, op, strconv.Itoa(n), patient, docDir}
		}, env: []string{"NODE_PATH=" + filepath.Join(*nodeModules, "node_modules")}})
	}
	ops := []struct {
		name string
		n    int
	}{{"searchDocuments", *nPeer}, {"statoConsensi", *nPeer}, {"addDocument", max(*nPeer/5, 5)}}
	res := series{}
	for r := range *rounds {
		for _, o := range ops {
			var lib []adapter.PublishRequest
			if o.name == "addDocument" {
				if lib, err = docs(fmt.Sprintf("plib%d", r), o.n, *docSize); err != nil {
					return err
				}
			}
			type leg struct {
				name string
				f    func() (sample, error)
			}
			legs := []leg{{"fsepuglia", func() (sample, error) {
				return measure(o.n, func(i int) error {
					var err error
					switch o.name {
					case "searchDocuments":
						_, err = c.Documents.Search(ctx, searchQuery)
					case "statoConsensi":
						_, err = c.Consents.Status(ctx, patient)
					case "addDocument":
						_, err = c.Documents.Publish(ctx, lib[i])
					}
					return err
				})
			}}}
			for _, p := range peers {
				docDir := "-"
				if o.name == "addDocument" {
					docDir = filepath.Join(dir, "peerdocs", fmt.Sprintf("%s-%d", p.name, r))
					if err := writeDocs(docDir, fmt.Sprintf("%s%d", p.name, r), o.n, *docSize); err != nil {
						return err
					}
				}
				legs = append(legs, leg{p.name, func() (sample, error) { return peer(p.argv(o.name, o.n, docDir), p.env) }})
			}
			if r%2 == 1 {
				slices.Reverse(legs)
			}
			for _, l := range legs {
				x, err := l.f()
				if err != nil {
					return fmt.Errorf("%s %s: %w", l.name, o.name, err)
				}
				res[o.name+"/"+l.name] = append(res[o.name+"/"+l.name], x)
			}
		}
	}
	fmt.Printf("\n## unsigned, plain HTTP, relaxed simulator: fsepuglia vs independent SOAP stacks (calls/s, CPU ms/call of each client process)\n")
	fmt.Printf("| operation | fsepuglia | zeep | ratio | node-soap | ratio |\n|---|---|---|---|---|---|\n")
	for _, o := range ops {
		a := res.median(o.name + "/fsepuglia")
		line := fmt.Sprintf("| %s | %.0f (%.2f ms) |", o.name, a.rate, a.cpuMs)
		for _, p := range []string{"zeep", "node-soap"} {
			b := res.median(o.name + "/" + p)
			if b.rate == 0 {
				line += " skipped | |"
				continue
			}
			line += fmt.Sprintf(" %.0f (%.2f ms) | %.2f |", b.rate, b.cpuMs, a.rate/b.rate)
		}
		fmt.Println(line)
	}
	return nil
}

// maxRSS runs argv under /usr/bin/time -v and returns its "Maximum resident set size".
func maxRSS(env []string, argv ...string) (int64, error) {
	cmd := exec.Command("/usr/bin/time", append([]string{"-v"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Maximum resident set size (kbytes):"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no maximum resident set size in /usr/bin/time's output")
}

func rssLegs(dir string) error {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		fmt.Printf("\n(RSS legs skipped: /usr/bin/time missing: apt-get install time)\n")
		return nil
	}
	fmt.Printf("\n## peak RSS (VmHWM) ÷ document size, real binary under /usr/bin/time -v (goal: client ≤ 1.5, simulator ≤ 2)\n")
	fmt.Printf("| document | publish client | retrieve client | simulator after both |\n|---|---|---|---|\n")
	for _, f := range strings.Split(*rssSizes, ",") {
		mb, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-rss-sizes: %w", err)
		}
		size := mb * 1000 * 1000 // decimal MB: docmeta refuses files over 100 MiB
		s, err := startSim(filepath.Join(dir, fmt.Sprintf("sim-rss-%d", mb)), "--max-body", strconv.Itoa(2*size+(16<<20)))
		if err != nil {
			return err
		}
		cfg, err := adapter.LoadConfig(s.config)
		if err != nil {
			s.stop()
			return err
		}
		c, err := adapter.New(cfg)
		if err == nil {
			err = setConsents(context.Background(), c)
			c.Close()
		}
		if err != nil {
			s.stop()
			return err
		}
		reqs, err := docsFor(patient, fmt.Sprintf("rss%d", mb), 1, size)
		if err != nil {
			s.stop()
			return err
		}
		file := filepath.Join(dir, fmt.Sprintf("big%d.pdf", mb))
		if err := os.WriteFile(file, reqs[0].Body, 0o600); err != nil {
			s.stop()
			return err
		}
		reqs = nil
		cli := filepath.Join(dir, fmt.Sprintf("cli-%d", mb))
		env := []string{"XDG_CACHE_HOME=" + cli, "HOME=" + cli}
		base := []string{*binPath, "--config", s.config, "--data-dir", cli}
		pub, err := maxRSS(env, append(base, "publish", file)...)
		if err != nil {
			s.stop()
			return err
		}
		rep, err := docmeta.InspectFile(file, docmeta.Options{})
		if err != nil {
			s.stop()
			return err
		}
		out := filepath.Join(dir, fmt.Sprintf("back%d.pdf", mb))
		ret, err := maxRSS(env, append(base, "retrieve", "--patient", patient, "-o", out, rep.Metadata.UniqueID)...)
		if err != nil {
			s.stop()
			return err
		}
		if a, b := fileHash(file), fileHash(out); a == "" || a != b {
			s.stop()
			return fmt.Errorf("retrieved %d MB document differs from the published one", mb)
		}
		simHWM, err := s.vmHWM()
		s.stop()
		if err != nil {
			return err
		}
		fs := float64(size)
		fmt.Printf("| %d MB | %.2f (%d MB) | %.2f (%d MB) | %.2f (%d MB) |\n", mb, float64(pub)/fs, pub>>20, float64(ret)/fs, ret>>20, float64(simHWM)/fs, simHWM>>20)
		_ = os.Remove(file)
		_ = os.Remove(out)
	}
	return nil
}

func fileHash(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
