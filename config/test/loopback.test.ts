import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from '../src/loopback.ts';

const LOOPBACK = [
  'localhost',
  'LOCALHOST',
  'localhost.',
  'db.localhost',
  'ip6-localhost',
  'ip6-loopback',
  '127.0.0.1',
  '127.10.20.30',
  '127.1',
  '2130706433',
  '0.0.0.0',
  '0',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '::',
  '::ffff:127.0.0.1',
  '0177.0.0.1',
  '0x7f000001',
  '0x7f.1',
  '017700000001',
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:7f00:1',
];
const ELSEWHERE = [
  'postgres',
  'redis',
  'db.example.vn',
  '10.0.0.5',
  '172.18.0.2',
  '::ffff:10.0.0.1',
  '2001:db8::1',
  '0x0a.1',
  '128.0.0.1',
];

describe('isLoopbackHost', () => {
  for (const host of LOOPBACK) {
    it(`should see "${host}" as this machine`, () => {
      assert.equal(isLoopbackHost(host), true);
    });
  }

  for (const host of ELSEWHERE) {
    it(`should see "${host}" as another machine`, () => {
      assert.equal(isLoopbackHost(host), false);
    });
  }
});
