import { request } from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One metric family of a `/metrics` page, as the Prometheus text-format parser reads it. */
export interface MetricFamily {
  readonly name: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly { readonly value?: string; readonly labels?: Readonly<Record<string, string>> }[];
}

/** The text of `url` (a `/metrics` endpoint); rejects on a status other than 200. */
export function scrapeMetrics(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${response.statusCode}`))));
    })
      .once('error', reject)
      .end();
  });
}

/** Parses Prometheus text with a real text-format parser (a page it cannot read throws). */
export function metricFamilies(text: string): MetricFamily[] {
  return parsePrometheusTextFormat(text);
}

/** The value of the sample of `name` whose labels include `labels`, or undefined. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const family = metricFamilies(text).find((candidate) => candidate.name === name);
  const sample = family?.metrics.find((metric) => Object.entries(labels).every(([key, label]) => metric.labels?.[key] === label));
  return sample?.value === undefined ? undefined : Number(sample.value);
}
