# syntax=docker/dockerfile:1
#
# One image per service, plus the migration job, from one Dockerfile (docs/deployment.md):
#   docker build --build-arg SERVICE=gateway -t voice-platform/gateway:dev .
#   docker build --target migrate -t voice-platform/migrate:dev .
# The default (last) stage is the service image; SERVICE is a folder name under services/.

# node:20.20.0-bookworm-slim, pinned by the digest of its multi-arch index (linux/amd64 and
# linux/arm64), so a rebuild gets the same base and a re-pushed tag cannot change it. Bump the
# tag and the digest together (docs/deployment.md, "Base image").
ARG NODE_IMAGE=node:20.20.0-bookworm-slim@sha256:d8a35d586fad3af7abb6fdb9ba972388395405f4d462da9e4a4ddcde67b5e0fb

# ---------------------------------------------------------------------------------------------
# Toolchain: the pnpm version pinned in package.json `packageManager`.
FROM ${NODE_IMAGE} AS pnpm
# corepack checks pnpm's signature against the registry's keys and fails in restricted
# networks; npm installs the same pinned version without it.
ARG PNPM_VERSION=10.34.9
RUN npm install --global "pnpm@${PNPM_VERSION}" && pnpm --version
# CI=true: pnpm never prompts; the store sits in a BuildKit cache mount shared by the stages.
ENV CI=true
WORKDIR /repo

# ---------------------------------------------------------------------------------------------
# Build the whole workspace once (prisma generate + tsc -b + the dashboard's Vite build);
# every image is cut from it.
FROM pnpm AS build
# Only the lockfile and workspace settings decide what `pnpm fetch` downloads, so this layer
# survives source edits.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --store-dir /pnpm/store
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline --store-dir /pnpm/store
RUN pnpm build

# ---------------------------------------------------------------------------------------------
# A self-contained folder per service: its dist, production dependencies only, and the
# workspace packages it uses copied in (not symlinked), as `pnpm deploy` lays them out.
FROM build AS deploy-service
ARG SERVICE
RUN if [ -z "${SERVICE}" ] || [ ! -f "services/${SERVICE}/package.json" ]; then \
      echo "set --build-arg SERVICE=<one of: $(ls services | tr '\n' ' ')>" >&2; exit 1; \
    fi
# --legacy: pnpm 10's new deploy needs inject-workspace-packages; the legacy one does not.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm --filter "@app/${SERVICE}" deploy --prod --legacy --offline --store-dir /pnpm/store /out
# The gateway serves the dashboard's static files (DASHBOARD_DIR below); no other image has them.
RUN if [ "${SERVICE}" = "gateway" ]; then cp -R packages/dashboard/dist /out/dashboard; fi

# The migration runner (@app/db) and the SQL it applies.
FROM build AS deploy-migrate
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm --filter @app/db deploy --prod --legacy --offline --store-dir /pnpm/store /out \
 && cp -R prisma/migrations /out/migrations

# ---------------------------------------------------------------------------------------------
# Runtime: no pnpm, no compiler, no sources of other services. dumb-init is PID 1 so SIGTERM
# reaches node (which then drains) and zombies are reaped.
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install --yes --no-install-recommends dumb-init \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
ENTRYPOINT ["dumb-init", "--"]

# Migration job: `docker run -e DATABASE_URL=... voice-platform/migrate`.
FROM runtime AS migrate
# Files stay root-owned: the process (user node) can read but not rewrite its own code.
COPY --from=deploy-migrate /out /app
ENV MIGRATIONS_DIR=/app/migrations
USER node
CMD ["node", "dist/cli/migrate.js"]

# Service image (default target).
FROM runtime AS service
ARG SERVICE
LABEL org.opencontainers.image.title="voice-platform-${SERVICE}"
COPY --from=deploy-service /out /app
# Read by the gateway only (the folder exists in its image alone).
ENV DASHBOARD_DIR=/app/dashboard
USER node
CMD ["node", "dist/main.js"]
