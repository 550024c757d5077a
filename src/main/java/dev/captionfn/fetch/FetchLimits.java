package dev.captionfn.fetch;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What bounds one fetch and where it may go.
 *
 * @param connectTimeout how long connecting to one hop may take (0: only the whole-fetch timeout bounds it)
 * @param timeout the whole fetch, from the first connect to the last byte, redirects included
 * @param maxBytes the largest body read
 * @param maxRedirects how many redirects are followed (0: none)
 * @param userAgent the User-Agent header of every request
 * @param allowPrivateAddresses fetch from any address, private and special-use ones too
 * @param allowedNetworks networks fetched from even though they are private or special-use
 */
public record FetchLimits(Duration connectTimeout, Duration timeout, long maxBytes, int maxRedirects, String userAgent,
        boolean allowPrivateAddresses, List<Cidr> allowedNetworks) {

    public FetchLimits {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(userAgent, "userAgent");
        // Vert.x takes the connect timeout as an int of milliseconds
        if (connectTimeout.isNegative() || connectTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the connect timeout must be 0 to " + Integer.MAX_VALUE + " ms, not " + connectTimeout);
        }
        // a Vert.x timer takes at least 1 ms
        if (timeout.toMillis() < 1) {
            throw new IllegalArgumentException("the fetch timeout must be at least 1 ms, not " + timeout);
        }
        // the body is collected in one buffer, whose size is an int
        if (maxBytes < 1 || maxBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("max bytes must be 1 to " + Integer.MAX_VALUE + ", not " + maxBytes);
        }
        if (maxRedirects < 0) {
            throw new IllegalArgumentException("max redirects must be 0 or more, not " + maxRedirects);
        }
        if (userAgent.isBlank()) {
            throw new IllegalArgumentException("the user agent must not be blank");
        }
        allowedNetworks = List.copyOf(allowedNetworks);
    }

    /** The policy these limits set for the addresses a fetch may connect to. */
    public AddressPolicy addressPolicy() {
        return new AddressPolicy(allowPrivateAddresses, allowedNetworks);
    }
}
