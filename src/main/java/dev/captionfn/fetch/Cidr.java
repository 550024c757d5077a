package dev.captionfn.fetch;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** A network in CIDR notation ({@code 10.0.0.0/8}, {@code fc00::/7}), IPv4 and IPv6 kept apart. */
public record Cidr(byte[] network, int prefixLength) {
    /** ::ffff:0:0/96, IPv4 addresses written as IPv6. */
    static final Cidr MAPPED_PREFIX = new Cidr(mapped(new byte[4]), 96);

    public Cidr {
        if (network.length != 4 && network.length != 16) {
            throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + network.length);
        }
        if (prefixLength < 0 || prefixLength > network.length * 8) {
            throw new IllegalArgumentException("prefix /" + prefixLength + " does not fit a " + network.length * 8 + "-bit address");
        }
        network = network.clone();
    }

    /** Parses {@code address/prefix}; only literal addresses, so parsing never touches DNS. */
    public static Cidr parse(String text) {
        String s = text.strip();
        int slash = s.indexOf('/');
        String address = slash < 0 ? s : s.substring(0, slash);
        if (!isLiteral(address)) {
            throw new IllegalArgumentException("'" + text + "' is not a network such as 10.0.0.0/8 or fd00::/8");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(address).getAddress();
            if (address.contains(":") && bytes.length == 4) {
                // Java turns ::ffff:a.b.c.d into an IPv4 address; as a network it stays IPv6
                bytes = mapped(bytes);
            }
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "' is not a network such as 10.0.0.0/8 or fd00::/8", e);
        }
        int prefix;
        try {
            prefix = slash < 0 ? bytes.length * 8 : Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' has no numeric prefix length", e);
        }
        return new Cidr(bytes, prefix);
    }

    static byte[] mapped(byte[] ipv4) {
        byte[] v6 = new byte[16];
        v6[10] = (byte) 0xFF;
        v6[11] = (byte) 0xFF;
        System.arraycopy(ipv4, 0, v6, 12, 4);
        return v6;
    }

    private static boolean isLiteral(String address) {
        return address.contains(":") || address.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    public boolean contains(byte[] address) {
        if (address.length != network.length) {
            return false;
        }
        int full = prefixLength / 8;
        for (int i = 0; i < full; i++) {
            if (address[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xFF << (8 - rest)) & 0xFF;
        return (address[full] & mask) == (network[full] & mask);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefixLength == prefixLength && Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(network) + prefixLength;
    }

    @Override
    public String toString() {
        try {
            return (network.length == 16 && MAPPED_PREFIX.contains(network) ? "::ffff:" : "")
                    + InetAddress.getByAddress(network).getHostAddress() + "/" + prefixLength;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
