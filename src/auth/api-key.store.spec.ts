import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { ApiKeyStore } from './api-key.store';

const storeFor = (apiKeys: string[]) => new ApiKeyStore({ apiKeys } as unknown as AppConfig);
const keyIdOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 16);

describe('ApiKeyStore', () => {
  const store = storeFor(['alpha-key', 'beta-key']);

  it('identifies each configured key by the first 16 hex chars of its SHA-256', () => {
    expect(store.identify('alpha-key')).toBe(keyIdOf('alpha-key'));
    expect(store.identify('beta-key')).toBe(keyIdOf('beta-key'));
    expect(store.identify('alpha-key')).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([['wrong'], ['alpha-key '], ['ALPHA-KEY'], [''], [null], [undefined]])('rejects %p', (presented) => {
    expect(store.identify(presented)).toBeNull();
  });

  it('keeps no plaintext key', () => {
    const serialized = JSON.stringify(store) + JSON.stringify(Object.values(store));
    expect(serialized).not.toContain('alpha-key');
    expect(Buffer.concat((store as unknown as { hashes: Buffer[] }).hashes).includes('alpha-key')).toBe(false);
  });

  it('accepts nothing when no keys are configured', () => {
    expect(storeFor([]).identify('anything')).toBeNull();
  });
});
