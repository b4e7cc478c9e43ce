import type pg from 'pg';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly createdAt: Date;
}

export type Profile = Pick<User, 'id' | 'email' | 'createdAt'>;

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

  /** What a user may read about themselves: never the password hash. A prepared statement, parsed once. */
  async profileOf(id: string): Promise<Profile | undefined> {
    const query = { name: 'user-profile', text: 'SELECT id, email, created_at FROM users WHERE id = $1', values: [id] };
    const row = (await this.#db.query<Omit<UserRow, 'password_hash'>>(query)).rows[0];
    return row && { id: row.id, email: row.email, createdAt: row.created_at };
  }

  async exists(id: string): Promise<boolean> {
    const query = { name: 'user-exists', text: 'SELECT 1 FROM users WHERE id = $1', values: [id] };
    return (await this.#db.query(query)).rowCount === 1;
  }

  async create(email: string, passwordHash: string): Promise<User> {
    const sql = `INSERT INTO users (email, password_hash) VALUES ($1, $2)
                 ON CONFLICT (email) DO NOTHING RETURNING id, email, password_hash, created_at`;
    const result = await this.#db.query<UserRow>(sql, [normaliseEmail(email), passwordHash]);
    if (!result.rows[0]) throw new UserExistsError(`a user with the email ${normaliseEmail(email)} already exists`);
    return toUser(result.rows[0]);
  }
}
