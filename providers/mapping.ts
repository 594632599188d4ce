// Conversions between the camelCase inputs and the broker's snake_case
// config, for the rows of settings.ts and the kinds' own mappings.
import { z } from "zod";
import { placement, republish } from "./schema.ts";
import { type StreamConfig } from "./rules.ts";
import { durationToNanos, formatDuration, formatSize, sizeToBytes } from "./units.ts";

type Placement = z.infer<typeof placement>;
type Republish = z.infer<typeof republish>;

export const bytes = (size: string): number => sizeToBytes(size);
export const nanos = (duration: string): number => durationToNanos(duration);
export const size = (n: number | undefined): string => formatSize(n ?? -1);
export const duration = (n: number | undefined): string => formatDuration(n ?? 0);

/** The object without its undefined entries: absent and undefined mean the same to the plan and to state. */
export function compact<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function placementToServer(p: Placement | undefined): StreamConfig["placement"] {
    // No undefined-valued keys: the broker omits empty ones, and the plan compares deeply.
    return p && (p.cluster || p.tags?.length) ? compact({ cluster: p.cluster || undefined, tags: p.tags?.length ? p.tags : undefined }) : undefined;
}

export function placementFromServer(p: StreamConfig["placement"]): Placement | undefined {
    return p && (p.cluster || p.tags?.length) ? compact({ cluster: p.cluster || undefined, tags: p.tags?.length ? p.tags : undefined }) : undefined;
}

export function republishToServer(r: Republish | undefined): StreamConfig["republish"] {
    // headers_only only when set: the broker omits it when false, and the plan compares deeply.
    return r && (r.headersOnly ? { src: r.src, dest: r.dest, headers_only: true } : { src: r.src, dest: r.dest });
}

export function republishFromServer(r: StreamConfig["republish"]): Republish | undefined {
    return r && { src: r.src, dest: r.dest, headersOnly: r.headers_only ?? false };
}

export function metadataToServer(m: Record<string, string>): Record<string, string> | undefined {
    return Object.keys(m).length ? m : undefined;
}

