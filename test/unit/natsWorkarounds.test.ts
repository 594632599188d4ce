// providers/natsWorkarounds.ts patches nats.js internals by name: this fails
// when a `nats` upgrade moves them, so the patches are reviewed with it
// (the integration suites show that they work: frozen broker, TLS refusals).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { ProtocolHandler } from "nats/lib/nats-base-client/protocol.js";
import { NodeTransport } from "nats/lib/src/node_transport.js";
import "../../providers/natsWorkarounds.ts";

test("the nats.js internals the workarounds patch are where they were (nats 2.29)", () => {
    const pkg = createRequire(import.meta.url).resolve("nats/package.json");
    assert.match(JSON.parse(readFileSync(pkg, "utf8")).version, /^2\.29\./, "a new nats.js: review providers/natsWorkarounds.ts, then this pin");
    for (const name of ["close", "peekInfo"]) assert.equal(typeof (NodeTransport.prototype as unknown as Record<string, unknown>)[name], "function", name);
    const prepare = (ProtocolHandler.prototype as unknown as Record<string, unknown>).prepare;
    assert.equal(typeof prepare, "function");
    // The patched prepare reads this attempt's connectError and transport: both still assigned by nats.js itself.
    const source = readFileSync(createRequire(import.meta.url).resolve("nats/lib/nats-base-client/protocol.js"), "utf8");
    assert.match(source, /this\.connectError = /);
    assert.match(source, /this\.transport = /);
});
