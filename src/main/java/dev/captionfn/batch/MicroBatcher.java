package dev.captionfn.batch;

import dev.captionfn.model.BatchControl;
import dev.captionfn.model.ModelRunException;
import dev.captionfn.model.VisionLanguageModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.jboss.logging.Logger;

/**
 * Groups requests that arrive together into one run of the model: one vision-graph run for the
 * batch, then shared decoder steps in which each request's beams are rows with their own attention
 * mask and positions, and finished requests leave ({@link VisionLanguageModel#generate}).
 *
 * <p>One thread runs the batches, one after another. It takes the first queued request, then
 * adds queued requests while the batch has rows to spare ({@code maxRows}); when the queue is
 * empty but more requests are on their way (admitted and still being fetched or prepared, as
 * {@code onTheirWay} says), it waits for them, never longer than {@code maxWait} after the first
 * was taken. A lone request on an idle instance therefore starts at once. A request whose future
 * is cancelled before its batch starts is dropped; once started, it is withdrawn from the batch
 * ({@link BatchControl}).
 */
public final class MicroBatcher implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(MicroBatcher.class);

    /**
     * @param maxRows decoder rows a batch may hold (a beam request takes its beams, a greedy one 1);
     *     a request wider than this runs alone
     * @param maxWait how long the first request of a batch waits for others on their way
     */
    public record Settings(int maxRows, Duration maxWait) {
        public Settings {
            if (maxRows < 1) {
                throw new IllegalArgumentException("batch max-rows must be at least 1, not " + maxRows);
            }
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("batch max-wait must not be negative, not " + maxWait);
            }
        }
    }

    /**
     * One request's share of a batch run.
     *
     * @param tokens generated token ids
     * @param queuedNanos from submission to the start of its batch
     * @param visionNanos the batch's vision run
     * @param generateNanos the batch's prefill and decoding
     * @param batchRequests requests in its batch
     */
    public record Generated(long[] tokens, long queuedNanos, long visionNanos, long generateNanos, int batchRequests) {}

    private record Job(VisionLanguageModel.Input input, int rows, long submitted, CompletableFuture<Generated> result) {}

    private final VisionLanguageModel model;
    private final Settings settings;
    private final IntSupplier onTheirWay;
    private final LinkedBlockingDeque<Job> queue = new LinkedBlockingDeque<>();
    private final Thread runner;
    private volatile boolean closed;

    public MicroBatcher(VisionLanguageModel model, Settings settings, IntSupplier onTheirWay) {
        this.model = model;
        this.settings = settings;
        this.onTheirWay = onTheirWay;
        this.runner = new Thread(this::runBatches, "captionfn-batcher");
        runner.setDaemon(true);
        runner.start();
    }

    /**
     * Queues one request. The future completes on the batcher's thread: chain slow work onto
     * another executor. Cancelling it withdraws the request.
     */
    public CompletableFuture<Generated> submit(VisionLanguageModel.Input input) {
        CompletableFuture<Generated> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(shuttingDown());
            return result;
        }
        int rows = input.options().isGreedy() ? 1 : input.options().numBeams();
        Job job = new Job(input, rows, System.nanoTime(), result);
        queue.add(job);
        if (closed && queue.remove(job)) {
            // closed meanwhile, after the runner emptied the queue: nobody would run it
            result.completeExceptionally(shuttingDown());
        }
        return result;
    }

    private void runBatches() {
        while (!closed) {
            List<Job> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                break;
            }
            if (!batch.isEmpty()) {
                run(batch);
            }
        }
        for (Job job; (job = queue.poll()) != null; ) {
            job.result().completeExceptionally(shuttingDown());
        }
    }

    private List<Job> nextBatch() throws InterruptedException {
        List<Job> batch = new ArrayList<>();
        Job first = queue.take();
        if (first.result().isDone()) {
            return batch;
        }
        batch.add(first);
        int rows = first.rows();
        long waitUntil = System.nanoTime() + settings.maxWait().toNanos();
        while (rows < settings.maxRows()) {
            Job next = queue.poll();
            if (next == null) {
                long left = waitUntil - System.nanoTime();
                if (left <= 0 || onTheirWay.getAsInt() <= 0) {
                    break;
                }
                try {
                    next = queue.poll(left, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    batch.forEach(job -> job.result().completeExceptionally(shuttingDown()));
                    throw e;
                }
                if (next == null) {
                    break;
                }
            }
            if (next.result().isDone()) {
                continue;
            }
            if (rows + next.rows() > settings.maxRows()) {
                // first in the next batch, ahead of later arrivals
                queue.addFirst(next);
                break;
            }
            batch.add(next);
            rows += next.rows();
        }
        return batch;
    }

    private void run(List<Job> batch) {
        long start = System.nanoTime();
        try (BatchControl control = new BatchControl(batch.size())) {
            for (int i = 0; i < batch.size(); i++) {
                int request = i;
                batch.get(i).result().whenComplete((r, e) -> {
                    if (e instanceof CancellationException) {
                        control.withdraw(request);
                    }
                });
            }
            VisionLanguageModel.Output out;
            try {
                out = model.generate(batch.stream().map(Job::input).toList(), control);
            } catch (RuntimeException e) {
                if (!control.allWithdrawn()) {
                    LOG.errorf(e, "a batch of %d requests failed", batch.size());
                }
                batch.forEach(job -> job.result().completeExceptionally(e));
                return;
            }
            for (int i = 0; i < batch.size(); i++) {
                long[] tokens = out.tokens().get(i);
                Job job = batch.get(i);
                if (tokens != null) {
                    job.result().complete(new Generated(tokens, start - job.submitted(), out.visionNanos(),
                            out.generateNanos(), batch.size()));
                }
            }
        } catch (RuntimeException e) {
            // BatchControl could not be made: ONNX Runtime itself is failing
            batch.forEach(job -> job.result().completeExceptionally(e));
        }
    }

    private static ModelRunException shuttingDown() {
        return new ModelRunException("the model is shutting down", null);
    }

    /** Stops taking batches once the running one ends; queued requests fail. */
    @Override
    public void close() {
        closed = true;
        runner.interrupt();
        try {
            runner.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
