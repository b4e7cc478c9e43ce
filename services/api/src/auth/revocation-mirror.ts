import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Change } from './session-keys.js';
import { CHANNEL, ENDED_PREFIX, LOGOUT_ALL_PREFIX } from './session-keys.js';

// Every API instance keeps a copy of the ended sessions and "log out everywhere" times in memory, so checking an
// access token costs no Redis round trip. Redis stays the source of truth: writers change it, then publish the
// change on CHANNEL; every instance applies what it hears. An instance that stops hearing (its subscription broke,
// Redis is down or hangs) knows within STALE_AFTER_MS, because every instance publishes a heartbeat; until it has
// read the whole state again on a connection that stayed up throughout, `fresh()` is false and callers ask Redis
// instead (which fails closed when Redis cannot answer).

const HEARTBEAT_MS = 250;
export const STALE_AFTER_MS = 1_000;
const SWEEP_MS = 60_000;
const SCAN_BATCH = 1_000;
const RETRY_MS = 1_000;

interface Expiring {
  readonly value: number;
  readonly expiresAt: number;
}

export class RevocationMirror {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #log: Logger;
  readonly #ended = new Map<string, number>();
  readonly #logoutAll = new Map<string, Expiring>();
  #synced = false;
  #lastHeard = 0;
  /** Raised whenever the subscription drops: a full read counts only if no drop happened while it ran. */
  #connection = 0;
  #resyncing = false;
  #timers: NodeJS.Timeout[] = [];

  constructor(redis: Redis, log: Logger) {
    this.#redis = redis;
    this.#log = log;
    // A subscribed connection can do nothing else; it may queue its SUBSCRIBE until it is connected.
    this.#subscriber = redis.duplicate({ enableOfflineQueue: true, lazyConnect: true });
    this.#subscriber.on('error', () => {
      // The main connection logs Redis trouble; this one only becomes unsynced (below).
    });
    this.#subscriber.on('close', () => {
      this.#connection += 1;
      this.#synced = false;
    });
    this.#subscriber.on('message', (_channel: string, message: string) => this.#hear(message));
    // Connected again (ioredis resubscribes by itself): whatever was missed meanwhile, read it all again.
    this.#subscriber.on('ready', () => void this.#resync());
  }

  /** The password of the subscription's next login (its connection is a copy of the main one's settings). */
  useRedisPassword(password: string): void {
    this.#subscriber.options.password = password || undefined;
  }

  start(): void {
    this.#subscriber.connect().catch(() => undefined);
    const heartbeat = setInterval(() => this.#redis.publish(CHANNEL, 'heartbeat').catch(() => undefined), HEARTBEAT_MS);
    const sweep = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#timers = [heartbeat, sweep];
    for (const timer of this.#timers) timer.unref();
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#subscriber.disconnect();
  }

  /** True when this copy is known to be complete right now; otherwise ask Redis. */
  fresh(): boolean {
    return this.#synced && Date.now() - this.#lastHeard < STALE_AFTER_MS;
  }

  isEnded(family: string): boolean {
    const expiresAt = this.#ended.get(family);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  /** Sessions of this user started before this time (ms) are ended; 0 when there is no such time. */
  logoutAllOf(userId: string): number {
    const entry = this.#logoutAll.get(userId);
    return entry && entry.expiresAt > Date.now() ? entry.value : 0;
  }

  /** A change this instance just wrote to Redis: known here at once, before its message comes back. */
  remember(change: Change): void {
    if (change.kind === 'ended') {
      this.#ended.set(change.id, Math.max(change.expiresAt, this.#ended.get(change.id) ?? 0));
    } else if (change.before > this.logoutAllOf(change.id)) {
      this.#logoutAll.set(change.id, { value: change.before, expiresAt: change.expiresAt });
    }
  }

  #hear(message: string): void {
    this.#lastHeard = Date.now();
    if (message === 'heartbeat') return;
    try {
      this.remember(JSON.parse(message) as Change);
    } catch (error) {
      this.#log.error({ err: { message: (error as Error).message } }, 'unreadable revocation message; ignored');
    }
  }

  /**
   * Reads every ended session and logout-all time from Redis, once subscribed, so nothing written meanwhile is
   * missed (messages heard during the read are applied too). The copy is marked complete only if the subscription
   * stayed up from before the read to its end; otherwise, or on an error, it reads again a second later.
   */
  async #resync(): Promise<void> {
    this.#synced = false;
    if (this.#resyncing) return;
    this.#resyncing = true;
    const connection = this.#connection;
    try {
      await this.#subscriber.subscribe(CHANNEL);
      await this.#scan(`${ENDED_PREFIX}*`, async (keys) => {
        const ttls = await this.#redis.pipeline(keys.map((key) => ['pttl', key])).exec();
        keys.forEach((key, index) => {
          const ttl = Number(ttls?.[index]?.[1]);
          const id = key.slice(ENDED_PREFIX.length);
          if (ttl > 0) this.remember({ kind: 'ended', id, expiresAt: Date.now() + ttl });
        });
      });
      await this.#scan(`${LOGOUT_ALL_PREFIX}*`, async (keys) => {
        const answers = await this.#redis
          .pipeline(
            keys.flatMap((key) => [
              ['get', key],
              ['pttl', key],
            ]),
          )
          .exec();
        keys.forEach((key, index) => {
          const [before, ttl] = [Number(answers?.[2 * index]?.[1]), Number(answers?.[2 * index + 1]?.[1])];
          const id = key.slice(LOGOUT_ALL_PREFIX.length);
          if (ttl > 0) this.remember({ kind: 'logout-all', id, before, expiresAt: Date.now() + ttl });
        });
      });
      if (connection !== this.#connection) throw new Error('the subscription dropped during the read');
      this.#synced = true;
      this.#lastHeard = Date.now();
    } catch (error) {
      this.#log.warn(
        { err: { message: (error as Error).message } },
        'revocation copy not synced; asking Redis meanwhile',
      );
      setTimeout(() => {
        if (this.#subscriber.status === 'ready') void this.#resync();
      }, RETRY_MS).unref();
    } finally {
      this.#resyncing = false;
    }
  }

  async #scan(pattern: string, handle: (keys: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
      if (keys.length) await handle(keys);
      cursor = next;
    } while (cursor !== '0');
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, expiresAt] of this.#ended) if (expiresAt <= now) this.#ended.delete(id);
    for (const [id, { expiresAt }] of this.#logoutAll) if (expiresAt <= now) this.#logoutAll.delete(id);
  }
}
