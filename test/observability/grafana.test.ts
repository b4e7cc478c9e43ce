import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { mountAt, type Rendered, renderedOverlay, repoYaml, service } from './compose.ts';

// Grafana's upstream image cannot be pulled, so Grafana cannot start here: this checks our side of the integration
// only, the provisioned data sources and the settings compose/observability.yml gives it.

interface Datasources {
  apiVersion: number;
  datasources: { name: string; type: string; url: string; access: string; editable: boolean }[];
}

const PROVISIONING = '/etc/grafana/provisioning/datasources';

describe('Grafana provisioning', () => {
  let compose: Rendered;
  const { datasources } = repoYaml<Datasources>('observability/grafana/provisioning/datasources/datasources.yml');
  before(async () => {
    compose = await renderedOverlay();
  });

  it('should point its data sources at Prometheus and Loki by their compose names, through its backend', () => {
    const byType = Object.fromEntries(datasources.map((source) => [source.type, source]));

    assert.equal(byType.prometheus?.url, 'http://prometheus:9090');
    assert.equal(byType.loki?.url, 'http://loki:3100');
    assert.ok(datasources.every((source) => source.access === 'proxy' && source.editable === false));
  });

  it('should reach both on a network it shares with them', () => {
    const networksOf = (name: string) => Object.keys(service(compose, name).networks ?? {});

    for (const target of ['prometheus', 'loki']) {
      const shared = networksOf('grafana').filter((network) => networksOf(target).includes(network));
      assert.ok(shared.length, `grafana shares no network with ${target}`);
    }
  });

  it('should read the folder compose mounts read-only', () => {
    const mount = mountAt(compose, 'grafana', PROVISIONING);

    assert.ok(mount.source?.endsWith('/observability/grafana/provisioning/datasources'), `from ${mount.source}`);
    assert.equal(mount.read_only, true);
  });

  it('should be served under /grafana/ by nginx, with no port of its own', () => {
    const grafana = service(compose, 'grafana');
    const environment = grafana.environment ?? {};

    assert.match(environment.GF_SERVER_ROOT_URL ?? '', /^https:\/\/[^/]+\/grafana\/$/);
    assert.equal(environment.GF_SERVER_SERVE_FROM_SUB_PATH, 'true');
    assert.ok(grafana.healthcheck?.test?.includes('http://127.0.0.1:3000/grafana/api/health'));
    assert.equal(grafana.ports, undefined);
    assert.ok('edge' in (grafana.networks ?? {}), 'nginx reaches it on the edge network');
  });

  it('should read its admin password and secret key from Docker secrets it is given', () => {
    const grafana = service(compose, 'grafana');
    const given = (grafana.secrets ?? []).map((secret) => secret.source);

    for (const variable of ['GF_SECURITY_ADMIN_PASSWORD__FILE', 'GF_SECURITY_SECRET_KEY__FILE']) {
      const path = grafana.environment?.[variable] ?? '';
      const secret = /^\/run\/secrets\/(\w+)$/.exec(path)?.[1] ?? '';
      assert.ok(given.includes(secret), `${variable}=${path} names no secret grafana is given (${given})`);
      assert.ok(compose.secrets[secret]?.file, `secret ${secret} comes from a file`);
    }
    assert.equal(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD, undefined);
  });
});
