# syntax=docker/dockerfile:1
# Order Pipeline: build with the full dependency set, run with production dependencies only.
# The app embeds the fauxqs SQS emulator unless SQS_QUEUE_URL is set; its messages live in
# SQS_DATA_DIR (/app/.data/sqs), which is a volume.

FROM node:24-slim AS base
WORKDIR /app
ENV CI=true
# The workspace manifests: enough for pnpm to install without the sources, so this layer is
# cached until a manifest or the lockfile changes. pnpm-workspace.yaml holds allowBuilds and
# the patched dependencies, whose patches install applies.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY patches patches
COPY apps/order-pipeline/package.json apps/order-pipeline/
COPY libs/aggregation/package.json libs/aggregation/
COPY libs/config/package.json libs/config/
COPY libs/dashboard/package.json libs/dashboard/
COPY libs/observability/package.json libs/observability/
COPY libs/orders/package.json libs/orders/
COPY libs/processing/package.json libs/processing/
COPY libs/quality-guard/package.json libs/quality-guard/
COPY libs/redis/package.json libs/redis/
COPY libs/sqs/package.json libs/sqs/
COPY libs/stats/package.json libs/stats/
# pnpm at the version pinned by packageManager in package.json ("pnpm@X.Y.Z").
RUN npm install -g "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1].split('+')[0]")"

FROM base AS build
RUN pnpm install --frozen-lockfile
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN pnpm build

FROM base AS prod-deps
RUN pnpm install --prod --frozen-lockfile

FROM node:24-slim AS runtime
WORKDIR /app
# The embedded emulator listens on the container's every interface (it defaults to
# loopback), so that the published port 4566 reaches it.
ENV NODE_ENV=production \
    PORT=3000 \
    SQS_EMULATOR_HOST=0.0.0.0 \
    SQS_DATA_DIR=/app/.data/sqs
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY data ./data
# Run as the image's unprivileged "node" user; the data directory is created here so a new
# named volume mounted on it starts out owned by that user.
RUN mkdir -p /app/.data/sqs && chown -R node:node /app/.data
USER node
VOLUME ["/app/.data"]
# 3000: HTTP API. 4566: the embedded SQS emulator (when SQS_QUEUE_URL is unset).
EXPOSE 3000 4566
# The node flags: docs/PERFORMANCE.md, "Node flags".
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=192", "--no-allocation-site-pretenuring", "dist/apps/order-pipeline/src/main.js"]
