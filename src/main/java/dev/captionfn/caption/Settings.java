package dev.captionfn.caption;

import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.fetch.Cidr;
import dev.captionfn.fetch.FetchLimits;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;

/**
 * Turns the configuration into the values the packages below take, so that none of them reads
 * {@link CaptionfnConfig} itself.
 */
@ApplicationScoped
public final class Settings {

    @Produces
    @Singleton
    FetchLimits fetchLimits(CaptionfnConfig config) {
        return fetchLimits(config.fetch());
    }

    /** The fetcher's limits; a network that is no CIDR fails here, naming it. */
    public static FetchLimits fetchLimits(CaptionfnConfig.Fetch fetch) {
        return new FetchLimits(fetch.connectTimeout(), fetch.timeout(), fetch.maxBytes(), fetch.maxRedirects(),
                fetch.userAgent(), fetch.allowPrivateAddresses(),
                fetch.allowedNetworks().orElse(List.of()).stream().map(Cidr::parse).toList());
    }
}
