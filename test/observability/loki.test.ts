import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { isUnder, mountAt, type Rendered, renderedOverlay, repoYaml, service } from './compose.ts';

// Loki's upstream image cannot be pulled, so Loki cannot start here: this checks our side of the integration only,
// observability/loki/loki.yml against compose/observability.yml (where it writes, that it forgets, who reaches it).
// Upstream's own validation (`loki -verify-config`) is for a machine with a registry (issue #6).

interface LokiConfig {
  auth_enabled: boolean;
  server: { http_listen_port: number };
  common: { path_prefix: string; storage: { filesystem: { chunks_directory: string; rules_directory: string } } };
  storage_config: { tsdb_shipper: { active_index_directory: string; cache_location: string } };
  ingester: { wal: { dir: string } };
  compactor: { working_directory: string; retention_enabled: boolean; delete_request_store?: string };
  limits_config: { retention_period: string };
  schema_config: { configs: { object_store: string; store: string }[] };
}

const CONFIG_IN_CONTAINER = '/etc/loki/pdpl.yml';

describe('Loki configuration', () => {
  let compose: Rendered;
  const loki = repoYaml<LokiConfig>('observability/loki/loki.yml');
  before(async () => {
    compose = await renderedOverlay();
  });

  it('should be the file compose mounts read-only and names on the command line', () => {
    const mount = mountAt(compose, 'loki', CONFIG_IN_CONTAINER);

    assert.equal(mount.source?.endsWith('/observability/loki/loki.yml'), true, `mounted from ${mount.source}`);
    assert.equal(mount.read_only, true);
    assert.deepEqual(service(compose, 'loki').command, [`-config.file=${CONFIG_IN_CONTAINER}`]);
  });

  it('should write every path on its named volume, none on the read-only root', () => {
    const volume = service(compose, 'loki').volumes?.find((mount) => mount.type === 'volume');
    assert.ok(volume, 'loki has a named volume');
    const paths = {
      'common.path_prefix': loki.common.path_prefix,
      chunks_directory: loki.common.storage.filesystem.chunks_directory,
      rules_directory: loki.common.storage.filesystem.rules_directory,
      'tsdb_shipper.active_index_directory': loki.storage_config.tsdb_shipper.active_index_directory,
      'tsdb_shipper.cache_location': loki.storage_config.tsdb_shipper.cache_location,
      'ingester.wal.dir': loki.ingester.wal.dir,
      'compactor.working_directory': loki.compactor.working_directory,
    };

    const outside = Object.entries(paths).filter(([, path]) => !isUnder(path, volume.target));

    assert.deepEqual(outside, [], `paths outside the volume at ${volume.target}`);
    assert.ok(loki.schema_config.configs.every((schema) => schema.object_store === 'filesystem'));
  });

  it('should delete logs past a retention period', () => {
    assert.equal(loki.compactor.retention_enabled, true);
    // Loki 3 refuses retention without a store for delete requests.
    assert.equal(loki.compactor.delete_request_store, 'filesystem');
    assert.match(loki.limits_config.retention_period, /^[1-9]\d*[hdw]$/, 'a non-zero retention period');
  });

  it('should answer on the port its healthcheck, Alloy and Grafana use, on the internal network alone', () => {
    const port = loki.server.http_listen_port;
    const lokiService = service(compose, 'loki');

    assert.ok(lokiService.healthcheck?.test?.includes(`-health.url=http://127.0.0.1:${port}/ready`));
    assert.deepEqual(Object.keys(lokiService.networks ?? {}), ['observability']);
    assert.equal(compose.networks.observability?.internal, true);
    assert.equal(lokiService.ports, undefined, 'Loki publishes no port');
    // No authentication: safe only because nothing but the internal network reaches it.
    assert.equal(loki.auth_enabled, false);
  });
});
