# azid: the controller and the CLI on distroless Node.js, as a non-root numeric user.
#   docker build -t azid .                           the product image (the last stage)
#   docker build --target sandbox -t azid-sandbox .  plus the emulators, for docker-compose.yml
#   docker run --rm azid --help
# Behind a TLS-intercepting proxy, hand its CA to npm as a build secret (never a layer):
#   docker build --secret id=npm-ca,src=/path/to/ca.pem -t azid .
#
# The bases are pinned by digest. A digest names one exact image, so a pin fails closed: a moved
# tag or a poisoned mirror cannot change what is built. Renovate (or a person) bumps NODE_DIGEST
# and RUNTIME_DIGEST together with a look at what changed. Where a registry is out of reach, stand-ins
# stored under the same names carry digests of their own, passed as --build-arg NODE_DIGEST=...
# RUNTIME_DIGEST=... (scripts/image-test.sh does this; docs/operations.md#the-image).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG NODE_DIGEST=sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot
ARG RUNTIME_DIGEST=sha256:269e058a0b80a1d8cf8d2586c4370c3de470034d4d22d83ae31da4451a6a3ff8

# Compiles TypeScript with the dev dependencies; nothing of this stage but its output ships.
FROM ${NODE_IMAGE}@${NODE_DIGEST} AS build
WORKDIR /src
# The emulators are npm workspaces (packages/): their manifests take part in the install.
COPY package.json package-lock.json ./
COPY packages/arm-emulator/package.json packages/arm-emulator/
COPY packages/kube-emulator/package.json packages/kube-emulator/
# npm can fail and still exit 0 ("Exit handler never called!"), leaving node_modules half
# empty: `npm ls` and the compiler's presence make such an install fail here, not later.
RUN --mount=type=secret,id=npm-ca --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund --prefer-offline \
    && npm ls --all >/dev/null \
    && test -x node_modules/.bin/tsc
COPY . .
# The product into dist/src, the emulators into packages/*/dist (only the sandbox stage ships them).
RUN npm run build \
    && mkdir -p crds /state

# The production dependencies alone, from the same lockfile. Without the workspaces: the
# emulators are dev dependencies of the product, and so are theirs. `npm ls` cannot check such an
# install (it fails on the absent workspace folders): check-install.cjs looks for every package
# the product needs instead, so a half-empty node_modules fails here.
FROM ${NODE_IMAGE}@${NODE_DIGEST} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json scripts/check-install.cjs ./
RUN --mount=type=secret,id=npm-ca --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --omit=dev --workspaces=false --ignore-scripts --no-audit --no-fund --prefer-offline \
    && node check-install.cjs \
    && rm check-install.cjs

# The sandbox's dependencies: the production ones plus the emulator workspaces and theirs.
FROM ${NODE_IMAGE}@${NODE_DIGEST} AS sandbox-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/arm-emulator/package.json packages/arm-emulator/
COPY packages/kube-emulator/package.json packages/kube-emulator/
RUN --mount=type=secret,id=npm-ca --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline \
    && npm ls --all --omit=dev >/dev/null \
    && test -L node_modules/@azid/arm-emulator && test -L node_modules/@azid/kube-emulator

# What ships, assembled in one tree that root owns: the process can read its code, never
# replace it, even on a writable root filesystem.
FROM ${NODE_IMAGE}@${NODE_DIGEST} AS app
COPY --from=prod-deps /app/node_modules /app/node_modules
COPY --from=build /src/package.json /app/
COPY --from=build /src/bin /app/bin
COPY --from=build /src/dist/src /app/dist/src
COPY --from=build /src/spec /app/spec
COPY --from=build /src/crds /app/crds

# `azid sandbox` for docker-compose.yml: the product plus the ARM and Kubernetes emulators,
# serving on every interface of the container. Not for production.
FROM ${RUNTIME_IMAGE}@${RUNTIME_DIGEST} AS sandbox
ENV NODE_ENV=production
COPY --from=app /app /app
COPY --from=sandbox-deps /app/node_modules /app/node_modules
COPY --from=build /src/packages/arm-emulator/package.json /app/packages/arm-emulator/package.json
COPY --from=build /src/packages/arm-emulator/dist /app/packages/arm-emulator/dist
COPY --from=build /src/packages/kube-emulator/package.json /app/packages/kube-emulator/package.json
COPY --from=build /src/packages/kube-emulator/dist /app/packages/kube-emulator/dist
# The one writable folder, where compose mounts the sandbox's volume.
COPY --from=build --chown=65532:65532 /state /var/lib/azid
WORKDIR /app
USER 65532:65532
EXPOSE 8443 6443 8080
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "/app/bin/azid.js"]
CMD ["sandbox", "--host=0.0.0.0", "--arm-port=8443", "--kube-port=6443", "--state-dir=/var/lib/azid/state", "--info-file=/var/lib/azid/sandbox.json"]

# The product image: no shell, no package manager, no emulators: node, the compiled controller
# and CLI, and their production dependencies.
FROM ${RUNTIME_IMAGE}@${RUNTIME_DIGEST} AS runtime
ENV NODE_ENV=production
COPY --from=app /app /app
WORKDIR /app
USER 65532:65532
# /metrics, /healthz and /readyz: the default command binds them on every interface, as the
# chart's --metrics-addr=:<metrics.port> does.
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "/app/bin/azid.js"]
CMD ["controller", "--metrics-addr=:8080"]
