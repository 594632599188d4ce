// Command pulumi-language-nodejs is kanade-jetstream's Node.js language host
// for the Pulumi engine.
//
// Upstream's host lives in its own Go module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) that the
// module proxy reachable from our machines does not serve at any version, so
// we build this one from the SDK's published gRPC definitions instead. It
// behaves like upstream's for what a Node.js program needs: Run (with the
// typescript, tsconfig and nodeargs runtime options), Cancel, About,
// GetProgramDependencies and InstallDependencies (npm only). Plugin
// installation, code generation, packing and `pulumi new` prompts are left
// unimplemented, which the engine treats as "not supported".
//
// Process lifetime: the host exits once the engine that started it is gone
// (its parent changed or its address stops answering health checks), and
// first interrupts the program it runs, so a killed `pulumi` leaves nothing
// behind.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/shlex"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// The SDK's run script exits with this code once it has already shown the
	// user an actionable message; the engine then stops without adding its own.
	exitAfterUserMessage = 32
	// How long a cancelled program gets after SIGINT before it is killed (upstream's value).
	interruptGrace = 5 * time.Second
	// How often the host checks that the engine is still there. Upstream checks
	// every 5 minutes; a killed `pulumi` should not leave the program running
	// (and changing the broker) for that long.
	engineCheckInterval = time.Second
	parentCheckInterval = 200 * time.Millisecond
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex // guards engineAddress and starting runs
	engineAddress string

	// Done once the engine is gone or the host got SIGINT: the host exits.
	stopped context.Context
	stop    context.CancelFunc
	// Done then too, or after the Cancel RPC: running programs are stopped
	// (SIGINT, then SIGKILL after interruptGrace) and no new one starts.
	cancelled context.Context
	cancel    context.CancelFunc
	// Runs still waiting for their program; the host exits after they return.
	runs sync.WaitGroup
}

func main() {
	// The engine passes its own address as the last argument; anything before
	// it (logging or tracing flags) does not apply to this host.
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-language-nodejs ENGINE_ADDRESS")
		os.Exit(2)
	}
	if os.Args[1] == "--version" || os.Args[1] == "-version" {
		fmt.Println(version.Version)
		return
	}
	engine := os.Args[len(os.Args)-1]

	// Like upstream, SIGINT stops the host; so does the engine going away.
	stopped, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelled, cancel := context.WithCancel(stopped)
	h := &host{engineAddress: engine, stopped: stopped, stop: stop, cancelled: cancelled, cancel: cancel}
	watchParent(stopped, stop)
	if err := rpcutil.Healthcheck(stopped, engine, engineCheckInterval, stop); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: cannot health-check the engine at %s: %v\n", engine, err)
		os.Exit(1)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: listen: %v\n", err)
		os.Exit(1)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(srv, h)
	// The engine reads the port from our first line of output.
	fmt.Println(lis.Addr().(*net.TCPAddr).Port)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: serve: %v\n", err)
		os.Exit(1)
	case <-stopped.Done():
		// Let every program finish its interrupt (or be killed) before exiting,
		// so none outlives the host.
		h.mu.Lock()
		h.mu.Unlock() // a barrier: a run starting after this sees the stop (beginRun)
		h.runs.Wait()
		srv.Stop()
	}
}

// watchParent cancels once this process's parent changes: the engine that
// started us died and we were reparented.
func watchParent(ctx context.Context, cancel context.CancelFunc) {
	parent := os.Getppid()
	go func() {
		t := time.NewTicker(parentCheckInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != parent {
					cancel()
					return
				}
			}
		}
	}()
}

// beginRun counts a run unless runs are cancelled; under mu, so that once
// main has seen the stop (and taken mu) no run can start behind its Wait.
func (h *host) beginRun() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cancelled.Err() != nil {
		return false
	}
	h.runs.Add(1)
	return true
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" && addr != h.engine() {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
		if err := rpcutil.Healthcheck(h.stopped, addr, engineCheckInterval, h.stop); err != nil {
			return nil, fmt.Errorf("could not health-check the engine at %s: %w", addr, err)
		}
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// The program uses only dynamic providers, served by the pulumi-nodejs
// resource plugin that the engine finds on PATH when a resource needs it.
func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// runtimeOptions are Pulumi.yaml's runtime.options that matter to Run.
type runtimeOptions struct {
	typescript bool // upstream's default: true
	tsconfig   string
	nodeargs   []string
}

func parseRuntimeOptions(opts map[string]any) (runtimeOptions, error) {
	out := runtimeOptions{typescript: true}
	if v, ok := opts["typescript"]; ok {
		b, ok := v.(bool)
		if !ok {
			return out, fmt.Errorf("runtime option typescript must be true or false, got %v", v)
		}
		out.typescript = b
	}
	if v, ok := opts["tsconfig"]; ok {
		s, ok := v.(string)
		if !ok {
			return out, fmt.Errorf("runtime option tsconfig must be a path, got %v", v)
		}
		out.tsconfig = s
	}
	if v, ok := opts["nodeargs"]; ok {
		s, ok := v.(string)
		if !ok {
			return out, fmt.Errorf("runtime option nodeargs must be a string of node flags, got %v", v)
		}
		args, err := shlex.Split(s)
		if err != nil {
			return out, fmt.Errorf("runtime option nodeargs %q: %w", s, err)
		}
		out.nodeargs = args
	}
	return out, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if !h.beginRun() {
		return &pulumirpc.RunResponse{Error: "the run was cancelled before the program started (Cancel, SIGINT, or the engine is gone)"}, nil
	}
	defer h.runs.Done()

	info := req.GetInfo()
	opts, err := parseRuntimeOptions(info.GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: "Pulumi.yaml: " + err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runScript, err := resolveModule(ctx, node, info.GetProgramDirectory(), "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runScript)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", h.engine())
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", info.GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	args = append(args, info.GetEntryPoint())
	args = append(args, req.GetArgs()...)

	cfg, err := sdkConfig(req.GetConfig())
	if err != nil {
		return &pulumirpc.RunResponse{Error: "serialising stack config: " + err.Error()}, nil
	}
	secretKeys, err := json.Marshal(append([]string{}, req.GetConfigSecretKeys()...))
	if err != nil {
		return &pulumirpc.RunResponse{Error: "serialising secret config keys: " + err.Error()}, nil
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+cfg,
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(opts.typescript))
	env = append(env, memoryEnv()...)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	// The program stops when the engine ends this request or runs are
	// cancelled: first SIGINT, then SIGKILL if it is still there interruptGrace later.
	runCtx, cancelRun := context.WithCancel(h.cancelled)
	defer cancelRun()
	context.AfterFunc(ctx, cancelRun)
	cmd := exec.CommandContext(runCtx, node, args...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = interruptGrace
	cmd.Dir = info.GetProgramDirectory()
	cmd.Env = env
	// Node may switch its stdio to non-blocking mode; never hand it ours directly.
	cmd.Stdout = struct{ *os.File }{os.Stdout}
	cmd.Stderr = struct{ *os.File }{os.Stderr}
	setDieWithParent(cmd)
	// Start and Wait on one locked OS thread: the parent-death signal fires
	// when the thread that started the child exits, not the process.
	runtime.LockOSThread()
	err = cmd.Run()
	runtime.UnlockOSThread()

	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == exitAfterUserMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case runCtx.Err() != nil:
		return &pulumirpc.RunResponse{Error: "Program was cancelled (" + err.Error() + ")"}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: "Problem executing program (could not run node): " + err.Error()}, nil
	}
}

// resolveModule finds a module's entry from the program directory: in its own
// node_modules without starting anything (the usual layout), otherwise by
// asking node, the same lookup the program's own require() would do.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	if local := filepath.Join(dir, "node_modules", module, "index.js"); fileExists(local) {
		return local, nil
	}
	cmd := exec.CommandContext(ctx, node, "-e", "process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot find %s from %s (run `pulumi install` or `npm ci` there first): %w", module, dir, err)
	}
	return filepath.Clean(strings.TrimSpace(string(out))), nil
}

// sdkConfig renders stack config the way @pulumi/pulumi reads PULUMI_CONFIG:
// keys as "<namespace>:config:<name>".
func sdkConfig(in map[string]string) (string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// About reports node and npm, as upstream does (`pulumi about`'s runtime section).
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version failed: %w", node, err)
	}
	// The engine asks on every run: read package.json files rather than start npm and node again.
	metadata := map[string]string{"packagemanager": "npm"}
	if npm, err := exec.LookPath("npm"); err == nil {
		if cli, err := filepath.EvalSymlinks(npm); err == nil {
			if v := packageVersion(filepath.Join(filepath.Dir(cli), "..", "package.json")); v != "" {
				metadata["packagemanagerVersion"] = v
			}
		}
	}
	if v := packageVersion(filepath.Join(req.GetInfo().GetProgramDirectory(), "node_modules", "typescript", "package.json")); v != "" {
		metadata["typescriptVersion"] = v
	}
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out)), Metadata: metadata}, nil
}

// GetProgramDependencies lists the packages installed in the program's
// node_modules: the ones its package.json names (dependencies and
// devDependencies, like upstream), or with transitive every installed package.
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	var deps []*pulumirpc.DependencyInfo
	var err error
	if req.GetTransitiveDependencies() {
		deps, err = installedPackages(filepath.Join(dir, "node_modules"))
	} else {
		deps, err = directDependencies(dir)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

func readPackageJSON(file string) (packageJSON, error) {
	var p packageJSON
	b, err := os.ReadFile(file)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("parsing %s: %w", file, err)
	}
	return p, nil
}

// packageVersion is the version a package.json declares, or "" when it cannot be read.
func packageVersion(file string) string {
	p, err := readPackageJSON(file)
	if err != nil {
		return ""
	}
	return p.Version
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

func directDependencies(dir string) ([]*pulumirpc.DependencyInfo, error) {
	manifest, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the program's package.json: %w", err)
	}
	var deps []*pulumirpc.DependencyInfo
	for _, names := range []map[string]string{manifest.Dependencies, manifest.DevDependencies} {
		for name := range names {
			installed, err := readPackageJSON(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"))
			if err != nil {
				return nil, fmt.Errorf("%s is a dependency in %s/package.json but is not installed (run `pulumi install`): %w",
					name, dir, err)
			}
			deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: installed.Version})
		}
	}
	return deps, nil
}

// installedPackages lists every package installed in a node_modules tree:
// node_modules/<name>, node_modules/@scope/<name>, and their own nested
// node_modules. Linked packages are listed but not descended into.
func installedPackages(nodeModules string) ([]*pulumirpc.DependencyInfo, error) {
	var deps []*pulumirpc.DependencyInfo
	var walk func(nodeModules string) error
	walk = func(nodeModules string) error {
		entries, err := os.ReadDir(nodeModules)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue // .bin, .package-lock.json
			}
			dirs := []string{filepath.Join(nodeModules, e.Name())}
			if strings.HasPrefix(e.Name(), "@") {
				scoped, err := os.ReadDir(dirs[0])
				if err != nil {
					return err
				}
				dirs = dirs[:0]
				for _, s := range scoped {
					dirs = append(dirs, filepath.Join(nodeModules, e.Name(), s.Name()))
				}
			}
			for _, dir := range dirs {
				p, err := readPackageJSON(filepath.Join(dir, "package.json"))
				if err != nil || p.Name == "" {
					continue // not a package (a stray directory)
				}
				deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
				if e.Type()&fs.ModeSymlink == 0 {
					if err := walk(filepath.Join(dir, "node_modules")); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(nodeModules); err != nil {
		return nil, fmt.Errorf("listing the packages in %s: %w", nodeModules, err)
	}
	return deps, nil
}

// InstallDependencies runs `npm install` in the program directory, its output
// streamed to the engine as the proto's stdout/stderr chunks (through a pty
// when the engine's side is a terminal).
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := req.GetInfo().GetProgramDirectory()
	fmt.Fprintf(stdout, "Installing dependencies...\n\n")
	cmd := exec.CommandContext(server.Context(), "npm", "install", "--loglevel=error")
	cmd.Dir = dir
	cmd.Stdout = struct{ io.Writer }{stdout}
	cmd.Stderr = struct{ io.Writer }{stderr}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install in %s failed: %w", dir, err)
	}
	fmt.Fprintf(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// memoryEnv is what the program's Node.js process gets on top of the
// engine's environment, unless the user set it: Node's compile cache from
// its first line on (the directory the project's preload.ts enables anyway),
// so that a warm run reads even the preload, a .ts file, from it and never
// loads Node's TypeScript stripper (15 MiB). The dynamic-provider shim sets
// the same.
func memoryEnv() []string {
	if _, set := os.LookupEnv("NODE_COMPILE_CACHE"); set {
		return nil
	}
	return []string{"NODE_COMPILE_CACHE=" + filepath.Join(os.TempDir(), "node-compile-cache")}
}
