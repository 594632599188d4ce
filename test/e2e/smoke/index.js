// A file-backed dynamic resource: its read() reports what is really on disk,
// so the test can drift it and watch refresh + diff find the change.
const pulumi = require("@pulumi/pulumi");

const fileProvider = {
    async configure(req) {
        // The spike checks that stack config (secrets included) reaches the
        // provider without being stored as a resource input.
        const secret = req.config.get("secretToken");
        if (secret && process.env.SMOKE_CONFIGURE_OUT) require("fs").writeFileSync(process.env.SMOKE_CONFIGURE_OUT, secret);
    },
    async create(inputs) {
        require("fs").writeFileSync(inputs.path, inputs.content);
        return { id: inputs.path, outs: inputs };
    },
    async read(id, props) {
        const fs = require("fs");
        if (!fs.existsSync(id)) return {};
        const actual = { path: id, content: fs.readFileSync(id, "utf8") };
        return { id, props: actual, inputs: actual };
    },
    async diff(_id, olds, news) {
        return { changes: olds.content !== news.content || olds.path !== news.path,
                 replaces: olds.path !== news.path ? ["path"] : [] };
    },
    async update(_id, _olds, news) {
        require("fs").writeFileSync(news.path, news.content);
        return { outs: news };
    },
    async delete(id) {
        require("fs").rmSync(id, { force: true });
    },
};

class SmokeFile extends pulumi.dynamic.Resource {
    constructor(name, args, opts) {
        super(fileProvider, name, args, opts);
    }
}

const config = new pulumi.Config();
const file = new SmokeFile("note", { path: config.require("path"), content: config.require("content") });
exports.content = file.content;
