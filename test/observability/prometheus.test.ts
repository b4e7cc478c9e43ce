import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../e2e/compose-stack.ts';
import { OVERLAY_FILES, type Rendered, renderedOverlay, repoYaml, service } from './compose.ts';

// Prometheus is our image (Debian's package), so it runs here: promtool checks the configuration baked into the
// image and the rules, and runs the rules' unit tests (observability/prometheus/alerts.test.yml), all inside the
// image built through compose/observability.yml. Needs the engine: the integration suite.

const run = promisify(execFile);
const RULES_DIR = 'observability/prometheus';

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs: { targets: string[] }[];
}
interface Rule {
  alert: string;
  expr: string;
}
interface RuleTests {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

/** promtool in the built image, with the rules folder of the checkout mounted read-only at /rules. */
async function promtool(image: string, ...args: string[]): Promise<string> {
  const mount = `${join(REPO_ROOT, RULES_DIR)}:/rules:ro`;
  const docker = ['run', '--rm', '--network', 'none', '-v', mount, '-w', '/rules', '--entrypoint', 'promtool', image];
  try {
    const { stdout } = await run('docker', [...docker, ...args]);
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`);
  }
}

describe('Prometheus image and rules', () => {
  let compose: Rendered;
  let image: string;
  const scrapes = repoYaml<{ scrape_configs: ScrapeConfig[] }>(`${RULES_DIR}/prometheus.yml`).scrape_configs;
  const groups = repoYaml<{ groups: { rules: Rule[] }[] }>(`${RULES_DIR}/alerts.yml`).groups;
  const alerts = groups.flatMap((group) => group.rules);

  before(async () => {
    compose = await renderedOverlay();
    image = service(compose, 'prometheus').image ?? '';
    const files = OVERLAY_FILES.flatMap((file) => ['-f', file]);
    await run('docker', ['compose', ...files, '--profile', 'observability', 'build', 'prometheus'], {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  });

  it('should accept the configuration baked into the image, rule files included', async () => {
    const output = await promtool(image, 'check', 'config', '/etc/prometheus/prometheus.yml');

    assert.match(output, /SUCCESS: \/etc\/prometheus\/prometheus\.yml is valid/);
    assert.match(output, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  it('should bake in the rules of the checkout', async () => {
    const { stdout } = await run('docker', ['run', '--rm', '--entrypoint', 'cat', image, '/etc/prometheus/alerts.yml']);

    assert.equal(stdout, readFileSync(join(REPO_ROOT, RULES_DIR, 'alerts.yml'), 'utf8'));
  });

  it("should pass the rules' unit tests", async () => {
    const output = await promtool(image, 'test', 'rules', 'alerts.test.yml');

    assert.match(output, /SUCCESS/);
  });

  it('should test every alert both firing and staying quiet', () => {
    const cases = repoYaml<RuleTests>(`${RULES_DIR}/alerts.test.yml`).tests.flatMap(
      (test) => test.alert_rule_test ?? [],
    );
    const firing = new Set(cases.filter((test) => test.exp_alerts?.length).map((test) => test.alertname));
    const quiet = new Set(cases.filter((test) => !test.exp_alerts?.length).map((test) => test.alertname));

    const untested = alerts.map((rule) => rule.alert).filter((name) => !firing.has(name) || !quiet.has(name));

    assert.deepEqual(untested, [], 'alerts without a case where they fire and one where they must not');
  });

  it('should alert on each scrape job that stops answering', () => {
    const watched = scrapes.filter((job) =>
      alerts.some((rule) => rule.expr.trim() === `up{job="${job.job_name}"} == 0`),
    );

    assert.deepEqual(
      watched.map((job) => job.job_name),
      scrapes.map((job) => job.job_name),
    );
  });

  it('should scrape the API and nginx where they serve metrics, on a network it shares with them', () => {
    const targets = Object.fromEntries(scrapes.map((job) => [job.job_name, job.static_configs[0]?.targets]));
    const networksOf = (name: string) => Object.keys(service(compose, name).networks ?? {});

    assert.deepEqual(targets.api, ['api:3000']);
    assert.deepEqual(targets.nginx, ['nginx:8081']);
    for (const target of ['api', 'nginx']) {
      assert.ok(
        networksOf('prometheus').some((network) => networksOf(target).includes(network)),
        target,
      );
    }
  });

  it('should alert on metrics the API and nginx really export', () => {
    const apiMetrics = readFileSync(join(REPO_ROOT, 'services/api/src/http/metrics.ts'), 'utf8');
    const nginxEntrypoint = readFileSync(join(REPO_ROOT, 'nginx/docker-entrypoint.sh'), 'utf8');
    const histogram = /name: '(\w+)'/.exec(apiMetrics)?.[1] ?? '';
    const exported = (metric: string) =>
      metric.startsWith(`${histogram}_`) ||
      // prom-client's default metrics (collectDefaultMetrics) and Prometheus's own.
      /^(process|nodejs)_/.test(metric) ||
      metric === 'up' ||
      new RegExp(`^${metric} `, 'm').test(nginxEntrypoint);
    const used = alerts.flatMap((rule) => [...rule.expr.matchAll(/\b([a-z_]+)\{/g)].map((match) => match[1] ?? ''));

    assert.ok(histogram, 'services/api/src/http/metrics.ts names its histogram');
    assert.match(apiMetrics, /labelNames = \['method', 'route', 'status'\]/);
    assert.deepEqual(
      used.filter((metric) => !exported(metric)),
      [],
    );
  });

  it('should keep its data on its volume, with a retention of time and size', () => {
    const prometheus = service(compose, 'prometheus');
    const volume = prometheus.volumes?.find((mount) => mount.type === 'volume');

    assert.ok(prometheus.command?.includes(`--storage.tsdb.path=${volume?.target}`), 'the TSDB is on the volume');
    assert.ok(prometheus.command?.some((flag) => /^--storage\.tsdb\.retention\.time=\d+d$/.test(flag)));
    assert.ok(prometheus.command?.some((flag) => /^--storage\.tsdb\.retention\.size=\d+GB$/.test(flag)));
  });
});
