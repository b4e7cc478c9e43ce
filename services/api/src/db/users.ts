import type pg from 'pg';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly createdAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  password_hash: string;
  created_at: Date;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  passwordHash: row.password_hash,
  createdAt: row.created_at,
});

/** Emails are compared case-insensitively and without surrounding spaces. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class UserExistsError extends Error {
  override readonly name = 'UserExistsError';
}

export class UserStore {
  readonly #db: pg.Pool | pg.ClientBase;

  constructor(db: pg.Pool | pg.ClientBase) {
    this.#db = db;
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const sql = 'SELECT id, email, password_hash, created_at FROM users WHERE email = $1';
    const result = await this.#db.query<UserRow>(sql, [normaliseEmail(email)]);
    return result.rows[0] && toUser(result.rows[0]);
  }

  async findById(id: string): Promise<User | undefined> {
    const sql = 'SELECT id, email, password_hash, created_at FROM users WHERE id = $1';
    const result = await this.#db.query<UserRow>(sql, [id]);
    return result.rows[0] && toUser(result.rows[0]);
  }

  async create(email: string, passwordHash: string): Promise<User> {
    const sql = `INSERT INTO users (email, password_hash) VALUES ($1, $2)
                 ON CONFLICT (email) DO NOTHING RETURNING id, email, password_hash, created_at`;
    const result = await this.#db.query<UserRow>(sql, [normaliseEmail(email), passwordHash]);
    if (!result.rows[0]) throw new UserExistsError(`a user with the email ${normaliseEmail(email)} already exists`);
    return toUser(result.rows[0]);
  }
}
