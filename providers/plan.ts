// Compares the config the program wants with the one the broker has, the way
// the broker itself would: server-filled defaults count as equal, the
// server's own metadata keys are ignored, and each difference is classified
// by the connected version's rules (rules.ts).
import { isDeepStrictEqual } from "node:util";
import {
    CREATE_ONLY, type Change, type Field, MANAGED_FIELDS, RULES, SEALED_FORCES, type StreamConfig, type StreamSource, type Version, atLeast, implied,
    withUserMetadata,
} from "./rules.ts";

export interface FieldChange {
    field: Field;
    from: unknown;
    to: unknown;
    change: Change;
}

/** The config as the broker stores it: defaults filled in, server metadata dropped. */
export function effective(config: StreamConfig): StreamConfig {
    const out: StreamConfig = withUserMetadata(config);
    const set = out as Record<string, unknown>;
    for (const field of MANAGED_FIELDS) {
        const rule = RULES[field] as { fill?: (c: StreamConfig) => unknown };
        if (isUnset(out[field]) && rule.fill) {
            const filled = rule.fill(out);
            if (filled === undefined) delete out[field];
            else set[field] = filled;
        }
        if (isUnset(out[field])) delete out[field];
    }
    Object.assign(out, implied(out));
    if (out.sealed === true) Object.assign(out, SEALED_FORCES);
    if (out.mirror) out.mirror = storedSource(out.mirror);
    if (out.sources) out.sources = out.sources.map(storedSource);
    // The server maps 0 to "unlimited" (-1) for limits, and replicas 0 to 1.
    for (const limit of ["max_msgs", "max_bytes", "max_consumers", "max_msgs_per_subject", "max_msg_size"] as const) {
        if (out[limit] === 0 || (out[limit] as number) < -1) out[limit] = -1;
    }
    if (out.num_replicas === 0) out.num_replicas = 1;
    if (out.placement && !out.placement.cluster && !out.placement.tags?.length) delete out.placement;
    return out;
}

/** The server always writes an external source's `deliver`, "" when none was sent. */
function storedSource(s: StreamSource): StreamSource {
    if (!s.external) return s;
    const { deliver, ...external } = s.external;
    return { ...s, external: deliver ? { ...external, deliver } : external };
}

/** A value the server treats as not set: absent, empty text, an empty list or map. */
export function isUnset(v: unknown): boolean {
    return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0) ||
        (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function sameValue(field: Field, a: unknown, b: unknown): boolean {
    // Subject order has no meaning to the broker.
    if (field === "subjects" && Array.isArray(a) && Array.isArray(b)) return isDeepStrictEqual([...a].sort(), [...b].sort());
    return isDeepStrictEqual(a, b);
}

/**
 * Every managed field whose effective value differs, with how the connected
 * server can apply the change. `first_seq` counts only when creating.
 */
export function compare(desired: StreamConfig, actual: StreamConfig, version: Version): FieldChange[] {
    const want = effective(desired);
    const have = effective(actual);
    const changes: FieldChange[] = [];
    for (const field of MANAGED_FIELDS) {
        if (CREATE_ONLY.includes(field) || !atLeast(version, RULES[field].since)) continue;
        if (sameValue(field, want[field], have[field])) continue;
        const rule = RULES[field] as { change?: (f: unknown, t: unknown, v: Version) => Change; serverDecides?: (c: StreamConfig) => boolean };
        if (rule.serverDecides?.(want)) continue;
        changes.push({ field, from: have[field], to: want[field], change: rule.change?.(have[field], want[field], version) ?? "in-place" });
    }
    return changes;
}

/**
 * The request body for this server: fields it does not know are left out
 * (2.12 rejects unknown fields, 2.9 drops them silently), and a field set to
 * something other than its default on a server too old for it is an error.
 */
export function forServer(config: StreamConfig, version: Version, versionText: string): StreamConfig {
    const body: StreamConfig = { ...config };
    const defaults = effective({ name: config.name });
    const unsupported: string[] = [];
    for (const field of MANAGED_FIELDS) {
        const { since, part } = RULES[field] as { since: Version; part?: { name: string; since: Version; usedBy: (v: unknown) => boolean } };
        if (part && body[field] !== undefined && !atLeast(version, part.since) && part.usedBy(body[field])) {
            unsupported.push(`${field} with ${part.name} (needs nats-server >= ${part.since.join(".")})`);
        }
        if (atLeast(version, since) || body[field] === undefined) continue;
        if (!sameValue(field, effective({ name: config.name, [field]: body[field] })[field], defaults[field])) {
            unsupported.push(`${field} (needs nats-server >= ${since.join(".")})`);
        }
        delete body[field];
    }
    if (unsupported.length) {
        throw new Error(`nats-server ${versionText} does not support ${unsupported.join(", ")}; remove the setting or upgrade the server`);
    }
    return { ...body, ...implied(body) };
}

/**
 * What nats-server refuses to create but accepts as an update
 * (jsStreamCreateRequest), one sentence per field: checked before a create
 * that would not adopt an existing stream.
 */
export function createRefusals(config: StreamConfig): { field: Field; reason: string }[] {
    return config.sealed === true
        ? [{ field: "sealed", reason: 'nats-server refuses to create a sealed stream (10052 "stream configuration for create can not be sealed"): create it unsealed, then set sealed' }]
        : [];
}

/**
 * What the server refuses in one update, given the changes it would carry:
 * a cluster cannot move (placement) and scale (replicas) a stream at once
 * (10123 "can not move and scale a stream in a single update").
 */
export function updateRefusals(changes: FieldChange[]): string[] {
    const fields = new Set(changes.map((c) => c.field));
    return fields.has("num_replicas") && fields.has("placement")
        ? ['nats-server refuses to move (placement) and scale (replicas) a stream in one update (10123): change one, run up, then the other']
        : [];
}

export function describeChange(c: FieldChange): string {
    return `${c.field}: ${show(c.from)} -> ${show(c.to)}`;
}

function show(v: unknown): string {
    return v === undefined ? "(unset)" : JSON.stringify(v);
}
