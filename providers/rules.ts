// The broker's rules for stream configs, per server version, as one table:
// which fields a version knows, what it fills in when a field is absent, and
// whether a change can be applied in place. Sourced from nats-server's
// checkStreamCfg / configUpdateCheck and confirmed against 2.9.10, 2.10.29,
// 2.11.17 and 2.12.15 (docs/server-rules.md has the citations).

/** A stream config as the JetStream API reads and writes it. */
export interface StreamConfig {
    name: string;
    description?: string;
    subjects?: string[];
    retention?: "limits" | "interest" | "workqueue";
    max_consumers?: number;
    max_msgs?: number;
    max_bytes?: number;
    max_age?: number;
    max_msgs_per_subject?: number;
    max_msg_size?: number;
    discard?: "old" | "new";
    discard_new_per_subject?: boolean;
    storage?: "file" | "memory";
    num_replicas?: number;
    duplicate_window?: number;
    placement?: { cluster?: string; tags?: string[] };
    mirror?: StreamSource;
    sources?: StreamSource[];
    republish?: { src: string; dest: string; headers_only?: boolean };
    subject_transform?: { src: string; dest: string };
    allow_direct?: boolean;
    mirror_direct?: boolean;
    sealed?: boolean;
    deny_delete?: boolean;
    deny_purge?: boolean;
    allow_rollup_hdrs?: boolean;
    compression?: "none" | "s2";
    first_seq?: number;
    metadata?: Record<string, string>;
    no_ack?: boolean;
    consumer_limits?: { inactive_threshold?: number; max_ack_pending?: number };
    allow_msg_ttl?: boolean;
    subject_delete_marker_ttl?: number;
    allow_msg_counter?: boolean;
    allow_atomic?: boolean;
    allow_msg_schedules?: boolean;
    persist_mode?: "default" | "async";
    /** Fields this program does not manage are carried through untouched. */
    [unmanaged: string]: unknown;
}

export interface StreamSource {
    name: string;
    opt_start_seq?: number;
    opt_start_time?: string;
    filter_subject?: string;
    subject_transforms?: { src: string; dest: string }[];
    external?: { api: string; deliver?: string };
}

export type Field = Extract<keyof StreamConfig, string> & ManagedField;
type ManagedField = (typeof MANAGED_FIELDS)[number];

export type Version = readonly [number, number, number];

export function parseVersion(v: string): Version {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
    if (!m) throw new Error(`cannot read nats-server version "${v}"`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function atLeast(v: Version, min: Version): boolean {
    for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i] > min[i];
    return true;
}

/** How a change of one field can be applied on a given server. */
export type Change = "in-place" | "replace";

interface Rule {
    /** First server version that knows the field; older ones drop it silently. */
    since: Version;
    /** What the server stores when the field is absent (undefined: stays absent). */
    fill?: (cfg: StreamConfig) => unknown;
    /** How a change from `from` to `to` applies; default in place. */
    change?: (from: unknown, to: unknown, v: Version) => Change;
    /** When this holds for the desired config, the server stores its own value whatever is sent: nothing to compare. */
    serverDecides?: (desired: StreamConfig) => boolean;
    /** A part of the field's value a later server introduced (older ones drop it silently), and whether a value uses it. */
    part?: { name: string; since: Version; usedBy: (value: never) => boolean };
}

const V2_9: Version = [2, 9, 0];
const V2_10: Version = [2, 10, 0];
const V2_11: Version = [2, 11, 0];
const V2_12: Version = [2, 12, 0];
const TWO_MINUTES_NS = 120e9;

const always = (): Change => "replace";
/** deny_delete, deny_purge, sealed: can be switched on, never off again. */
const onlyOn = (from: unknown, to: unknown): Change => (from === true && to !== true ? "replace" : "in-place");

export const RULES = {
    name: { since: V2_9, change: always },
    description: { since: V2_9 },
    subjects: { since: V2_9, fill: (c) => (c.mirror || c.sources?.length ? undefined : [c.name]) },
    retention: {
        since: V2_9,
        fill: () => "limits",
        // 2.9 cannot change retention at all; later lines only between limits and interest.
        change: (from, to, v) => (!atLeast(v, V2_10) || from === "workqueue" || to === "workqueue" ? "replace" : "in-place"),
    },
    max_consumers: { since: V2_9, fill: () => -1, change: (_f, _t, v) => (atLeast(v, [2, 12, 5]) ? "in-place" : "replace") },
    max_msgs: { since: V2_9, fill: () => -1 },
    max_bytes: { since: V2_9, fill: () => -1 },
    max_age: { since: V2_9, fill: () => 0 },
    max_msgs_per_subject: { since: V2_9, fill: () => -1 },
    max_msg_size: { since: V2_9, fill: () => -1 },
    discard: { since: V2_9, fill: () => "old" },
    discard_new_per_subject: { since: V2_9, fill: () => false },
    storage: { since: V2_9, fill: () => "file", change: always },
    num_replicas: { since: V2_9, fill: () => 1 },
    // The server derives the window from max_age when none is sent; mirrors have none.
    duplicate_window: {
        since: V2_9,
        fill: (c) => (c.mirror ? undefined : c.max_age && c.max_age > 0 && c.max_age < TWO_MINUTES_NS ? c.max_age : TWO_MINUTES_NS),
    },
    placement: { since: V2_9 },
    mirror: {
        since: V2_9,
        change: (_from, to, v) => (to === undefined && atLeast(v, [2, 12, 0]) ? "in-place" : "replace"),
        part: { name: "subject_transforms", since: V2_10, usedBy: (m: StreamSource) => !!m.subject_transforms?.length },
    },
    sources: { since: V2_9, part: { name: "subject_transforms", since: V2_10, usedBy: (s: StreamSource[]) => s.some((x) => !!x.subject_transforms?.length) } },
    republish: { since: V2_9, change: (_f, _t, v) => (atLeast(v, V2_10) ? "in-place" : "replace") },
    allow_direct: { since: V2_9, fill: () => false },
    // A mirror of a stream the server can see gets the origin's allow_direct
    // (checkStreamCfg); an external origin is not looked up.
    mirror_direct: { since: V2_9, fill: () => false, serverDecides: (c) => c.mirror !== undefined && !c.mirror.external },
    sealed: { since: V2_9, fill: () => false, change: onlyOn },
    deny_delete: { since: V2_9, fill: () => false, change: onlyOn },
    deny_purge: { since: V2_9, fill: () => false, change: onlyOn },
    allow_rollup_hdrs: { since: V2_9, fill: () => false },
    compression: { since: V2_10, fill: () => "none" },
    subject_transform: { since: V2_10 },
    // Only a create sets the first sequence; an update stores it without effect.
    first_seq: { since: V2_10 },
    metadata: { since: V2_10 },
    no_ack: { since: V2_9, fill: () => false },
    // Stored as {} when unset; effective() drops empty objects. A limit below
    // an existing consumer's setting fails the update (10069), it is no replace.
    consumer_limits: { since: V2_10 },
    // 2.11.0-2.11.1 refuse any change; from 2.11.2 it can be switched on, never off.
    allow_msg_ttl: { since: V2_11, fill: () => false, change: (f, t, v) => (atLeast(v, [2, 11, 2]) ? onlyOn(f, t) : "replace") },
    subject_delete_marker_ttl: { since: V2_11 },
    allow_msg_counter: { since: V2_12, fill: () => false, change: always },
    allow_atomic: { since: V2_12, fill: () => false },
    allow_msg_schedules: { since: V2_12, fill: () => false, change: onlyOn },
    persist_mode: { since: V2_12, fill: () => "default", change: always },
} satisfies Record<string, Rule>;

export const MANAGED_FIELDS = Object.keys(RULES) as (keyof typeof RULES)[];

export function rule(field: Field): Rule {
    return RULES[field];
}

/**
 * What the server stores on a sealed stream whatever the request said
 * (checkStreamCfg, seen on 2.9.10 and 2.12.15); the duplicate window is
 * derived from the max_age sent, before this applies.
 */
export const SEALED_FORCES: Partial<StreamConfig> = { max_age: 0, discard: "new", deny_delete: true, deny_purge: true, allow_rollup_hdrs: false };

/**
 * What the server sets by itself when another setting needs it (2.11.2+
 * checkStreamCfg, when not pedantic): subject delete markers need message
 * TTLs and roll-ups, schedules need roll-ups; roll-ups need purges allowed.
 * The request carries these too: 2.11.0-2.11.1 refuse markers without them.
 */
export function implied(c: StreamConfig): Partial<StreamConfig> {
    const rollups = { allow_rollup_hdrs: true, deny_purge: false };
    return {
        ...((c.subject_delete_marker_ttl ?? 0) > 0 ? { allow_msg_ttl: true, ...rollups } : {}),
        ...(c.allow_msg_schedules === true ? rollups : {}),
    };
}

/** Fields whose value has effect only when the stream is created. */
export const CREATE_ONLY: readonly Field[] = ["first_seq"];

/**
 * Metadata keys the server writes itself (2.11+: `_nats.req.level`,
 * `_nats.ver`, `_nats.level`); they change with server upgrades and are
 * never ours to compare or send.
 */
export function isServerMetadataKey(key: string): boolean {
    return key.startsWith("_nats.");
}

/** The user's metadata: the map without the server's own keys. */
export function userMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
    return Object.fromEntries(Object.entries(metadata ?? {}).filter(([k]) => !isServerMetadataKey(k)));
}

/** The config with only the user's metadata, and none when that is empty. */
export function withUserMetadata(config: StreamConfig): StreamConfig {
    const { metadata, ...rest } = config;
    const kept = userMetadata(metadata);
    return Object.keys(kept).length ? { ...rest, metadata: kept } : rest;
}
