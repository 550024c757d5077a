package dev.captionfn.fetch;

import com.ibm.icu.text.IDNA;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The WHATWG URL standard's host parser for special (http, https) URLs, step by step
 * (https://url.spec.whatwg.org/#host-parsing): percent-decode, domain to ASCII, forbidden domain
 * code points, the "ends in a number" rule, then the IPv4 parser; or, in brackets, the IPv6
 * parser.
 *
 * <p>Hand-written because no maintained Java library implements it: java.net.URI and InetAddress
 * follow RFC 3986 and the JDK's own literal rules (no {@code 0x7f000001}, no {@code 0177.0.0.1},
 * no fullwidth digits), Guava's InetAddresses likewise, and galimatias (the one Java WHATWG URL
 * parser) has been unmaintained since 2014. The IDNA step is not hand-written: it is ICU4J's
 * UTS #46, the implementation the standard's own test data comes from and that Chrome and
 * Safari call. java.net.IDN implements IDNA2003 instead, which reads differently from browsers:
 * it maps ß, ς and the joiners away (transitional processing: {@code faß.de} becomes
 * {@code fass.de}, another host than the {@code xn--fa-hia.de} a browser opens), knows only
 * Unicode 3.2 (later characters, newer emoji among them, are refused or left unmapped), checks
 * neither the bidi nor the joiner rules, and leaves ASCII letters in upper case. That difference
 * is a different server, so the 15 MB of ICU4J are worth it.
 */
final class HostParser {
    private HostParser() {
    }

    /**
     * UTS #46 as the URL standard calls it with beStrict false: nontransitional, CheckBidi and
     * CheckJoiners on, UseSTD3ASCIIRules off. ICU's instances are immutable and thread-safe.
     * Loaded on the first internationalised host only: loading ICU's data takes from tens of
     * milliseconds to seconds on a busy machine, which an ASCII URL (nearly all of them) must not
     * pay, least of all inside a request's deadline.
     */
    private static final class Uts46 {
        static final IDNA INSTANCE = IDNA.getUTS46Instance(IDNA.NONTRANSITIONAL_TO_ASCII | IDNA.CHECK_BIDI | IDNA.CHECK_CONTEXTJ);

        /**
         * Errors ICU always reports but the standard switches off (CheckHyphens and
         * VerifyDnsLength false, so empty labels and long names are hosts too); WebKit and
         * Chromium drop the same set.
         */
        static final Set<IDNA.Error> NOT_CHECKED = EnumSet.of(
                IDNA.Error.EMPTY_LABEL, IDNA.Error.LABEL_TOO_LONG, IDNA.Error.DOMAIN_NAME_TOO_LONG,
                IDNA.Error.LEADING_HYPHEN, IDNA.Error.TRAILING_HYPHEN, IDNA.Error.HYPHEN_3_4);
    }

    static UrlHost parse(String input) {
        if (input.startsWith("[")) {
            if (!input.endsWith("]")) {
                throw invalid("an IPv6 address is missing its closing ']'");
            }
            return new UrlHost.Address(ipv6(input.substring(1, input.length() - 1)));
        }
        if (input.isEmpty()) {
            throw invalid("the host is empty");
        }
        // "UTF-8 decode without BOM": a broken sequence becomes U+FFFD, which IDNA then refuses
        String domain = new String(percentDecode(input.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
        String ascii = domainToAscii(domain);
        if (endsInANumber(ascii)) {
            return new UrlHost.Address(ipv4(ascii));
        }
        return new UrlHost.Domain(ascii);
    }

    private static byte[] percentDecode(byte[] input) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(input.length);
        for (int i = 0; i < input.length; i++) {
            if (input[i] == '%' && i + 2 < input.length && hex(input[i + 1]) >= 0 && hex(input[i + 2]) >= 0) {
                out.write(hex(input[i + 1]) << 4 | hex(input[i + 2]));
                i += 2;
            } else {
                out.write(input[i]);
            }
        }
        return out.toByteArray();
    }

    private static String domainToAscii(String domain) {
        String result;
        if (isAscii(domain) && Arrays.stream(domain.split("\\.", -1)).noneMatch(l -> l.regionMatches(true, 0, "xn--", 0, 4))) {
            // the standard's own shortcut: for such a domain UTS #46 only lowercases
            result = domain.toLowerCase(Locale.ROOT);
        } else {
            IDNA.Info info = new IDNA.Info();
            StringBuilder out = Uts46.INSTANCE.nameToASCII(domain, new StringBuilder(), info);
            Set<IDNA.Error> errors = EnumSet.noneOf(IDNA.Error.class);
            errors.addAll(info.getErrors());
            errors.removeAll(Uts46.NOT_CHECKED);
            if (!errors.isEmpty()) {
                throw invalid("it is not a valid internationalised domain name (UTS #46: "
                        + errors.stream().map(e -> e.name().toLowerCase(Locale.ROOT).replace('_', ' ')).collect(Collectors.joining(", "))
                        + ")");
            }
            result = out.toString();
        }
        if (result.isEmpty()) {
            throw invalid("the host is empty");
        }
        for (int i = 0; i < result.length(); i++) {
            char c = result.charAt(i);
            if (isForbiddenDomainCodePoint(c)) {
                throw invalid("it contains " + describe(c) + ", which no host name may contain");
            }
        }
        return result;
    }

    /** Forbidden host code points, plus C0 controls, '%' and DEL. */
    private static boolean isForbiddenDomainCodePoint(char c) {
        return c <= 0x20 || c == 0x7F || "#%/:<>?@[\\]^|".indexOf(c) >= 0;
    }

    /**
     * True when the last label (ignoring one trailing dot) is a number, decimal or 0x: then the
     * whole host must be an IPv4 address, so that {@code 1.2.3.4.5} or {@code example.0x1} is
     * refused rather than looked up.
     */
    private static boolean endsInANumber(String ascii) {
        List<String> parts = new ArrayList<>(Arrays.asList(ascii.split("\\.", -1)));
        if (parts.get(parts.size() - 1).isEmpty()) {
            if (parts.size() == 1) {
                return false;
            }
            parts.remove(parts.size() - 1);
        }
        String last = parts.get(parts.size() - 1);
        if (!last.isEmpty() && last.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return true;
        }
        return ipv4Number(last) >= 0;
    }

    private static byte[] ipv4(String ascii) {
        List<String> parts = new ArrayList<>(Arrays.asList(ascii.split("\\.", -1)));
        if (parts.get(parts.size() - 1).isEmpty() && parts.size() > 1) {
            parts.remove(parts.size() - 1);
        }
        if (parts.size() > 4) {
            throw invalid("it ends in a number, so it must be an IPv4 address, but it has more than four parts");
        }
        long[] numbers = new long[parts.size()];
        for (int i = 0; i < numbers.length; i++) {
            numbers[i] = ipv4Number(parts.get(i));
            if (numbers[i] < 0) {
                throw invalid("it ends in a number, so it must be an IPv4 address, but '" + parts.get(i)
                        + "' is not a decimal, 0x hexadecimal or 0-led octal number");
            }
        }
        for (int i = 0; i < numbers.length - 1; i++) {
            if (numbers[i] > 255) {
                throw invalid("the IPv4 part '" + parts.get(i) + "' is over 255");
            }
        }
        long last = numbers[numbers.length - 1];
        // the last part fills the bytes the others left: 127.1 is 127.0.0.1, 2130706433 is too
        if (last >= 1L << 8 * (5 - numbers.length)) {
            throw invalid("the IPv4 part '" + parts.get(numbers.length - 1) + "' is too large for the "
                    + (5 - numbers.length) + " byte(s) it fills");
        }
        long address = last;
        for (int i = 0; i < numbers.length - 1; i++) {
            address += numbers[i] << 8 * (3 - i);
        }
        return new byte[] {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
    }

    /**
     * One IPv4 part: 0x hex, 0-led octal or decimal, "0x" alone being 0; -1 when it is none of
     * them. Values past 32 bits saturate, since every one of them is out of range anyway.
     */
    private static long ipv4Number(String part) {
        if (part.isEmpty()) {
            return -1;
        }
        int radix = 10;
        String digits = part;
        if (part.length() >= 2 && (part.startsWith("0x") || part.startsWith("0X"))) {
            radix = 16;
            digits = part.substring(2);
        } else if (part.length() >= 2 && part.startsWith("0")) {
            radix = 8;
            digits = part.substring(1);
        }
        long value = 0;
        for (int i = 0; i < digits.length(); i++) {
            int digit = Character.digit(digits.charAt(i), radix);
            if (digit < 0 || digits.charAt(i) > 0x7F) {
                return -1;
            }
            value = Math.min(value * radix + digit, 1L << 33);
        }
        return value;
    }

    private static byte[] ipv6(String input) {
        int[] address = new int[8];
        int pieceIndex = 0;
        int compress = -1;
        int p = 0;
        int n = input.length();
        if (p < n && input.charAt(p) == ':') {
            if (p + 1 >= n || input.charAt(p + 1) != ':') {
                throw invalidIpv6(input, "it starts with a single ':'");
            }
            p += 2;
            compress = ++pieceIndex;
        }
        while (p < n) {
            if (pieceIndex == 8) {
                throw invalidIpv6(input, "it has more than eight pieces");
            }
            if (input.charAt(p) == ':') {
                if (compress != -1) {
                    throw invalidIpv6(input, "it has '::' twice");
                }
                p++;
                compress = ++pieceIndex;
                continue;
            }
            int value = 0;
            int length = 0;
            while (length < 4 && p < n && hex(input.charAt(p)) >= 0) {
                value = value * 16 + hex(input.charAt(p));
                p++;
                length++;
            }
            if (p < n && input.charAt(p) == '.') {
                if (length == 0) {
                    throw invalidIpv6(input, "an embedded IPv4 address starts with '.'");
                }
                p -= length;
                if (pieceIndex > 6) {
                    throw invalidIpv6(input, "an embedded IPv4 address does not fit");
                }
                int numbersSeen = 0;
                while (p < n) {
                    int piece = -1;
                    if (numbersSeen > 0) {
                        if (input.charAt(p) == '.' && numbersSeen < 4) {
                            p++;
                        } else {
                            throw invalidIpv6(input, "its embedded IPv4 address is malformed");
                        }
                    }
                    if (p >= n || !isDigit(input.charAt(p))) {
                        throw invalidIpv6(input, "its embedded IPv4 address is malformed");
                    }
                    while (p < n && isDigit(input.charAt(p))) {
                        int number = input.charAt(p) - '0';
                        if (piece == -1) {
                            piece = number;
                        } else if (piece == 0) {
                            throw invalidIpv6(input, "its embedded IPv4 address has a leading zero");
                        } else {
                            piece = piece * 10 + number;
                        }
                        if (piece > 255) {
                            throw invalidIpv6(input, "its embedded IPv4 address has a part over 255");
                        }
                        p++;
                    }
                    address[pieceIndex] = address[pieceIndex] * 0x100 + piece;
                    numbersSeen++;
                    if (numbersSeen == 2 || numbersSeen == 4) {
                        pieceIndex++;
                    }
                }
                if (numbersSeen != 4) {
                    throw invalidIpv6(input, "its embedded IPv4 address has fewer than four parts");
                }
                break;
            } else if (p < n && input.charAt(p) == ':') {
                p++;
                if (p >= n) {
                    throw invalidIpv6(input, "it ends in a single ':'");
                }
            } else if (p < n) {
                throw invalidIpv6(input, describe(input.charAt(p)) + " is not a hexadecimal digit");
            }
            address[pieceIndex] = value;
            pieceIndex++;
        }
        if (compress != -1) {
            int swaps = pieceIndex - compress;
            pieceIndex = 7;
            while (pieceIndex != 0 && swaps > 0) {
                int t = address[pieceIndex];
                address[pieceIndex] = address[compress + swaps - 1];
                address[compress + swaps - 1] = t;
                pieceIndex--;
                swaps--;
            }
        } else if (pieceIndex != 8) {
            throw invalidIpv6(input, "it has fewer than eight pieces and no '::'");
        }
        byte[] bytes = new byte[16];
        for (int i = 0; i < 8; i++) {
            bytes[2 * i] = (byte) (address[i] >>> 8);
            bytes[2 * i + 1] = (byte) address[i];
        }
        return bytes;
    }

    private static int hex(int c) {
        return c < 0x80 ? Character.digit(c, 16) : -1;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isAscii(String s) {
        return s.chars().allMatch(c -> c < 0x80);
    }

    private static String describe(char c) {
        return c > 0x20 && c < 0x7F ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }

    private static IllegalArgumentException invalidIpv6(String input, String why) {
        return invalid("'" + input + "' is not an IPv6 address: " + why);
    }

    private static IllegalArgumentException invalid(String why) {
        return new IllegalArgumentException(why);
    }
}
