package dev.captionfn.testing;

import dev.captionfn.fetch.HostResolver;
import dev.captionfn.fetch.SystemHostResolver;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

/**
 * The system resolver plus a few names under the reserved {@code .test} domain (RFC 2606) that
 * answer like a DNS server would, so that tests can show a host name that resolves to a loopback
 * address being refused, without a DNS server and without any traffic leaving the machine.
 * Replaces the default resolver in every {@code @QuarkusTest}.
 */
@ApplicationScoped
public class TestHostResolver implements HostResolver {
    /** Resolves to 127.0.0.1, like a rebinding attacker's name. */
    public static final String LOOPBACK_NAME = "loopback.captionfn.test";
    /** Resolves to 127.0.0.2, the image store the strict-policy tests allow by network. */
    public static final String IMAGE_STORE_NAME = "images.captionfn.test";

    private static final Map<String, String> NAMES = Map.of(LOOPBACK_NAME, "127.0.0.1", IMAGE_STORE_NAME, "127.0.0.2");

    private final SystemHostResolver system = new SystemHostResolver();

    @Override
    public List<InetAddress> resolve(String host) throws UnknownHostException {
        String address = NAMES.get(host);
        return address != null ? List.of(InetAddress.getByName(address)) : system.resolve(host);
    }
}
