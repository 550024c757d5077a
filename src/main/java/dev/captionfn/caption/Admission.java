package dev.captionfn.caption;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded queue in front of the model: {@code captionfn.limits.max-in-flight} places, each
 * held by one request from admission (before its fetch) until its answer. HTTP and CloudEvents
 * take a place or are refused at once (OVERLOADED, 429, so the broker retries later or elsewhere);
 * the Kafka consumer waits for one, which holds its worker threads, and a connector whose workers
 * are all busy stops fetching records. It also counts the admitted requests still on their way to
 * the model (fetching, decoding), which the batcher waits for while a batch fills.
 */
@ApplicationScoped
public class Admission {
    private final int places;
    private final Semaphore free;
    private final AtomicInteger onTheirWay = new AtomicInteger();

    public Admission(RequestLimits limits) {
        this.places = limits.maxInFlight();
        this.free = new Semaphore(places, true);
    }

    /** Takes a place if one is free; a request that gets none is answered OVERLOADED. */
    boolean tryEnter() {
        if (free.tryAcquire()) {
            onTheirWay.incrementAndGet();
            return true;
        }
        return false;
    }

    /** Waits for a place, blocking the calling thread (a worker, never an event loop). */
    void enter() throws InterruptedException {
        free.acquire();
        onTheirWay.incrementAndGet();
    }

    /** The request reached the model's queue, or failed before it. Called once per admitted request. */
    void arrived() {
        onTheirWay.decrementAndGet();
    }

    /** The request was answered or given up: its place is free again. */
    void leave() {
        free.release();
    }

    public int places() {
        return places;
    }

    /** Requests holding a place now. */
    public int held() {
        return places - free.availablePermits();
    }

    /** Requests admitted and not yet at the model: what a filling batch may wait for. */
    public int onTheirWay() {
        return onTheirWay.get();
    }
}
