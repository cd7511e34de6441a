// The machine-readable documents the exporter writes, checked by the
// official validators: AsyncAPI 3.0 (@asyncapi/parser) and OpenRPC
// (@open-rpc/schema-utils-js). The documents are the fixture's snapshot
// (tests/golden/clients), the tasks example's generated ones, and those in
// $WIRECALL_SPEC_DIRS (colon-separated), if set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { Parser } from "@asyncapi/parser";
import { validateOpenRPCDocument } from "@open-rpc/schema-utils-js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const dirs = [
  join(root, "tests", "golden", "clients"),
  join(root, "examples", "tasks", "clients", "generated"),
  ...(process.env.WIRECALL_SPEC_DIRS ?? "").split(":").filter(Boolean),
];

for (const dir of dirs) {
  test(`AsyncAPI document in ${dir} is valid`, async () => {
    const path = join(dir, "asyncapi.json");
    assert.ok(existsSync(path), `${path} is missing`);
    const { document, diagnostics } = await new Parser().parse(readFileSync(path, "utf8"));
    const errors = diagnostics.filter((d) => d.severity === 0);
    assert.deepEqual(errors.map((d) => `${d.path.join(".")}: ${d.message}`), []);
    assert.ok(document, "the parser returned no document");
    assert.equal(document.version(), "3.0.0");
    // Every channel carries a message with a payload schema.
    for (const channel of document.channels().all()) {
      const messages = channel.messages().all();
      assert.ok(messages.length > 0, `${channel.id()} has no message`);
      for (const message of messages) assert.ok(message.hasPayload(), `${channel.id()}: no payload`);
    }
  });

  test(`OpenRPC document in ${dir} is valid`, () => {
    const path = join(dir, "openrpc.json");
    const result = validateOpenRPCDocument(JSON.parse(readFileSync(path, "utf8")));
    assert.equal(result, true, JSON.stringify(result, null, 2));
  });
}

test("the validators refuse a broken document", async () => {
  const broken = JSON.parse(readFileSync(join(dirs[0], "asyncapi.json"), "utf8"));
  broken.operations.sendChatRoom.channel = { $ref: "#/channels/nowhere" };
  const { diagnostics } = await new Parser().parse(JSON.stringify(broken));
  assert.ok(diagnostics.some((d) => d.severity === 0), "a dangling channel reference passed");
  const openrpc = JSON.parse(readFileSync(join(dirs[0], "openrpc.json"), "utf8"));
  delete openrpc.info;
  assert.notEqual(validateOpenRPCDocument(openrpc), true, "a document without info passed");
});
