// Prometheus metrics of one service instance, in its own registry (several instances can share a
// process in tests without mixing their counts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface LagSample {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

export interface ServiceMetrics {
  readonly registry: Registry;
  /** messages handled, by (physical) topic and outcome: ok | skipped | failed_scan | retry | dead_letter */
  readonly eventsHandled: Counter<'topic' | 'outcome'>;
  /** scans failed by this service, by stage and failure code */
  readonly failures: Counter<'stage' | 'code'>;
  /** duration of the work of a stage (resolve, fetch, analyze, merge, match) */
  readonly stageSeconds: Histogram<'stage'>;
  /** compressed layer bytes streamed from registries into the blob store */
  readonly bytesFetched: Counter;
  /** layer blobs downloaded into the store */
  readonly layersFetched: Counter;
  /** layers analyzed (not served from the layer cache) */
  readonly layersAnalyzed: Counter;
  /** layers found in the layer cache instead of being fetched or analyzed */
  readonly layerCacheHits: Counter<'stage'>;
  /** Prometheus text exposition of every metric */
  text(): Promise<string>;
  /** The current value of a counter or gauge (sum over labels matching `labels`), for tests and benchmarks. */
  value(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface MetricsOptions {
  service: string;
  /** consumer lag per group/topic/partition, read at scrape time */
  lag?: () => Promise<LagSample[]>;
  /** process-wide metrics (CPU, memory, event loop); off for extra instances in one process */
  processMetrics?: boolean;
}

export function createServiceMetrics(options: MetricsOptions): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'strata_process_max_rss_bytes',
    help: 'peak resident set size of this process',
    registers,
    collect() {
      this.set(process.resourceUsage().maxRSS * 1024);
    },
  });
  const lagSource = options.lag;
  if (lagSource) {
    new Gauge({
      name: 'strata_consumer_lag',
      help: 'messages not yet committed by the consumer group, per topic partition',
      labelNames: ['group', 'topic', 'partition'],
      registers,
      async collect() {
        this.reset();
        try {
          for (const s of await lagSource()) this.set({ group: s.group, topic: s.topic, partition: String(s.partition) }, s.lag);
        } catch {
          // The broker is unreachable: report no samples rather than fail the whole scrape.
        }
      },
    });
  }

  const metrics: ServiceMetrics = {
    registry,
    eventsHandled: new Counter({ name: 'strata_events_handled_total', help: 'messages handled by outcome', labelNames: ['topic', 'outcome'], registers }),
    failures: new Counter({ name: 'strata_scan_failures_total', help: 'scans failed by this service', labelNames: ['stage', 'code'], registers }),
    stageSeconds: new Histogram({
      name: 'strata_stage_duration_seconds',
      help: 'duration of stage work',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    bytesFetched: new Counter({ name: 'strata_bytes_fetched_total', help: 'layer bytes streamed from registries into the blob store', registers }),
    layersFetched: new Counter({ name: 'strata_layers_fetched_total', help: 'layer blobs downloaded into the blob store', registers }),
    layersAnalyzed: new Counter({ name: 'strata_layers_analyzed_total', help: 'layers analyzed', registers }),
    layerCacheHits: new Counter({ name: 'strata_layer_cache_hits_total', help: 'layers served from the layer cache', labelNames: ['stage'], registers }),
    text: () => registry.metrics(),
    async value(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name} in service ${options.service}`);
      const { values } = await metric.get();
      return values
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
  };
  return metrics;
}
