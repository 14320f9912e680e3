#!/bin/sh
# The whole suite: typecheck, then every *.test.ts (unit tests next to the code, end-to-end stories in test/).
set -eu
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --noEmit
npx tsc -p console/tsconfig.json
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec $(find src test -name '*.test.ts' | sort)
