import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An address range webhooks may not reach (unless WEBHOOK_ALLOW_PRIVATE=true), and why. */
interface ForbiddenRange {
  cidr: string;
  kind: string;
}

// IANA special-purpose registries (RFC 6890 and successors): everything that is not the public internet.
const forbiddenIpv4: readonly ForbiddenRange[] = [
  { cidr: '0.0.0.0/8', kind: 'an unspecified ("this network")' },
  { cidr: '10.0.0.0/8', kind: 'a private' },
  { cidr: '100.64.0.0/10', kind: 'a carrier-grade NAT' },
  { cidr: '127.0.0.0/8', kind: 'a loopback' },
  { cidr: '169.254.169.254/32', kind: 'a cloud metadata' },
  { cidr: '169.254.0.0/16', kind: 'a link-local' },
  { cidr: '172.16.0.0/12', kind: 'a private' },
  { cidr: '192.0.0.0/24', kind: 'an IETF protocol-assignment' },
  { cidr: '192.0.2.0/24', kind: 'a documentation' },
  { cidr: '192.88.99.0/24', kind: 'a 6to4 relay anycast' },
  { cidr: '192.168.0.0/16', kind: 'a private' },
  { cidr: '198.18.0.0/15', kind: 'a benchmarking' },
  { cidr: '198.51.100.0/24', kind: 'a documentation' },
  { cidr: '203.0.113.0/24', kind: 'a documentation' },
  { cidr: '224.0.0.0/4', kind: 'a multicast' },
  { cidr: '255.255.255.255/32', kind: 'the broadcast' },
  { cidr: '240.0.0.0/4', kind: 'a reserved' },
];

const forbiddenIpv6: readonly ForbiddenRange[] = [
  { cidr: '::/128', kind: 'the unspecified' },
  { cidr: '::1/128', kind: 'a loopback' },
  { cidr: '::/96', kind: 'a deprecated IPv4-compatible' },
  { cidr: '64:ff9b:1::/48', kind: 'a local-use NAT64' },
  { cidr: '100::/64', kind: 'a discard-only' },
  { cidr: '2001::/32', kind: 'a Teredo' },
  { cidr: '2001:db8::/32', kind: 'a documentation' },
  { cidr: 'fd00:ec2::254/128', kind: 'a cloud metadata' },
  { cidr: 'fc00::/7', kind: 'a unique-local (private)' },
  { cidr: 'fe80::/10', kind: 'a link-local' },
  { cidr: 'fec0::/10', kind: 'a deprecated site-local' },
  { cidr: 'ff00::/8', kind: 'a multicast' },
];

const compiled = (ranges: readonly ForbiddenRange[], family: 'ipv4' | 'ipv6') =>
  ranges.map(({ cidr, kind }) => {
    const [network, prefix] = cidr.split('/');
    const list = new BlockList();
    list.addSubnet(network, Number(prefix), family);
    return { list, kind };
  });

const ipv4Rules = compiled(forbiddenIpv4, 'ipv4');
const ipv6Rules = compiled(forbiddenIpv6, 'ipv6');

/**
 * Why a webhook may not connect to `address` (an IP literal), or null when it is a public address.
 * IPv6 forms that carry an IPv4 address (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16)
 * are judged by that IPv4 address. Anything that is not an IP address is refused.
 */
export function forbiddenAddressReason(address: string): string | null {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return ruleFor(ipv4Rules, bare, 'ipv4');
  if (family !== 6) return 'not an IP address';
  // IPv6 ranges first: ipaddr.js reads the IPv4-compatible ::a.b.c.d as ::ffff:a.b.c.d.
  const ipv6Reason = ruleFor(ipv6Rules, bare, 'ipv6');
  if (ipv6Reason) return ipv6Reason;
  const embedded = embeddedIpv4(Uint8Array.from(ipaddr.IPv6.parse(bare).toByteArray()));
  if (!embedded) return null;
  const reason = ruleFor(ipv4Rules, embedded, 'ipv4');
  return reason && `${reason} (embedded IPv4 ${embedded})`;
}

function ruleFor(
  rules: ReadonlyArray<{ list: BlockList; kind: string }>,
  address: string,
  family: 'ipv4' | 'ipv6',
): string | null {
  const rule = rules.find(({ list }) => list.check(address, family));
  return rule ? `${rule.kind} address` : null;
}

/** The IPv4 address an IPv6 address stands for, when it is one of the embedding forms. */
function embeddedIpv4(b: Uint8Array): string | null {
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const quad = (at: number) => Array.from(b.subarray(at, at + 4)).join('.');
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return quad(12); // ::ffff:a.b.c.d
  // 64:ff9b::a.b.c.d
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return quad(12);
  if (b[0] === 0x20 && b[1] === 0x02) return quad(2); // 6to4: 2002:aabb:ccdd::/48
  return null;
}
