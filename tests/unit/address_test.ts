import { deepEqual, equal } from "node:assert/strict";
import {
  type Endpoint,
  formatPasvAddress,
  isIPv4,
  isIPv6,
  normalizeHost,
  parseEprtArgument,
  parsePortArgument,
} from "../../src/data/address.ts";

Deno.test("parsePortArgument() parses h1,h2,h3,h4,p1,p2", () => {
  const cases: [arg: string, expected: Endpoint][] = [
    ["127,0,0,1,4,1", { host: "127.0.0.1", port: 1025 }],
    ["192,168,1,20,195,80", { host: "192.168.1.20", port: 50000 }],
    ["0,0,0,0,0,0", { host: "0.0.0.0", port: 0 }],
    ["255,255,255,255,255,255", { host: "255.255.255.255", port: 65535 }],
    ["010,000,000,001,000,021", { host: "10.0.0.1", port: 21 }], // leading zeros are numbers
    [" 10,0,0,1,0,21 ", { host: "10.0.0.1", port: 21 }],
  ];
  for (const [arg, expected] of cases) deepEqual(parsePortArgument(arg), expected, arg);
});

Deno.test("parsePortArgument() returns null for malformed or out-of-range values", () => {
  const cases = [
    "",
    "127,0,0,1,4",
    "127,0,0,1,4,1,9",
    "256,0,0,1,4,1",
    "127,0,0,1,256,1",
    "127,0,0,1,4,256",
    "127,0,0,1,4,-1",
    "-1,0,0,1,4,1",
    "1000,0,0,1,4,1",
    "127,0,0,1,4,1000",
    "127,0,0,1,4,",
    ",0,0,1,4,1",
    "127, 0,0,1,4,1",
    "127,0,0,1,4,1.5",
    "127,0,0,1,4,0x1",
    "127.0.0.1,4,1",
    "a,b,c,d,e,f",
    "127;0;0;1;4;1",
    "1e2,0,0,1,4,1",
    "127,0,0,1,４,1", // full-width digit
  ];
  for (const arg of cases) equal(parsePortArgument(arg), null, JSON.stringify(arg));
});

Deno.test("parseEprtArgument() parses IPv4 and IPv6 endpoints (RFC 2428 §2)", () => {
  const cases: [arg: string, expected: Endpoint][] = [
    ["|1|132.235.1.2|6275|", { host: "132.235.1.2", port: 6275 }],
    ["|2|1080::8:800:200C:417A|5282|", { host: "1080::8:800:200c:417a", port: 5282 }],
    ["|2|::1|1|", { host: "::1", port: 1 }],
    ["|1|10.0.0.1|65535|", { host: "10.0.0.1", port: 65535 }],
    ["!1!10.0.0.1!2121!", { host: "10.0.0.1", port: 2121 }],
    ["~2~fe80::1~2121~", { host: "fe80::1", port: 2121 }],
    ["|2|::ffff:10.0.0.1|2121|", { host: "10.0.0.1", port: 2121 }],
    ["|2|::FFFF:10.0.0.1|2121|", { host: "10.0.0.1", port: 2121 }],
    ["|1|10.0.0.1|00021|", { host: "10.0.0.1", port: 21 }],
  ];
  for (const [arg, expected] of cases) deepEqual(parseEprtArgument(arg), expected, arg);
});

Deno.test("parseEprtArgument() returns unsupported for other protocol numbers", () => {
  for (const arg of ["|3|10.0.0.1|21|", "|0|10.0.0.1|21|", "|99|x|21|", "|3|::1|21|"]) {
    equal(parseEprtArgument(arg), "unsupported", arg);
  }
});

Deno.test("parseEprtArgument() returns null for malformed arguments", () => {
  const cases = [
    "",
    "|",
    "||||",
    "|1|10.0.0.1|21", // no closing delimiter
    "|1|10.0.0.1|21||",
    "1|10.0.0.1|21|", // delimiter missing, digit first
    "1110.0.0.11211", // a digit as delimiter
    " 1 10.0.0.1 21 ", // space is not printable
    "\x7f1\x7f10.0.0.1\x7f21\x7f",
    "é1é10.0.0.1é21é",
    "|1|10.0.0.1|0|", // port 0
    "|1|10.0.0.1|65536|",
    "|1|10.0.0.1|123456|",
    "|1|10.0.0.1|-1|",
    "|1|10.0.0.1||",
    "|1|10.0.0.1|2a|",
    "|1|256.0.0.1|21|",
    "|1|10.0.0|21|",
    "|1|::1|21|", // IPv6 address with protocol 1
    "|2|10.0.0.1|21|", // IPv4 address with protocol 2
    "|2|fe80::1%eth0|21|",
    "|2|gggg::1|21|",
    "|2|host.example|21|",
    "|1|host.example|21|",
    "|x|10.0.0.1|21|",
    "||10.0.0.1|21|",
    "|1||21|",
    "|1|10.0.0.1|21|x",
  ];
  for (const arg of cases) equal(parseEprtArgument(arg), null, JSON.stringify(arg));
});

Deno.test("normalizeHost() turns IPv4-mapped IPv6 into IPv4 and lower-cases IPv6", () => {
  const cases: [host: string, expected: string][] = [
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:10.1.2.3", "10.1.2.3"],
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["FE80::ABCD", "fe80::abcd"],
    ["::ffff:999.0.0.1", "::ffff:999.0.0.1"], // not an IPv4 address: left alone
    ["::ffff:", "::ffff:"],
    ["64:ff9b::10.0.0.1", "64:ff9b::10.0.0.1"], // NAT64 is not IPv4-mapped
  ];
  for (const [host, expected] of cases) equal(normalizeHost(host), expected, host);
});

Deno.test("isIPv4() accepts dotted quads only", () => {
  const cases: [host: string, expected: boolean][] = [
    ["0.0.0.0", true],
    ["127.0.0.1", true],
    ["255.255.255.255", true],
    ["256.0.0.1", false],
    ["1.2.3", false],
    ["1.2.3.4.5", false],
    ["01.2.3.4", false],
    ["1.2.3.4 ", false],
    ["::1", false],
    ["", false],
  ];
  for (const [host, expected] of cases) equal(isIPv4(host), expected, host);
});

Deno.test("isIPv6() accepts IPv6 text and rejects the rest", () => {
  const cases: [host: string, expected: boolean][] = [
    ["::1", true],
    ["::", true],
    ["2001:db8::1", true],
    ["::ffff:1.2.3.4", true],
    ["1.2.3.4", false],
    ["g::1", false],
    ["fe80::1%eth0", false],
    ["[::1]", false],
    ["1:".repeat(23), false], // 46 characters
    ["", false],
  ];
  for (const [host, expected] of cases) equal(isIPv6(host), expected, host);
});

Deno.test("formatPasvAddress() formats h1,h2,h3,h4,p1,p2", () => {
  equal(formatPasvAddress("192.168.1.2", 50000), "192,168,1,2,195,80");
  equal(formatPasvAddress("127.0.0.1", 1025), "127,0,0,1,4,1");
  equal(formatPasvAddress("10.0.0.1", 65535), "10,0,0,1,255,255");
  equal(formatPasvAddress("10.0.0.1", 255), "10,0,0,1,0,255");
  equal(formatPasvAddress("10.0.0.1", 256), "10,0,0,1,1,0");
});

Deno.test("formatPasvAddress() and parsePortArgument() agree", () => {
  for (const port of [1, 21, 1024, 2121, 50000, 65534, 65535]) {
    deepEqual(parsePortArgument(formatPasvAddress("172.16.5.4", port)), {
      host: "172.16.5.4",
      port,
    });
  }
});
