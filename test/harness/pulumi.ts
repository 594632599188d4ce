// Runs the real pulumi CLI against a throwaway file backend: every workspace
// has its own state dir, PULUMI_HOME and stack config file, so tests can run
// side by side on one project without touching ~/.pulumi or each other.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export const TEST_PASSPHRASE = "kanade-test-passphrase";
export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
    /** Everything the CLI printed, for assertion messages. */
    output: string;
}

export class PulumiWorkspace {
    readonly projectDir: string;
    readonly stack: string;
    readonly dir: string;
    /** The environment every CLI run gets (backend, PULUMI_HOME, passphrase). */
    readonly env: NodeJS.ProcessEnv;

    private constructor(projectDir: string, stack: string, dir: string, env: NodeJS.ProcessEnv) {
        this.projectDir = projectDir;
        this.stack = stack;
        this.dir = dir;
        this.env = env;
    }

    /** A fresh backend with one initialised stack of the project in projectDir. */
    static async create(projectDir: string, stack = "test", env: NodeJS.ProcessEnv = {}): Promise<PulumiWorkspace> {
        const dir = await mkdtemp(path.join(tmpdir(), "kanade-pulumi-"));
        const ws = new PulumiWorkspace(projectDir, stack, dir, {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
            PULUMI_HOME: path.join(dir, "home"),
            PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
            NO_COLOR: "1",
            ...env,
        });
        await mkdir(path.join(dir, "state"), { recursive: true });
        // `stack init` writes the stack's encryption salt into Pulumi.<stack>.yaml
        // beside Pulumi.yaml; run it on a copy in the temp dir so that file is
        // our --config-file and the project dir stays clean.
        await copyFile(path.join(projectDir, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const init = await ws.run(["stack", "init", stack], {}, dir);
        if (init.code !== 0) throw new Error(`pulumi stack init failed:\n${init.output}`);
        return ws;
    }

    get configFile(): string {
        return path.join(this.dir, `Pulumi.${this.stack}.yaml`);
    }

    /** Runs `pulumi <args>` for this stack; never throws on a non-zero exit. */
    run(args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = this.projectDir): Promise<CliResult> {
        const stackScoped = !(args[0] === "stack" && args[1] === "init");
        const full = [
            ...args,
            "--non-interactive",
            ...(stackScoped ? ["--stack", this.stack] : []),
            ...(stackScoped && takesConfigFile(args[0]) ? ["--config-file", this.configFile] : []),
        ];
        return new Promise((resolve) => {
            execFile(
                "pulumi",
                full,
                { cwd, env: { ...this.env, ...extraEnv }, maxBuffer: 64 * 1024 * 1024 },
                (err, stdout, stderr) => {
                    const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
                    resolve({ code, stdout, stderr, output: `$ pulumi ${full.join(" ")}\n${stdout}${stderr}` });
                },
            );
        });
    }

    /**
     * Starts `pulumi <args>` for this stack like run() but without waiting, so
     * a test can signal the CLI mid-run (`child.pid`); `done` resolves when it
     * has exited, with the signal that ended it (null if it exited by itself).
     */
    start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult & { signal: NodeJS.Signals | null }> } {
        const full = [...args, "--non-interactive", "--stack", this.stack, ...(takesConfigFile(args[0]) ? ["--config-file", this.configFile] : [])];
        const child = spawn("pulumi", full, { cwd: this.projectDir, env: { ...this.env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) => {
            child.on("close", (code, signal) =>
                resolve({ code: code ?? 1, signal, stdout, stderr, output: `$ pulumi ${full.join(" ")}\n${stdout}${stderr}` }));
        });
        return { child, done };
    }

    /** `plaintext`: store a value the CLI takes for a secret in clear anyway, as a careless user can. */
    async setConfig(key: string, value: string, opts: { secret?: boolean; plaintext?: boolean; path?: boolean } = {}): Promise<void> {
        const args = ["config", "set", key, value];
        if (opts.secret) args.push("--secret");
        if (opts.plaintext) args.push("--plaintext");
        if (opts.path) args.push("--path");
        const r = await this.run(args);
        if (r.code !== 0) throw new Error(`pulumi config set ${key} failed:\n${r.output}`);
    }

    /** The stack's state as `pulumi stack export` prints it. */
    async exportState(): Promise<{ text: string; resources: StateResource[] }> {
        const r = await this.run(["stack", "export"]);
        if (r.code !== 0) throw new Error(`pulumi stack export failed:\n${r.output}`);
        const resources = (JSON.parse(r.stdout).deployment.resources ?? []) as StateResource[];
        return { text: r.stdout, resources };
    }

    async readConfigFile(): Promise<string> {
        return readFile(this.configFile, "utf8");
    }

    async dispose(): Promise<void> {
        await rm(this.dir, { recursive: true, force: true });
    }
}

export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    protect?: boolean;
}

function takesConfigFile(command: string | undefined): boolean {
    return ["up", "preview", "refresh", "destroy", "config"].includes(command ?? "");
}

/** The resources a preview or up plans, counted from the CLI's summary lines. */
export function planSummary(output: string): Record<string, number> {
    const summary: Record<string, number> = {};
    const re = /^\s*(?:[+~-]+\s*)?(\d+) (to create|to update|to delete|to replace|created|updated|deleted|replaced|unchanged)\b/gm;
    for (const m of output.matchAll(re)) summary[m[2]] = Number(m[1]);
    return summary;
}
