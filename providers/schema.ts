// Zod building blocks shared by the three resource schemas: names, subjects
// and the nested settings the broker validates the same way for all kinds.
import { z } from "zod";
import { isServerMetadataKey } from "./rules.ts";
import { duration, durationToNanos, formatDuration } from "./units.ts";

/** Stream names: the broker rejects whitespace, '.', '*', '>' and path separators. */
export const streamName = z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s.*>/\\]+$/, "must not contain whitespace, '.', '*', '>', '/' or '\\'");

/** Bucket names, as async-nats and nats.js accept them for KV and object stores. */
export const bucketName = z
    .string()
    .min(1)
    .max(250)
    .regex(/^[A-Za-z0-9_-]+$/, "may contain only letters, digits, '_' and '-'");

/** A subject (wildcards allowed): non-empty tokens, '*' and '>' whole tokens, '>' last. */
export const subject = z.string().refine(isSubject, {
    message: "is not a well-formed subject: tokens separated by '.', no spaces, '*' and '>' only as whole tokens, '>' last",
});

export function isSubject(s: string): boolean {
    if (!s || /\s/.test(s)) return false;
    const tokens = s.split(".");
    return tokens.every((t, i) => t !== "" && (t === "*" || t === ">" || !/[*>]/.test(t)) && (t !== ">" || i === tokens.length - 1));
}

/** Two subject patterns overlap when some subject matches both. */
export function subjectsOverlap(a: string, b: string): boolean {
    const x = a.split(".");
    const y = b.split(".");
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if (x[i] === ">" || y[i] === ">") return x[i] !== undefined && y[i] !== undefined;
        if (x[i] === undefined || y[i] === undefined) return false;
        if (x[i] !== "*" && y[i] !== "*" && x[i] !== y[i]) return false;
    }
    return true;
}

/** Whether every subject `a` matches is also matched by `b`. */
export function subjectIsSubset(a: string, b: string): boolean {
    const x = a.split(".");
    const y = b.split(".");
    for (let i = 0; i < x.length; i++) {
        if (y[i] === ">") return true;
        if (y[i] === undefined || x[i] === ">" || (y[i] !== "*" && (x[i] === "*" || x[i] !== y[i]))) return false;
    }
    return x.length === y.length;
}

/**
 * A property path as Pulumi prints one (`subjects[0]`, `mirror.name`,
 * `sources[1].filterSubject`), for check failures.
 */
export function propertyPath(path: readonly PropertyKey[]): string {
    return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), "");
}

// What nats-server's checkStreamCfg (stream.go, the same in 2.9.10 and
// 2.12.15) refuses with 10052, checked here so that preview fails instead of
// the create or update halfway through `up`.

/** Shortest max_age and duplicate window the server accepts (other than 0, "unlimited"). */
export const MIN_WINDOW_NS = 100e6;
const MIN_WINDOW = formatDuration(MIN_WINDOW_NS);

const unlimitedOrAtLeastMin = (d: string) => {
    const ns = durationToNanos(d);
    return ns === 0 || ns >= MIN_WINDOW_NS;
};

/** A stream's max_age: a stream's maxAge, a bucket's ttl. */
export const maxAge = duration.refine(unlimitedOrAtLeastMin, {
    message: `must be "unlimited" or at least ${MIN_WINDOW}: nats-server refuses a shorter max age (10052 "max age needs to be >= 100ms")`,
});

export const duplicateWindow = duration.refine(unlimitedOrAtLeastMin, {
    message: `must be at least ${MIN_WINDOW}: nats-server refuses a shorter one (10052 "duplicates window needs to be >= 100ms")`,
});

interface StreamRuleInputs {
    subjects: string[];
    maxAge: string;
    duplicateWindow?: string;
    allowRollup: boolean;
    denyPurge: boolean;
    discard: "old" | "new";
    discardNewPerSubject: boolean;
    maxMsgsPerSubject: number;
}

/** checkStreamCfg's rules between settings of one stream, as zod issues on the setting to change. */
export function streamRules(i: StreamRuleInputs, ctx: z.core.$RefinementCtx<StreamRuleInputs>): void {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message, input: i });
    i.subjects.forEach((subject, j) => {
        // A malformed subject already has its own issue.
        const earlier = i.subjects.findIndex((other, k) => k < j && isSubject(subject) && isSubject(other) && subjectsOverlap(subject, other));
        if (earlier < 0) return;
        issue(["subjects", j], subject === i.subjects[earlier]
            ? `repeats subjects[${earlier}]: nats-server refuses it (10052 "duplicate subjects detected")`
            : `overlaps subjects[${earlier}] "${i.subjects[earlier]}": nats-server refuses subjects of one stream that overlap ` +
                `(10052 'subject "${subject}" overlaps with "${i.subjects[earlier]}"')`);
    });
    const age = durationToNanos(i.maxAge);
    if (i.duplicateWindow !== undefined && age > 0 && durationToNanos(i.duplicateWindow) > age) {
        issue(["duplicateWindow"], `must not be longer than maxAge (${i.maxAge}): nats-server refuses it (10052 "duplicates window can not be larger then max age")`);
    }
    if (i.allowRollup && i.denyPurge) {
        issue(["allowRollup"], `needs denyPurge false: nats-server refuses roll-ups without the purge permission (10052 "roll-ups require the purge permission")`);
    }
    if (i.discardNewPerSubject && i.discard !== "new") {
        issue(["discardNewPerSubject"], `needs discard "new": nats-server refuses it otherwise (10052 "discard new per subject requires discard new policy to be set")`);
    }
    if (i.discardNewPerSubject && i.maxMsgsPerSubject <= 0) {
        issue(["discardNewPerSubject"], `needs maxMsgsPerSubject > 0: nats-server refuses it otherwise (10052 "discard new per subject requires max msgs per subject > 0")`);
    }
}

export const storage = z.enum(["file", "memory"]).default("file");
export const replicas = z.number().int().min(1).max(5).default(1);
export const description = z.string().max(4096).default("");
export const metadata = z
    .record(z.string(), z.string())
    .refine((m) => !Object.keys(m).some(isServerMetadataKey), { message: "keys starting with '_nats.' belong to the server" })
    .default({});

export const placement = z.strictObject({ cluster: z.string().min(1).optional(), tags: z.array(z.string().min(1)).optional() });
export const republish = z.strictObject({ src: subject, dest: subject, headersOnly: z.boolean().default(false) });
export const subjectTransform = z.strictObject({ src: subject, dest: z.string().min(1) });
export const external = z.strictObject({ api: z.string().min(1), deliver: z.string().optional() });

/**
 * One of a source's or a mirror's subject transforms (2.10+): the messages
 * of `src` taken, renamed to `dest` (none: kept as they are). Several make a
 * multi-subject filter.
 */
export const sourceTransform = z.strictObject({ src: subject, dest: z.string().min(1).optional() });

interface OriginInputs {
    name: string;
    filterSubject?: string;
    subjectTransforms?: { src: string; dest?: string }[];
    external?: { api: string };
}

/** What makes two sources the same to the server (composeIName): origin, domain, filters and transforms. */
function sourceIdentity(o: OriginInputs): string {
    const transforms = o.subjectTransforms?.length ? o.subjectTransforms : [{ src: o.filterSubject ?? ">", dest: undefined }];
    return JSON.stringify([o.name, o.external?.api ?? null, transforms.map((t) => [t.src || ">", t.dest || ">"])]);
}

/** A stream's sources must differ (checkStreamCfg, 10140). */
export function sourcesRule(i: { sources: OriginInputs[] }, ctx: z.core.$RefinementCtx<{ sources: OriginInputs[] }>): void {
    const ids = i.sources.map(sourceIdentity);
    ids.forEach((id, j) => {
        const earlier = ids.indexOf(id);
        if (earlier < j) {
            ctx.addIssue({ code: "custom", path: ["sources", j], message: `repeats sources[${earlier}] (same stream, filter, transforms and domain): nats-server refuses it (10140 "duplicate source configuration detected")`, input: i });
        }
    });
}

/**
 * checkStreamCfg's rules for a mirror's or a source's filter and
 * transforms; the server words and numbers them differently for each.
 */
export function originRules(origin: "mirror" | "source") {
    const [both, overlap] = origin === "mirror"
        ? ['10150 "mirror with multiple subject transforms cannot also have a single subject filter"', '10152 "mirror subject filters can not overlap"']
        : ['10144 "source with multiple subject transforms cannot also have a single subject filter"', '10147 "source filters can not overlap"'];
    // A mirror's filters may not overlap at all; a source's may, unless one contains the other.
    const clash = origin === "mirror" ? subjectsOverlap : (a: string, b: string) => subjectIsSubset(a, b) || subjectIsSubset(b, a);
    return (o: OriginInputs, ctx: z.core.$RefinementCtx<OriginInputs>) => {
        const transforms = o.subjectTransforms ?? [];
        if (o.filterSubject !== undefined && transforms.length) {
            ctx.addIssue({ code: "custom", path: ["filterSubject"], message: `cannot be combined with subjectTransforms: nats-server refuses it (${both}); put the filter in a transform's src`, input: o });
        }
        transforms.forEach((t, j) => {
            const earlier = transforms.findIndex((u, k) => k < j && isSubject(t.src) && isSubject(u.src) && clash(t.src, u.src));
            if (earlier >= 0) {
                ctx.addIssue({ code: "custom", path: ["subjectTransforms", j, "src"], message: `clashes with subjectTransforms[${earlier}].src "${transforms[earlier].src}": nats-server refuses it (${overlap})`, input: o });
            }
        });
    };
}

/**
 * Opting in to data loss: a step that would drop messages or consumers (a
 * delete, a replacement, a limit lowered below what the stream holds, an
 * adoption that does either) fails unless this is set.
 */
export const allowDataLoss = z.boolean().default(false);

/** A stack's identity in the ownership registry (ownership.ts): `<org>/<project>/<stack>`. */
export const ownerId = z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be an owner id: <organization>/<project>/<stack>");

/** What each input of a kind's shape is when a program leaves it out: its default, for those that have one. */
export function defaultsOf(shape: Record<string, z.ZodType>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(shape).flatMap(([key, schema]) => {
        const left = schema.safeParse(undefined);
        return left.success && left.data !== undefined ? [[key, left.data]] : [];
    }));
}

/**
 * The inputs every kind carries besides its own settings: the data-loss
 * opt-in, the owning stack (set by JetStreamResource, resource.ts) and an
 * explicit hand-over from the stack that owns the stream now.
 */
export const managedInputs = {
    allowDataLoss,
    owner: ownerId.optional(),
    takeOverFrom: ownerId.optional(),
};
