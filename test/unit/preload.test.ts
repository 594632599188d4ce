// preload.ts relies on the Pulumi SDK's internals (which files load
// TypeScript, arborist and source-map-support): this fails when an SDK
// upgrade changes them, instead of the program silently paying for them again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { REPO_ROOT } from "../harness/pulumi.ts";

// What the SDK's run script (cmd/run) loads before the program: the SDK and source-map-support.
const probe = `
const pulumi = require("@pulumi/pulumi");
const fromRunScript = require("node:module").createRequire(require.resolve("@pulumi/pulumi/cmd/run/index.js"));
fromRunScript("source-map-support/register");
fromRunScript("../../runtime/closure/v8Hooks").isInitializedAsync();
const loaded = Object.keys(require.cache);
pulumi.runtime.serializeFunction(() => 1).then(
    () => console.log(JSON.stringify({ loaded, serialised: true })),
    (err) => console.log(JSON.stringify({ loaded, serialised: false, error: err.message })),
);`;

test("with preload.ts, loading @pulumi/pulumi skips TypeScript, arborist, source-map-support and V8's debugger, and closure serialisation fails loudly", () => {
    const r = spawnSync(process.execPath, ["--no-warnings", "--import", "./preload.ts", "-e", probe], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { loaded: string[]; serialised: boolean; error?: string };
    assert.deepEqual(out.loaded.filter((k) => k.startsWith("kanade-standin:")).sort(), ["kanade-standin:@npmcli/arborist", "kanade-standin:source-map-support", "kanade-standin:typescript", "kanade-standin:v8Hooks"]);
    assert.deepEqual(out.loaded.filter((k) => /node_modules\/(typescript|@npmcli\/arborist|source-map-support|source-map)\//.test(k)), []);
    assert.equal(out.serialised, false);
    assert.match(out.error ?? "", /(typescript|V8.s debugger session) was not loaded \(preload\.ts\): this program stores no serialised closures/);
});

test("without it, the SDK and its run script load them (the preload's targets still exist)", () => {
    const runScript = readFileSync(createRequire(import.meta.url).resolve("@pulumi/pulumi/cmd/run/index.js"), "utf8");
    assert.match(runScript, /require\("source-map-support\/register"\)/);
    assert.match(runScript, /require\("\.\.\/\.\.\/runtime\/closure\/v8Hooks"\)[\s\S]*isInitializedAsync\(\)/);
    const r = spawnSync(process.execPath, ["--no-warnings", "-e", probe], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { loaded: string[]; serialised: boolean };
    for (const name of ["typescript", "@npmcli/arborist", "source-map-support"]) {
        assert.ok(out.loaded.some((k) => k.includes(`/node_modules/${name}/`)), `${name} is no longer loaded by @pulumi/pulumi: preload.ts may be obsolete`);
    }
    assert.equal(out.serialised, true);
});
