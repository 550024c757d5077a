package dev.captionfn.caption;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the function is doing, for Prometheus at /q/metrics:
 * {@code captionfn_captions_total{outcome, code}}, {@code captionfn_stage_seconds{stage}} (fetch,
 * decode, preprocess, vision, generate, total), {@code captionfn_tokens_generated_total} and
 * {@code captionfn_requests_in_flight}. Every code's counter exists from the start at zero, so
 * that a rate over it is defined before the first failure.
 */
@ApplicationScoped
public class CaptionMetrics {
    static final String CAPTIONS = "captionfn.captions";
    static final String STAGE = "captionfn.stage";
    static final String TOKENS = "captionfn.tokens.generated";
    static final String IN_FLIGHT = "captionfn.requests.in.flight";

    private final Counter captioned;
    private final Map<ErrorCode, Counter> failed = new EnumMap<>(ErrorCode.class);
    private final Timer fetch;
    private final Timer decode;
    private final Timer preprocess;
    private final Timer vision;
    private final Timer generate;
    private final Timer total;
    private final Counter tokens;
    private final AtomicInteger inFlight = new AtomicInteger();

    public CaptionMetrics(MeterRegistry registry) {
        captioned = Counter.builder(CAPTIONS).description("Caption requests by outcome and error code")
                .tags("outcome", "captioned", "code", "OK").register(registry);
        for (ErrorCode code : ErrorCode.values()) {
            failed.put(code, Counter.builder(CAPTIONS).description("Caption requests by outcome and error code")
                    .tags("outcome", "failed", "code", code.name()).register(registry));
        }
        fetch = stage(registry, "fetch");
        decode = stage(registry, "decode");
        preprocess = stage(registry, "preprocess");
        vision = stage(registry, "vision");
        generate = stage(registry, "generate");
        total = stage(registry, "total");
        tokens = Counter.builder(TOKENS).description("Tokens generated, end-of-sequence tokens included").register(registry);
        registry.gauge(IN_FLIGHT, inFlight);
    }

    private static Timer stage(MeterRegistry registry, String stage) {
        return Timer.builder(STAGE).description("Time spent in each stage of a caption").tag("stage", stage).register(registry);
    }

    /** The counter of requests held now, fetching or captioning; the admission limit reads it too. */
    AtomicInteger inFlight() {
        return inFlight;
    }

    void captioned(Timings t, int generatedTokens) {
        captioned.increment();
        record(fetch, t.fetchMs());
        record(decode, t.decodeMs());
        record(preprocess, t.preprocessMs());
        record(vision, t.visionMs());
        record(generate, t.generateMs());
        record(total, t.totalMs());
        tokens.increment(generatedTokens);
    }

    void failed(ErrorCode code) {
        failed.get(code).increment();
    }

    private static void record(Timer timer, double millis) {
        timer.record(Math.round(millis * 1_000_000), TimeUnit.NANOSECONDS);
    }
}
