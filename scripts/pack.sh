#!/usr/bin/env bash
# `npm run pack [-- DIR]`: the package as it is published. Node does not strip
# types inside node_modules, so providers/ is compiled to JavaScript with type
# declarations into a staging dir, beside a package.json whose exports point at
# them; `npm pack` there writes kanade-jetstream-<version>.tgz into DIR (default:
# the repository). Prints the tarball's path last.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/env.sh"
cd "$root"
out="$(cd "${1:-$root}" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

npx --no-install tsc -p tsconfig.package.json --outDir "$stage/dist"
# Declarations keep the sources' .ts import specifiers; the package has .js.
find "$stage/dist" -name '*.d.ts' -exec sed -i -E 's/(from "\.{1,2}\/[^"]*)\.ts"/\1.js"/g' {} +
cp README.md CHANGELOG.md LICENSE "$stage/"
node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
const repo = JSON.parse(readFileSync("package.json", "utf8"));
const entry = (ts) => {
    const js = ts.replace(/^\.\//, "./dist/").replace(/\.ts$/, ".js");
    return { types: js.replace(/\.js$/, ".d.ts"), default: js };
};
const { "@pulumi/pulumi": sdk, ...dependencies } = repo.dependencies;
writeFileSync(process.argv[1], JSON.stringify({
    name: repo.name,
    version: repo.version,
    description: repo.description,
    license: repo.license,
    type: "module",
    engines: { node: ">=22.12" },
    exports: Object.fromEntries(Object.entries(repo.exports).map(([k, v]) => [k, entry(v)])),
    files: ["dist", "README.md", "CHANGELOG.md", "LICENSE"],
    dependencies,
    // One SDK per program: the consumer brings its own @pulumi/pulumi.
    peerDependencies: { "@pulumi/pulumi": `^${sdk}` },
}, null, 2) + "\n");
' "$stage/package.json"
(cd "$stage" && npm pack --silent --pack-destination "$out")  | tail -1 | sed "s|^|$out/|"
