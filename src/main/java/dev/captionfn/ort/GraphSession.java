package dev.captionfn.ort;

import dev.captionfn.modeldir.Graph;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How one graph's session was made: the provider that runs it, whether its warm-start cache was
 * used, and how long the session took to create.
 */
public record GraphSession(Graph graph, ExecutionProvider provider, CacheUse cache, long millis) {

    /** "vision: cpu, cache hit, 23 ms; …", for the log, the health check and prepare's report. */
    public static String summary(List<GraphSession> sessions) {
        return sessions.stream()
                .map(s -> s.graph() + ": " + s.provider() + ", cache " + s.cache().id() + ", " + s.millis() + " ms")
                .collect(Collectors.joining("; "));
    }

    /** What the cache volume did for a session. */
    public enum CacheUse {
        /** No cache: none configured, or the provider builds nothing worth keeping (CUDA). */
        OFF,
        /** Loaded from a valid cache. */
        HIT,
        /** No valid cache, so the session was built from the model and its cache written. */
        BUILT;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
