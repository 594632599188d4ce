// Sizes and durations: parsing, canonical formatting, and the messages a bad
// value gets. Pure functions, no broker.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { duration, durationToNanos, formatDuration, formatSize, size, sizeToBytes, UNLIMITED } from "../../providers/units.ts";

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const S = 1e9;

describe("sizeToBytes", () => {
    test("binary and decimal units, any case, with spaces", () => {
        assert.equal(sizeToBytes("512MiB"), 512 * MiB);
        assert.equal(sizeToBytes("1GiB"), GiB);
        assert.equal(sizeToBytes("1gib"), GiB);
        assert.equal(sizeToBytes("1Gi"), GiB);
        assert.equal(sizeToBytes(" 1 GiB "), GiB);
        assert.equal(sizeToBytes("1GB"), 1e9);
        assert.equal(sizeToBytes("1G"), 1e9);
        assert.equal(sizeToBytes("64k"), 64_000);
        assert.equal(sizeToBytes("2TiB"), 2 * 1024 ** 4);
        assert.equal(sizeToBytes("1.5KiB"), 1536);
        assert.equal(sizeToBytes("100B"), 100);
        assert.equal(sizeToBytes("100"), 100);
    });

    test("numbers are bytes", () => {
        assert.equal(sizeToBytes(1048576), MiB);
        assert.throws(() => sizeToBytes(0), /0 would mean "unlimited" to the broker/);
        assert.throws(() => sizeToBytes("0B"), /"0B" would mean "unlimited" to the broker/);
    });

    test("-1 and unlimited mean no limit", () => {
        assert.equal(sizeToBytes(-1), -1);
        assert.equal(sizeToBytes("-1"), -1);
        assert.equal(sizeToBytes(UNLIMITED), -1);
    });

    test("bad values are rejected with a message quoting the value and the accepted forms", () => {
        assert.throws(() => sizeToBytes(-5), /^Error: -5 is not a size: use whole bytes > 0, -1 or "unlimited"$/);
        assert.throws(() => sizeToBytes(1.5), /1\.5 is not a size/);
        assert.throws(() => sizeToBytes(Number.MAX_SAFE_INTEGER + 2), /is not a size/);
        assert.throws(() => sizeToBytes("12XB"), /"12XB" is not a size: write e\.g\. 1048576, "512MiB", "1GB" or "unlimited"/);
        assert.throws(() => sizeToBytes("1e3"), /"1e3" is not a size/);
        assert.throws(() => sizeToBytes("-5MiB"), /"-5MiB" is not a size/);
        assert.throws(() => sizeToBytes(""), /"" is not a size/);
        assert.throws(() => sizeToBytes("MiB"), /"MiB" is not a size/);
        assert.throws(() => sizeToBytes("0.5B"), /"0\.5B" is not a whole number of bytes/);
        assert.throws(() => sizeToBytes("1.1KiB"), /not a whole number of bytes/);
    });
});

describe("formatSize", () => {
    test("the largest binary unit that divides exactly", () => {
        assert.equal(formatSize(GiB), "1GiB");
        assert.equal(formatSize(64 * MiB), "64MiB");
        assert.equal(formatSize(1536 * MiB), "1536MiB");
        assert.equal(formatSize(5 * 1024 ** 4), "5TiB");
        assert.equal(formatSize(1536), "1536B");
        assert.equal(formatSize(2 * KiB), "2KiB");
        assert.equal(formatSize(1e9), "1000000000B");
        assert.equal(formatSize(0), "0B");
    });

    test("negative means unlimited", () => {
        assert.equal(formatSize(-1), UNLIMITED);
    });

    test("parse and format round-trip to one canonical form", () => {
        for (const [input, canonical] of [["1024MiB", "1GiB"], ["1073741824", "1GiB"], [1073741824, "1GiB"], ["1gi", "1GiB"], ["-1", "unlimited"], ["1GB", "1000000000B"]] as const) {
            assert.equal(formatSize(sizeToBytes(input)), canonical, `${input}`);
            assert.equal(formatSize(sizeToBytes(canonical)), canonical, `${canonical} is a fixed point`);
        }
    });
});

describe("durationToNanos", () => {
    test("units and compound durations", () => {
        assert.equal(durationToNanos("90d"), 90 * 86400 * S);
        assert.equal(durationToNanos("30d"), 2592000000000000);
        assert.equal(durationToNanos("7d"), 604800000000000);
        assert.equal(durationToNanos("1h30m"), 5400 * S);
        assert.equal(durationToNanos("1h 30m"), 5400 * S);
        assert.equal(durationToNanos("2m"), 120 * S);
        assert.equal(durationToNanos("250ms"), 250e6);
        assert.equal(durationToNanos("1.5s"), 1.5 * S);
        assert.equal(durationToNanos("10us"), 10_000);
        assert.equal(durationToNanos("10µs"), 10_000);
        assert.equal(durationToNanos("100ns"), 100);
    });

    test("numbers are seconds", () => {
        assert.equal(durationToNanos(60), 60 * S);
        assert.equal(durationToNanos(0.25), 250e6);
    });

    test("0 and unlimited mean no limit (the server's 0)", () => {
        assert.equal(durationToNanos(0), 0);
        assert.equal(durationToNanos("0"), 0);
        assert.equal(durationToNanos(UNLIMITED), 0);
    });

    test("bad values are rejected with a message quoting the value and the accepted forms", () => {
        assert.throws(() => durationToNanos(-1), /^Error: -1 is not a duration: use seconds > 0 or a string like "90d"$/);
        assert.throws(() => durationToNanos(Infinity), /Infinity is not a duration/);
        assert.throws(() => durationToNanos(NaN), /NaN is not a duration/);
        assert.throws(() => durationToNanos("3 weeks"), /"3 weeks" is not a duration: write e\.g\. "90d", "1h30m", "250ms" or a number of seconds/);
        assert.throws(() => durationToNanos("1x"), /"1x" is not a duration/);
        assert.throws(() => durationToNanos("-1s"), /"-1s" is not a duration/);
        assert.throws(() => durationToNanos("1h-30m"), /is not a duration/);
        assert.throws(() => durationToNanos("90"), /"90" is not a duration/);
        assert.throws(() => durationToNanos(""), /"" is not a duration/);
        assert.throws(() => durationToNanos("999999999d"), /too long a duration/);
    });
});

describe("formatDuration", () => {
    test("largest units first, every non-zero unit", () => {
        assert.equal(formatDuration(90 * 86400 * S), "90d");
        assert.equal(formatDuration(36 * 3600 * S), "1d12h");
        assert.equal(formatDuration(5400 * S), "1h30m");
        assert.equal(formatDuration(120 * S), "2m");
        assert.equal(formatDuration(1.5 * S), "1s500ms");
        assert.equal(formatDuration(1001), "1us1ns");
    });

    test("0 is unlimited", () => {
        assert.equal(formatDuration(0), UNLIMITED);
        assert.equal(formatDuration(-5), UNLIMITED);
    });

    test("parse and format round-trip to one canonical form", () => {
        for (const [input, canonical] of [["90m", "1h30m"], ["24h", "1d"], ["720h", "30d"], [120, "2m"], ["1.5s", "1s500ms"], [0, "unlimited"], ["1µs", "1us"]] as const) {
            assert.equal(formatDuration(durationToNanos(input)), canonical, `${input}`);
            assert.equal(formatDuration(durationToNanos(canonical)), canonical, `${canonical} is a fixed point`);
        }
    });
});

describe("zod size and duration inputs", () => {
    test("normalise to the canonical string", () => {
        assert.equal(size.parse("1024MiB"), "1GiB");
        assert.equal(size.parse(-1), "unlimited");
        assert.equal(duration.parse("720h"), "30d");
        assert.equal(duration.parse(0), "unlimited");
    });

    test("a bad value becomes one issue carrying the parser's message", () => {
        const bad = size.safeParse("lots");
        assert.equal(bad.success, false);
        assert.equal(bad.error!.issues.length, 1);
        assert.match(bad.error!.issues[0].message, /"lots" is not a size/);
        const badDuration = duration.safeParse("soon");
        assert.equal(badDuration.success, false);
        assert.match(badDuration.error!.issues[0].message, /"soon" is not a duration/);
        assert.equal(size.safeParse(true).success, false);
    });
});
