// Credentials in stack config must be Pulumi secrets. The engine records the
// whole stack config on the dynamic-provider entry of the state (it is the
// provider's configuration): a secret is stored encrypted, a plain value in
// clear. The provider cannot tell the two apart (the SDK unwraps secrets
// before configure), so the program refuses a plain one while it declares
// its resources: in preview, before anything is written.
import * as pulumi from "@pulumi/pulumi";
import { CONNECTION_NAMESPACE } from "./connection.ts";

/** The keys whose value is a credential; natsTlsKey only as PEM text (a path is no secret). */
const CREDENTIAL_KEYS = ["natsPassword", "natsToken", "natsCreds", "natsNkeySeed", "natsTlsKey"] as const;

// @internal in the SDK, but the only way to ask; test/unit/secrets.test.ts fails if an upgrade drops it.
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

/** Full keys (`<namespace>:<key>`) holding a credential as plain text, in the package's and the project's namespace. */
export function plainCredentialKeys(get: (key: string) => string | undefined, isSecret: (key: string) => boolean, project: string): string[] {
    return [CONNECTION_NAMESPACE, project].flatMap((ns) => CREDENTIAL_KEYS.map((key) => `${ns}:${key}`))
        .filter((full) => {
            const value = get(full);
            if (!value || isSecret(full)) return false;
            return !full.endsWith(":natsTlsKey") || value.includes("-----BEGIN");
        });
}

let checked = false;

/** Fails the program, once, when a credential is set in stack config as plain text. */
export function refusePlainCredentials(): void {
    if (checked) return;
    checked = true;
    const plain = plainCredentialKeys((key) => pulumi.runtime.getConfig(key), isConfigSecret, pulumi.getProject());
    if (!plain.length) return;
    throw new Error(`${plain.join(", ")} ${plain.length > 1 ? "are" : "is"} set as plain text: the stack's state would record ` +
        `${plain.length > 1 ? "them" : "it"} in clear. Set ${plain.length > 1 ? "each" : "it"} again as a secret, e.g. ` +
        `\`pulumi config set --secret ${plain[0]} <value>\` (or from a file: \`pulumi config set --secret ${plain[0]} < file\`)`);
}
