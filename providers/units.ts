// Sizes and durations: inputs accept readable strings ("1GiB", "90d") or
// numbers; everything downstream works on one canonical string form so that
// state, plans and diffs read the way an operator writes them.
import { z } from "zod";

export const UNLIMITED = "unlimited";

const SIZE_UNITS: Record<string, number> = {
    b: 1,
    k: 1000, kb: 1000, m: 1000 ** 2, mb: 1000 ** 2, g: 1000 ** 3, gb: 1000 ** 3, t: 1000 ** 4, tb: 1000 ** 4,
    ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4,
};
const CANONICAL_SIZES: [string, number][] = [["TiB", 1024 ** 4], ["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]];

const NS = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9, d: 86400e9 } as const;
const CANONICAL_DURATIONS: [string, number][] = [["d", NS.d], ["h", NS.h], ["m", NS.m], ["s", NS.s], ["ms", NS.ms], ["us", NS.us], ["ns", 1]];

/** Bytes from a size: a number of bytes, "512MiB", "1GB", or -1 / "unlimited". */
export function sizeToBytes(value: number | string): number {
    if (value === UNLIMITED || value === -1 || value === "-1") return -1;
    if (typeof value === "number") {
        if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${value} is not a size: use whole bytes > 0, -1 or "unlimited"`);
        return positive(value, String(value));
    }
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    const unit = m ? SIZE_UNITS[(m[2] || "b").toLowerCase()] : undefined;
    if (!m || unit === undefined) throw new Error(`"${value}" is not a size: write e.g. 1048576, "512MiB", "1GB" or "unlimited"`);
    const bytes = Number(m[1]) * unit;
    if (!Number.isSafeInteger(bytes)) throw new Error(`"${value}" is not a whole number of bytes`);
    return positive(bytes, `"${value}"`);
}

// The broker reads a size of 0 as "no limit": say so rather than silently uncap.
function positive(bytes: number, shown: string): number {
    if (bytes === 0) throw new Error(`${shown} would mean "unlimited" to the broker: write "unlimited", or a size > 0`);
    return bytes;
}

export function formatSize(bytes: number): string {
    if (bytes < 0) return UNLIMITED;
    for (const [unit, factor] of CANONICAL_SIZES) if (bytes > 0 && bytes % factor === 0) return `${bytes / factor}${unit}`;
    return `${bytes}B`;
}

/**
 * Nanoseconds from a duration: seconds as a number, or "90d", "1h30m",
 * "250ms". 0 and "unlimited" mean no limit (the server's 0).
 */
export function durationToNanos(value: number | string): number {
    if (value === UNLIMITED || value === 0 || value === "0") return 0;
    if (typeof value === "number") {
        if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${value} is not a duration: use seconds > 0 or a string like "90d"`);
        return Math.round(value * NS.s);
    }
    const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value.replace(/\s+/g, "")) {
        throw new Error(`"${value}" is not a duration: write e.g. "90d", "1h30m", "250ms" or a number of seconds`);
    }
    const nanos = parts.reduce((sum, p) => sum + Number(p[1]) * NS[p[2] as keyof typeof NS], 0);
    if (!Number.isSafeInteger(Math.round(nanos))) throw new Error(`"${value}" is too long a duration`);
    return Math.round(nanos);
}

export function formatDuration(nanos: number): string {
    if (nanos <= 0) return UNLIMITED;
    let rest = nanos;
    let out = "";
    for (const [unit, factor] of CANONICAL_DURATIONS) {
        if (rest >= factor) {
            out += `${Math.floor(rest / factor)}${unit}`;
            rest %= factor;
        }
    }
    return out;
}

/** An input parsed by `parse` and stored in `format`'s canonical string, with parse errors as zod issues. */
function canonical(parse: (v: number | string) => number, format: (n: number) => string) {
    return z.union([z.number(), z.string()]).transform((v, ctx) => {
        try {
            return format(parse(v));
        } catch (e) {
            ctx.addIssue({ code: "custom", message: (e as Error).message });
            return z.NEVER;
        }
    });
}

/** A size input, normalised to its canonical string ("1GiB", "unlimited"). */
export const size = canonical(sizeToBytes, formatSize);

/** A duration input, normalised to its canonical string ("90d", "2m", "unlimited"). */
export const duration = canonical(durationToNanos, formatDuration);
