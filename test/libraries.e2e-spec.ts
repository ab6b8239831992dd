import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY, startTestApp, TestApp } from './utils';

const PATH = '/v1/code/execute/python';

// Debian's python3-numpy and python3-pandas (installed by scripts/install-deps-debian.sh --test)
// load native libraries through /etc/ld.so.cache and /etc/alternatives: the sandbox's /etc subset.
describe('libraries in the sandbox (real sandbox, Debian python3-* packages)', () => {
  const run = (t: TestApp, code: string) => t.http.post(PATH).set('x-api-key', KEY).send({ code, timeout: 30 });

  describe('without preload', () => {
    let t: TestApp;
    let extraDir: string;
    beforeAll(async () => {
      // Not under /tmp: each run mounts its own scratch /tmp over it.
      extraDir = mkdtempSync('/var/tmp/pyexec-pythonpath-');
      chmodSync(extraDir, 0o755);
      writeFileSync(join(extraDir, 'unreal.py'), 'VALUE = "from the host"\n');
      chmodSync(join(extraDir, 'unreal.py'), 0o644);
      t = await startTestApp({ SANDBOX_SERVERS: '1', SANDBOX_PYTHONPATH: extraDir });
    });
    afterAll(async () => {
      await t.close();
      rmSync(extraDir, { recursive: true, force: true });
    });

    it('imports numpy and pandas, native libraries included', async () => {
      const res = await run(
        t,
        `
import numpy as np, pandas as pd
frame = pd.DataFrame({'a': np.arange(5)})
[float(np.linalg.norm(np.ones(4))), int(frame.a.sum())]`,
      );
      expect(res.status).toBe(200);
      expect(res.body.response.result).toEqual([2, 10]);
    });

    it('sees only the curated /etc: no passwd, shadow, hosts or service files', async () => {
      const res = await run(t, 'import os\nsorted(os.listdir("/etc"))');
      expect(res.status).toBe(200);
      const etc: string[] = res.body.response.result;
      expect(etc).toContain('ld.so.cache');
      for (const secret of ['passwd', 'shadow', 'group', 'hosts', 'environment', 'redis'])
        expect(etc).not.toContain(secret);
    });

    it('imports modules from SANDBOX_PYTHONPATH, which it cannot write', async () => {
      const res = await run(
        t,
        `
import unreal, os
try:
    open(os.path.join(os.path.dirname(unreal.__file__), 'planted.py'), 'w')
    wrote = True
except OSError as e:
    wrote = type(e).__name__
[unreal.VALUE, wrote]`,
      );
      expect(res.status).toBe(200);
      expect(res.body.response.result).toEqual(['from the host', 'OSError']);
    });
  });

  describe('with SANDBOX_PRELOAD=numpy,pandas,random', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ SANDBOX_SERVERS: '1', SANDBOX_PRELOAD: 'numpy,pandas,random' });
    });
    afterAll(() => t.close());

    it('runs start with the modules already imported and BLAS pinned to one thread', async () => {
      const res = await run(
        t,
        `
import sys, os
[sorted(m for m in ('numpy', 'pandas') if m in sys.modules), os.environ.get('OPENBLAS_NUM_THREADS')]`,
      );
      expect(res.status).toBe(200);
      expect(res.body.response.result).toEqual([['numpy', 'pandas'], '1']);
    });

    it("one run's changes to a preloaded module are not seen by the next run", async () => {
      const first = await run(t, 'import numpy\nnumpy.planted = 1\nnumpy.sum = None\nnumpy.planted');
      expect(first.body.response.result).toBe(1);
      const next = await run(t, 'import numpy\n[hasattr(numpy, "planted"), int(numpy.sum([1, 2]))]');
      expect(next.status).toBe(200);
      expect(next.body.response.result).toEqual([false, 3]);
    });

    it('each run draws its own random numbers from the preloaded random and numpy.random', async () => {
      const code = 'import random, numpy\n[random.random(), float(numpy.random.random()), random.getrandbits(64)]';
      const draws = [await run(t, code), await run(t, code)].map((res) => res.body.response.result);
      expect(draws[0]).toHaveLength(3);
      expect(draws[1]).toHaveLength(3);
      for (let i = 0; i < 3; i++) expect(draws[1][i]).not.toEqual(draws[0][i]);
    });

    it('gives the run its whole memory limit on top of what the preload took', async () => {
      // 150 MB of numpy array under the default 256 MB limit, with pandas' ~130 MB already mapped.
      const res = await run(t, 'import numpy as np\nx = np.ones(150 * 1024 * 1024 // 8)\nint(x.sum())');
      expect(res.status).toBe(200);
      expect(res.body.response.result).toBe((150 * 1024 * 1024) / 8);
    });
  });

  it('refuses to start when a preloaded module cannot be imported, naming it', async () => {
    await expect(startTestApp({ SANDBOX_SERVERS: '1', SANDBOX_PRELOAD: 'no_such_module_here' })).rejects.toThrow(
      /SANDBOX_PRELOAD: cannot import no_such_module_here in the sandbox: ModuleNotFoundError/,
    );
  });
});
