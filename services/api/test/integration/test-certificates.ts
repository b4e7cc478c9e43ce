import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAKE_TLS_CERTS = fileURLToPath(new URL('../../../../scripts/make-tls-certs.sh', import.meta.url));

let made: string | undefined;

/**
 * A platform CA and the data services' pairs, made once per test process by the script operators run
 * (scripts/make-tls-certs.sh): tls/ca.crt, tls/postgres.{crt,key}, tls/redis.{crt,key}. Returns the tls folder.
 */
export function testCertificates(): string {
  made ??= makeCertificates();
  return made;
}

/** Another CA with the same files, which the platform's clients must not trust. */
export function foreignCertificates(): string {
  return makeCertificates();
}

function makeCertificates(): string {
  const root = mkdtempSync(join(tmpdir(), 'pdpl-test-tls-'));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'secrets');
  execFileSync('bash', [MAKE_TLS_CERTS], {
    env: { ...process.env, PDPL_SECRETS_DIR: dir, PDPL_SECRETS_GID: String(process.getgid?.() ?? 0) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(dir, 'tls');
}

/** The range the Docker engine's default bridge gives containers; connections to published ports come from it. */
export function bridgeNetwork(): string {
  const format = '{{range .IPAM.Config}}{{.Subnet}} {{end}}';
  const subnets = execFileSync('docker', ['network', 'inspect', 'bridge', '--format', format], { encoding: 'utf8' });
  const ipv4 = subnets.split(' ').find((subnet) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(subnet));
  if (!ipv4)
    throw new Error(`the default bridge network has no IPv4 range (docker network inspect bridge): ${subnets}`);
  return ipv4;
}
