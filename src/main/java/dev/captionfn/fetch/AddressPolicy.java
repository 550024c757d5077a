package dev.captionfn.fetch;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Which resolved addresses the fetcher may connect to. An image URL comes from whoever sends the
 * event, so without this policy it could make the function read the cloud's metadata service
 * (169.254.169.254), the pod's own admin ports or anything else on the private network.
 *
 * <p>The policy judges addresses, never names: the fetcher reads the host as a browser does
 * ({@link UrlHost}), takes an address written in the URL (in any spelling: {@code 0x7f000001},
 * {@code 127.1}) as that address and resolves a name, asks the policy about every address, and
 * connects to the address it checked ({@link Destinations}), so a name that resolves to a private
 * address (or re-resolves to one later) is refused whatever its spelling. IPv6 forms that carry
 * an IPv4 address (mapped, NAT64, 6to4) are judged by the IPv4 address they carry.
 *
 * @param allowPrivate when true, every address is allowed (for a private image store)
 * @param allowed networks allowed even though they are special-use (e.g. one internal image store)
 */
public record AddressPolicy(boolean allowPrivate, List<Cidr> allowed) {

    private record Range(Cidr network, String kind) {
        Range(String cidr, String kind) {
            this(Cidr.parse(cidr), kind);
        }
    }

    // IANA's special-purpose registries (RFC 6890 and successors): nothing here is a public web server
    private static final List<Range> IPV4 = List.of(
            new Range("0.0.0.0/8", "an unspecified ('this network') address"),
            new Range("10.0.0.0/8", "a private address (RFC 1918)"),
            new Range("100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)"),
            new Range("127.0.0.0/8", "a loopback address"),
            new Range("169.254.0.0/16", "a link-local address (cloud metadata services live here)"),
            new Range("172.16.0.0/12", "a private address (RFC 1918)"),
            new Range("192.0.0.0/24", "an IETF protocol address"),
            new Range("192.0.2.0/24", "a documentation address"),
            new Range("192.88.99.0/24", "a 6to4 relay address"),
            new Range("192.168.0.0/16", "a private address (RFC 1918)"),
            new Range("198.18.0.0/15", "a benchmarking address"),
            new Range("198.51.100.0/24", "a documentation address"),
            new Range("203.0.113.0/24", "a documentation address"),
            new Range("224.0.0.0/4", "a multicast address"),
            new Range("240.0.0.0/4", "a reserved or broadcast address"));

    private static final List<Range> IPV6 = List.of(
            new Range("::/128", "the unspecified address"),
            new Range("::1/128", "a loopback address"),
            new Range("::/96", "an IPv4-compatible address (deprecated)"),
            new Range("64:ff9b:1::/48", "a local NAT64 address"),
            new Range("100::/64", "a discard-only address"),
            new Range("2001::/32", "a Teredo tunnel address"),
            new Range("2001:db8::/32", "a documentation address"),
            new Range("fc00::/7", "a unique-local address"),
            new Range("fe80::/10", "a link-local address"),
            new Range("fec0::/10", "a site-local address (deprecated)"),
            new Range("ff00::/8", "a multicast address"));

    private static final Cidr MAPPED = Cidr.MAPPED_PREFIX;
    private static final Cidr NAT64 = Cidr.parse("64:ff9b::/96");
    private static final Cidr SIX_TO_FOUR = Cidr.parse("2002::/16");

    public AddressPolicy {
        allowed = List.copyOf(allowed);
    }

    /** Why the address may not be fetched from, or empty when it may. */
    public Optional<String> refusal(InetAddress address) {
        return refusal(address.getAddress());
    }

    /** The same over raw bytes (4 or 16), so that IPv6 forms Java would rewrite can be judged too. */
    public Optional<String> refusal(byte[] address) {
        if (allowPrivate || allowed.stream().anyMatch(n -> n.contains(address) || n.contains(embeddedIpv4(address)))) {
            return Optional.empty();
        }
        return specialUse(address);
    }

    /** What kind of special-use address this is, or empty for an ordinary public address. */
    static Optional<String> specialUse(byte[] address) {
        if (address.length == 4) {
            return kindOf(IPV4, address);
        }
        byte[] v4 = embeddedIpv4(address);
        if (v4.length == 4) {
            String form = MAPPED.contains(address) ? "IPv4-mapped " : NAT64.contains(address) ? "NAT64 " : "6to4 ";
            return kindOf(IPV4, v4).map(kind -> kind + " in " + form + "form");
        }
        return kindOf(IPV6, address);
    }

    private static Optional<String> kindOf(List<Range> ranges, byte[] address) {
        return ranges.stream().filter(r -> r.network().contains(address)).map(Range::kind).findFirst();
    }

    /** The IPv4 address an IPv6 address carries (mapped, NAT64 or 6to4), or an empty array. */
    private static byte[] embeddedIpv4(byte[] address) {
        if (address.length != 16) {
            return new byte[0];
        }
        if (MAPPED.contains(address) || NAT64.contains(address)) {
            return Arrays.copyOfRange(address, 12, 16);
        }
        if (SIX_TO_FOUR.contains(address)) {
            return Arrays.copyOfRange(address, 2, 6);
        }
        return new byte[0];
    }
}
