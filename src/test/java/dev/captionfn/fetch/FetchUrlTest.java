package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules every URL the fetcher asks for obeys, the request's imageUrl and each redirect alike,
 * as a function: the scheme, credentials, host and port it is refused or rejected for, with the
 * kind and the message the caller sees, and the parts a request is made of. Nothing is resolved
 * and nothing connects.
 */
class FetchUrlTest {

    private static FetchException rejected(String url) {
        return assertThrows(FetchException.class, () -> FetchUrl.parse(url), url);
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"", "   ", "\t\n"})
    void aMissingImageUrlIsAnInvalidUrlNamingTheField(String url) {
        FetchException e = rejected(url);
        assertEquals(FetchError.INVALID_URL, e.error());
        assertEquals("imageUrl is required", e.getMessage());
    }

    @Test
    void anUnparsableImageUrlSaysWhyJavasParserStopped() {
        FetchException e = rejected("http://exa mple.com/");
        assertEquals(FetchError.INVALID_URL, e.error());
        // the JDK's own reason, quoted: Java 25's parser names the space (index 10), Java 17's stopped at the authority (7)
        assertEquals("imageUrl is not a valid URL: Illegal character in authority at index 10: http://exa mple.com/", e.getMessage());
    }

    @ParameterizedTest(name = "{0} is refused as {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            ftp://127.0.0.1/image.png               | 'ftp:'
            FTP://example.com/image.png             | 'ftp:'
            file:///etc/passwd                      | 'file:'
            javascript:alert(1)                     | 'javascript:'
            data:image/png;base64,iVBORw0KGgo=      | 'data:'
            gopher://example.com:70/                | 'gopher:'
            ws://example.com/socket                 | 'ws:'
            example.com/image.png                   | 'example.com/image.png'
            //example.com/image.png                 | '//example.com/image.png'
            /images/scene-00.png                    | '/images/scene-00.png'
            """)
    void onlyHttpAndHttpsAreFetched(String url, String named) {
        FetchException e = rejected(url);
        assertEquals(FetchError.NOT_ALLOWED, e.error());
        assertEquals("only http and https URLs are fetched, not " + named, e.getMessage());
    }

    @Test
    void theSchemeIsReadWhateverItsCase() {
        FetchUrl http = FetchUrl.parse("HTTP://example.com/a.png");
        assertFalse(http.tls());
        assertEquals(80, http.port());
        FetchUrl https = FetchUrl.parse("HtTpS://example.com/a.png");
        assertTrue(https.tls());
        assertEquals(443, https.port());
    }

    @Test
    void credentialsAreRefusedWithoutRepeatingThem() {
        FetchException e = rejected("https://admin:hunter2@images.example.com/a.png");
        assertEquals(FetchError.NOT_ALLOWED, e.error());
        assertEquals("URLs with a user name or password are not fetched", e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"));
    }

    @Test
    void aPresignedUrlCarriesItsSignatureInTheQueryAndIsFetched() {
        FetchUrl url = FetchUrl.parse("https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=ab12");
        assertEquals("/a.png?X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=ab12", url.target());
    }

    @ParameterizedTest(name = "{0} is port {1}")
    @CsvSource(delimiter = '|', textBlock = """
            http://example.com/                     | 80
            https://example.com/                    | 443
            http://example.com:/                    | 80
            https://example.com:/                   | 443
            http://example.com:8080/                | 8080
            https://example.com:0443/               | 443
            http://example.com:000000000080/        | 80
            http://example.com:0/                   | 0
            http://example.com:65535/               | 65535
            http://[::1]:8080/                      | 8080
            http://[::1]/                           | 80
            """)
    void thePortIsTheWrittenOneOrTheSchemesDefault(String url, int port) {
        assertEquals(port, FetchUrl.parse(url).port());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"65536", "99999", "100000", "-1", "+80", "8o", "0x50", "８０"})
    void aPortThatIsNotZeroTo65535InAsciiDigitsIsAnInvalidUrlNamingIt(String port) {
        String url = "http://example.com:" + port + "/a.png";
        FetchException e = rejected(url);
        assertEquals(FetchError.INVALID_URL, e.error(), e.getMessage());
        assertEquals("the port '" + port + "' of " + url + " is not a number from 0 to 65535", e.getMessage());
    }

    @Test
    void aHostMessageNamesTheHostTheUrlAndWhy() {
        FetchException e = rejected("http://256.256.256.256/x.png");
        assertEquals(FetchError.INVALID_URL, e.error());
        assertTrue(e.getMessage().startsWith("the host '256.256.256.256' of http://256.256.256.256/x.png"
                + " is not a host name or address as browsers read them: "), e.getMessage());
        assertEquals("the URL has no host: http:///x.png", rejected("http:///x.png").getMessage());
    }

    @ParameterizedTest(name = "{0} asks for {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            http://example.com                      | /
            http://example.com?x=1                  | /?x=1
            http://example.com/a/b.png              | /a/b.png
            http://example.com/a.png#part           | /a.png
            http://example.com/a.png?x=1#part       | /a.png?x=1
            http://example.com/a%20b.png            | /a%20b.png
            http://example.com/b%C3%BCcher.png      | /b%C3%BCcher.png
            http://example.com/bücher.png           | /b%C3%BCcher.png
            http://example.com/猫.png               | /%E7%8C%AB.png
            http://example.com/a.png?größe=1&q=%2F  | /a.png?gr%C3%B6%C3%9Fe=1&q=%2F
            http://example.com/%7Euser/./a.png      | /%7Euser/./a.png
            """)
    void theTargetIsThePathAndQueryWithNonAsciiAsUtf8PercentEscapes(String url, String target) {
        FetchUrl parsed = FetchUrl.parse(url);
        assertEquals(target, parsed.target());
        assertEquals(url, parsed.toString(), "the URL itself stays as sent, for messages and results");
    }

    @Test
    void surroundingWhitespaceIsNotPartOfTheUrl() {
        FetchUrl url = FetchUrl.parse("  https://example.com/a.png\n");
        assertEquals("https://example.com/a.png", url.toString());
        assertEquals("example.com", url.hostName());
    }

    @Test
    void aRedirectsUrlIsHeldToTheSameRulesWithoutNamingTheRequestField() throws Exception {
        FetchException scheme = assertThrows(FetchException.class, () -> FetchUrl.of(new URI("file:///etc/passwd")));
        assertEquals(FetchError.NOT_ALLOWED, scheme.error());
        assertEquals("only http and https URLs are fetched, not 'file:'", scheme.getMessage());
        FetchException host = assertThrows(FetchException.class, () -> FetchUrl.of(new URI("http:///x.png")));
        assertEquals(FetchError.INVALID_URL, host.error());
        assertFalse(host.getMessage().contains("imageUrl"), host.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            http://0x100000000/                   | the host '0x100000000'
            http://256.256.256.256/               | the host '256.256.256.256'
            http://1.2.3.4.5/                     | the host '1.2.3.4.5'
            http://4294967296/                    | the host '4294967296'
            http://example.1/                     | the host 'example.1'
            http://exa%25mple.com/                | the host 'exa%25mple.com'
            http://exa%2Fmple.com/                | the host 'exa%2Fmple.com'
            http://xn--a.example/                 | the host 'xn--a.example'
            "http://\u200D.example/"              | the host
            http://[::127.0.0.01]/                | the host '[::127.0.0.01]'
            http://[::1%25eth0]/                  | the host '[::1%25eth0]'
            http://[::1]x/                        | not a valid URL
            http://127.0.0.1:99999/               | the port '99999'
            http://127.0.0.1:8o/                  | the port '8o'
            http://:80/                           | has no host
            http:///image.png                     | has no host
            """)
    void aHostOrPortNoBrowserReadsIsAnInvalidUrlNamingIt(String url, String message) {
        FetchException e = assertThrows(FetchException.class, () -> FetchUrl.parse(url.replace("\\u200D", "\u200D")), url);
        assertEquals(FetchError.INVALID_URL, e.error(), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void aUrlJavasUriCannotReadIsAnInvalidUrlToo() {
        FetchException e = assertThrows(FetchException.class, () -> FetchUrl.parse("http://exa mple.com/"));
        assertEquals(FetchError.INVALID_URL, e.error());
    }

    @Test
    void credentialsAreRefusedWhateverTheHost() {
        for (String url : List.of("http://user@bücher.example/", "http://user:secret@127.1/", "http://a@b@0x7f000001/")) {
            FetchException e = assertThrows(FetchException.class, () -> FetchUrl.parse(url), url);
            assertEquals(FetchError.NOT_ALLOWED, e.error(), url);
            assertTrue(e.getMessage().contains("password"), e.getMessage());
        }
    }

    @Test
    void theRequestCarriesTheParsedHostAndAnAsciiTarget() {
        FetchUrl idn = FetchUrl.parse("https://Bücher.example:0443/bücher.png?größe=1");
        assertEquals("xn--bcher-kva.example", idn.host().serialized(), "Host header and SNI name");
        assertEquals("Bücher.example", idn.spelledHost());
        assertEquals(443, idn.port());
        assertEquals("/b%C3%BCcher.png?gr%C3%B6%C3%9Fe=1", idn.target());
        FetchUrl v6 = FetchUrl.parse("http://[::FFFF:127.0.0.1]:8080");
        assertEquals("[::ffff:7f00:1]", v6.host().serialized());
        assertEquals("::ffff:7f00:1", v6.hostName());
        assertEquals(8080, v6.port());
        assertEquals("/", v6.target());
        FetchUrl v4 = FetchUrl.parse("http://0x7f.1:/a%20b?q");
        assertEquals("127.0.0.1", v4.host().serialized());
        assertEquals(80, v4.port(), "an empty port is the default one");
        assertEquals("/a%20b?q", v4.target());
        assertEquals("http://0x7f.1:/a%20b?q", v4.toString(), "the URL itself stays as sent");
    }
}
