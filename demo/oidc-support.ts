/**
 * What the demo's and the tests' oidc-provider servers share: the quiet import and an in-memory adapter.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

/** oidc-provider 9 asks for Node 22 LTS and says so once, when it is first imported. */
export async function importOidcProvider(): Promise<typeof import('oidc-provider')> {
  // The project supports Node 20 (package.json `engines`), and the demo and tests use only the client
  // credentials grant, which runs on it; hide that single notice and nothing else.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
    warn.apply(console, args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}

/**
 * A process-local adapter; passing our own keeps oidc-provider from warning about its dev adapter. It also backs
 * ReplayDetection, which refuses a reused client assertion jti or DPoP proof.
 */
export function memoryAdapter(): new (name: string) => Adapter {
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  return class MemoryAdapter implements Adapter {
    readonly #name: string;
    constructor(name: string) {
      this.#name = name;
    }
    #key(id: string): string {
      return `${this.#name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      store.set(this.#key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      const entry = store.get(this.#key(id));
      if (!entry) return undefined;
      if (entry.expiresAt <= Date.now()) {
        store.delete(this.#key(id));
        return undefined;
      }
      return entry.payload;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async findByUid(): Promise<undefined> {
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const entry = store.get(this.#key(id));
      if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, entry] of store) if (entry.payload['grantId'] === grantId) store.delete(key);
    }
  };
}
