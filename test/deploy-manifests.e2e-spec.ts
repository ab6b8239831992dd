import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

// The deployment files as a user gets them: Kubernetes manifests, compose.yaml, the seccomp profile
// and the Dockerfile, checked for the security fields, probes, resources and ports README "Deployment" promises.
const root = join(__dirname, '..');
const k8sDir = join(root, 'deploy', 'kubernetes');

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped YAML */
type Doc = Record<string, any>;

function loadKustomization(): { kustomization: Doc; docs: Doc[] } {
  const kustomization = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as Doc;
  const docs = (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => doc.toJS() as Doc),
  );
  return { kustomization, docs };
}

const { kustomization, docs } = loadKustomization();
const find = (kind: string, name: string): Doc => {
  const doc = docs.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!doc) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return doc;
};
const config = find('ConfigMap', 'pyexec-config').data as Record<string, string>;
const deployments = { api: find('Deployment', 'pyexec-api'), worker: find('Deployment', 'pyexec-worker') };
const mebibytes = (quantity: string): number => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
};

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('is a kustomize base whose resources all parse, in a namespace held to the Baseline level', () => {
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe('pyexec');
    expect(docs.every((d) => typeof d.kind === 'string' && d.metadata?.name)).toBe(true);
    const namespace = find('Namespace', 'pyexec');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce-version']).toBe('v1.34');
  });

  describe.each(Object.entries(deployments))('%s Deployment', (role, deployment) => {
    const pod = deployment.spec.template.spec as Doc;
    const container = pod.containers[0] as Doc;
    const port = role === 'api' ? { name: 'http', containerPort: 3000 } : { name: 'health', containerPort: 3001 };

    it('selects its own pods and runs the image with its ROLE', () => {
      expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
      expect(deployment.spec.selector.matchLabels['app.kubernetes.io/component']).toBe(role);
      expect(container.image).toBe('pyexec');
      expect(container.env).toContainEqual({ name: 'ROLE', value: role });
      expect(container.envFrom).toContainEqual({ configMapRef: { name: 'pyexec-config' } });
    });

    it('takes the API keys from the Secret the user creates', () => {
      const keys = (container.env as Doc[]).find((e) => e.name === 'API_KEYS');
      expect(keys?.valueFrom?.secretKeyRef).toMatchObject({ name: 'pyexec-secrets', key: 'API_KEYS' });
    });

    it('runs non-root, read-only, without privilege escalation or capabilities, in its own user namespace', () => {
      expect(pod.hostUsers).toBe(false);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 });
      const security = container.securityContext as Doc;
      expect(security.allowPrivilegeEscalation).toBe(false);
      expect(security.readOnlyRootFilesystem).toBe(true);
      expect(security.capabilities).toEqual({ drop: ['ALL'] });
      expect(security.privileged).toBeUndefined();
      // Baseline: no host namespaces or host paths; the only scratch space is a memory-backed emptyDir.
      expect([pod.hostNetwork, pod.hostPID, pod.hostIPC]).toEqual([undefined, undefined, undefined]);
      expect((pod.volumes as Doc[]).every((v) => v.emptyDir && !v.hostPath)).toBe(true);
      expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    });

    it('has exactly the bubblewrap permissions its role needs', () => {
      const security = container.securityContext as Doc;
      if (role === 'worker') {
        expect(security.procMount).toBe('Unmasked');
        expect(pod.securityContext.seccompProfile).toEqual({
          type: 'Localhost',
          localhostProfile: 'pyexec-bwrap.json',
        });
      } else {
        expect(security.procMount).toBeUndefined();
        expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      }
    });

    it('is probed on /health/live and /health/ready on its own port', () => {
      expect(container.ports).toEqual([port]);
      if (role === 'worker') expect(Number(config.HEALTH_PORT)).toBe(port.containerPort);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: port.name });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: port.name });
      expect(container.startupProbe.httpGet).toEqual({ path: '/health/live', port: port.name });
    });

    it('has a memory limit and requests', () => {
      expect(mebibytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(256);
      expect(container.resources.requests.cpu).toBeDefined();
      expect(mebibytes(container.resources.requests.memory)).toBeLessThanOrEqual(
        mebibytes(container.resources.limits.memory),
      );
    });
  });

  it("sizes the worker's memory limit for every sandbox and session at its bound, plus the service and a margin", () => {
    const limit = mebibytes(deployments.worker.spec.template.spec.containers[0].resources.limits.memory);
    const sandboxes = Number(config.SANDBOX_SERVERS) + Number(config.SESSIONS_PER_WORKER);
    const serviceMi = 512;
    const marginMi = 128;
    expect(limit).toBeGreaterThanOrEqual(serviceMi + sandboxes * Number(config.MEMORY_LIMIT_MB) + marginMi);
  });

  it('exposes the API through a Service, keeps pods through disruptions, and scales workers', () => {
    const service = find('Service', 'pyexec-api');
    expect(service.spec.selector).toEqual(deployments.api.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 'http' }]);
    expect(find('PodDisruptionBudget', 'pyexec-api').spec.selector.matchLabels).toEqual(
      deployments.api.spec.selector.matchLabels,
    );
    expect(find('PodDisruptionBudget', 'pyexec-worker').spec.selector.matchLabels).toEqual(
      deployments.worker.spec.selector.matchLabels,
    );
    const hpa = find('HorizontalPodAutoscaler', 'pyexec-worker');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'pyexec-worker' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });
});

describe('compose.yaml', () => {
  const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8'), { merge: true }) as Doc;
  const { api, worker, redis } = compose.services as Record<string, Doc>;

  it('runs an API, scalable workers and Redis 7 with append-only persistence on a named volume', () => {
    expect(api.environment).toMatchObject({ ROLE: 'api', REDIS_URL: 'redis://redis:6379' });
    expect(worker.environment).toMatchObject({ ROLE: 'worker', REDIS_URL: 'redis://redis:6379' });
    expect(api.environment.API_KEYS).toMatch(/^\$\{API_KEYS:\?/);
    expect(api.ports).toEqual(['${PORT:-3000}:3000']);
    // --scale needs a worker without a fixed name or published port.
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(redis.image).toBe('redis:7-bookworm');
    expect(redis.command).toContain('--appendonly yes');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(compose.volumes)).toEqual(['redis-data']);
    for (const service of [api, worker, redis]) expect(service.restart).toBe('unless-stopped');
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('gives the workers exactly the options bubblewrap needs, and takes everything else away', () => {
    for (const service of [api, worker]) {
      expect(service.cap_drop).toEqual(['ALL']);
      expect(service.read_only).toBe(true);
      expect(service.tmpfs).toEqual(['/tmp']);
      expect(service.security_opt).toContain('no-new-privileges:true');
      expect(service.privileged).toBeUndefined();
      expect(service.cap_add).toBeUndefined();
      // Only /proc is unconfined; never the seccomp filter or anything else.
      expect(
        (service.security_opt as string[]).filter((o) => /unconfined/.test(o) && o !== 'systempaths=unconfined'),
      ).toEqual([]);
    }
    expect(worker.security_opt).toEqual([
      'no-new-privileges:true',
      'systempaths=unconfined',
      'seccomp=./deploy/seccomp/pyexec-bwrap.json',
    ]);
    expect(api.security_opt).toEqual(['no-new-privileges:true']);
  });
});

describe('seccomp profile (deploy/seccomp/pyexec-bwrap.json)', () => {
  const profile = JSON.parse(readFileSync(join(root, 'deploy/seccomp/pyexec-bwrap.json'), 'utf8')) as Doc;
  const { ADDITIONS, PREFIX } = require(join(root, 'scripts/seccomp-profile.js')) as {
    ADDITIONS: Array<{ names: string[] }>;
    PREFIX: string;
  };
  const ours = (profile.syscalls as Doc[]).filter((e) => String(e.comment ?? '').startsWith(PREFIX));

  it("is Docker's default profile (moby/profiles seccomp v0.2.3) unchanged, plus our entries", () => {
    const upstream = { ...profile, syscalls: (profile.syscalls as Doc[]).filter((e) => !ours.includes(e)) };
    const digest = createHash('sha256').update(JSON.stringify(upstream)).digest('hex');
    expect(digest).toBe('afb4934b023cfceaaec1a9d752ca3f801aaa96eb2e59abe6e7ea16976948e080');
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    // clone3 keeps Docker's ENOSYS: callers fall back to clone, whose flags a filter can see.
    expect(profile.syscalls).toContainEqual(
      expect.objectContaining({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }),
    );
  });

  it('adds exactly the calls bubblewrap needs, each allowed outright and explained', () => {
    const added = ours.flatMap((e) => e.names as string[]).sort();
    expect(added).toEqual(['clone', 'mount', 'pivot_root', 'sethostname', 'umount2', 'unshare']);
    expect(ours).toHaveLength(ADDITIONS.length);
    const readme = readFileSync(join(root, 'deploy/seccomp/README.md'), 'utf8');
    for (const entry of ours) {
      expect(entry.action).toBe('SCMP_ACT_ALLOW');
      expect(entry.comment.length).toBeGreaterThan(PREFIX.length + 40);
      for (const name of entry.names as string[]) expect(readme).toContain(`\`${name}\``);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('builds on the official Node 24 image, runs non-root with a health check on /health/ready', () => {
    expect(dockerfile.match(/^FROM \S+/gm)).toEqual([
      'FROM node:24-bookworm-slim',
      'FROM node:24-bookworm-slim',
      'FROM node:24-bookworm-slim',
    ]);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health\/ready/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    for (const pkg of ['bubblewrap', 'python3-numpy', 'python3-pandas', 'python3-matplotlib', 'redis-server']) {
      expect(dockerfile).toContain(pkg);
    }
    expect(existsSync(join(root, '.dockerignore'))).toBe(true);
  });
});
