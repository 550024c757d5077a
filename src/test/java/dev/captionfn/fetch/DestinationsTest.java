package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * From an imageUrl to the address a fetch would connect to, with the production address policy:
 * every spelling of a special-use address is NOT_ALLOWED naming the address, as
 * http://2130706433/ always was. A resolver stands in for DNS and records what it is asked;
 * nothing here resolves for real or connects, so none of these addresses is ever dialled.
 */
class DestinationsTest {
    private static final AddressPolicy STRICT = new AddressPolicy(false, List.of());
    private static final AddressPolicy OPEN = new AddressPolicy(true, List.of());

    /** Answers a few names the way DNS would, and records every question. */
    private static final class RecordingResolver implements HostResolver {
        final List<String> asked = new ArrayList<>();
        private final Map<String, String> names = Map.of(
                "xn--bcher-kva.example", "10.1.2.3",
                "xn--fa-hia.de", "192.168.7.7",
                "internal.example", "169.254.169.254");

        @Override
        public List<InetAddress> resolve(String host) throws UnknownHostException {
            asked.add(host);
            String address = names.get(host);
            if (address == null) {
                throw new UnknownHostException(host);
            }
            return List.of(InetAddress.getByName(address));
        }
    }

    private final RecordingResolver resolver = new RecordingResolver();

    private FetchException refusal(String url) {
        return assertThrows(FetchException.class, () -> new Destinations(STRICT, resolver).addressOf(FetchUrl.parse(url)), url);
    }

    @ParameterizedTest(name = "{0} is refused as {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            http://0x7f000001/                    | '0x7f000001' is 127.0.0.1, a loopback address
            http://0X7F000001/                    | '0X7F000001' is 127.0.0.1, a loopback address
            http://0x7f.1/                        | '0x7f.1' is 127.0.0.1, a loopback address
            http://127.1/                         | '127.1' is 127.0.0.1, a loopback address
            http://127.1:8080/image.png           | '127.1' is 127.0.0.1, a loopback address
            http://0177.0.0.1/                    | '0177.0.0.1' is 127.0.0.1, a loopback address
            http://0177.1/                        | '0177.1' is 127.0.0.1, a loopback address
            http://2130706433/                    | '2130706433' is 127.0.0.1, a loopback address
            http://017700000001/                  | '017700000001' is 127.0.0.1, a loopback address
            http://127.0.0.1./                    | '127.0.0.1.' is 127.0.0.1, a loopback address
            http://127.0.0.1/                     | 127.0.0.1 is a loopback address
            https://127.0.0.1:8443/               | 127.0.0.1 is a loopback address
            http://%31%32%37.0.0.1/               | '%31%32%37.0.0.1' is 127.0.0.1, a loopback address
            http://127%2E0%2E0%2E1/               | '127%2E0%2E0%2E1' is 127.0.0.1, a loopback address
            http://１２７.０.０.１/                 | '１２７.０.０.１' is 127.0.0.1, a loopback address
            http://127。0。0。1/                   | '127。0。0。1' is 127.0.0.1, a loopback address
            http://[::1]/                         | [::1] is a loopback address
            http://[0:0:0:0:0:0:0:1]:80/          | '[0:0:0:0:0:0:0:1]' is ::1, a loopback address
            http://[::ffff:127.0.0.1]/            | '[::ffff:127.0.0.1]' is 127.0.0.1, a loopback address
            http://[::ffff:7f00:1]/               | '[::ffff:7f00:1]' is 127.0.0.1, a loopback address
            http://[::FFFF:7F00:1]/               | '[::FFFF:7F00:1]' is 127.0.0.1, a loopback address
            http://[64:ff9b::7f00:1]/             | [64:ff9b::7f00:1] is a loopback address in NAT64 form
            http://[::]/                          | [::] is the unspecified address
            http://0/                             | '0' is 0.0.0.0, an unspecified
            http://0xa9fea9fe/latest/meta-data/   | '0xa9fea9fe' is 169.254.169.254, a link-local address
            http://169.254.43518/                 | '169.254.43518' is 169.254.169.254, a link-local address
            http://0251.0376.0251.0376/           | '0251.0376.0251.0376' is 169.254.169.254, a link-local address
            http://[::ffff:169.254.169.254]/      | '[::ffff:169.254.169.254]' is 169.254.169.254, a link-local address
            http://10.1/                          | '10.1' is 10.0.0.1, a private address
            http://0xc0a80001/                    | '0xc0a80001' is 192.168.0.1, a private address
            http://[FD00::1]/                     | '[FD00::1]' is fd00::1, a unique-local address
            """)
    void everySpellingOfASpecialUseAddressIsRefusedNamingTheAddress(String url, String message) {
        FetchException e = refusal(url);
        assertEquals(FetchError.NOT_ALLOWED, e.error(), e.getMessage());
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
        assertTrue(e.getMessage().contains("allow-private-addresses"), e.getMessage());
        assertEquals(List.of(), resolver.asked, "an address in the URL is never a DNS question");
    }

    @ParameterizedTest(name = "{0} resolves as {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            http://bücher.example/x.png           | xn--bcher-kva.example | 'bücher.example' (xn--bcher-kva.example) resolves to 10.1.2.3; 10.1.2.3 is a private address
            http://BÜCHER.example/                | xn--bcher-kva.example | 'BÜCHER.example' (xn--bcher-kva.example) resolves to 10.1.2.3
            http://b%C3%BCcher.example/           | xn--bcher-kva.example | (xn--bcher-kva.example) resolves to 10.1.2.3
            http://xn--bcher-kva.example/         | xn--bcher-kva.example | 'xn--bcher-kva.example' resolves to 10.1.2.3
            http://faß.de/                        | xn--fa-hia.de         | 'faß.de' (xn--fa-hia.de) resolves to 192.168.7.7
            http://INTERNAL.example/              | internal.example      | 'INTERNAL.example' (internal.example) resolves to 169.254.169.254
            """)
    void aDomainIsResolvedByItsAsciiNameAndItsAddressesJudged(String url, String asked, String message) {
        FetchException e = refusal(url);
        assertEquals(FetchError.NOT_ALLOWED, e.error());
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertEquals(List.of(asked), resolver.asked);
    }

    @Test
    void anAllowedSpellingConnectsToTheParsedAddress() throws Exception {
        Destinations open = new Destinations(OPEN, resolver);
        assertEquals(InetAddress.getByName("127.0.0.1"), open.addressOf(FetchUrl.parse("http://0x7f000001:8080/")));
        assertEquals(InetAddress.getByName("127.0.0.1"), open.addressOf(FetchUrl.parse("http://１２７.０.０.１/")));
        // a mapped address is connected to as the IPv4 address it carries
        assertEquals(InetAddress.getByName("127.0.0.1"), open.addressOf(FetchUrl.parse("http://[::ffff:7f00:1]/")));
        assertEquals(InetAddress.getByName("::1"), open.addressOf(FetchUrl.parse("http://[0::1]/")));
        assertEquals(InetAddress.getByName("10.1.2.3"), open.addressOf(FetchUrl.parse("http://bücher.example/")));
        assertEquals(List.of("xn--bcher-kva.example"), resolver.asked);
    }

    @Test
    void anAllowedNetworkAllowsItsAddressInEverySpelling() throws Exception {
        Destinations store = new Destinations(new AddressPolicy(false, List.of(Cidr.parse("127.0.0.2/32"))), resolver);
        for (String url : List.of("http://127.0.0.2/", "http://127.2/", "http://0x7f000002/", "http://[::ffff:127.0.0.2]/")) {
            assertEquals(InetAddress.getByName("127.0.0.2"), store.addressOf(FetchUrl.parse(url)), url);
        }
        assertThrows(FetchException.class, () -> store.addressOf(FetchUrl.parse("http://127.3/")));
    }

    @Test
    void anUnknownAsciiNameIsTheResolversAnswer() {
        assertThrows(UnknownHostException.class, () -> new Destinations(STRICT, resolver).addressOf(FetchUrl.parse("http://nowhere.example/")));
        assertEquals(List.of("nowhere.example"), resolver.asked);
    }
}
