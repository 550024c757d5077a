package dev.captionfn.caption;

import dev.captionfn.ort.GraphSession;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the function is doing, for Prometheus at /q/metrics:
 * {@code captionfn_captions_total{outcome, code}} (outcome captioned, failed, or abandoned by a
 * caller that went away), {@code captionfn_stage_seconds{stage}} (fetch, decode, preprocess, queue,
 * vision, generate, total), {@code captionfn_tokens_generated_total},
 * {@code captionfn_batch_requests} (how many requests shared each caption's batch) and
 * {@code captionfn_requests_in_flight} (places held in the queue), and once the model is loaded
 * {@code captionfn_model_session_seconds{graph, provider, cache}}: how long each graph's session took
 * to make, on which execution provider, and whether its warm-start cache was hit, built or off.
 * Every code's counter exists from the start at zero, so that a rate over it is defined before the
 * first failure.
 */
@Startup
@ApplicationScoped
public class CaptionMetrics {
    static final String CAPTIONS = "captionfn.captions";
    static final String STAGE = "captionfn.stage";
    static final String TOKENS = "captionfn.tokens.generated";
    static final String IN_FLIGHT = "captionfn.requests.in.flight";
    static final String BATCH = "captionfn.batch.requests";
    static final String SESSION = "captionfn.model.session";

    private final Counter captioned;
    private final Counter abandoned;
    private final Map<ErrorCode, Counter> failed = new EnumMap<>(ErrorCode.class);
    private final Timer fetch;
    private final Timer decode;
    private final Timer preprocess;
    private final Timer queue;
    private final Timer vision;
    private final Timer generate;
    private final Timer total;
    private final Counter tokens;
    private final DistributionSummary batch;
    private final MeterRegistry registry;

    public CaptionMetrics(MeterRegistry registry, Admission admission) {
        this.registry = registry;
        captioned = Counter.builder(CAPTIONS).description("Caption requests by outcome and error code")
                .tags("outcome", "captioned", "code", "OK").register(registry);
        abandoned = Counter.builder(CAPTIONS).description("Caption requests by outcome and error code")
                .tags("outcome", "abandoned", "code", "CANCELLED").register(registry);
        for (ErrorCode code : ErrorCode.values()) {
            failed.put(code, Counter.builder(CAPTIONS).description("Caption requests by outcome and error code")
                    .tags("outcome", "failed", "code", code.name()).register(registry));
        }
        fetch = stage(registry, "fetch");
        decode = stage(registry, "decode");
        preprocess = stage(registry, "preprocess");
        queue = stage(registry, "queue");
        vision = stage(registry, "vision");
        generate = stage(registry, "generate");
        total = stage(registry, "total");
        tokens = Counter.builder(TOKENS).description("Tokens generated, end-of-sequence tokens included").register(registry);
        batch = DistributionSummary.builder(BATCH).description("Requests in the batch each caption ran in").register(registry);
        // strongly held: Micrometer keeps a gauge's object weakly, and nothing else holds this proxy
        Gauge.builder(IN_FLIGHT, admission, Admission::held).strongReference(true)
                .description("Requests holding a place, from admission to answer").register(registry);
    }

    private static Timer stage(MeterRegistry registry, String stage) {
        return Timer.builder(STAGE).description("Time spent in each stage of a caption").tag("stage", stage).register(registry);
    }

    void captioned(StageNanos t, int generatedTokens, int batchRequests) {
        captioned.increment();
        fetch.record(t.fetch(), TimeUnit.NANOSECONDS);
        decode.record(t.decode(), TimeUnit.NANOSECONDS);
        preprocess.record(t.preprocess(), TimeUnit.NANOSECONDS);
        queue.record(t.queue(), TimeUnit.NANOSECONDS);
        vision.record(t.vision(), TimeUnit.NANOSECONDS);
        generate.record(t.generate(), TimeUnit.NANOSECONDS);
        total.record(t.total(), TimeUnit.NANOSECONDS);
        tokens.increment(generatedTokens);
        batch.record(batchRequests);
    }

    void sessionsMade(List<GraphSession> sessions) {
        for (GraphSession s : sessions) {
            double seconds = s.millis() / 1000.0;
            Gauge.builder(SESSION + ".seconds", () -> seconds)
                    .description("Time to make each graph's session, by execution provider and warm-start cache use")
                    .tags("graph", s.graph().id(), "provider", s.provider().id(), "cache", s.cache().id()).strongReference(true)
                    .register(registry);
        }
    }

    void abandoned() {
        abandoned.increment();
    }

    void failed(ErrorCode code) {
        failed.get(code).increment();
    }

}
