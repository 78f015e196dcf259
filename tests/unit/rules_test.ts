/**
 * AccessRules and buildIdentity(): longest prefix, ceilings (read-only mounts, `write: false`)
 * with the mounts below them lifted, and uniformBelow(), which decides whether a directory may
 * be renamed and whether a listing's rights are computed once.
 */
import { deepEqual, equal, throws } from "node:assert/strict";
import { buildIdentity } from "../../src/identity/build.ts";
import { AccessRules, PERMISSIONS, READ_ONLY } from "../../src/identity/rules.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";

const DROP_BOX = new AccessRules([
  { path: "/", allow: PERMISSIONS },
  { path: "/pub/inbox", allow: ["upload"] },
]);

Deno.test("AccessRules.allows(): the longest matching prefix decides, nothing where none matches", () => {
  equal(DROP_BOX.allows("download", "/pub/readme.txt"), true);
  equal(DROP_BOX.allows("download", "/pub/inbox/secret.txt"), false);
  equal(DROP_BOX.allows("upload", "/pub/inbox/new.txt"), true);
  // A prefix of a name is not a parent: /pub/inbox2 is outside the drop box.
  equal(DROP_BOX.allows("download", "/pub/inbox2/x"), true);
  const partial = new AccessRules([{ path: "/pub", allow: ["list"] }]);
  equal(partial.allows("list", "/"), false);
  equal(partial.allows("list", "/pub/a"), true);
});

Deno.test("AccessRules.restrict() caps a subtree, except at and below the paths it lifts", () => {
  const rules = AccessRules.FULL.restrict("/", READ_ONLY, ["/incoming"]);
  equal(rules.allows("delete", "/old.txt"), false);
  equal(rules.allows("download", "/old.txt"), true);
  equal(rules.allows("mkdir", "/incoming/new"), true);
  equal(rules.allows("delete", "/incoming"), true);
  // A name that only starts like the lifted path is still capped.
  equal(rules.allows("mkdir", "/incoming2/new"), false);
  // Ceilings add up: a second cap inside the lifted part applies.
  const nested = rules.restrict("/incoming/frozen", READ_ONLY);
  equal(nested.allows("mkdir", "/incoming/frozen/x"), false);
  equal(nested.allows("mkdir", "/incoming/x"), true);
  // A cap never grants: what the rules refuse stays refused below a lifted path.
  const capped = DROP_BOX.restrict("/", READ_ONLY, ["/pub"]);
  equal(capped.allows("download", "/pub/inbox/secret.txt"), false);
  throws(() => AccessRules.FULL.restrict("/", READ_ONLY, ["relative"]), TypeError);
});

Deno.test("AccessRules.uniformBelow() sees rules, ceilings and lifted paths below a directory", () => {
  equal(DROP_BOX.uniformBelow("/"), false);
  equal(DROP_BOX.uniformBelow("/pub"), false);
  // The rule's own path: everything below it has its rights.
  equal(DROP_BOX.uniformBelow("/pub/inbox"), true);
  equal(DROP_BOX.uniformBelow("/docs"), true);
  equal(DROP_BOX.uniformBelow("/pub/inbox2"), true);
  equal(AccessRules.FULL.uniformBelow("/"), true);
  const mounts = AccessRules.FULL.restrict("/archive", READ_ONLY, ["/archive/incoming"]);
  equal(mounts.uniformBelow("/"), false);
  equal(mounts.uniformBelow("/archive"), false);
  equal(mounts.uniformBelow("/archive/incoming"), true);
  equal(mounts.uniformBelow("/archive/old"), true);
});

Deno.test("buildIdentity() caps a read-only mount down to the next mount, and normalises home", () => {
  const identity = buildIdentity(
    "u",
    {
      mounts: [
        { path: "/", root: "a", readOnly: true },
        { path: "/incoming/", root: "b" },
        { path: "/incoming/frozen", root: "c", readOnly: true },
      ],
      home: "/incoming/frozen/../..",
    },
    () => new MemoryStorage(),
    null,
  );
  const { rules } = identity;
  deepEqual([...rules.at("/x")].sort(), [...READ_ONLY].sort());
  deepEqual([...rules.at("/incoming/x")].sort(), [...PERMISSIONS].sort());
  deepEqual([...rules.at("/incoming/frozen/x")].sort(), [...READ_ONLY].sort());
  equal(identity.home, "/");
  equal(
    buildIdentity("v", { root: "a", home: "/pub/./in/" }, () => new MemoryStorage(), null).home,
    "/pub/in",
  );
});
