# syntax=docker/dockerfile:1
# azid: the controller (and the CLI) on distroless Node.js, as a non-root numeric user.
#   docker build -t azid .
#   docker run --rm azid --help
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

# Compiles TypeScript with the dev dependencies; nothing of this stage but its output ships.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p crds /state

# The production dependencies alone, from the same lockfile.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# No shell, no package manager: node, the compiled code and its production dependencies.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/spec ./spec
COPY --from=build /src/crds ./crds
# Writable by the runtime user where a volume is mounted (azid sandbox --state-dir).
COPY --from=build --chown=65532:65532 /state /var/lib/azid
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "/app/bin/azid.js"]
CMD ["controller"]
