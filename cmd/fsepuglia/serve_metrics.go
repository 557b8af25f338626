package main

import (
	"context"
	"time"

	"github.com/fsepuglia/fsepuglia/adapter/queue"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serveMetrics are the Prometheus metrics of `fsepuglia serve`, all prefixed fsepuglia_.
type serveMetrics struct {
	reg       *prometheus.Registry
	enqueued  *prometheus.CounterVec
	sends     *prometheus.CounterVec
	settled   *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	intake    *prometheus.CounterVec
	api       *prometheus.CounterVec
	reloads   *prometheus.CounterVec
	certDays  *prometheus.GaugeVec
	storeErrs prometheus.Counter
}

// queueCollector reads the queue depth by state at each scrape.
type queueCollector struct {
	st   queue.Store
	desc *prometheus.Desc
	up   *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.up }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.st.Counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range queue.States {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

func newServeMetrics(st queue.Store) *serveMetrics {
	m := &serveMetrics{reg: prometheus.NewRegistry()}
	m.enqueued = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fsepuglia_enqueued_total",
		Help: "Documents newly enqueued, by source (api, watch)."}, []string{"source"})
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fsepuglia_sends_total",
		Help: "Transmissions of documents to the region by this instance, by outcome (ok, duplicate, error) and fault class."}, []string{"outcome", "fault_class"})
	m.settled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fsepuglia_items_settled_total",
		Help: "Claims settled by this instance, by the state they left the item in and the outcome."}, []string{"state", "outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fsepuglia_call_duration_seconds",
		Help:    "Duration of calls to the region made by the workers, by call (publish, lookup).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"call"})
	m.intake = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fsepuglia_intake_files_total",
		Help: "Files of the intake folder, by result (enqueued, invalid, done, failed)."}, []string{"result"})
	m.api = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fsepuglia_api_requests_total",
		Help: "API requests, by route and HTTP status code."}, []string{"route", "code"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fsepuglia_certificate_reloads_total",
		Help: "Reloads of the configuration and certificates (SIGHUP), by result."}, []string{"result"})
	m.certDays = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fsepuglia_certificate_expiry_days",
		Help: "Days until the certificate expires (negative once expired), by use (tls, signer)."}, []string{"use"})
	m.storeErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "fsepuglia_queue_errors_total",
		Help: "Errors of the queue store met by the workers (they keep going)."})
	m.reg.MustRegister(m.enqueued, m.sends, m.settled, m.latency, m.intake, m.api, m.reloads, m.certDays, m.storeErrs,
		&queueCollector{st: st,
			desc: prometheus.NewDesc("fsepuglia_queue_items", "Items in the queue by state (shared by every instance on the same queue).", []string{"state"}, nil),
			up:   prometheus.NewDesc("fsepuglia_queue_up", "1 when the queue answered the last scrape.", nil, nil)},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records a settled claim.
func (m *serveMetrics) observe(ev queue.Event) {
	if ev.Sent {
		outcome, class := "ok", ""
		switch {
		case ev.Item.State == queue.Done && ev.Item.Outcome == queue.AlreadyPresent:
			outcome = "duplicate"
		case ev.Item.State != queue.Done:
			outcome, class = "error", ev.Item.FaultClass
		}
		m.sends.WithLabelValues(outcome, class).Inc()
		m.latency.WithLabelValues("publish").Observe(ev.SendDuration.Seconds())
	}
	if ev.LookupDuration > 0 {
		m.latency.WithLabelValues("lookup").Observe(ev.LookupDuration.Seconds())
	}
	m.settled.WithLabelValues(string(ev.Item.State), string(ev.Item.Outcome)).Inc()
}
