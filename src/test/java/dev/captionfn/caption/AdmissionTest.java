package dev.captionfn.caption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The bounded queue in front of the model, without Quarkus: places taken and given back, the
 * refusal past the last place, the wait of a caller that waits, and the count of requests still
 * on their way to the model that a filling batch waits for.
 */
class AdmissionTest {
    private static Admission withPlaces(int places) {
        return new Admission(new RequestLimits(5, 64, 1000, 40_000_000, places, Duration.ofSeconds(240)));
    }

    @Test
    void pastTheLastPlaceARequestIsRefusedUntilOneLeaves() {
        Admission admission = withPlaces(2);
        assertTrue(admission.tryEnter());
        assertTrue(admission.tryEnter());
        assertFalse(admission.tryEnter(), "every place is taken");
        assertEquals(2, admission.held());
        admission.leave();
        assertEquals(1, admission.held());
        assertTrue(admission.tryEnter(), "the place given back is free again");
        assertEquals(2, admission.places());
    }

    @Test
    void aRequestOnItsWayCountsUntilItArrivesAtTheModelWhileItsPlaceIsHeldUntilItLeaves() {
        Admission admission = withPlaces(3);
        admission.tryEnter();
        admission.tryEnter();
        assertEquals(2, admission.onTheirWay());
        admission.arrived();
        assertEquals(1, admission.onTheirWay(), "one reached the model's queue");
        assertEquals(2, admission.held(), "and still holds its place until answered");
        admission.leave();
        assertEquals(1, admission.held());
    }

    @Test
    void aCallerThatWaitsForAPlaceGetsTheFirstOneGivenBack() throws Exception {
        Admission admission = withPlaces(1);
        assertTrue(admission.tryEnter());
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
                try {
                    admission.enter();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, worker);
            assertThrows(TimeoutException.class, () -> waiting.get(200, TimeUnit.MILLISECONDS), "no place is free yet");
            admission.leave();
            waiting.get(10, TimeUnit.SECONDS);
            assertEquals(1, admission.held());
            assertEquals(2, admission.onTheirWay(), "both admitted requests are on their way");
        } finally {
            worker.shutdownNow();
        }
    }

    @Test
    void limitsThatAreNotPositiveAreRefusedNamingThem() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new RequestLimits(5, 64, 1000, 40_000_000, 0, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("max-in-flight 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RequestLimits(5, 64, 1000, 40_000_000, 1, Duration.ZERO));
    }
}
