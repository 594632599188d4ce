// Preloaded (node --require) into the dynamic-provider host that the engine
// starts through pulumi-resource-pulumi-nodejs.
"use strict";
const Module = require("node:module");
const path = require("node:path");

// 1. Exit when the engine that started us is gone. A killed `pulumi` cannot
// stop its plugins, and an orphaned provider would keep serving (and
// changing the broker for) a run nobody owns; once reparented, our ppid changes.
const parent = process.ppid;
setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
}, 200).unref();

// 2. State written before the TypeScript sources ran directly stores each
// resource's provider as
//   exports.handler = () => require(require("path").resolve("bin/providers/<kind>")).provider;
// and bin/ no longer exists. Load the current module of that kind instead, so
// such state still previews and updates; the provider's diff sees the old
// reference and the next `pulumi up` rewrites it (providers/lifecycle.ts).
const legacy = /^bin\/providers\/(stream|keyValue|objectStore)(\.js)?$/;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
    try {
        return resolve.call(this, request, ...rest);
    } catch (err) {
        const kind = err?.code === "MODULE_NOT_FOUND" && path.isAbsolute(request)
            ? legacy.exec(path.relative(process.cwd(), request).split(path.sep).join("/"))?.[1]
            : undefined;
        if (!kind) throw err;
        const entry = Module.createRequire(path.join(process.cwd(), "package.json")).resolve("kanade-jetstream/dynamic-providers");
        return path.join(path.dirname(entry), `${kind}.ts`);
    }
};
