import { describe, expect, it } from 'vitest';
import { chartSvg, domainOf, position, ticksOf } from '../../../bench/chart.js';
import {
  PRICES,
  dynamoMonthly,
  elasticDataTierGb,
  elasticMonthly,
  extrapolateRun,
  filterLogEventsPages,
  fixedMonthly,
  guardDutyMonthly,
  ingestionMonthly,
  insightsScanMonthly,
  lambdaMonthly,
  lambdaMsPerRun,
  monthlyCost,
  runsPerMonth,
  snsMonthly,
  type RunMeasurement,
} from '../../../bench/cost-model.js';

// Every expected value below was worked out by hand from the formula and the price named.

const run = (over: Partial<RunMeasurement> = {}): RunMeasurement => ({
  hosts: 100,
  events: 6000,
  cpuMs: 100,
  wallMs: 150,
  store: { requests: 10, readUnits: 100, writeUnits: 200 },
  snsPublishes: 1,
  filterLogEventsPages: 5,
  filterLogEventsBytes: 2_000_000,
  tableBytes: 0,
  ...over,
});

describe('cost model arithmetic', () => {
  it('counts 2,920 runs a month (730 hours, every 15 minutes)', () => {
    expect(runsPerMonth()).toBe(2920);
  });

  it('counts FilterLogEvents pages by 10,000 events or 1 MB, at least one', () => {
    expect(filterLogEventsPages(0, 0)).toBe(1);
    expect(filterLogEventsPages(10_000, 10)).toBe(1);
    expect(filterLogEventsPages(10_001, 10)).toBe(2);
    expect(filterLogEventsPages(5, 1_048_577)).toBe(2);
    expect(filterLogEventsPages(25_000, 3_500_000)).toBe(4);
  });

  it('stretches CPU time to a 512 MB share of a vCPU and adds the waits per request', () => {
    // 100 ms x 1769/512 = 345.508 ms; waits 10 x 10 + 1 x 20 + 5 x 100 = 620 ms.
    expect(lambdaMsPerRun(run())).toBeCloseTo(965.508, 3);
  });

  it('prices Lambda requests and arm64 GB-seconds', () => {
    // 2920 x $0.20/M = $0.000584; 2920 x 1 s x 0.5 GB x $0.0000133334 = $0.019466764.
    expect(lambdaMonthly(1000)).toBeCloseTo(0.020050764, 9);
  });

  it('prices DynamoDB request units at the post-November-2024 rates, plus storage', () => {
    // 2920 x (100 x $0.125/M + 200 x $0.625/M) = 2920 x $0.0001375 = $0.4015; 1 GB x $0.25.
    expect(dynamoMonthly({ requests: 10, readUnits: 100, writeUnits: 200 }, 1e9)).toBeCloseTo(0.6515, 6);
    expect(PRICES.dynamoWriteUnit.value).toBeCloseTo(0.625e-6, 12);
  });

  it('prices SNS: measured publishes plus 30 alerts a month, each with an email delivery', () => {
    // 30 x ($0.0000005 + $0.00002) = $0.000615; plus 2920 x 2 x $0.0000005 = $0.00292.
    expect(snsMonthly(0)).toBeCloseTo(0.000615, 9);
    expect(snsMonthly(2)).toBeCloseTo(0.003535, 9);
  });

  it('sums the fixed monthly items', () => {
    // key $1 + 5,840 KMS requests x $0.000003 ($0.01752) + 8 alarms ($0.80) + 1 dashboard ($3)
    // + 15 metrics ($4.50) + 2920 x 4096 B = 0.01196 GB x $0.50 ($0.0059802).
    expect(fixedMonthly()).toBeCloseTo(9.3235, 4);
  });

  it('scans each ingested byte three times in the Logs Insights mode', () => {
    // Window: 1000 hosts x 1e8 B x 45/1440 = 3.125 GB; 2920 x 3.125 GB x $0.005 = $45.625.
    expect(insightsScanMonthly(1000, 1e8)).toBeCloseTo(45.625, 6);
    // The same as 3 x the month's ingested GB x $0.005.
    const monthlyGb = (1000 * 1e8 * (730 / 24)) / 1e9;
    expect(insightsScanMonthly(1000, 1e8)).toBeCloseTo(3 * monthlyGb * 0.005, 6);
  });

  it('prices ingestion at $0.50 per GB over 730/24 days', () => {
    // 1000 x 1e8 B x 30.41667 days = 3041.667 GB x $0.50.
    expect(ingestionMonthly(1000, 1e8)).toBeCloseTo(1520.833, 3);
  });

  it('tiers GuardDuty Runtime Monitoring per vCPU', () => {
    expect(guardDutyMonthly(100)).toBe(300); // 200 vCPUs x $1.50
    expect(guardDutyMonthly(250)).toBe(750); // exactly the first tier
    expect(guardDutyMonthly(1000)).toBe(1875); // 500 x 1.50 + 1500 x 0.75
    expect(guardDutyMonthly(10_000)).toBe(7875); // 750 + 4500 x 0.75 + 15000 x 0.25
  });

  it('sizes the Elastic hot tier by 30 days of telemetry at 45 GB of disk per GB of RAM, at least 1 GB', () => {
    // 100 x 1e8 B x 30 days = 300 GB / 45 = 6.67 -> 7 GB.
    expect(elasticDataTierGb(100, 1e8)).toBe(7);
    expect(elasticDataTierGb(1, 1000)).toBe(1);
    // ML 1 GB + Kibana 1 GB = 2 GB x 730 h x $0.10 = $146; + 7 GB x 730 x $0.10 = $511.
    const e = elasticMonthly(100, 1e8, 0.1);
    expect(e.mlOnly).toBeCloseTo(146, 9);
    expect(e.withData).toBeCloseTo(657, 9);
  });

  it('adds the parts of each mode into its total', () => {
    const c = monthlyCost({ run: run(), telemetryBytesPerHostDay: 1e8 });
    const f = c.filterLogEvents;
    expect(f.total).toBeCloseTo(f.lambda + f.dynamo + f.sns + f.fixed, 12);
    expect(c.insights.total).toBeCloseTo(c.insights.lambda + c.insights.scan + c.insights.dynamo + c.insights.sns + c.insights.fixed, 12);
    expect(c.insights.scan).toBeCloseTo(4.5625, 6); // 100 hosts: a tenth of the 1000-host case
    expect(c.guardDuty).toBe(300);
  });

  it('extrapolates per-host quantities linearly and keeps store usage', () => {
    const x = extrapolateRun(run(), 1000);
    expect(x.hosts).toBe(1000);
    expect(x.cpuMs).toBe(1000);
    expect(x.filterLogEventsPages).toBe(50);
    expect(x.events).toBe(60_000);
    expect(x.store).toEqual(run().store);
  });

  it('gives every price a source, a date and a status', () => {
    for (const price of Object.values(PRICES)) {
      expect(price.source).toMatch(/^https:\/\//);
      expect(price.date).toMatch(/^\d{4}(-\d{2}(-\d{2})?)?$/);
      expect(['found', 'memory']).toContain(price.status);
    }
  });
});

describe('chart writer', () => {
  it('places values on log axes by powers of ten', () => {
    expect(domainOf([120, 9000], 'log')).toEqual([100, 10_000]);
    expect(ticksOf([100, 10_000], 'log')).toEqual([100, 1000, 10_000]);
    expect(position(1000, [100, 10_000], 'log')).toBeCloseTo(0.5, 12);
    expect(domainOf([3, 7], 'linear')).toEqual([0, 8]);
  });

  it('writes an SVG with a legend entry per series and escaped text', () => {
    const svg = chartSvg({
      title: 'cost <&> size',
      panels: [
        {
          title: 'p',
          xLabel: 'hosts',
          yLabel: '$',
          xScale: 'log',
          yScale: 'log',
          series: [
            { name: 'one', color: '#000', points: [[100, 1], [1000, 10]] },
            { name: 'two', color: '#f00', points: [[100, 0], [1000, 5]], dashed: true },
          ],
        },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('cost &lt;&amp;&gt; size');
    expect(svg).toContain('>one</text>');
    expect(svg).toContain('>two</text>');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    // A zero cannot sit on a log axis: it is left out of the line.
    expect(svg.match(/<circle/g)).toHaveLength(3);
  });
});
