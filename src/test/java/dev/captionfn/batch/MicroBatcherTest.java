package dev.captionfn.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.captionfn.generate.GenerationOptions;
import dev.captionfn.image.ImageDecoder;
import dev.captionfn.model.BatchControl;
import dev.captionfn.model.LoadedModel;
import dev.captionfn.model.ModelRunException;
import dev.captionfn.model.VisionLanguageModel;
import dev.captionfn.testing.TestConfig;
import dev.captionfn.testing.TinyReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Micro-batching on the tiny model: requests that arrive together run as one batch, each still
 * gets exactly the reference's tokens, a batch respects its row limit, a lone request never
 * waits, and a caller that gives up leaves the batch.
 */
class MicroBatcherTest {
    private static LoadedModel model;
    private static List<TinyReference.Case> cases;
    private static List<VisionLanguageModel.Input> inputs;

    @BeforeAll
    static void load() {
        model = TestConfig.load(TinyReference.MODEL_DIR);
        cases = TinyReference.cases().subList(0, 8);
        GenerationOptions beam = model.decoding().defaults();
        inputs = new ArrayList<>();
        for (TinyReference.Case c : cases) {
            var image = new ImageDecoder().decode(TinyReference.bytes(c.resource()), 1_000_000);
            inputs.add(model.processor().prepare(image, c.instruction(), beam));
        }
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Submits every input while {@code onTheirWay} says how many are still to come, as the service does. */
    private static List<MicroBatcher.Generated> submitTogether(MicroBatcher batcher, AtomicInteger onTheirWay) throws Exception {
        onTheirWay.set(inputs.size());
        List<CompletableFuture<MicroBatcher.Generated>> futures = new ArrayList<>();
        for (var input : inputs) {
            futures.add(batcher.submit(input));
            onTheirWay.decrementAndGet();
        }
        List<MicroBatcher.Generated> results = new ArrayList<>();
        for (var f : futures) {
            results.add(f.get(30, TimeUnit.SECONDS));
        }
        return results;
    }

    @Test
    void requestsArrivingTogetherShareOneBatchAndEachGetsItsReferenceTokens() throws Exception {
        AtomicInteger onTheirWay = new AtomicInteger();
        try (var batcher = new MicroBatcher(model.model(), new MicroBatcher.Settings(40, Duration.ofSeconds(5)), onTheirWay::get)) {
            List<MicroBatcher.Generated> results = submitTogether(batcher, onTheirWay);
            for (int i = 0; i < results.size(); i++) {
                assertArrayEquals(cases.get(i).beamIds(), results.get(i).tokens(), cases.get(i).resource());
                assertEquals(8, results.get(i).batchRequests(), "8 five-beam requests fill 40 rows");
            }
        }
    }

    @Test
    void aBatchNeverHoldsMoreRowsThanItsLimit() throws Exception {
        AtomicInteger onTheirWay = new AtomicInteger();
        try (var batcher = new MicroBatcher(model.model(), new MicroBatcher.Settings(10, Duration.ofSeconds(5)), onTheirWay::get)) {
            List<MicroBatcher.Generated> results = submitTogether(batcher, onTheirWay);
            for (int i = 0; i < results.size(); i++) {
                assertArrayEquals(cases.get(i).beamIds(), results.get(i).tokens(), cases.get(i).resource());
                assertTrue(results.get(i).batchRequests() <= 2, "10 rows hold two five-beam requests");
            }
            assertEquals(2, results.get(0).batchRequests(), "the first batch filled up to its limit");
        }
    }

    @Test
    void aLoneRequestStartsAtOnceWhenNothingElseIsOnItsWay() throws Exception {
        try (var batcher = new MicroBatcher(model.model(), new MicroBatcher.Settings(40, Duration.ofSeconds(30)), () -> 0)) {
            var generated = batcher.submit(inputs.get(0)).get(20, TimeUnit.SECONDS);
            assertArrayEquals(cases.get(0).beamIds(), generated.tokens());
            assertEquals(1, generated.batchRequests());
        }
    }

    @Test
    void theFirstRequestWaitsForOthersNoLongerThanMaxWait() throws Exception {
        // five requests are "on their way" and never come
        try (var batcher = new MicroBatcher(model.model(), new MicroBatcher.Settings(40, Duration.ofMillis(300)), () -> 5)) {
            var generated = batcher.submit(inputs.get(0)).get(20, TimeUnit.SECONDS);
            assertArrayEquals(cases.get(0).beamIds(), generated.tokens());
            long waited = TimeUnit.NANOSECONDS.toMillis(generated.queuedNanos());
            assertTrue(waited >= 300 && waited < 10_000, "waited " + waited + " ms for a batch that did not fill");
        }
    }

    @Test
    void aWithdrawnRequestLeavesTheBatchAndTheOthersGetTheirTokens() {
        try (BatchControl control = new BatchControl(3)) {
            control.withdraw(1);
            var out = model.model().generate(inputs.subList(0, 3), control);
            assertArrayEquals(cases.get(0).beamIds(), out.tokens().get(0));
            assertNull(out.tokens().get(1), "no tokens for a caller that gave up");
            assertArrayEquals(cases.get(2).beamIds(), out.tokens().get(2));
        }
    }

    @Test
    void aBatchWhoseCallersAllGaveUpIsStoppedInsideOnnxRuntime() {
        try (BatchControl control = new BatchControl(2)) {
            control.withdraw(0);
            control.withdraw(1);
            // the RunOptions' terminate flag is set: the vision run itself refuses to go on
            ModelRunException e = assertThrows(ModelRunException.class, () -> model.model().generate(inputs.subList(0, 2), control));
            assertTrue(e.getMessage().toLowerCase().contains("terminat"), e.getMessage());
        }
    }

    @Test
    void aCancelledRequestIsAnsweredAsCancelledAndTheOthersStillRun() throws Exception {
        AtomicInteger onTheirWay = new AtomicInteger(2);
        try (var batcher = new MicroBatcher(model.model(), new MicroBatcher.Settings(40, Duration.ofMillis(500)), onTheirWay::get)) {
            var kept = batcher.submit(inputs.get(0));
            var cancelled = batcher.submit(inputs.get(1));
            cancelled.cancel(false);
            onTheirWay.set(0);
            assertArrayEquals(cases.get(0).beamIds(), kept.get(20, TimeUnit.SECONDS).tokens());
            assertTrue(cancelled.isCancelled());
        }
    }

    @Test
    void closingFailsWhatIsStillQueuedAndRefusesNewRequests() throws Exception {
        var batcher = new MicroBatcher(model.model(), new MicroBatcher.Settings(40, Duration.ZERO), () -> 0);
        batcher.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> batcher.submit(inputs.get(0)).get(5, TimeUnit.SECONDS));
        assertInstanceOf(ModelRunException.class, e.getCause());
    }

    @Test
    void settingsRefuseAZeroRowLimitAndANegativeWait() {
        assertThrows(IllegalArgumentException.class, () -> new MicroBatcher.Settings(0, Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> new MicroBatcher.Settings(5, Duration.ofMillis(-1)));
    }
}
