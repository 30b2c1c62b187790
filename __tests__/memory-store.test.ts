/**
 * Issue 9, test strength: the default store, `memoryStore()`. Its `delete` is a compare-and-delete:
 * a provider that saw its token rejected takes out that value only, never a newer token another
 * provider stored since under the same key.
 */
import { memoryStore } from '../src/index.js';

describe('memoryStore', () => {
  test('delete takes the value out only while the key still holds exactly that value', async () => {
    const store = memoryStore();
    await store.set('k', 'old', 60_000);
    await store.set('k', 'new', 60_000);
    expect(await store.delete('k', 'old')).toBe(false);
    expect(await store.get('k')).toBe('new');
    expect(await store.delete('k', 'new')).toBe(true);
    expect(await store.get('k')).toBeUndefined();
  });

  test('delete of a value that differs only in part keeps the stored one', async () => {
    const store = memoryStore();
    await store.set('k', 'value', 60_000);
    for (const other of ['', 'valu', 'value ', 'VALUE', 'value-2']) expect(await store.delete('k', other)).toBe(false);
    expect(await store.get('k')).toBe('value');
  });

  test('delete of a key that holds nothing says so and changes nothing', async () => {
    const store = memoryStore();
    await store.set('other', 'value', 60_000);
    expect(await store.delete('k', 'value')).toBe(false);
    expect(await store.get('other')).toBe('value');
  });

  test('keeps each key apart', async () => {
    const store = memoryStore();
    await store.set('a', '1', 60_000);
    await store.set('b', '2', 60_000);
    expect(await store.delete('a', '2')).toBe(false);
    expect([await store.get('a'), await store.get('b')]).toEqual(['1', '2']);
  });

  test('forgets a value once its time to live has passed, and a later set starts a new one', async () => {
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const store = memoryStore();
      await store.set('k', 'v', 1000);
      now += 999;
      expect(await store.get('k')).toBe('v');
      now += 1;
      expect(await store.get('k')).toBeUndefined();
      await store.set('k', 'w', 1000);
      now += 999;
      expect(await store.get('k')).toBe('w');
    } finally {
      clock.mockRestore();
    }
  });

  test('is a new, empty store each time it is called', async () => {
    const a = memoryStore();
    const b = memoryStore();
    await a.set('k', 'v', 60_000);
    expect(await b.get('k')).toBeUndefined();
  });
});
