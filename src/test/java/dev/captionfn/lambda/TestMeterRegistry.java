package dev.captionfn.lambda;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The Lambda build has no Prometheus registry (no HTTP endpoint to scrape); a simple in-memory one
 * lets the tests read the caption counters.
 */
public class TestMeterRegistry {
    @Produces
    @Singleton
    SimpleMeterRegistry registry() {
        return new SimpleMeterRegistry();
    }
}
