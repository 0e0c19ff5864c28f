import { describe, expect, it } from "vitest";
import { hasHostBits, ipFamilyOfString, ipv4ToNumber, isIPv4, isLinkLocalMulticast, isLoopback, isUnspecified, parseCIDR, parseIP } from "../../src/api/ip";

describe("IP parsing", () => {
  const valid = [
    "10.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "::",
    "::1",
    "2001:db8::1",
    "fe80::1:2",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::ffff:198.18.0.1",
    "64:ff9b::198.18.0.1",
  ];
  const invalid = [
    "",
    "10.0.0",
    "10.0.0.256",
    "10.0.0.1.2",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "fe80::1%eth0",
    ":1",
    "1:",
    "12345::",
    "::1.2.3",
    "1.2.3.4::",
    "a.b.c.d",
    " 10.0.0.1",
  ];
  for (const s of valid) it(`accepts ${JSON.stringify(s)}`, () => expect(parseIP(s)).toBeDefined());
  for (const s of invalid) it(`rejects ${JSON.stringify(s)}`, () => expect(parseIP(s)).toBeUndefined());

  it("reads families as Go does (IPv4-mapped counts as IPv4)", () => {
    expect(ipFamilyOfString("198.18.0.1")).toBe(4);
    expect(ipFamilyOfString("::ffff:198.18.0.1")).toBe(4);
    expect(ipFamilyOfString("2001:db8::1")).toBe(6);
  });

  it("classifies special addresses", () => {
    expect(isLoopback(parseIP("127.8.0.1")!)).toBe(true);
    expect(isLoopback(parseIP("::1")!)).toBe(true);
    expect(isUnspecified(parseIP("::")!)).toBe(true);
    expect(isLinkLocalMulticast(parseIP("ff02::1")!)).toBe(true);
    expect(isLinkLocalMulticast(parseIP("224.0.1.1")!)).toBe(false);
  });

  it("notices leading zeros and host bits in CIDRs", () => {
    expect(parseIP("010.0.0.1")!.leadingZeros).toBe(true);
    expect(hasHostBits(parseCIDR("10.0.0.1/8")!)).toBe(true);
    expect(hasHostBits(parseCIDR("10.0.0.0/8")!)).toBe(false);
    expect(hasHostBits(parseCIDR("2001:db8::/32")!)).toBe(false);
    expect(hasHostBits(parseCIDR("2001:db8::1/127")!)).toBe(true);
    expect(parseCIDR("10.0.0.0/33")).toBeUndefined();
  });
});

describe("the fast IPv4 check and the allocators' number form", () => {
  it("agrees with parseIP on dotted quads, and refuses octets over 255, leading zeros and IPv6", () => {
    for (const ip of ["10.0.0.1", "0.0.0.0", "255.255.255.255", "198.18.0.53"]) {
      expect(isIPv4(ip), ip).toBe(true);
      expect(parseIP(ip)?.family).toBe(4);
    }
    for (const ip of ["999.1.1.1", "256.0.0.1", "10.0.0", "10.0.0.1.2", "010.0.0.1", "1.2.3.04", " 10.0.0.1", "::1", "::ffff:10.0.0.1", "a.b.c.d", ""])
      expect(isIPv4(ip), ip).toBe(false);
  });

  it("reads an IPv4 address as an unsigned 32-bit number", () => {
    expect(ipv4ToNumber("10.96.0.1")).toBe(0x0a600001);
    expect(ipv4ToNumber("255.255.255.255")).toBe(0xffffffff);
    expect(ipv4ToNumber("999.1.1.1")).toBeUndefined();
    expect(ipv4ToNumber("2001:db8::1")).toBeUndefined();
  });
});
