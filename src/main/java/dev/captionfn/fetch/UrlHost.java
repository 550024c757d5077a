package dev.captionfn.fetch;

import java.util.Arrays;

/**
 * An http(s) URL's host as the WHATWG URL standard reads it, which is how browsers and curl read
 * it: either a domain, in ASCII (IDNA's punycode, lowercased), or an address literal, whatever
 * its spelling ({@code 0x7f000001}, {@code 127.1}, {@code 0177.0.0.1} and {@code 2130706433} are
 * all 127.0.0.1). The fetcher connects to an address literal as it is and resolves only a
 * domain's ASCII name, so the spelling in the URL never reaches DNS.
 */
public sealed interface UrlHost {

    /** The host as a browser writes it back: the ASCII domain, dotted IPv4, or compressed IPv6 in brackets. */
    String serialized();

    /**
     * Parses the host of an http or https URL as written in its authority (percent escapes,
     * non-ASCII and all), by the WHATWG host parser.
     *
     * @throws IllegalArgumentException saying why the text is no host
     */
    static UrlHost parse(String input) {
        return HostParser.parse(input);
    }

    /** A domain name in ASCII, as it is resolved, sent in the Host header and named in TLS (SNI). */
    record Domain(String name) implements UrlHost {
        @Override
        public String serialized() {
            return name;
        }
    }

    /** An IPv4 (4 bytes) or IPv6 (16 bytes) address written in the URL itself. */
    record Address(byte[] bytes) implements UrlHost {
        public Address {
            if (bytes.length != 4 && bytes.length != 16) {
                throw new IllegalArgumentException("an address has 4 or 16 bytes, not " + bytes.length);
            }
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        @Override
        public String serialized() {
            return bytes.length == 4 ? text(bytes) : "[" + text(bytes) + "]";
        }

        /** The address without brackets: dotted IPv4, or IPv6 with its longest run of zeros as "::". */
        public String text() {
            return text(bytes);
        }

        /** Writes 4 or 16 bytes as the URL standard serializes them (Java's own form never compresses IPv6). */
        public static String text(byte[] address) {
            if (address.length == 4) {
                return (address[0] & 0xFF) + "." + (address[1] & 0xFF) + "." + (address[2] & 0xFF) + "." + (address[3] & 0xFF);
            }
            int[] pieces = new int[8];
            for (int i = 0; i < 8; i++) {
                pieces[i] = (address[2 * i] & 0xFF) << 8 | address[2 * i + 1] & 0xFF;
            }
            // the first longest run of two or more zero pieces becomes "::"
            int compress = -1;
            int longest = 1;
            for (int i = 0; i < 8; ) {
                int end = i;
                while (end < 8 && pieces[end] == 0) {
                    end++;
                }
                if (end - i > longest) {
                    longest = end - i;
                    compress = i;
                }
                i = end == i ? i + 1 : end;
            }
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                if (i == compress) {
                    out.append(i == 0 ? "::" : ":");
                    i += longest - 1;
                    continue;
                }
                out.append(Integer.toHexString(pieces[i]));
                if (i != 7) {
                    out.append(':');
                }
            }
            return out.toString();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Address a && Arrays.equals(a.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return serialized();
        }
    }
}
