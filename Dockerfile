# syntax=docker/dockerfile:1
# Tessera: build on the full dependency set (the Prisma CLI generates the client), then ship
# production dependencies only, as a non-root user.

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
# npm ci runs the postinstall script, which generates the Prisma client into src/db/generated.
RUN mkdir -p src/db && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:22-slim
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src/db/generated ./src/db/generated
COPY package.json ./
COPY bin ./bin
COPY prisma ./prisma
COPY src ./src
COPY views ./views
USER node
EXPOSE 3000
# /healthz answers while the process is alive; /readyz (used by orchestrators) also checks the database.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node 22.18+ runs the TypeScript sources directly; migrations are applied at start
# (MIGRATE_ON_START=true) under an advisory lock, so several replicas can start together.
CMD ["node", "src/main.ts"]
