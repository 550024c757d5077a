package dev.captionfn.fetch;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Where one hop of a fetch may connect. An address written in the URL, in whatever spelling, is
 * that address and never a DNS question; a domain is resolved by its ASCII (punycode) name. Every
 * address is judged by the {@link AddressPolicy} before anything connects, and the address
 * returned is the one the connection must go to. Kept apart from the HTTP client so that the
 * whole decision is a function: tests give it a resolver and nothing is dialled.
 */
public final class Destinations {
    private final AddressPolicy policy;
    private final HostResolver resolver;

    public Destinations(AddressPolicy policy, HostResolver resolver) {
        this.policy = policy;
        this.resolver = resolver;
    }

    /**
     * The address to connect to for the URL; blocking when the host is a domain.
     *
     * @throws FetchException NOT_ALLOWED when the policy refuses an address, FAILED when a domain
     *     has no address
     * @throws UnknownHostException when DNS does not know the domain
     */
    public InetAddress addressOf(FetchUrl url) throws UnknownHostException {
        List<InetAddress> addresses = url.host() instanceof UrlHost.Address literal
                // getByAddress reads ::ffff:a.b.c.d as a.b.c.d, so a mapped address is judged as the IPv4 one
                ? List.of(InetAddress.getByAddress(url.hostName(), literal.bytes()))
                : resolver.resolve(url.hostName());
        if (addresses.isEmpty()) {
            throw new FetchException(FetchError.FAILED, "the host of " + url + " has no address");
        }
        // every address, not just the first: a name with one public and one private address is refused
        for (InetAddress address : addresses) {
            var refusal = policy.refusal(address);
            if (refusal.isPresent()) {
                throw refused(url, addresses, address, refusal.get());
            }
        }
        return addresses.get(0);
    }

    private static FetchException refused(FetchUrl url, List<InetAddress> addresses, InetAddress address, String kind) {
        String name = UrlHost.Address.text(address.getAddress());
        String spelled = url.spelledHost();
        String what;
        if (url.host() instanceof UrlHost.Address) {
            what = spelled.equals(name) || spelled.equals("[" + name + "]")
                    ? spelled + " is " + kind
                    : "'" + spelled + "' is " + name + ", " + kind;
        } else {
            String resolved = addresses.stream().map(a -> UrlHost.Address.text(a.getAddress())).collect(Collectors.joining(", "));
            what = "'" + spelled + "'" + (spelled.equals(url.hostName()) ? "" : " (" + url.hostName() + ")")
                    + " resolves to " + resolved + "; " + name + " is " + kind;
        }
        // the settings are named as operators set them: the refusal is what tells them a store needs allowing
        return new FetchException(FetchError.NOT_ALLOWED, what + ": private and special-use addresses are not fetched"
                + " unless captionfn.fetch.allow-private-addresses or allowed-networks allow them");
    }
}
