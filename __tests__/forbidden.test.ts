/**
 * A 403 end to end on a loopback server: a PermissionError carrying the challenge and the missing scope, without a
 * new grant or a replay. Both jest projects.
 */
import axios, { AxiosError } from 'axios';
import { attachedClient } from './helpers/attached-client.js';

describe('403', () => {
  test('turns a 403 into a PermissionError with the challenge and the missing scope, without a new grant or a replay', async () => {
    const { auth, api, client } = await attachedClient();
    const error = await client.post('/forbidden', { a: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'PermissionError',
      code: 'ERR_PERMISSION',
      requiredScope: ['moneyMovement/write'],
      challenge: { scheme: 'Bearer', error: 'insufficient_scope', scope: ['moneyMovement/write'] },
    });
    expect((error as Error).message).toContain('moneyMovement/write');
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.status).toBe(403);
    expect(auth.tokenRequests).toHaveLength(1);
    expect(api.requests).toHaveLength(1);
  });
});
