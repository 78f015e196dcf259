/** CIDR parsing and matching (allowed_networks, passive addresses per network): table tests. */
import { deepEqual, equal, throws } from "node:assert/strict";
import {
  cidrContains,
  cidrProblem,
  inNetworks,
  parseAddress,
  parseCidr,
} from "../../src/net/cidr.ts";

Deno.test("cidrProblem() accepts networks and names what is wrong with the rest", () => {
  const table: [string, string | null][] = [
    ["10.0.0.0/8", null],
    ["0.0.0.0/0", null],
    ["192.168.1.7/32", null],
    ["::/0", null],
    ["::1/128", null],
    ["2001:db8::/32", null],
    ["fe80::/10", null],
    ["::ffff:0:0/96", null],
    ["2001:DB8:0:0:0:0:0:0/32", null],
    ["10.0.0.5/8", 'has host bits set (the network is "10.0.0.0/8")'],
    ["2001:db8::1/32", 'has host bits set (the network is "2001:db8::/32")'],
    ["10.0.0.1", 'is an address, not a network: write "10.0.0.1/32"'],
    ["::1", 'is an address, not a network: write "::1/128"'],
    ["10.0.0.0/33", "the prefix length must be a number from 0 to 32"],
    ["10.0.0.0/", "the prefix length must be a number from 0 to 32"],
    ["10.0.0.0/-1", "the prefix length must be a number from 0 to 32"],
    ["10.0.0.0/08x", "the prefix length must be a number from 0 to 32"],
    ["::/129", "the prefix length must be a number from 0 to 128"],
    ["256.0.0.0/8", '"256.0.0.0" is not an IP address'],
    ["10.0.0/8", '"10.0.0" is not an IP address'],
    ["010.0.0.0/8", '"010.0.0.0" is not an IP address'],
    ["1:2:3:4:5:6:7:8:9/64", '"1:2:3:4:5:6:7:8:9" is not an IP address'],
    ["1::2::3/64", '"1::2::3" is not an IP address'],
    ["example.org/24", '"example.org" is not an IP address'],
    ["", "expected a network like 10.0.0.0/8 or 2001:db8::/32"],
    ["everything", "expected a network like 10.0.0.0/8 or 2001:db8::/32"],
  ];
  for (const [text, problem] of table) equal(cidrProblem(text), problem, text);
});

Deno.test("parseAddress() reads IPv4, IPv6 and IPv4-mapped IPv6", () => {
  deepEqual(parseAddress("10.0.0.1"), { family: 4, value: 0x0a000001n });
  deepEqual(parseAddress("::ffff:10.0.0.1"), { family: 4, value: 0x0a000001n });
  deepEqual(parseAddress("::FFFF:a00:1"), { family: 4, value: 0x0a000001n });
  deepEqual(parseAddress("::1"), { family: 6, value: 1n });
  deepEqual(parseAddress("2001:db8::8:800:200c:417a"), {
    family: 6,
    value: 0x20010db8000000000008_0800200c417an,
  });
  deepEqual(parseAddress("::13.1.68.3"), { family: 6, value: 0x0d014403n });
  for (const bad of ["", "1.2.3", "1.2.3.4.5", ":::", "12345::", "g::1", "1:2:3:4:5:6:7:8:9"]) {
    equal(parseAddress(bad), null, bad);
  }
});

Deno.test("cidrContains() and inNetworks() match clients, whatever the spelling", () => {
  const table: [string, string, boolean][] = [
    ["127.0.0.0/8", "127.0.0.1", true],
    ["127.0.0.0/8", "128.0.0.1", false],
    ["10.0.0.0/8", "::ffff:10.9.8.7", true],
    ["192.168.0.0/16", "192.169.0.1", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["0.0.0.0/0", "::1", false],
    ["::/0", "10.0.0.1", false],
    ["::1/128", "::1", true],
    ["::1/128", "0:0:0:0:0:0:0:1", true],
    ["2001:db8::/32", "2001:DB8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["fd00::/8", "fdab::1", true],
    ["10.0.0.0/8", "not an address", false],
  ];
  for (const [network, address, inside] of table) {
    equal(cidrContains(parseCidr(network), address), inside, `${address} in ${network}`);
  }
  equal(inNetworks(["10.0.0.0/8", "127.0.0.0/8"], "127.0.0.1"), true);
  equal(inNetworks(["10.0.0.0/8", "127.0.0.0/8"], "203.0.113.10"), false);
  throws(() => parseCidr("10.0.0.5/8"), RangeError);
});
