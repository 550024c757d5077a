package dev.captionfn.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Limits the fetcher could not work with are refused when they are made, not on the first fetch. */
class FetchLimitsTest {
    private static final Duration SECOND = Duration.ofSeconds(1);

    private static IllegalArgumentException refused(Runnable make) {
        return assertThrows(IllegalArgumentException.class, make::run);
    }

    @Test
    void timeoutsTheTimersCannotTakeAreRefused() {
        assertTrue(refused(() -> new FetchLimits(Duration.ofMillis(-1), SECOND, 1, 0, "ua", false, List.of()))
                .getMessage().contains("connect timeout"));
        assertTrue(refused(() -> new FetchLimits(Duration.ofDays(30), SECOND, 1, 0, "ua", false, List.of()))
                .getMessage().contains("connect timeout"));
        assertTrue(refused(() -> new FetchLimits(SECOND, Duration.ZERO, 1, 0, "ua", false, List.of()))
                .getMessage().contains("fetch timeout"));
        assertTrue(refused(() -> new FetchLimits(SECOND, Duration.ofNanos(999_999), 1, 0, "ua", false, List.of()))
                .getMessage().contains("fetch timeout"));
    }

    @Test
    void aZeroConnectTimeoutLeavesConnectingToTheWholeFetchsDeadline() {
        assertEquals(Duration.ZERO, new FetchLimits(Duration.ZERO, SECOND, 1, 0, "ua", false, List.of()).connectTimeout());
    }

    @Test
    void aByteLimitOneBufferCannotHoldIsRefused() {
        assertTrue(refused(() -> new FetchLimits(SECOND, SECOND, 0, 0, "ua", false, List.of())).getMessage().contains("max bytes"));
        assertTrue(refused(() -> new FetchLimits(SECOND, SECOND, Integer.MAX_VALUE + 1L, 0, "ua", false, List.of()))
                .getMessage().contains("max bytes"));
    }

    @Test
    void aNegativeRedirectLimitAndABlankUserAgentAreRefused() {
        assertTrue(refused(() -> new FetchLimits(SECOND, SECOND, 1, -1, "ua", false, List.of())).getMessage().contains("redirects"));
        assertTrue(refused(() -> new FetchLimits(SECOND, SECOND, 1, 0, " ", false, List.of())).getMessage().contains("user agent"));
    }

    @Test
    void theAddressPolicyIsTheLimitsOwnAndKeepsACopyOfTheNetworks() {
        List<Cidr> networks = new ArrayList<>(List.of(Cidr.parse("10.20.0.0/16")));
        FetchLimits limits = new FetchLimits(SECOND, SECOND, 1, 0, "ua", false, networks);
        networks.add(Cidr.parse("127.0.0.0/8"));
        AddressPolicy policy = limits.addressPolicy();
        assertEquals(List.of(Cidr.parse("10.20.0.0/16")), policy.allowed());
        assertEquals(Optional.empty(), policy.refusal(new byte[] {10, 20, 1, 1}));
        assertTrue(policy.refusal(new byte[] {127, 0, 0, 1}).isPresent());
        assertEquals(Optional.empty(), new FetchLimits(SECOND, SECOND, 1, 0, "ua", true, List.of()).addressPolicy()
                .refusal(new byte[] {127, 0, 0, 1}));
    }
}
