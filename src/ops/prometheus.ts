/**
 * A small metrics registry (counters, gauges, histograms with labels) and its rendering in the
 * Prometheus text exposition format, version 0.0.4.
 *
 * Why not prom-client: it is written for Node (cluster, perf_hooks, default process metrics),
 * pulls in further packages, and importing it costs 74–90 ms here against well under 1 ms for
 * this file; ftpgate needs three metric types and a text renderer, about 250 lines.
 *
 * Format rules followed (Prometheus "Exposition formats", text format 0.0.4):
 * - one `# HELP` and one `# TYPE` line per metric family, before its samples; HELP text escapes
 *   `\` and line feeds, label values escape `\`, `"` and line feeds;
 * - histograms expose cumulative `_bucket{le="..."}` series ending in `le="+Inf"` (equal to
 *   `_count`), then `_sum` and `_count`;
 * - values are Go-style floats: `+Inf`, `-Inf`, `NaN`;
 * - the content type is `text/plain; version=0.0.4; charset=utf-8`.
 *
 * Updates are plain field increments on a child looked up once: cheap enough for a listener on
 * the server's hot path.
 *
 * @module
 */

/** The `Content-Type` of {@linkcode Registry.render}'s output. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Separates label values in a series key; label values are bounded sets, never raw input. */
const KEY_SEPARATOR = "\u0000";

/** What every metric is declared with. */
export interface MetricOptions {
  /** `snake_case`, with the unit as a suffix (`_seconds`, `_bytes`) and `_total` for counters. */
  name: string;
  /** One sentence for `# HELP`. */
  help: string;
  /** Label names, in the order `labels()` takes their values. */
  labels?: readonly string[];
}

/** Options of a histogram. */
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds, ascending; `+Inf` is added. */
  buckets: readonly number[];
}

/**
 * A value as the exposition format writes it.
 *
 * @example
 * ```ts
 * import { formatValue } from "./prometheus.ts";
 * formatValue(Infinity); // "+Inf"
 * ```
 */
export function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}

/**
 * A label value, quoted and escaped: backslash, double quote and line feed.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./prometheus.ts";
 * escapeLabelValue('a"b'); // "\"a\\\"b\""
 * ```
 */
export function escapeLabelValue(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  if (names.length === 0 && extra === "") return "";
  const parts = names.map((name, i) => `${name}=${escapeLabelValue(values[i])}`);
  if (extra !== "") parts.push(extra);
  return `{${parts.join(",")}}`;
}

abstract class Metric<Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly children = new Map<string, { values: readonly string[]; child: Child }>();
  abstract readonly type: "counter" | "gauge" | "histogram";

  constructor(options: MetricOptions) {
    if (!METRIC_NAME.test(options.name)) throw new TypeError(`Bad metric name: ${options.name}`);
    for (const label of options.labels ?? []) {
      if (!LABEL_NAME.test(label) || label.startsWith("__") || label === "le") {
        throw new TypeError(`Bad label name: ${label}`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labels ?? [];
  }

  protected abstract create(): Child;

  /** The series for these label values (in declaration order), created at 0 on first use. */
  labels(...values: string[]): Child {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`${this.name} takes ${this.labelNames.length} label values`);
    }
    const key = values.join(KEY_SEPARATOR);
    let entry = this.children.get(key);
    if (entry === undefined) {
      entry = { values, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** Forgets every series (a gauge refilled from a snapshot). */
  reset(): void {
    this.children.clear();
  }

  /** Appends this family's lines. */
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    // A metric without labels is always shown, at 0 until it moves.
    if (this.labelNames.length === 0 && this.children.size === 0) this.labels();
    for (const { values, child } of this.children.values()) this.renderChild(out, values, child);
  }

  protected abstract renderChild(out: string[], values: readonly string[], child: Child): void;
}

/** One series of a counter. */
export interface CounterChild {
  /** Adds `amount` (default 1); a negative amount is ignored, a counter only goes up. */
  inc(amount?: number): void;
  readonly value: number;
}

class CounterSeries implements CounterChild {
  value = 0;
  inc(amount = 1): void {
    if (amount > 0) this.value += amount;
  }
}

/**
 * A value that only goes up (resets only with the process).
 *
 * @example
 * ```ts
 * import { Registry } from "./prometheus.ts";
 * const registry = new Registry();
 * const logins = registry.counter({ name: "logins_total", help: "Logins.", labels: ["result"] });
 * logins.labels("ok").inc();
 * ```
 */
export class Counter extends Metric<CounterChild> {
  readonly type = "counter";
  protected create(): CounterChild {
    return new CounterSeries();
  }
  /** Adds to the series without labels. */
  inc(amount = 1): void {
    this.labels().inc(amount);
  }
  protected renderChild(out: string[], values: readonly string[], child: CounterChild): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(child.value)}`);
  }
}

/** One series of a gauge. */
export interface GaugeChild {
  set(value: number): void;
  inc(amount?: number): void;
  readonly value: number;
}

class GaugeSeries implements GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(amount = 1): void {
    this.value += amount;
  }
}

/**
 * A value that goes up and down.
 *
 * @example
 * ```ts
 * import { Registry } from "./prometheus.ts";
 * const registry = new Registry();
 * registry.gauge({ name: "sessions_open", help: "Open sessions." }).set(3);
 * ```
 */
export class Gauge extends Metric<GaugeChild> {
  readonly type = "gauge";
  protected create(): GaugeChild {
    return new GaugeSeries();
  }
  /** Sets the series without labels. */
  set(value: number): void {
    this.labels().set(value);
  }
  protected renderChild(out: string[], values: readonly string[], child: GaugeChild): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(child.value)}`);
  }
}

/** One series of a histogram. */
export interface HistogramChild {
  observe(value: number): void;
  readonly count: number;
  readonly sum: number;
}

class HistogramSeries implements HistogramChild {
  count = 0;
  sum = 0;
  /** Observations per bucket, not cumulative; the last slot is `+Inf`. */
  readonly counts: number[];
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array(bounds.length + 1).fill(0);
  }
  observe(value: number): void {
    if (Number.isNaN(value)) return;
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.counts[i]++;
    this.count++;
    this.sum += value;
  }
}

/**
 * Observations counted into buckets, with their sum and count.
 *
 * @example
 * ```ts
 * import { Registry } from "./prometheus.ts";
 * const registry = new Registry();
 * const seconds = registry.histogram({ name: "duration_seconds", help: "Time.", buckets: [0.1, 1] });
 * seconds.observe(0.25);
 * ```
 */
export class Histogram extends Metric<HistogramChild> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  constructor(options: HistogramOptions) {
    super(options);
    const buckets = options.buckets.filter((b) => b !== Infinity);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new TypeError(`${this.name}: buckets must ascend`);
    }
    this.buckets = buckets;
  }
  protected create(): HistogramChild {
    return new HistogramSeries(this.buckets);
  }
  /** Observes into the series without labels. */
  observe(value: number): void {
    this.labels().observe(value);
  }
  protected renderChild(out: string[], values: readonly string[], child: HistogramChild): void {
    const series = child as HistogramSeries;
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += series.counts[i];
      const le = i < this.buckets.length ? formatValue(this.buckets[i]) : "+Inf";
      out.push(
        `${this.name}_bucket${labelText(this.labelNames, values, `le="${le}"`)} ${cumulative}`,
      );
    }
    const labels = labelText(this.labelNames, values);
    out.push(`${this.name}_sum${labels} ${formatValue(series.sum)}`);
    out.push(`${this.name}_count${labels} ${series.count}`);
  }
}

/**
 * A set of metrics rendered together.
 *
 * @example
 * ```ts
 * import { Registry } from "./prometheus.ts";
 * const registry = new Registry();
 * registry.counter({ name: "requests_total", help: "Requests." }).inc();
 * registry.render(); // "# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total 1\n"
 * ```
 */
export class Registry {
  readonly #metrics = new Map<string, Metric<unknown>>();
  readonly #collectors: (() => void)[] = [];

  #add<M extends Metric<unknown>>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new TypeError(`Duplicate metric ${metric.name}`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  counter(options: MetricOptions): Counter {
    return this.#add(new Counter(options));
  }

  gauge(options: MetricOptions): Gauge {
    return this.#add(new Gauge(options));
  }

  histogram(options: HistogramOptions): Histogram {
    return this.#add(new Histogram(options));
  }

  /** Runs `collect` before every render: where gauges are refreshed from a snapshot. */
  beforeRender(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** The whole registry in the text exposition format, ending in a line feed. */
  render(): string {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch { /* a failed collector leaves its gauges as they were */ }
    }
    const out: string[] = [];
    for (const metric of this.#metrics.values()) metric.render(out);
    return out.join("\n") + "\n";
  }
}
