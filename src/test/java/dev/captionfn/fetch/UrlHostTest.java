package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.IDN;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The WHATWG host parser as a function: each spelling and the host a browser reads in it (the
 * expectations follow the URL standard and its web-platform tests). Nothing is resolved and
 * nothing connects.
 */
class UrlHostTest {

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            127.0.0.1                   | 127.0.0.1
            0x7f000001                  | 127.0.0.1
            0X7F000001                  | 127.0.0.1
            0x7F.1                      | 127.0.0.1
            0x7f.1                      | 127.0.0.1
            127.1                       | 127.0.0.1
            127.0.1                     | 127.0.0.1
            0177.0.0.1                  | 127.0.0.1
            0177.1                      | 127.0.0.1
            0177.0x0.0.01               | 127.0.0.1
            2130706433                  | 127.0.0.1
            017700000001                | 127.0.0.1
            00000000000000000177.0.0.1  | 127.0.0.1
            127.0.0.1.                  | 127.0.0.1
            0x7f.0.0.1.                 | 127.0.0.1
            %31%32%37.0.0.1             | 127.0.0.1
            127%2E0%2E0%2E1             | 127.0.0.1
            %30x7f000001                | 127.0.0.1
            %30%58%37%46%30%30%30%30%30%31 | 127.0.0.1
            １２７.０.０.１               | 127.0.0.1
            127。0。0。1                 | 127.0.0.1
            １２７．０．０．１             | 127.0.0.1
            0xA9FEA9FE                  | 169.254.169.254
            0251.0376.0251.0376         | 169.254.169.254
            169.254.43518               | 169.254.169.254
            2852039166                  | 169.254.169.254
            10.1                        | 10.0.0.1
            0                           | 0.0.0.0
            0x                          | 0.0.0.0
            0x.0x.0                     | 0.0.0.0
            4294967295                  | 255.255.255.255
            0xffffffff                  | 255.255.255.255
            255.0xffffff                | 255.255.255.255
            [::1]                       | [::1]
            [0:0:0:0:0:0:0:1]           | [::1]
            [0000:0000::0001]           | [::1]
            [::]                        | [::]
            [::ffff:127.0.0.1]          | [::ffff:7f00:1]
            [::FFFF:127.0.0.1]          | [::ffff:7f00:1]
            [::ffff:7f00:1]             | [::ffff:7f00:1]
            [0:0:0:0:0:ffff:7f00:1]     | [::ffff:7f00:1]
            [::127.0.0.1]               | [::7f00:1]
            [64:ff9b::169.254.169.254]  | [64:ff9b::a9fe:a9fe]
            [FD00::1]                   | [fd00::1]
            [1:0:0:2:0:0:0:0]           | [1:0:0:2::]
            [1:0:0:2::3:0]              | [1::2:0:0:3:0]
            [1::]                       | [1::]
            example.com                 | example.com
            EXAMPLE.COM                 | example.com
            example.com.                | example.com.
            localhost                   | localhost
            LocalHost                   | localhost
            a_b.example                 | a_b.example
            x..y                        | x..y
            0x1g                        | 0x1g
            1.2.3.4.example             | 1.2.3.4.example
            bücher.example              | xn--bcher-kva.example
            BÜCHER.EXAMPLE              | xn--bcher-kva.example
            b%C3%BCcher.example         | xn--bcher-kva.example
            xn--bcher-kva.example       | xn--bcher-kva.example
            XN--BCHER-KVA.example       | xn--bcher-kva.example
            faß.de                      | xn--fa-hia.de
            例え.テスト                   | xn--r8jz45g.xn--zckzah
            ☕.example                   | xn--53h.example
            ＥＸＡＭＰＬＥ．ｃｏｍ           | example.com
            a\u00ADb.example            | ab.example
            ≠                           | xn--1ch
            x01234567890123456789012345678901234567890123456789012345678901x.ß | x01234567890123456789012345678901234567890123456789012345678901x.xn--zca
            -x.ß                        | -x.xn--zca
            """)
    void eachSpellingIsReadAsABrowserReadsIt(String spelling, String host) {
        assertEquals(host, UrlHost.parse(unescape(spelling)).serialized(), spelling);
    }

    @ParameterizedTest(name = "{0} is no host: {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            0x100000000                 | too large
            4294967296                  | too large
            256.256.256.256             | over 255
            127.0.0.256                 | too large
            127.0x100.0.1               | over 255
            127.16777216                | too large
            1.2.3.4.5                   | more than four parts
            1.2.3.4.5.                  | more than four parts
            09.0.0.1                    | '09' is not a decimal
            0x7g.1                      | '0x7g' is not a decimal
            example.1                   | 'example' is not a decimal
            example.0x1                 | 'example' is not a decimal
            foo.09                      | 'foo' is not a decimal
            １２７.０.０.１.５             | more than four parts
            exa mple.com                | U+0020
            exa%20mple.com              | U+0020
            exa%mple.com                | '%'
            exa%2fmple.com              | '/'
            exa%3Ample.com              | ':'
            exa%00mple.com              | U+0000
            exa<mple.com                | '<'
            exa^mple.com                | '^'
            "exa|mple.com"              | '|'
            exa\\mple.com               | '\\'
            %5B::1%5D                   | '['
            xn--a                       | ace label
            xn--a.ß                     | ace label
            xn--tešla                   | UTS #46
            xn--zn7c.com                | UTS #46
            \uFFFD.com                  | disallowed
            %FF.com                     | disallowed
            \u200D.example              | contextj
            xn--1ug.example             | contextj
            يa                          | bidi
            \u064A.1                    | bidi
            ⒈.com                      | disallowed
            \u00AD                      | empty
            [::1                        | closing ']'
            [:::1]                      | not an IPv6 address
            [1:2:3:4:5:6:7:8:9]         | more than eight pieces
            [1:2:3:4:5:6:7]             | fewer than eight pieces
            [::1%eth0]                  | '%' is not a hexadecimal digit
            [::1%25eth0]                | '%' is not a hexadecimal digit
            [::127.0.0.01]              | leading zero
            [::127.0.0.256]             | over 255
            [::127.0.0]                 | fewer than four parts
            [::ffff:127.1]              | fewer than four parts
            [::0x7f.0.0.1]              | not a hexadecimal digit
            [12345::]                   | not a hexadecimal digit
            [1::2::3]                   | '::' twice
            [:1]                        | single ':'
            [1:]                        | single ':'
            """)
    void aSpellingThatIsNoHostFailsSayingWhy(String spelling, String why) {
        var e = assertThrows(IllegalArgumentException.class, () -> UrlHost.parse(unescape(spelling)), spelling);
        assertTrue(e.getMessage().contains(unescape(why)), spelling + ": " + e.getMessage());
    }

    @Test
    void theJdksIdnaWouldOpenAnotherHostThanABrowser() {
        // why java.net.IDN is not used: IDNA2003 maps ß to ss, a browser keeps it (UTS #46 nontransitional)
        assertEquals("fass.de", IDN.toASCII("faß.de"));
        assertEquals("xn--fa-hia.de", UrlHost.parse("faß.de").serialized());
        // and it leaves ASCII capitals as they are, where a host name is case-insensitive
        assertEquals("EXAMPLE.com", IDN.toASCII("EXAMPLE.com"));
        assertEquals("example.com", UrlHost.parse("EXAMPLE.com").serialized());
    }

    @Test
    void anAddressKeepsItsBytesAndWritesThemAsTheStandardDoes() {
        UrlHost.Address v4 = (UrlHost.Address) UrlHost.parse("0x7f000001");
        assertEquals(new UrlHost.Address(new byte[] {127, 0, 0, 1}), v4);
        assertEquals("127.0.0.1", v4.text());
        UrlHost.Address v6 = (UrlHost.Address) UrlHost.parse("[::ffff:127.0.0.1]");
        assertEquals(16, v6.bytes().length);
        assertEquals("::ffff:7f00:1", v6.text());
        assertEquals("[::ffff:7f00:1]", v6.serialized());
        assertTrue(UrlHost.parse("bücher.example") instanceof UrlHost.Domain d && d.name().equals("xn--bcher-kva.example"));
    }

    /** CSV cannot hold control and invisible characters readably, so the tables write them as \\uXXXX. */
    private static String unescape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            if (s.startsWith("\\u", i) && i + 6 <= s.length()) {
                out.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                i += 5;
            } else if (s.startsWith("\\\\", i)) {
                out.append('\\');
                i++;
            } else {
                out.append(s.charAt(i));
            }
        }
        return out.toString();
    }
}
