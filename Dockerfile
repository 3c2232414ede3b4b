# syntax=docker/dockerfile:1
# Tollgate container image.
#
#   docker build -t tollgate .
#   docker run --rm -p 8080:8080 -p 15020:15020 \
#     -v "$PWD/gateway.yaml:/etc/tollgate/gateway.yaml:ro" \
#     -e OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 tollgate   # OTLP/HTTP (the default protocol)
#
# The runtime tree is exactly what `npm pack` ships plus production dependencies installed
# from the lockfile, the same thing test/package/pack-install.test.ts installs and runs.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: dev dependencies, TypeScript → dist/, then the npm package tarball
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Build once, explicitly, then pack without re-running the prepack build.
RUN npm run build \
 && mkdir -p /tmp/pack /opt/tollgate \
 && npm pack --ignore-scripts --pack-destination /tmp/pack \
 && tar -xzf /tmp/pack/tollgate-*.tgz -C /opt/tollgate --strip-components=1 \
 && cp package-lock.json /opt/tollgate/

# ---- production dependencies only, pinned by the lockfile
FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /opt/tollgate
COPY --from=build /opt/tollgate ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm package-lock.json \
 && npm cache clean --force

# ---- runtime: distroless, no shell, no package manager, non-root (uid 65532)
FROM ${RUNTIME_IMAGE}
WORKDIR /opt/tollgate
COPY --from=runtime-deps /opt/tollgate ./
# The embedded default config, so the image serves something with no mount; a Kubernetes
# ConfigMap (deploy/kubernetes/) mounts over /etc/tollgate.
COPY --from=build /src/config/gateway.yaml /etc/tollgate/gateway.yaml

# Heap sizing: `tollgate run` restarts itself once with --max-semi-space-size=8 and, unless the
# container's memory limit already makes V8's heap limit smaller, --max-old-space-size=2000
# (docs/operations.md, "Memory"). Set NODE_OPTIONS (e.g. --max-old-space-size=4096) to choose.
ENV NODE_ENV=production \
    TOLLGATE_CONFIG=/etc/tollgate/gateway.yaml \
    TOLLGATE_OPS_ADDR=0.0.0.0:15020 \
    TOLLGATE_ADMIN_ADDR=127.0.0.1:15000

USER 65532:65532

# Listener (the default config's Gateway; match your own), ops (/metrics /healthz
# /readyz), admin (bound to loopback: reach it with `kubectl port-forward` or `docker exec`
# tooling, or set TOLLGATE_ADMIN_ADDR).
EXPOSE 8080 15020 15000

# Node runs as PID 1 on purpose, without tini. The gateway installs its own SIGTERM/SIGINT
# (drain, then exit 0) and SIGHUP (reload) handlers, so the PID-1 rule that the kernel drops
# signals without a handler does not bite; the only children are node:cluster workers,
# which libuv reaps itself, so there are no zombies to collect. A shell or init wrapper
# would only add a process that must forward signals correctly.
# Nothing is written outside /tmp: the root filesystem can be mounted read-only.
ENTRYPOINT ["/nodejs/bin/node", "/opt/tollgate/bin/tollgate.js"]
CMD ["run"]
