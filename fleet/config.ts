// The stack configuration (Pulumi.<stack>.yaml, namespace kanade-jetstream),
// validated once at program start: unknown keys and bad values are errors
// that name the key.
import { z } from "zod";
import { CATALOGUE, LATEST_REVISION } from "./catalogue.ts";
import { type Advice, maxAge, ownerId, size } from "kanade-jetstream";

export const NAMESPACE = "kanade-jetstream";

/** What the preview-time checks tell an operator to change: this fleet's stack config keys. */
export const FLEET_ADVICE: Advice = {
    whole: "the fleet",
    caps: `${NAMESPACE}:sizeScale, ${NAMESPACE}:overrides.<name>.maxBytes`,
    replicas: `${NAMESPACE}:replicas (or overrides.<name>.replicas)`,
    monitorUrls: `${NAMESPACE}:monitorUrls`,
};

const names = new Set(CATALOGUE.map((r) => r.name));

const override = z.strictObject({
    maxBytes: size.optional(),
    /** maxAge for streams, ttl for KV buckets and object stores. */
    maxAge: maxAge.optional(),
    replicas: z.number().int().min(1).max(5).optional(),
    protect: z.boolean().optional(),
    allowDataLoss: z.boolean().optional(),
    /** Hand-over: adopt this resource although the stack <org>/<project>/<stack> owns it now. */
    takeOverFrom: ownerId.optional(),
});

export const stackConfig = z.strictObject({
    // Connection: read by the providers too (providers/connection.ts).
    servers: z.string().optional(),
    natsUser: z.string().optional(),
    natsPassword: z.string().optional(),
    natsToken: z.string().optional(),
    natsCreds: z.string().optional(),
    natsNkeySeed: z.string().optional(),
    natsTlsCa: z.string().optional(),
    natsTlsCert: z.string().optional(),
    natsTlsKey: z.string().optional(),
    /** The JetStream domain, or a custom API prefix, whose JetStream the fleet lives in (a leaf node's, another account's). */
    jsDomain: z.string().optional(),
    jsApiPrefix: z.string().optional(),
    /** Monitoring endpoints (http://host:8222), so preview can check the servers' own storage. */
    monitorUrls: z.array(z.url()).default([]),
    /** The backend bootstrap revision whose fleet this stack runs. */
    fleetRevision: z.number().int().min(1).max(LATEST_REVISION).default(LATEST_REVISION),
    replicas: z.number().int().min(1).max(5).default(1),
    /** Scales every capped maxBytes, for environments smaller than production. */
    sizeScale: z.number().positive().max(1).default(1),
    protect: z.boolean().default(false),
    allowDataLoss: z.boolean().default(false),
    /** Hand-over of the whole fleet from the stack <org>/<project>/<stack> (providers/ownership.ts). */
    takeOverFrom: ownerId.optional(),
    overrides: z
        .record(z.string(), override)
        .superRefine((o, ctx) => {
            for (const name of Object.keys(o)) {
                if (!names.has(name)) ctx.addIssue({ code: "custom", path: [name], message: "is not a resource of the kanade fleet" });
            }
        })
        .default({}),
});

export type StackConfig = z.infer<typeof stackConfig>;

/**
 * Validates the raw config map (`kanade-jetstream:<key>` -> string, as
 * pulumi.runtime.allConfig() gives it); structured values arrive as JSON.
 */
export function parseStackConfig(raw: Record<string, string>): StackConfig {
    const ours: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
        const [namespace, name] = key.split(":", 2);
        if (namespace !== NAMESPACE) continue;
        // Connection settings stay text (the providers parse them); the rest
        // arrives as JSON when it is a number, boolean, list or map.
        ours[name] = name === "servers" || name.startsWith("nats") || name.startsWith("js") ? value : parseValue(value);
    }
    const parsed = stackConfig.safeParse(ours);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => {
            const key = `${NAMESPACE}:${i.path.join(".")}`;
            return i.code === "unrecognized_keys" ? `unknown key(s) ${i.keys.map((k) => `${NAMESPACE}:${[...i.path, k].join(".")}`).join(", ")}` : `${key}: ${i.message}`;
        });
        throw new Error(`invalid stack configuration:\n  ${problems.join("\n  ")}`);
    }
    return parsed.data;
}

function parseValue(value: string): unknown {
    const t = value.trim();
    if (/^[[{]/.test(t) || t === "true" || t === "false" || /^-?\d+(\.\d+)?$/.test(t)) {
        try {
            return JSON.parse(t);
        } catch {
            return value;
        }
    }
    return value;
}
