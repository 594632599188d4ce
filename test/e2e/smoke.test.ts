// The toolchain's proof: the real CLI, our language host and the dynamic-
// provider plugin run a trivial dynamic resource through up, a refresh that
// finds drift, preview and destroy, on a file backend.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { PulumiWorkspace, REPO_ROOT, planSummary } from "../harness/pulumi.ts";

const project = path.join(REPO_ROOT, "test/e2e/smoke");
let ws: PulumiWorkspace;
let note: string;

before(async () => {
    ws = await PulumiWorkspace.create(project, "smoke");
    note = path.join(ws.dir, "note.txt");
    await ws.setConfig("path", note);
    await ws.setConfig("content", "hello");
    await ws.setConfig("secretToken", "smoke-secret-value", { secret: true });
});
after(() => ws?.dispose());

test("pulumi up creates the dynamic resource", async () => {
    const up = await ws.run(["up", "--yes"], { SMOKE_CONFIGURE_OUT: path.join(ws.dir, "configured") });
    assert.equal(up.code, 0, up.output);
    assert.equal(readFileSync(note, "utf8"), "hello");
    assert.equal(planSummary(up.output).created, 2, up.output);
    // configure() saw the secret in plain text; the state holds only ciphertext.
    assert.equal(readFileSync(path.join(ws.dir, "configured"), "utf8"), "smoke-secret-value");
    const state = await ws.exportState();
    assert.ok(!state.text.includes("smoke-secret-value"), "secret config leaked into the state");
});

test("a clean preview reports no changes", async () => {
    const preview = await ws.run(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(preview.code, 0, preview.output);
});

test("refresh finds drift through read() and diff plans the repair", async () => {
    writeFileSync(note, "drifted");
    const preview = await ws.run(["preview", "--refresh", "--diff"]);
    assert.equal(preview.code, 0, preview.output);
    assert.match(preview.output, /content: "drifted" => "hello"/);
    assert.equal(planSummary(preview.output)["to update"], 1, preview.output);
    const strict = await ws.run(["preview", "--refresh", "--expect-no-changes"]);
    assert.notEqual(strict.code, 0, strict.output);
});

test("a resource deleted behind Pulumi's back is planned as a create", async () => {
    writeFileSync(note, "");
    await import("node:fs/promises").then((fs) => fs.rm(note));
    const preview = await ws.run(["preview", "--refresh"]);
    assert.equal(preview.code, 0, preview.output);
    assert.equal(planSummary(preview.output)["to create"], 1, preview.output);
});

test("pulumi destroy removes it", async () => {
    const up = await ws.run(["up", "--yes", "--refresh"]);
    assert.equal(up.code, 0, up.output);
    assert.ok(existsSync(note));
    const destroy = await ws.run(["destroy", "--yes"]);
    assert.equal(destroy.code, 0, destroy.output);
    assert.ok(!existsSync(note));
});
