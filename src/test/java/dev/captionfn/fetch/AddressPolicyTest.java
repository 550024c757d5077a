package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The address policy as a function over resolved addresses: only literals are parsed (no DNS) and
 * nothing connects anywhere.
 */
class AddressPolicyTest {
    private static final AddressPolicy STRICT = new AddressPolicy(false, List.of());

    private static InetAddress literal(String address) {
        try {
            return InetAddress.getByName(address);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** An IPv6 address kept as IPv6, which InetAddress.getByName would turn into IPv4 for ::ffff:x. */
    private static byte[] v6(String address) {
        return Cidr.parse(address).network();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "127.0.0.1", "127.1.2.3", "127.255.255.254", "0.0.0.0", "0.1.2.3",
        "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255",
        "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.255",
        "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "::", "::1", "fc00::1", "fd12:3456:789a::1", "fe80::1", "febf::1", "fec0::1", "ff02::1",
        "2001:db8::1", "2001::1", "100::1", "64:ff9b:1::1", "::10.0.0.1"
    })
    void specialUseAddressesAreRefused(String address) {
        Optional<String> refusal = STRICT.refusal(literal(address));
        assertTrue(refusal.isPresent(), address + " is refused");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:192.168.1.1", "::ffff:100.64.0.1",
        "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a00:1::1", "2002:a9fe:a9fe::"
    })
    void ipv6FormsCarryingASpecialIpv4AddressAreRefused(String address) {
        Optional<String> refusal = STRICT.refusal(v6(address));
        assertTrue(refusal.isPresent(), address + " is refused");
        assertTrue(refusal.get().endsWith("form"), refusal.get());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
        "192.167.255.255", "192.169.0.0", "169.253.255.255", "11.0.0.0", "223.255.255.255",
        "2606:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860:4860::8888"
    })
    void publicAddressesAreAllowed(String address) {
        assertEquals(Optional.empty(), STRICT.refusal(literal(address)), address);
    }

    @Test
    void ipv6FormsCarryingAPublicIpv4AddressAreAllowed() {
        assertEquals(Optional.empty(), STRICT.refusal(v6("::ffff:8.8.8.8")));
        assertEquals(Optional.empty(), STRICT.refusal(v6("64:ff9b::808:808")));
        assertEquals(Optional.empty(), STRICT.refusal(v6("2002:808:808::1")));
    }

    @Test
    void javaTurnsMappedLiteralsIntoIpv4AndTheyAreStillRefused() throws Exception {
        InetAddress mapped = InetAddress.getByName("::ffff:127.0.0.1");
        assertEquals(4, mapped.getAddress().length, "the JDK's own rewrite");
        assertTrue(STRICT.refusal(mapped).orElseThrow().contains("loopback"));
        InetAddress kept = Inet6Address.getByAddress(null, v6("::ffff:127.0.0.1"), null);
        assertTrue(STRICT.refusal(kept).orElseThrow().contains("loopback"));
    }

    @Test
    void theRefusalSaysWhatKindOfAddressItIs() {
        assertTrue(STRICT.refusal(literal("169.254.169.254")).orElseThrow().contains("metadata"));
        assertTrue(STRICT.refusal(literal("10.1.2.3")).orElseThrow().contains("private"));
        assertTrue(STRICT.refusal(literal("100.64.1.1")).orElseThrow().contains("carrier-grade NAT"));
        assertTrue(STRICT.refusal(literal("fd00::1")).orElseThrow().contains("unique-local"));
        assertTrue(STRICT.refusal(literal("fe80::1")).orElseThrow().contains("link-local"));
        assertTrue(STRICT.refusal(literal("ff02::1")).orElseThrow().contains("multicast"));
        assertTrue(STRICT.refusal(literal("0.0.0.0")).orElseThrow().contains("unspecified"));
        assertTrue(STRICT.refusal(v6("::ffff:10.0.0.1")).orElseThrow().contains("private address (RFC 1918) in IPv4-mapped form"));
    }

    @Test
    void theAllowFlagAllowsEveryAddress() {
        AddressPolicy open = new AddressPolicy(true, List.of());
        for (String address : List.of("127.0.0.1", "169.254.169.254", "10.0.0.1", "::1", "fd00::1")) {
            assertEquals(Optional.empty(), open.refusal(literal(address)), address);
        }
    }

    @Test
    void anAllowedNetworkOpensThatNetworkOnly() {
        AddressPolicy store = new AddressPolicy(false, List.of(Cidr.parse("10.20.0.0/16"), Cidr.parse("127.0.0.2/32")));
        assertEquals(Optional.empty(), store.refusal(literal("10.20.3.4")));
        assertEquals(Optional.empty(), store.refusal(literal("127.0.0.2")));
        assertEquals(Optional.empty(), store.refusal(v6("::ffff:10.20.3.4")), "also in mapped form");
        assertTrue(store.refusal(literal("10.21.0.1")).isPresent());
        assertTrue(store.refusal(literal("127.0.0.1")).isPresent());
        assertTrue(store.refusal(literal("169.254.169.254")).isPresent());
    }

    @Test
    void networksParseFromCidrNotationAndNeverFromNames() {
        Cidr net = Cidr.parse("172.16.0.0/12");
        assertTrue(net.contains(literal("172.31.0.1").getAddress()));
        assertFalse(net.contains(literal("172.32.0.1").getAddress()));
        assertFalse(net.contains(literal("::1").getAddress()), "IPv6 is not in an IPv4 network");
        assertEquals("fc00:0:0:0:0:0:0:0/7", Cidr.parse("fc00::/7").toString());
        assertEquals("::ffff:0.0.0.0/96", Cidr.MAPPED_PREFIX.toString());
        assertEquals(32, Cidr.parse("8.8.8.8").prefixLength());
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("localhost/8"));
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/33"));
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/x"));
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("example.com"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "0.255.255.255", "10.0.0.0", "100.64.0.0", "127.255.255.255", "169.254.255.255", "172.16.0.0",
        "192.0.0.0", "192.0.0.255", "192.0.2.255", "192.88.99.0", "192.88.99.255", "192.168.0.0", "198.18.0.0",
        "198.51.100.255", "203.0.113.255", "224.0.0.0", "239.255.255.255", "240.0.0.0"
    })
    void theFirstAndLastAddressOfEachSpecialRangeAreRefused(String address) {
        assertTrue(STRICT.refusal(literal(address)).isPresent(), address + " is refused");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "1.0.0.0", "9.255.255.255", "126.255.255.255", "128.0.0.0", "169.255.0.0", "172.15.255.255", "191.255.255.255",
        "192.0.1.0", "192.0.3.0", "192.88.98.255", "192.88.100.0", "198.17.255.255", "198.20.0.0", "198.51.99.255",
        "198.51.101.0", "203.0.112.255", "203.0.114.0", "223.255.255.255",
        "2000::1", "2001:1::1", "2001:db7:ffff::1", "2001:db9::1", "2003::1", "fbff:ffff::1", "fe7f::1",
        "64:ff9a:ffff::1", "64:ff9b:2::1"
    })
    void theAddressesJustOutsideEachSpecialRangeAreAllowed(String address) {
        assertEquals(Optional.empty(), STRICT.refusal(literal(address)), address);
    }

    @Test
    void anIpv4CompatibleFormIsRefusedEvenForAPublicAddress() {
        // ::/96 was never routed; unlike the mapped form it is not judged by the IPv4 address it spells
        assertEquals(Optional.of("an IPv4-compatible address (deprecated)"), STRICT.refusal(v6("::8.8.8.8")));
    }

    @Test
    void theRefusalNamesTheFormAnIpv4AddressWasCarriedIn() {
        assertEquals(Optional.of("a loopback address in IPv4-mapped form"), STRICT.refusal(v6("::ffff:127.0.0.1")));
        assertEquals(Optional.of("a loopback address in NAT64 form"), STRICT.refusal(v6("64:ff9b::7f00:1")));
        assertEquals(Optional.of("a link-local address (cloud metadata services live here) in 6to4 form"),
                STRICT.refusal(v6("2002:a9fe:a9fe::1")));
    }

    @Test
    void anAllowedIpv4NetworkAlsoAllowsItsAddressesInNat64And6to4Form() {
        AddressPolicy store = new AddressPolicy(false, List.of(Cidr.parse("10.20.0.0/16")));
        assertEquals(Optional.empty(), store.refusal(v6("64:ff9b::a14:304")), "10.20.3.4 in NAT64 form");
        assertEquals(Optional.empty(), store.refusal(v6("2002:a14:304::1")), "10.20.3.4 in 6to4 form");
        assertTrue(store.refusal(v6("64:ff9b::a15:304")).isPresent(), "10.21.3.4 in NAT64 form");
    }

    @Test
    void anAllowedNetworkWithAPrefixOffTheByteBoundaryEndsWhereItsPrefixDoes() {
        AddressPolicy store = new AddressPolicy(false, List.of(Cidr.parse("10.20.0.0/14")));
        assertEquals(Optional.empty(), store.refusal(literal("10.20.0.0")));
        assertEquals(Optional.empty(), store.refusal(literal("10.23.255.255")));
        assertTrue(store.refusal(literal("10.19.255.255")).isPresent());
        assertTrue(store.refusal(literal("10.24.0.0")).isPresent());
    }

    @Test
    void anAllowedNetworkWrittenWithHostBitsSetCoversTheWholeNetwork() {
        AddressPolicy store = new AddressPolicy(false, List.of(Cidr.parse("10.20.3.4/16")));
        assertEquals(Optional.empty(), store.refusal(literal("10.20.200.1")));
        assertTrue(store.refusal(literal("10.21.0.1")).isPresent());
    }

    @Test
    void anAllowedIpv6NetworkOpensThatNetworkOnly() {
        AddressPolicy store = new AddressPolicy(false, List.of(Cidr.parse("fd00:1234::/32")));
        assertEquals(Optional.empty(), store.refusal(literal("fd00:1234::5")));
        assertTrue(store.refusal(literal("fd00:1235::5")).isPresent());
        assertTrue(store.refusal(literal("10.0.0.1")).isPresent(), "an IPv6 network says nothing about IPv4");
    }

    @Test
    void allowingEveryIpv4AddressDoesNotAllowIpv6Loopback() {
        AddressPolicy allIpv4 = new AddressPolicy(false, List.of(Cidr.parse("0.0.0.0/0")));
        assertEquals(Optional.empty(), allIpv4.refusal(literal("127.0.0.1")));
        assertEquals(Optional.empty(), allIpv4.refusal(v6("::ffff:169.254.169.254")), "a mapped form carries IPv4");
        assertTrue(allIpv4.refusal(literal("::1")).isPresent());
        assertTrue(allIpv4.refusal(literal("fe80::1")).isPresent());
    }

    @Test
    void thePolicyKeepsItsOwnCopyOfTheAllowedNetworks() {
        List<Cidr> networks = new ArrayList<>(List.of(Cidr.parse("10.20.0.0/16")));
        AddressPolicy store = new AddressPolicy(false, networks);
        networks.add(Cidr.parse("127.0.0.0/8"));
        assertTrue(store.refusal(literal("127.0.0.1")).isPresent());
        assertThrows(UnsupportedOperationException.class, () -> store.allowed().add(Cidr.parse("10.0.0.0/8")));
    }
}
