import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

// Every API instance keeps a copy of the revoked sessions and user generations in memory, so checking a token
// costs no Redis round trip. Redis stays the source of truth: writers change it, then publish the change on
// CHANNEL; every instance applies what it hears. An instance that stops hearing (its subscription broke, Redis is
// down or hangs) knows within STALE_AFTER_MS, because every instance publishes a heartbeat; until it has read the
// whole state again, `fresh()` is false and callers ask Redis instead (which fails closed when Redis cannot answer).

export const CHANNEL = 'auth:revocations';
export const SESSION_PREFIX = 'auth:revoked-session:';
export const GENERATION_PREFIX = 'auth:generation:';
const HEARTBEAT_MS = 250;
export const STALE_AFTER_MS = 1_000;
const SWEEP_MS = 60_000;
const SCAN_BATCH = 1_000;
const RETRY_MS = 1_000;

export type Change =
  | { readonly kind: 'session'; readonly id: string; readonly expiresAt: number }
  | { readonly kind: 'generation'; readonly id: string; readonly value: number; readonly expiresAt: number };

interface Generation {
  readonly value: number;
  readonly expiresAt: number;
}

export class RevocationMirror {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #log: Logger;
  readonly #sessions = new Map<string, number>();
  readonly #generations = new Map<string, Generation>();
  #synced = false;
  #resyncing = false;
  #lastHeard = 0;
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
      this.#synced = false;
    });
    this.#subscriber.on('message', (_channel: string, message: string) => this.#hear(message));
    // Connected again (ioredis resubscribes by itself): whatever was missed meanwhile, read it all again.
    this.#subscriber.on('ready', () => void this.#resync());
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

  isSessionRevoked(family: string): boolean {
    const expiresAt = this.#sessions.get(family);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  generationOf(userId: string): number {
    const generation = this.#generations.get(userId);
    return generation && generation.expiresAt > Date.now() ? generation.value : 0;
  }

  #hear(message: string): void {
    this.#lastHeard = Date.now();
    if (message === 'heartbeat') return;
    try {
      this.#apply(JSON.parse(message) as Change);
    } catch (error) {
      this.#log.error({ err: { message: (error as Error).message } }, 'unreadable revocation message; ignored');
    }
  }

  /** A change this instance just wrote to Redis: known here at once, before its message comes back. */
  remember(change: Change): void {
    this.#apply(change);
  }

  #apply(change: Change): void {
    if (change.kind === 'session') {
      this.#sessions.set(change.id, change.expiresAt);
    } else if (change.value > this.generationOf(change.id)) {
      this.#generations.set(change.id, { value: change.value, expiresAt: change.expiresAt });
    }
  }

  /**
   * Reads every revoked session and generation from Redis, once subscribed, so nothing written meanwhile is missed
   * (messages heard during the read are applied too). Tries again every second until it succeeds or the
   * subscription drops (the next reconnect starts over).
   */
  async #resync(): Promise<void> {
    this.#synced = false;
    if (this.#resyncing) return;
    this.#resyncing = true;
    try {
      await this.#subscriber.subscribe(CHANNEL);
      await this.#scan(`${SESSION_PREFIX}*`, async (keys) => {
        const ttls = await this.#redis.pipeline(keys.map((key) => ['pttl', key])).exec();
        keys.forEach((key, index) => {
          const ttl = Number(ttls?.[index]?.[1]);
          if (ttl > 0)
            this.#apply({ kind: 'session', id: key.slice(SESSION_PREFIX.length), expiresAt: Date.now() + ttl });
        });
      });
      await this.#scan(`${GENERATION_PREFIX}*`, async (keys) => {
        const answers = await this.#redis
          .pipeline(
            keys.flatMap((key) => [
              ['get', key],
              ['pttl', key],
            ]),
          )
          .exec();
        keys.forEach((key, index) => {
          const [value, ttl] = [Number(answers?.[2 * index]?.[1]), Number(answers?.[2 * index + 1]?.[1])];
          const id = key.slice(GENERATION_PREFIX.length);
          if (ttl > 0) this.#apply({ kind: 'generation', id, value, expiresAt: Date.now() + ttl });
        });
      });
      this.#synced = true;
      this.#lastHeard = Date.now();
    } catch (error) {
      this.#log.warn(
        { err: { message: (error as Error).message } },
        'revocation copy not synced; asking Redis meanwhile',
      );
      if (this.#subscriber.status === 'ready') setTimeout(() => void this.#resync(), RETRY_MS).unref();
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
    for (const [id, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(id);
    for (const [id, { expiresAt }] of this.#generations) if (expiresAt <= now) this.#generations.delete(id);
  }
}

/** The message that tells every instance about a change just written to Redis. */
export function changeMessage(change: Change): string {
  return JSON.stringify(change);
}
