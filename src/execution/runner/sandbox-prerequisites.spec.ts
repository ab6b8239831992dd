import { checkSlotIdsMapped, idRangeMapped } from './sandbox-prerequisites';

describe('slot uids inside the user namespace', () => {
  const host = '         0          0 4294967295\n';
  const container = '         0     100000      65536\n';

  it('accepts a range inside one map line, the whole host map included', () => {
    expect(idRangeMapped(host, 60_000, 256)).toBe(true);
    expect(idRangeMapped(container, 60_000, 256)).toBe(true);
    expect(idRangeMapped(container, 0, 65_536)).toBe(true);
  });

  it('refuses a range that runs past the map, or starts outside it', () => {
    expect(idRangeMapped(container, 65_500, 40)).toBe(false);
    expect(idRangeMapped(container, 2_000_000_000, 2)).toBe(false);
    expect(idRangeMapped('         0       1000          1\n', 0, 2)).toBe(false);
  });

  it('stops the boot naming SANDBOX_UID_BASE when the range is not mapped, and passes when it is', () => {
    expect(() => checkSlotIdsMapped(2_000_000_000, 2, () => container)).toThrow(
      /SANDBOX_UID_BASE 2000000000\.\.2000000001 is outside this user namespace's uid map/,
    );
    expect(() => checkSlotIdsMapped(60_000, 2, () => container)).not.toThrow();
    expect(() => checkSlotIdsMapped(60_000, 2, () => undefined)).not.toThrow();
  });
});
