import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { REPO_ROOT } from '../e2e/compose-stack.ts';
import { isUnder, mountAt, type Rendered, renderedOverlay, service } from './compose.ts';

// Grafana Alloy's upstream image cannot be pulled, so Alloy cannot start here: this checks our side of the
// integration only, observability/alloy/config.alloy against the mounts compose/observability.yml gives it.
// Alloy's own syntax check (`alloy fmt`) is for a machine with a registry (issue #6).

const CONFIG_DIR = '/etc/pdpl-alloy';
const config = readFileSync(join(REPO_ROOT, 'observability/alloy/config.alloy'), 'utf8');

/** The string values an Alloy attribute takes in the file, e.g. every `url = "…"`. */
function attributeValues(text: string, attribute: string): string[] {
  return [...text.matchAll(new RegExp(`"?${attribute.replace('.', '\\.')}"?\\s*=\\s*"([^"]*)"`, 'g'))].map(
    (match) => match[1] ?? '',
  );
}

describe('Alloy configuration', () => {
  let compose: Rendered;
  before(async () => {
    compose = await renderedOverlay();
  });

  it('should be the file compose mounts read-only and runs', () => {
    const mount = mountAt(compose, 'alloy', CONFIG_DIR);

    assert.ok(mount.source?.endsWith('/observability/alloy'), `mounted from ${mount.source}`);
    assert.equal(mount.read_only, true);
    assert.ok(service(compose, 'alloy').command?.includes(`${CONFIG_DIR}/config.alloy`));
  });

  it("should push to Loki's push endpoint by its compose name", () => {
    assert.deepEqual(attributeValues(config, 'url'), ['http://loki:3100/loki/api/v1/push']);
  });

  it('should read the log files of the folder mounted read-only, and nothing else of the host', () => {
    const [glob = ''] = attributeValues(config, '__path__');
    const folder = glob.slice(0, glob.indexOf('*')).replace(/\/$/, '');
    const mount = mountAt(compose, 'alloy', folder);

    assert.match(glob, /^\/var\/lib\/docker\/containers\/\*\/\*-json\.log$/);
    assert.equal(mount.type, 'bind');
    assert.equal(mount.read_only, true);
    const writableBinds = (service(compose, 'alloy').volumes ?? []).filter(
      (candidate) => candidate.type === 'bind' && candidate.read_only !== true,
    );
    assert.deepEqual(writableBinds, [], 'no host folder is writable');
  });

  it('should label each line with the service name that every service writes into its log', () => {
    const unlabelled = Object.entries(compose.services)
      .filter(([, candidate]) => candidate.logging?.options?.labels !== 'com.docker.compose.service')
      .map(([name]) => name);

    assert.match(config, /service = "attrs\.\\"com\.docker\.compose\.service\\""/);
    assert.ok(Object.keys(compose.services).length >= 9, 'the core services and the overlay both rendered');
    assert.deepEqual(unlabelled, [], 'every service names itself in its log lines');
  });

  it('should keep its positions on its own volume', () => {
    const storage = service(compose, 'alloy').command?.find((argument) => argument.startsWith('--storage.path='));
    const path = storage?.slice('--storage.path='.length) ?? '';
    const volume = service(compose, 'alloy').volumes?.find((mount) => mount.type === 'volume');

    assert.ok(volume && isUnder(path, volume.target), `--storage.path ${path} is not on a volume`);
  });

  it('should never be given the Docker socket, nor any capability to make up for root', () => {
    for (const [name, candidate] of Object.entries(compose.services)) {
      const socket = candidate.volumes?.find((mount) => mount.source?.endsWith('docker.sock'));
      assert.equal(socket, undefined, `${name} mounts the Docker socket`);
    }
    assert.equal(service(compose, 'alloy').cap_add, undefined);
    assert.deepEqual(Object.keys(service(compose, 'alloy').networks ?? {}), ['observability']);
  });
});
