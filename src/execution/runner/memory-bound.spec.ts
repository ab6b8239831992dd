import { checkMemoryBound, MemoryBound, watchdogOrNone, weakestMemoryBound } from './memory-bound';

const bound = (kind: MemoryBound['kind']): MemoryBound => ({ kind, reason: kind });

describe('memory bound', () => {
  it('the weakest of the workers is what every run can count on', () => {
    expect(weakestMemoryBound([bound('cgroup2'), bound('watchdog'), bound('cgroup1')])).toEqual(bound('watchdog'));
    expect(weakestMemoryBound([bound('cgroup1'), bound('cgroup2')])).toEqual(bound('cgroup1'));
    expect(weakestMemoryBound([bound('watchdog'), bound('none')])).toEqual(bound('none'));
    expect(weakestMemoryBound([])).toBeNull();
  });

  it('is the watchdog where smaps_rollup reads, else none with the reason', () => {
    expect(watchdogOrNone('not root')).toMatchObject({
      kind: 'watchdog',
      reason: expect.stringMatching(/^not root: /),
    });
    expect(watchdogOrNone('not root', '/nonexistent/smaps_rollup')).toEqual({
      kind: 'none',
      reason: 'not root, and no watchdog (/nonexistent/smaps_rollup: ENOENT)',
    });
  });

  it('refuses to start with none unless allowed', () => {
    expect(() => checkMemoryBound(bound('none'), false)).toThrow(/SANDBOX_ALLOW_UNBOUNDED_MEMORY=true/);
    expect(() => checkMemoryBound(bound('none'), true)).not.toThrow();
    expect(() => checkMemoryBound(bound('watchdog'), false)).not.toThrow();
  });
});
