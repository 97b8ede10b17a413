import type {
  CompiledQuery, DatabaseConnection, DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler, QueryResult, TransactionSettings,
} from 'kysely';

const FROM_STORE = Symbol('tessera.fromStore');

/** True when `e` was thrown by the database driver (see `markingStoreErrors`). */
export function fromStore(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[FROM_STORE] === true;
}

function mark(e: unknown): never {
  if (typeof e === 'object' && e !== null && Object.isExtensible(e) && !fromStore(e)) Object.defineProperty(e, FROM_STORE, { value: true });
  throw e;
}

/** Run `f`, marking what it throws or rejects with (Kysely's SQLite connection throws synchronously). */
function guard<T>(f: () => Promise<T>): Promise<T> {
  try { return f().catch(mark); } catch (e) { return mark(e); }
}

/**
 * A dialect whose driver marks every error it throws as coming from the store. Network error
 * codes (ECONNRESET, EPIPE, ETIMEDOUT...) mean "the database is unreachable" only when the
 * database driver raised them: the same codes on a client's aborted request or on an outbound
 * fetch are no store outage.
 */
export function markingStoreErrors(inner: Dialect): Dialect {
  return {
    createDriver: (): Driver => new MarkingDriver(inner.createDriver()),
    createQueryCompiler: (): QueryCompiler => inner.createQueryCompiler(),
    createAdapter: (): DialectAdapter => inner.createAdapter(),
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => inner.createIntrospector(db), // eslint-disable-line @typescript-eslint/no-explicit-any
  };
}

class MarkingDriver implements Driver {
  // Kysely hands our connection objects back to us; the wrapped driver needs its own.
  private readonly innerOf = new WeakMap<DatabaseConnection, DatabaseConnection>();
  constructor(private readonly inner: Driver) {}

  private unwrap(c: DatabaseConnection): DatabaseConnection { return this.innerOf.get(c) ?? c; }

  init(): Promise<void> { return guard(() => this.inner.init()); }

  async acquireConnection(): Promise<DatabaseConnection> {
    const c = await guard(() => this.inner.acquireConnection());
    const wrapped: DatabaseConnection = {
      executeQuery: <R>(q: CompiledQuery): Promise<QueryResult<R>> => guard(() => c.executeQuery<R>(q)),
      streamQuery: async function* <R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
        try { yield* c.streamQuery<R>(q, chunkSize); } catch (e) { mark(e); }
      },
    };
    this.innerOf.set(wrapped, c);
    return wrapped;
  }

  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return guard(() => this.inner.beginTransaction(this.unwrap(c), settings));
  }
  commitTransaction(c: DatabaseConnection): Promise<void> { return guard(() => this.inner.commitTransaction(this.unwrap(c))); }
  rollbackTransaction(c: DatabaseConnection): Promise<void> { return guard(() => this.inner.rollbackTransaction(this.unwrap(c))); }

  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.savepoint) throw new Error('The `savepoint` method is not supported by this driver');
    const f = this.inner.savepoint.bind(this.inner);
    await guard(() => f(this.unwrap(c), name, compile));
  }
  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.rollbackToSavepoint) throw new Error('The `rollbackToSavepoint` method is not supported by this driver');
    const f = this.inner.rollbackToSavepoint.bind(this.inner);
    await guard(() => f(this.unwrap(c), name, compile));
  }
  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (!this.inner.releaseSavepoint) throw new Error('The `releaseSavepoint` method is not supported by this driver');
    const f = this.inner.releaseSavepoint.bind(this.inner);
    await guard(() => f(this.unwrap(c), name, compile));
  }

  async releaseConnection(c: DatabaseConnection): Promise<void> {
    const inner = this.unwrap(c);
    this.innerOf.delete(c);
    await guard(() => this.inner.releaseConnection(inner));
  }
  destroy(): Promise<void> { return guard(() => this.inner.destroy()); }
}
