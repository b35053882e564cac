import {
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  SqliteDialect,
  type TransactionSettings,
} from 'kysely';
import { Semaphore } from '../semaphore.ts';

type CompileQuery = QueryCompiler['compileQuery'];

/**
 * A driver whose connection is handed out through a one-permit `Semaphore` (first come, first
 * served, one waiter woken per release) before the wrapped driver sees the request, so the
 * wrapped driver's own lock is never contended. Everything else is the wrapped driver's.
 */
export class FifoDriver implements Driver {
  private readonly lock = new Semaphore(1);

  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    try {
      return await this.inner.acquireConnection();
    } catch (err) {
      this.lock.release();
      throw err;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.releaseConnection(connection);
    } finally {
      this.lock.release();
    }
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: CompileQuery): Promise<void> {
    await this.inner.savepoint?.(connection, name, compile);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: CompileQuery,
  ): Promise<void> {
    await this.inner.rollbackToSavepoint?.(connection, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: CompileQuery): Promise<void> {
    await this.inner.releaseSavepoint?.(connection, name, compile);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/**
 * Kysely's SQLite dialect with its one connection handed out in arrival order. Kysely's own
 * lock wakes every waiter at each release, and all but one go back to waiting: with the
 * dispatcher's 64 sends in flight, each release woke dozens of promises, and in the dispatch
 * benchmark that lock made half of the gateway's allocation (1 GB in 9 s).
 */
export class FifoSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new FifoDriver(super.createDriver());
  }
}
