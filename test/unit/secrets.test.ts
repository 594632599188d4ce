// Which stack-config credentials the program refuses as plain text
// (secrets.ts), and the SDK internal it relies on.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { plainCredentialKeys } from "../../providers/secrets.ts";

const PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";

test("plain credentials are named in either namespace; secrets, users and TLS paths are not", () => {
    const config: Record<string, string> = {
        "app:natsPassword": "p", "app:natsUser": "u", "jetstream:natsToken": "t", "app:natsCreds": "c",
        "app:natsTlsKey": "/etc/nats/client-key.pem", "jetstream:natsTlsKey": PEM, "jetstream:natsNkeySeed": "SU...",
    };
    const secret = new Set(["app:natsCreds", "jetstream:natsNkeySeed"]);
    assert.deepEqual(plainCredentialKeys((k) => config[k], (k) => secret.has(k), "app").sort(),
        ["app:natsPassword", "jetstream:natsTlsKey", "jetstream:natsToken"]);
});

test("the SDK still tells secret config keys apart (runtime.isConfigSecret)", () => {
    const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: unknown }).isConfigSecret;
    assert.equal(typeof isConfigSecret, "function", "@pulumi/pulumi dropped runtime.isConfigSecret: providers/secrets.ts needs another way to ask");
    pulumi.runtime.setAllConfig({ "app:natsPassword": "p", "app:natsToken": "t" }, ["app:natsToken"]);
    assert.equal((isConfigSecret as (k: string) => boolean)("app:natsToken"), true);
    assert.equal((isConfigSecret as (k: string) => boolean)("app:natsPassword"), false);
});
