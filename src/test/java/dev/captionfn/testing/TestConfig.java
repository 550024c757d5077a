package dev.captionfn.testing;

import dev.captionfn.caption.Settings;
import dev.captionfn.config.CaptionfnConfig;
import dev.captionfn.model.BatchControl;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.VisionLanguageModel;
import dev.captionfn.modeldir.ManifestReader;
import dev.captionfn.ort.SessionSettings;
import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Configuration for tests that run without Quarkus, read through the application's own mapping:
 * its {@code @WithDefault} values are the only defaults, and {@link Settings} turns them into the
 * records each stage takes, as it does in the application.
 */
public final class TestConfig {
    private TestConfig() {}

    /** The mapping with these properties over its defaults. */
    public static CaptionfnConfig of(Map<String, String> properties) {
        return of(properties, Map.of());
    }

    /**
     * The mapping with these properties and these environment variables (CAPTIONFN_MODEL_DIR, …)
     * over its defaults, the variables read by SmallRye's own environment source, as the
     * application reads its process's: with the same rules for turning a variable's name into a
     * key, a map's keys included, and below the properties.
     */
    public static CaptionfnConfig of(Map<String, String> properties, Map<String, String> environment) {
        Map<String, String> all = new HashMap<>(Map.of(
                // the Kafka channels' keys have their defaults in application.properties, not in the mapping
                "captionfn.kafka.enabled", "false",
                "captionfn.kafka.request-topic", "r",
                "captionfn.kafka.result-topic", "c",
                "captionfn.kafka.group-id", "g",
                "captionfn.kafka.concurrency", "1",
                "captionfn.kafka.max-poll-records", "1"));
        all.putAll(properties);
        return new SmallRyeConfigBuilder()
                .withMapping(CaptionfnConfig.class)
                // Quarkus's converters, as the application has them
                .withConverter(MemorySize.class, 100, new MemorySizeConverter())
                .withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new PropertiesConfigSource(all, "test", 500))
                .withSources(new EnvConfigSource(environment, EnvConfigSource.ORDINAL))
                .build()
                .getConfigMapping(CaptionfnConfig.class);
    }

    public static CaptionfnConfig defaults() {
        return of(Map.of());
    }

    /** The default sessions (CPU, no cache) with these thread counts: tests and the bare benchmark's. */
    public static SessionSettings cpuSessions(int intraOpThreads, int interOpThreads) {
        return Settings.sessions(of(threads(intraOpThreads, interOpThreads)));
    }

    /** The default sessions, one thread each, with their warm-start caches in {@code cacheDir}. */
    public static SessionSettings cpuSessionsCachedIn(Path cacheDir) {
        Map<String, String> properties = new HashMap<>(threads(1, 1));
        properties.put("captionfn.cache.dir", cacheDir.toString());
        return Settings.sessions(of(properties));
    }

    private static Map<String, String> threads(int intra, int inter) {
        return Map.of("captionfn.model.intra-op-threads", Integer.toString(intra),
                "captionfn.model.inter-op-threads", Integer.toString(inter));
    }

    /** A model directory loaded on the CPU with one thread each, as the model tests load it. */
    public static LoadedModel load(Path dir) {
        return load(dir, cpuSessions(1, 1));
    }

    public static LoadedModel load(Path dir, SessionSettings settings) {
        return LoadedModel.load(dir, ManifestReader.read(dir), settings);
    }

    /** Generates for every input to its end, nobody withdrawing. */
    public static VisionLanguageModel.Output generate(VisionLanguageModel model, List<VisionLanguageModel.Input> inputs) {
        try (BatchControl control = new BatchControl(inputs.size())) {
            return model.generate(inputs, control);
        }
    }
}
